"""``python -m notechecker``: the command line. Also the application file of ``spark-submit``
(see the README), hence the absolute import."""
if __name__ == "__main__":
    from notechecker.cli import main

    main()

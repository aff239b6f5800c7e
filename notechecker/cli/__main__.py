"""``python -m notechecker.cli``: the command line."""
if __name__ == "__main__":
    from notechecker.cli import main

    main()

"""Data under ``patterns/checklists`` and ``patterns/codes`` to validated objects, one module per job.

``loader`` (the one YAML loader and located errors) <- ``requirements`` <- ``codes`` <- ``rules``,
``checklist`` <- ``catalogue``; ``mue`` reads the user's CSV. Nothing here imports spaCy.
"""

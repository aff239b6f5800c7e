"""The extraction vocabularies under ``patterns/`` to validated plain objects, one module per file family.

``base`` (on ``schema.loader``) <- ``sections``, ``context``, ``targets``, ``elements``, ``linking``,
``scope``, ``levels`` <- ``patterns`` (:func:`~notechecker.schema.vocab.patterns.load_patterns`: all of
them for one folder, cross-checked and cached). Import names from the module that defines them.
"""

"""The extractor's linkers, one job each, reading one :class:`~notechecker.nlp.linkers.base.NoteView`.

``nlp/extract.py`` runs them in order; see its docstring for what each one does.
"""

"""The normalising layer: read through the form a note arrives in, keep every offset.

Every note passes :func:`Normalizer.__call__` before the spaCy pipeline (``api.Pipeline``
is the one place text enters). It first reads Windows (``"\\r\\n"``) and lone ``"\\r"`` line
ends as ``"\\n"`` (``lines.py``: the one rewrite that shortens the note, one character a
``"\\r\\n"``, its offsets kept in ``Normalized.lines``), then returns a string of *exactly* the same
length as the note so read, in which rewritten spans hold their normal form padded with spaces (or are masked
to spaces): template debris, page furniture, words hyphenated across lines, OCR
confusions, spoken levels, sound-alike and misrecognised hardware and procedure words,
and other Englishes. So every character offset found in the normalised text points into
the original note (through ``Normalized.lines`` where line ends were read), and evidence quotes
are taken from the original (``api`` restores them). The vocabulary is data: ``patterns/normalize.yaml``, validated when it is loaded
(E017 the file's shape, E018 an example its regex does not match, E019 an example that
does not read as it says or a normal form that does not fit its span).

Each rewrite is kept (:class:`Rewrite`: original span, normal form, kind, approximate):
``Normalized.rewrites``, ``doc.user_data[REWRITES_KEY]`` and ``Facts.rewrites``, so faces
can mark evidence resting on an approximate reading.
"""
from .model import FILE, ORIGINAL_KEY, REWRITES_KEY, NormalizeModel, Normalized, Rewrite
from .normalizer import Identity, Normalizer, load_normalizer, load_root
from .restore import approximate_evidence, restore
from .words import reading_of

__all__ = ["Rewrite", "Normalized", "Normalizer", "load_normalizer", "restore", "approximate_evidence",
           "REWRITES_KEY", "ORIGINAL_KEY"]

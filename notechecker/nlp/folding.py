"""A text lower-cased where comparing it with lower-case ASCII literals is what case-blind matching does
(:func:`folded`): the gated searches of :mod:`.regex_literals`, the normaliser's look at a note, the
extractor's word pass.
"""
from __future__ import annotations

#: Non-ASCII characters that Python's case-blind matching equates with an ASCII letter
#: (dotted capital I, dotless i, long s, Kelvin sign; tests/test_regex_literals.py recomputes it).
ASCII_FOLDS = frozenset("\u0130\u0131\u017f\u212a")


def folded(text: str) -> str | None:
    """``text`` lower-cased, offsets kept, where comparing it with lower-case ASCII literals is what
    case-blind matching does; None where it is not (a case mapping changes the length, or the text
    holds a character of :data:`ASCII_FOLDS`). A note's passes (the normaliser, the components, the
    extractor) fold the same note text several times: the last long text folded is remembered
    (by identity, the text held), so they fold it once."""
    global _LAST_FOLDED
    if len(text) < _REMEMBERED:
        return _folded(text)
    last = _LAST_FOLDED  # (one tuple, replaced whole: threads checking notes at once read a pair that belongs together)
    if last[0] is text:
        return last[1]
    low = _folded(text)
    _LAST_FOLDED = (text, low)
    return low


def _folded(text: str) -> str | None:
    low = text.lower()
    if text.isascii():
        return low
    if len(low) != len(text) or any(c in text for c in ASCII_FOLDS):
        return None
    return low


#: The last text of :data:`_REMEMBERED` characters or more that :func:`folded` folded, and its folding.
_LAST_FOLDED: tuple = (None, None)
_REMEMBERED = 500

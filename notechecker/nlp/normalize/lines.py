"""Windows and old Mac line ends read as ``"\\n"``: the one rewrite that changes the note's length.

A note exported from Windows reaches the pipeline with ``"\\r\\n"`` line ends (a lone ``"\\r"`` from
older systems). Every pass after the normaliser (the tokenizer, sections, sentences, the extractor's
line scans) then reads the note as it reads the same note written with ``"\\n"``: the same facts, at
the cost of a note with ``"\\n"``. Each ``"\\r\\n"`` is read as ``"\\n"`` (one character less), a lone
``"\\r"`` as ``"\\n"`` (in place). :class:`~.model.Normalized` keeps the note as written and
``lines``: the offsets of the read note at which a ``"\\r"`` was dropped, sorted; an offset ``p`` of
the read note is ``p + bisect_left(lines, p)`` of the note as written (:func:`as_written`), so a span
that ends with or holds a line end quotes its ``"\\r\\n"`` (``restore``).
"""
from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate, count
from operator import add
from typing import Callable

from .model import Normalized


def read_lines(read: Callable[[str], Normalized], text: str) -> Normalized:
    """``read`` (the normaliser's passes) of ``text`` with its line ends read as ``"\\n"``; the result
    holds ``text`` as ``original`` and the offsets where a ``"\\r"`` was dropped as ``lines``."""
    parts = text.split("\r\n")
    lined = "\n".join(parts) if len(parts) > 1 else text
    if "\r" in lined:
        lined = lined.replace("\r", "\n")
    # the k-th "\r\n" is read as the "\n" at len(parts[0]) + ... + len(parts[k]) + k
    lines = tuple(map(add, accumulate(map(len, parts[:-1])), count()))
    n = read(lined)
    return Normalized(text, n.text, n.rewrites, lines)


def as_written(lines: tuple[int, ...], p: int) -> int:
    """The offset of the note as written of offset ``p`` of the note read with ``"\\n"`` line ends (a
    span's start or end: a span from or up to a read ``"\\n"`` takes its ``"\\r"`` with it)."""
    return p + bisect_left(lines, p)

"""A line-anchored regex tried at line starts only.

A regex whose every match starts at a line start (``(?m)^...``, or ``(?:^|(?<=\\r))...`` for
old Mac line ends) is still tried by ``finditer`` at every character of the note: Python's
regex engine has no shortcut for ``^`` in multi-line mode, so a 4,000-character note costs
4,000 failed attempts for its 13 heading lines. :class:`LineAnchored` gives exactly
``regex.finditer(text)``'s matches by trying ``regex.match`` at offset 0 and after every
``\\n`` and ``\\r`` (in order, the next try at or after the last match's end, as ``finditer``
does). ``match(text, pos)`` sees the characters before ``pos`` as ``finditer`` does, so
``^`` and look-behinds read alike.

The constructor checks, from the regex's parse tree, that every match must start at a line
start and is never empty (else it raises ``ValueError``: the shortcut would drop matches).
"""
from __future__ import annotations

import re
from typing import Iterator

from .regex_literals import matches_at, matches_at_sorted, sequence_info

try:
    from re import _constants as _c
    from re import _parser
except ImportError:  # pragma: no cover - Python before 3.11
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

_BREAK = re.compile(r"[\r\n]")
_LINE_BREAKS = (ord("\n"), ord("\r"))


def _starts_a_line(item, multiline: bool) -> bool:
    """Whether the parse item (the regex's first) holds only at offset 0 or after a line break."""
    op, av = item
    if op is _c.AT:
        return av is _c.AT_BEGINNING or av is _c.AT_BEGINNING_STRING or (
            av is _c.AT_BEGINNING_LINE and multiline)
    if op is _c.ASSERT:  # (?<=\r) / (?<=\n) / (?<=[\n\r]): a look-behind of one line break
        direction, sub = av
        if direction != -1 or len(sub) != 1:
            return False
        kind, what = sub[0]
        if kind is _c.IN:
            return bool(what) and all(k is _c.LITERAL and c in _LINE_BREAKS for k, c in what)
        return kind is _c.LITERAL and what in _LINE_BREAKS
    if op is _c.BRANCH:
        return all(branch and _starts_a_line(branch[0], multiline) for branch in av[1])
    if op is _c.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        return not add_flags and not del_flags and bool(sub) and _starts_a_line(sub[0], multiline)
    return False


def line_anchored(regex: re.Pattern) -> bool:
    """Whether every match of ``regex`` starts at offset 0 or right after ``\\n`` or ``\\r``, and
    none is empty (after an empty match ``finditer`` may match again at the same offset)."""
    tree = _parser.parse(regex.pattern if isinstance(regex.pattern, str) else "", regex.flags)
    multiline = bool(tree.state.flags & re.MULTILINE)
    return bool(tree.data) and _starts_a_line(tree.data[0], multiline) and tree.getwidth()[0] > 0


_SPACES = (ord(" "), ord("\t"))


def lead_words(regex: re.Pattern) -> frozenset | None:
    """Strings one of which every match of the line-anchored ``regex`` starts with after its line's spaces
    and tabs (``(?im)^[ \\t]*(?:team|part)\\s+...``: "team", "part"; case-folded for a case-blind regex);
    None: not known (the regex is not a line start, a run of spaces and tabs, then pieces of known first
    strings)."""
    tree = _parser.parse(regex.pattern if isinstance(regex.pattern, str) else "", regex.flags)
    items = list(tree.data)
    if len(items) < 3 or not _starts_a_line(items[0], bool(tree.state.flags & re.MULTILINE)):
        return None
    op, av = items[1]
    if op is not _c.MAX_REPEAT or av[0] != 0 or len(av[2]) != 1:
        return None
    kind, what = av[2][0]
    if kind is _c.LITERAL:
        kind, what = _c.IN, [(kind, what)]
    if kind is not _c.IN or not what or not all(k is _c.LITERAL and c in _SPACES for k, c in what):
        return None
    return sequence_info(items[2:], bool(regex.flags & re.IGNORECASE)).first


class LineAnchored:
    """``regex.finditer`` for a regex whose matches start at line starts, tried only there."""

    def __init__(self, regex: re.Pattern):
        if not line_anchored(regex):
            raise ValueError(f"not anchored at line starts: {regex.pattern[:80]!r}")
        self.regex = regex

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[re.Match]:
        """``regex.finditer(text, pos, endpos)``."""
        if "\r" in text:
            breaks = _BREAK

            def next_start(pos: int):
                if pos == 0:
                    return 0
                b = breaks.search(text, pos - 1)  # a break just before pos starts a line at pos
                return None if b is None else b.end()
        else:  # (lines broken at "\n" alone: found by str.find)
            find = text.find

            def next_start(pos: int):
                if pos == 0:
                    return 0
                b = find("\n", pos - 1)
                return None if b == -1 else b + 1
        return matches_at(self.regex, text, next_start, pos, endpos)

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match | None:
        """``regex.search(text, pos, endpos)``."""
        return next(self.finditer(text, pos, endpos), None)

    def finditer_led(self, text: str, lasts, words: frozenset) -> Iterator[re.Match]:
        """``regex.finditer(text)``'s matches for a regex whose every match starts with one of ``words`` after
        its line's spaces and tabs (:func:`lead_words`'s), tried only at the starts of lines that do. ``lasts``:
        where (at least) ``words`` occur in ``text`` case-folded as the regex reads it, the offsets of their
        last characters (:meth:`.MultiMatch.scan`'s)."""
        starts = set()
        for w in words:
            for last in lasts.get(w, ()):
                at = last + 1 - len(w)
                line = max(text.rfind("\n", 0, at), text.rfind("\r", 0, at)) + 1
                if not text[line:at].strip(" \t"):
                    starts.add(line)
        return matches_at_sorted(self.regex, text, sorted(starts)) if starts else iter(())

"""An alternation of cues, each alternative tried only in notes that hold its literals.

:class:`~.regex_literals.GatedRegex` reads what every match of a regex holds. For an alternation of
cues (an element's ``(?:\\b\\d{1,3}[- ]year[- ]old...)|(?:\\bfailed\\b...)|(?:\\b(?:she|he)\\s+...)``)
that is only what all of them share: one alternative starting with a digit or a letter class leaves
the whole without first literals (scanned at every character), and one starting with a short word
("i", "he") makes the whole tried wherever that word is. Read one by one, each alternative holds
literals of its own, and most notes lack those of most alternatives.

:class:`AlternativesRegex` gives exactly ``regex.finditer(text, pos, endpos)``'s matches for a regex
without ``IGNORECASE`` (an element's cues, run on the lower-cased note). Each top-level alternative
has one *gate*: a set of strings, one of which every match of it holds (its most telling required
set); an alternative whose gate has no string in the text cannot match there. A match of the regex
starts where one of its alternatives matches (it is ``regex.match`` there, which picks among them as
``finditer`` does), so the regex is tried only at the nearest offset where a live alternative may
start: where one of its first literals starts (at a word start when it begins with ``\\b``: a
look-behind in the search checks it), or, for an alternative without first literals, where its own
search finds it; the next try after the last match's end. Each alternative's search is compiled once.
The caller may pass the gate strings found in the whole text (one pass for many regexes:
nlp/multimatch.py); else each gate is looked for in the range searched.
"""
from __future__ import annotations

import re
import re._parser as _c
from typing import Iterator

from .regex_literals import (FEW, PLAIN_FIRST, fewest, literal_product, matches_at, node_info, refers_to_groups,
                             sequence_info)

_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT)


def alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex's source (``a|b(c|d)`` -> ``a``, ``b(c|d)``): each ``|``
    outside groups and classes splits it; escapes are skipped."""
    parts, depth, start, i, n = [], 0, 0, 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":  # a class: a leading "^" and a "]" right after it are its own; escapes skipped
            i += 1
            i += pattern.startswith("^", i)
            i += pattern.startswith("]", i)
            while i < n and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def first_literals(items, fold: bool) -> frozenset | None:
    """Strings one of which every match of the parsed ``items`` starts with, reading past an optional
    piece (``(?:bone\\s+)?cement``: "bone" or "cement"), which :func:`regex_literals.sequence_info` does
    not; None: not known (a match may start with a class, or be empty)."""
    run = frozenset(("",))
    for k, (op, av) in enumerate(items):
        info = node_info(op, av, fold)
        joined = literal_product(run, info.exact) if info.exact is not None else None
        if joined is not None:
            run = joined
            continue
        head = _head(op, av, items[k + 1:], fold)
        more = literal_product(run, head) if head is not None else None
        run = more if more is not None else run
        break
    return run if "" not in run else None


def _head(op, av, rest, fold: bool) -> frozenset | None:
    """The strings a match of one piece (then ``rest``, when the piece may match nothing) starts with."""
    if op is _c.SUBPATTERN:
        return first_literals(av[3], fold) if not av[1] and not av[2] else None
    if op is _c.BRANCH:
        heads = [first_literals(b, fold) for b in av[1]]
        return None if None in heads else frozenset().union(*heads)
    if op in _REPEATS:
        inner = first_literals(av[2], fold)
        if av[0] > 0 or inner is None:
            return inner
        after = first_literals(rest, fold)  # the piece left out: what follows starts the match
        return None if after is None else inner | after
    return node_info(op, av, fold).first


def _gate(required) -> frozenset | None:
    """The most telling of an alternative's required sets that a few substring tests decide (its
    shortest string longest, then the fewest strings); None: none (the alternative is always tried)."""
    sets = [s for s in {fewest(s, lambda x, y: y in x) for s in required} if len(s) <= FEW]
    return max(sets, key=lambda s: (min(map(len, s)), -len(s), sorted(s)), default=None)


class AlternativesRegex:
    """A compiled regex (no IGNORECASE) whose :meth:`finditer` tries only the alternatives whose
    literals the text holds."""

    def __init__(self, regex: re.Pattern, plain_first: int = PLAIN_FIRST):
        self.regex = regex
        self._plain_left = plain_first  # as GatedRegex: the first searches need no reading of the regex
        self._ready = False

    def _prepare(self) -> None:
        regex, parts, gates = self.regex, [], []
        try:
            if regex.flags & (re.IGNORECASE | re.VERBOSE):
                raise ValueError("case-blind or verbose")
            for src in alternatives(regex.pattern):
                items = _c.parse(src, regex.flags)
                if refers_to_groups(items) or items.getwidth()[0] == 0:
                    raise ValueError("a group reference, or an empty match")
                gates.append(_gate(sequence_info(items, False).required))
                parts.append(_where(items.data, src, regex.flags))
        except (ValueError, re.error, RecursionError):  # searched whole
            parts, gates = None, []
        self._parts, self._gates = parts, tuple(gates)
        self._ready = True

    @property
    def literals(self) -> frozenset:
        """The gates' strings: a caller that finds which of them the text holds passes those as ``present``."""
        if not self._ready:
            self._prepare()
        return frozenset().union(*(g for g in self._gates if g))

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None,
                 present=None) -> Iterator[re.Match]:
        """``self.regex.finditer(text, pos, endpos)``'s matches. ``present``: the strings of
        :attr:`literals` that ``text`` holds (a superset will do); None: looked for in the range."""
        return self.finditer_ranges(text, ((pos, len(text) if endpos is None else endpos),), present)

    def finditer_ranges(self, text: str, ranges, present=None) -> Iterator[re.Match]:
        """:meth:`finditer`'s matches in each of ``ranges`` ((pos, endpos) pairs), one range after the other."""
        if not self._ready:
            if self._plain_left > 0:
                self._plain_left -= 1
                for pos, end in ranges:
                    yield from self.regex.finditer(text, pos, end)
                return
            self._prepare()
        if self._parts is None:
            for pos, end in ranges:
                yield from self.regex.finditer(text, pos, end)
            return
        live = None if present is None else [
            where for where, g in zip(self._parts, self._gates) if g is None or not g.isdisjoint(present)]
        if live == []:
            return
        for pos, end in ranges:
            end = min(end, len(text))
            if present is None:
                live = [where for where, g in zip(self._parts, self._gates)
                        if g is None or any(text.find(w, pos, end) != -1 for w in g)]
                if not live:
                    continue
            yield from matches_at(self.regex, text, _next_start(live, text, end), pos, end)


def _where(items, source: str, flags: int):
    """Where an alternative's matches may start, as a search: at its first literals (at a word start when
    it begins with ``\\b``: a look-behind checks it), else where the alternative itself matches."""
    first = first_literals(items, False)
    if not first:
        return re.compile(source, flags).search
    words = sorted(fewest(first, lambda x, y: x.startswith(y)), key=lambda w: (-len(w), w))
    bounded = bool(items) and items[0] == (_c.AT, _c.AT_BOUNDARY)  # "\\bhe": "he" at a word start only
    return re.compile("|".join(re.escape(w) + (rf"(?<=\b{re.escape(w)})" if bounded else "") for w in words),
                      flags & re.ASCII).search


def _next_start(searches: list, text: str, end: int):
    """A ``next_start`` for :func:`matches_at`: the nearest offset where one of ``searches`` finds a start
    (each one's last answer kept while it lies ahead)."""
    if len(searches) == 1:
        search = searches[0]

        def one(p: int):
            m = search(text, p, end)
            return None if m is None else m.start()
        return one
    found = [-1] * len(searches)  # each search's next start (-1: not looked for yet, None: no more)

    def nearest(p: int):
        best = None
        for k, at in enumerate(found):
            if at is not None and at < p:
                m = searches[k](text, p, end)
                found[k] = at = None if m is None else m.start()
            if at is not None and (best is None or at < best):
                best = at
        return best
    return nearest

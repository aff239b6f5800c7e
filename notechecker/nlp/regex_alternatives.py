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
set). An alternative whose gate has no string in the text cannot match there; ``regex.match`` at an
offset is then what the alternation of the others gives there (the regex picks the first alternative
that matches, in order, and the dropped ones match nowhere). So the text is searched with the
alternation of the live alternatives (compiled once per set of them), tried only where its first
literals start (at a word start, when it begins with ``\\b``: a look-behind checks it in the search)
or, without first literals, scanned; each match is ``regex.match`` at its start. The caller may pass
the gate strings found in the whole text (one pass for many regexes: nlp/multimatch.py); else each
gate is looked for in the range searched.
"""
from __future__ import annotations

import re
import re._parser as _c
from typing import Iterator

from .regex_literals import (FEW, PLAIN_FIRST, fewest, literal_product, matches_at, node_info, refers_to_groups,
                             sequence_info)

#: Sets of live alternatives whose alternation one regex keeps compiled (more: the whole regex serves).
SUBSETS = 64
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
        regex, self._parts, self._gates = self.regex, None, ()
        self._subs: dict[tuple[int, ...], tuple] = {}
        try:
            tree = _c.parse(regex.pattern, regex.flags)
            if (not regex.flags & (re.IGNORECASE | re.VERBOSE) and not refers_to_groups(tree)
                    and tree.getwidth()[0] > 0):
                parts = alternatives(regex.pattern)
                gates = tuple(_gate(sequence_info(_c.parse(p, regex.flags), False).required) for p in parts)
                self._parts, self._gates = parts, gates
        except (re.error, RecursionError):
            pass
        self._ready = True

    @property
    def literals(self) -> frozenset:
        """The gates' strings: a caller that finds which of them the text holds passes those as ``present``."""
        if not self._ready:
            self._prepare()
        return frozenset().union(*(g for g in self._gates if g))

    def _sub(self, live: tuple[int, ...]):
        """(the alternation of the ``live`` alternatives, the search for where its matches may start or None)."""
        found = self._subs.get(live)
        if found is None:
            if len(live) == len(self._parts) or len(self._subs) >= SUBSETS:
                rx = self.regex
            else:
                rx = re.compile("|".join(self._parts[k] for k in live), self.regex.flags)
            tree = _c.parse(rx.pattern, rx.flags).data
            first = first_literals(tree, False)
            starts = None
            if first:
                words = sorted(fewest(first, lambda x, y: x.startswith(y)), key=lambda w: (-len(w), w))
                bounded = tree[0] == (_c.AT, _c.AT_BOUNDARY)  # "\\bhe": "he" at a word start only
                starts = re.compile("|".join(re.escape(w) + (rf"(?<=\b{re.escape(w)})" if bounded else "")
                                             for w in words), rx.flags & re.ASCII).search
            found = (rx, starts)
            if len(self._subs) < SUBSETS:
                self._subs[live] = found
        return found

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
        live = None if present is None else tuple(
            k for k, g in enumerate(self._gates) if g is None or not g.isdisjoint(present))
        if live == ():
            return
        for pos, end in ranges:
            end = min(end, len(text))
            if present is None:
                live = tuple(k for k, g in enumerate(self._gates)
                             if g is None or any(text.find(w, pos, end) != -1 for w in g))
                if not live:
                    continue
            yield from self._search(text, pos, end, live)

    def _search(self, text: str, pos: int, end: int, live: tuple[int, ...]) -> Iterator[re.Match]:
        rx, starts = self._sub(live)
        if starts is None:
            found = rx.finditer(text, pos, end)
        else:
            def next_start(p: int):
                m = starts(text, p, end)
                return None if m is None else m.start()
            found = matches_at(rx, text, next_start, pos, end)
        if rx is self.regex:
            yield from found
            return
        match = self.regex.match
        for m in found:  # the regex's own match there (its groups): the same span
            yield match(text, m.start(), end)

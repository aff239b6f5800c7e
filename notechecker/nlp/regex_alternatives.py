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

The caller may pass where the gate strings and the first literals occur in the whole text (one
Aho-Corasick pass for many regexes: nlp/multimatch.py); then an alternative whose first literals are
all words of two characters or more (:data:`FIRST_WORD_CHARS`) is not searched at all: its possible
starts are those offsets, a sorted list bisected per range, and only ``regex.match`` is left to run;
one that starts with a digit (``\\b\\d+\\s+days``) is tried at the note's digits that may start it,
listed once a note (few in a note; its own search would be tried at every character). Without it,
each gate is looked for in the range searched.
"""
from __future__ import annotations

import functools
import re
import re._parser as _c
from bisect import bisect_left
from typing import Iterator

from .regex_literals import (FEW, PLAIN_FIRST, fewest, literal_product, matches_at, matches_at_sorted, node_info,
                             refers_to_groups, sequence_info)

_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT)
#: An alternative's first literals are listed where they occur (:attr:`AlternativesRegex.first_words`)
#: when each has this many characters or more.
FIRST_WORD_CHARS = 2


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


def alternatives_first(regex: re.Pattern) -> frozenset | None:
    """Strings one of which every match of ``regex`` starts with (case-folded for a case-blind one), read
    alternative by alternative: an alternation of many cues whose first literals as a whole are more than
    :func:`~.regex_literals.sequence_info` lists (the scope's cue lists); None: not known for one of them,
    or one of them shorter than FIRST_WORD_CHARS (in too many words to be worth looking for)."""
    if regex.flags & re.VERBOSE:
        return None
    fold = bool(regex.flags & re.IGNORECASE)
    try:
        heads = [first_literals(_c.parse(src, regex.flags), fold) for src in alternatives(regex.pattern)]
    except (re.error, RecursionError, ValueError):
        return None
    if not heads or not all(heads):
        return None
    first = fewest(frozenset().union(*heads), lambda x, y: x.startswith(y))
    return first if min(map(len, first)) >= FIRST_WORD_CHARS else None


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
        regex, parts, gates, words, digits = self.regex, [], [], [], []
        try:
            if regex.flags & (re.IGNORECASE | re.VERBOSE):
                raise ValueError("case-blind or verbose")
            for src in alternatives(regex.pattern):
                items = _c.parse(src, regex.flags)
                if refers_to_groups(items) or items.getwidth()[0] == 0:
                    raise ValueError("a group reference, or an empty match")
                gates.append(_gate(sequence_info(items, False).required))
                parts.append(_where(items.data, src, regex.flags))
                words.append(_first_words(items.data, regex.flags))
                digits.append(_digit_start(items.data, regex.flags))
        except (ValueError, re.error, RecursionError):  # searched whole
            parts, gates, words, digits = None, [], [], []
        self._parts, self._gates, self._words = parts, tuple(gates), tuple(words)
        # read so for each note: each first word's alternatives, (gate, back, key, at_boundary, by_class) each,
        # and the alternatives without first words, (where, gate, digits) each: a note's first words are met
        # from the few it holds (a set intersection), not by a look-up of every alternative's every word
        by_word: dict[str, list[tuple]] = {}
        for gate, ws in zip(gates, words):
            for word, back, key, at_boundary, by_class in ws or ():
                by_word.setdefault(word, []).append((gate, back, key, at_boundary, by_class))
        self._by_word = {word: tuple(entries) for word, entries in by_word.items()}
        self._first = frozenset(by_word)
        self._others = tuple((where, gate, d) for where, gate, ws, d in zip(parts or (), gates, words, digits)
                             if ws is None)
        self._ready = True

    @property
    def literals(self) -> frozenset:
        """The gates' strings: a caller that finds where the text holds them passes that as ``found``."""
        if not self._ready:
            self._prepare()
        return frozenset().union(*(g for g in self._gates if g))

    @property
    def first_words(self) -> frozenset:
        """The first literals of the alternatives whose every one is a word of FIRST_WORD_CHARS characters or
        more: a caller that finds where they occur (with :attr:`literals`) passes ``found`` to
        :meth:`finditer_ranges`, which then tries those alternatives only there."""
        if not self._ready:
            self._prepare()
        return frozenset(w for ws in self._words if ws for w, *_ in ws)

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None, found=None) -> Iterator[re.Match]:
        """``self.regex.finditer(text, pos, endpos)``'s matches (``found``: see :meth:`finditer_ranges`)."""
        return self.finditer_ranges(text, ((pos, len(text) if endpos is None else endpos),), found)

    def finditer_ranges(self, text: str, ranges, found=None) -> Iterator[re.Match]:
        """:meth:`finditer`'s matches in each of ``ranges`` ((pos, endpos) pairs), one range after the other.
        ``found``: where each word of :attr:`literals` and :attr:`first_words` that ``text`` holds occurs
        (the offsets of the last characters of its occurrences, ascending: :meth:`.MultiMatch.scan`; more
        words may be in it): an alternative whose gate has none of them is not tried, one with first words
        is tried only where those occur; None: each gate is looked for in each range. (An alternative that
        starts with a digit is tried at the note's digits that may start it: listed once a note, and kept in
        ``found`` under their search.)"""
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
        if found is not None:
            live = self.live(text, found)
            if live is not None:
                yield from self.in_ranges(text, ranges, *live)
            return
        for pos, end in ranges:
            end = min(end, len(text))
            live = [where for where, g in zip(self._parts, self._gates)
                    if g is None or any(text.find(w, pos, end) != -1 for w in g)]
            if live:
                yield from matches_at(self.regex, text, _next_start(live, text, end), pos, end)

    @property
    def split(self) -> bool:
        """Whether the regex is read and split into alternatives (:meth:`live` answers)."""
        return self._ready and self._parts is not None

    def live(self, text: str, found) -> tuple[list[int], list] | None:
        """Where the alternatives that may match in ``text`` may start (``found``: as :meth:`finditer_ranges`'s;
        only once :attr:`split`): the sorted starts of those with first words or a digit start (the live ones
        with first words start where those occur), and the searches of the others; None: none may match."""
        keys = found.keys()
        searches, at = [], set()
        add = at.add
        classes = found.get(word_classes)  # (the note's word_classes, read once a note when first needed)
        # (the starts of each live alternative's first words the note holds: the same set, read word by word)
        for word in keys & self._first:
            lasts = found[word]
            if not lasts:
                continue
            for gate, back, key, at_boundary, by_class in self._by_word[word]:
                if gate is not None and keys.isdisjoint(gate):
                    continue  # its alternative cannot match in this text
                if key is None:
                    at.update([last - back for last in lasts])
                    continue
                # an alternative that starts with \b: only its first word's occurrences at a word start
                if classes is None:
                    classes = found[word_classes] = word_classes(text)
                if by_class and classes:  # (at_boundary's test inline: a byte an occurrence, no call, no list)
                    for last in lasts:
                        if classes[last - back] == _NOT_WORD:
                            add(last - back)
                    continue
                listed = found.get(key)  # (listed once a note, kept in ``found`` under their key; the \b decides)
                if listed is None:
                    listed = found[key] = at_boundary(text, lasts, back, classes)
                if listed:
                    at.update(listed)
        for where, gate, digits in self._others:
            if gate is not None and keys.isdisjoint(gate):
                continue  # cannot match in this text
            if digits is not None:  # the note's digits that may start it, listed once (few in a note)
                listed = found.get(digits)
                if listed is None:
                    if classes is None:
                        classes = found[word_classes] = word_classes(text)
                    listed = found[digits] = digits(text, classes)
                at.update(listed)
            else:
                searches.append(where)
        if not at and not searches:
            return None
        return sorted(at), searches

    def in_ranges(self, text: str, ranges, starts: list[int], searches: list) -> Iterator[re.Match]:
        """:meth:`finditer_ranges`' matches, from :meth:`live`'s ``starts`` and ``searches`` for ``text``."""
        n = len(text)
        for pos, end in ranges:
            end = end if end < n else n
            if searches:
                yield from matches_at(self.regex, text, _next_start(searches, text, end, starts), pos, end)
            else:
                yield from matches_at_sorted(self.regex, text, starts, pos, end)


def _first_words(items, flags: int = 0) -> tuple[tuple, ...] | None:
    """An alternative's first literals as (word, its length - 1, key, at_boundary, by_class), when each is
    FIRST_WORD_CHARS characters or more (a shorter one is in too many words of a note to be worth listing
    where it is); else None. When the alternative starts with ``\\b``: the key under which the word's
    occurrences at a word start are kept in a note's ``found``, and ``at_boundary(text, lasts, back)``: the
    starts (``last - back``) of those occurrences where ``\\b`` holds as in the regex (its ``\\w``:
    re.ASCII or not), and whether ``at_boundary`` reads an ASCII text's word classes (its word starts with a
    word character: ``\\b`` holds where the byte before is a "not a word" one); else None, None, False."""
    first = first_literals(items, False)
    if not first:
        return None
    words = fewest(first, lambda x, y: x.startswith(y))
    if min(map(len, words)) < FIRST_WORD_CHARS:
        return None
    if not (items and items[0] == (_c.AT, _c.AT_BOUNDARY)):
        return tuple((w, len(w) - 1, None, None, False) for w in sorted(words))
    ascii_ = flags & re.ASCII
    return tuple((w, len(w) - 1, ("\\b(?a)" if ascii_ else "\\b", w), _word_starts(w[0], ascii_),
                  _word_first(w[0], ascii_)) for w in sorted(words))


#: The characters ``\\w`` matches under re.ASCII.
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _word_first(first: str, ascii_: int) -> bool:
    """Whether ``first`` is a word character as the regex reads ``\\w`` (re.ASCII or not): :func:`_word_starts`
    then reads an ASCII text's word classes."""
    return first in _ASCII_WORD if ascii_ else first.isalnum() or first == "_"


def _word_starts(first: str, ascii_: int):
    """``at_boundary`` for a word that starts with ``first``: the starts of its occurrences (the offsets of
    their last characters, less ``back``) where ``\\b`` holds. Before a word character ``\\b`` holds where
    the character before is none or not a word character (as ``re`` reads ``\\w``: ``str.isalnum()`` or
    "_", or the ASCII ones); one look at that character, not a match of ``\\b`` an occurrence: in an ASCII
    text (``classes``: :func:`word_classes`, not empty) a byte of its classes, the same for both readings."""
    if not _word_first(first, ascii_):
        boundary = re.compile(r"\b", ascii_).match  # (a word that starts with another character)
        return lambda text, lasts, back, classes: [s for last in lasts if boundary(text, s := last - back)]

    def at_boundary(text: str, lasts: list[int], back: int, classes: bytes) -> list[int]:
        if classes:  # (classes[s]: the class of the character before s, a space before the text's start)
            return [s for last in lasts if classes[s := last - back] == _NOT_WORD]
        if ascii_:
            return [s for last in lasts if (s := last - back) == 0 or text[s - 1] not in _ASCII_WORD]
        return [s for last in lasts if (s := last - back) == 0 or not ((c := text[s - 1]).isalnum() or c == "_")]
    return at_boundary


#: The class of each byte of an ASCII text: a digit "0", another word character (``\\w`` on ASCII text, re.ASCII
#: or not) "a", any other " ".
_CLASS_OF = bytes(48 if chr(c) in "0123456789" else 97 if chr(c) in _ASCII_WORD else 32 for c in range(256))
_NOT_WORD = 32


def word_classes(text: str) -> bytes:
    """``b" "`` and the class of each character of an ASCII text (:data:`_CLASS_OF`: one C pass over it), so
    that the class of the character before offset ``s`` is byte ``s`` (a space before the text's start); b""
    for any other text."""
    return b" " + text.encode("ascii").translate(_CLASS_OF) if text.isascii() else b""


def _digit_start(items, flags: int) -> _DigitStarts | None:
    """For an alternative that starts with a digit (``\\b\\d+\\s+days``, ``[0-9]x``): where a match of it may
    start (a digit, at a word start when it begins with ``\\b``); else None."""
    k = 1 if items and items[0] == (_c.AT, _c.AT_BOUNDARY) else 0
    if len(items) <= k:
        return None
    op, av = items[k]
    if op in _REPEATS and av[0] >= 1 and len(av[2]) == 1:  # "\\d{1,3}": its first character
        op, av = av[2][0]
    if op is _c.LITERAL:
        op, av = _c.IN, [(op, av)]
    if op is not _c.IN or not av:
        return None
    atoms = []
    for kind, value in av:
        if kind is _c.CATEGORY and value is _c.CATEGORY_DIGIT:
            atoms.append(r"\d")
        elif kind is _c.LITERAL and chr(value) in "0123456789":
            atoms.append(chr(value))
        elif kind is _c.RANGE and all(chr(c) in "0123456789" for c in value):
            atoms.append(f"{chr(value[0])}-{chr(value[1])}")
        else:
            return None
    return _digit_starts("[" + "".join(atoms) + "]", bool(k), flags & re.ASCII)


class _DigitStarts:
    """The offsets where a digit of ``atom`` (a class of digits) stands, at a word start when ``bounded``:
    ``regex``'s match starts. On an ASCII text (whose digits are 0-9, ``\\w`` its ASCII letters, digits and
    "_") read from its classes (:func:`word_classes`, one C pass): a digit at a word start is a "0" after a " "
    there, found by ``bytes.find`` (the regex tries every character: ~6x the time; an array's steps ~2x); then
    those not of the class dropped (``narrow``); on any other text, the regex's. One for each kind of start
    (kept in a note's ``found`` under it: listed once a note)."""

    __slots__ = ("regex", "_digits", "_probe", "_narrow")

    def __init__(self, atom: str, bounded: bool, ascii_: int):
        self.regex = re.compile(atom + (rf"(?<=\b{atom})" if bounded else ""), ascii_)
        self._digits = frozenset(c for c in "0123456789" if re.fullmatch(atom, c))
        self._probe = b" 0" if bounded else b"0"
        self._narrow = len(self._digits) < 10  # a class of some digits only

    def __call__(self, text: str, classes: bytes | None = None) -> list[int]:
        """The starts in ``text`` (``classes``: its :func:`word_classes`, when read already)."""
        if classes is None:
            classes = word_classes(text)
        if not classes:
            return [m.start() for m in self.regex.finditer(text)]
        probe, find, at = self._probe, classes.find, []
        shift = len(probe) - 2  # (the digit is byte k + 1 of b" 0" found at k, byte k of b"0": text's k, k - 1)
        k = find(probe)
        while k != -1:
            at.append(k + shift)
            k = find(probe, k + len(probe))
        if self._narrow:
            digits = self._digits
            at = [s for s in at if text[s] in digits]
        return at


@functools.lru_cache(maxsize=None)
def _digit_starts(atom: str, bounded: bool, ascii_: int) -> _DigitStarts:
    return _DigitStarts(atom, bounded, ascii_)


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


def _next_start(searches: list, text: str, end: int, starts: list[int] | None = None):
    """A ``next_start`` for :func:`matches_at`: the nearest offset where one of ``searches`` finds a start
    (each one's last answer kept while it lies ahead), or one of the sorted ``starts`` lies."""
    if len(searches) == 1 and not starts:
        search = searches[0]

        def one(p: int):
            m = search(text, p, end)
            return None if m is None else m.start()
        return one
    found = [-1] * len(searches)  # each search's next start (-1: not looked for yet, None: no more)
    size = len(starts) if starts else 0

    def nearest(p: int):
        best = None
        if size:
            k = bisect_left(starts, p)
            best = starts[k] if k < size else None
        for k, at in enumerate(found):
            if at is not None and at < p:
                m = searches[k](text, p, end)
                found[k] = at = None if m is None else m.start()
            if at is not None and (best is None or at < best):
                best = at
        return best
    return nearest

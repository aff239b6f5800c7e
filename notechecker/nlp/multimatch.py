"""Many literal strings found in one pass over a text (an Aho-Corasick automaton, pyahocorasick).

Trying a few hundred words one by one with ``str.find`` costs one scan of the note per word; a
Python regex alternation of them was slower still. :class:`MultiMatch` is compiled once, from the
words the vocabularies under ``patterns/`` name, and finds every occurrence of every word
(overlapping ones too, exactly the occurrences repeated ``str.find`` calls find) in one scan.
Each word carries the owners that asked for it (an element, a normaliser pass), so one scan
answers all of them; words asked for by nobody in particular (``also``: a regex's literals, where an
alternative may start) are only reported where they occur (:meth:`MultiMatch.scan`).

:class:`GatedRegexes` does the same for many case-blind :class:`~.regex_literals.GatedRegex`: one
pass over the folded note finds every literal of every one of them, and then each one's gates are
checked, and the starts of its first literals listed, from that pass (no search of its own).
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Callable, Hashable, Iterable, Iterator, Mapping, Sequence

import ahocorasick

from .regex_literals import PLAIN_FIRST, GatedRegex, matches_at_sorted


class MultiMatch:
    """Every occurrence of a set of words, each tagged with the owners that asked for it.

    ``words``: owner -> the words (non-empty strings, matched as written: lower-case them and
    the text alike for a case-blind search); ``also``: more words, of no owner, that
    :meth:`scan` reports too (where a regex's literals are in a note).
    """

    def __init__(self, words: Mapping[Hashable, Iterable[str]], also: Iterable[str] = ()):
        owners: dict[str, list[Hashable]] = {}
        for owner, ws in words.items():
            for w in _checked(owner, ws):
                if owner not in owners.setdefault(w, []):
                    owners[w].append(owner)
        for w in _checked("also", also):
            owners.setdefault(w, [])
        self.words = frozenset(owners)
        #: owner -> its words
        self._owned: dict[Hashable, frozenset] = {}
        for w, os_ in owners.items():
            for o in os_:
                self._owned[o] = self._owned.get(o, frozenset()) | {w}
        self._auto = ahocorasick.Automaton()
        self._owners = owners
        # added in sorted order (a node's children then in the order of their letters, not of the vocabulary's
        # listing: ~4% less a pass over the corpus notes, 71.6 -> 68.8 us a spine note); the occurrences
        # found, and their order, are the same whatever the order the words were added in
        for w in sorted(owners):
            self._auto.add_word(w, w)
        if owners:
            self._auto.make_automaton()

    def __bool__(self) -> bool:
        return bool(self.words)

    def find(self, text: str) -> Iterator[tuple[int, int, tuple]]:
        """(start, end, owners) of every occurrence of every word, by end position."""
        if not self.words:
            return
        owners = self._owners
        for last, word in self._auto.iter(text):
            yield last + 1 - len(word), last + 1, tuple(owners[word])

    def owners_in(self, text: str) -> set:
        """The owners of the words that occur in ``text``."""
        out: set = set()
        for _, _, owners in self.find(text):
            out.update(owners)
        return out

    def scan(self, text: str) -> dict[str, list[int]]:
        """Word -> the offsets of the last characters of its occurrences, ascending: every word's, of an
        owner or of none (one pass; :meth:`find`'s occurrences, kept by word)."""
        found: dict[str, list[int]] = {}
        if not self.words:
            return found
        for last, word in self._auto.iter(text):  # (a membership test and a subscript: ~1.5% less than .get)
            if word in found:
                found[word].append(last)
            else:
                found[word] = [last]
        return found

    def windows(self, owner: Hashable, found: dict[str, list[int]], radius: int, n: int) -> list[tuple[int, int]]:
        """The merged windows of ``radius`` characters on each side of each occurrence of ``owner``'s words
        in a text of ``n`` characters (``found``: its :meth:`scan`), in order: :func:`merge`'s."""
        hit = found.keys() & self._owned.get(owner, ())
        if not hit:
            return []
        fwd = radius + 1
        if len(hit) == 1:  # one word: its windows come in order
            (word,) = hit
            return _joined(found[word], len(word) - 1 + radius, fwd, n)
        spans: list[tuple[int, int]] = []
        for word in hit:  # each word's windows joined (few), then all of them merged
            lasts = found[word]
            if len(lasts) == 1:
                spans.append((lasts[0] - len(word) + 1 - radius, lasts[0] + fwd))
            else:
                spans += _joined(lasts, len(word) - 1 + radius, fwd)
        return [(a if a > 0 else 0, b if b < n else n) for a, b in merge(spans)]


def _joined(lasts: list[int], back: int, fwd: int, n: int | None = None) -> list[tuple[int, int]]:
    """The spans ``(last - back, last + fwd)`` of the occurrences ``lasts`` (ascending) with those that touch
    or overlap joined (:func:`merge`'s), found a window at a time: the furthest occurrence whose span reaches
    the window's end found by bisection, again from there until none does (a word met every few lines with
    windows of hundreds of characters: a few steps a window, not one an occurrence); each cut to ``[0, n]``
    when ``n`` is given."""
    out: list[tuple[int, int]] = []
    reach, size, k = back + fwd, len(lasts), 0
    while k < size:
        j = k
        while (far := bisect_right(lasts, lasts[j] + reach, j + 1) - 1) != j:
            j = far
        a, b = lasts[k] - back, lasts[j] + fwd
        out.append((a, b) if n is None else (a if a > 0 else 0, b if b < n else n))
        k = j + 1
    return out


def _checked(owner, words: Iterable[str]) -> Iterable[str]:
    for w in words:
        if not isinstance(w, str) or not w:
            raise ValueError(f"{owner!r}: a word to match must be a non-empty string, not {w!r}")
        yield w


def merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans, those that touch or overlap joined."""
    if not spans:
        return []
    spans.sort()
    merged: list[tuple[int, int]] = []
    start, end = spans[0]
    for a, b in spans:  # (the span being joined kept in two ints, not a tuple rebuilt a span)
        if a <= end:
            if b > end:
                end = b
        else:
            merged.append((start, end))
            start, end = a, b
    merged.append((start, end))
    return merged


class GatedRegexes:
    """Case-blind GatedRegexes whose literals (required and first) one :class:`MultiMatch` pass over the
    folded note finds. :meth:`finditer` gives each one's ``GatedRegex.finditer``'s matches."""

    def __init__(self, gated: Sequence[GatedRegex], plain_first: int = PLAIN_FIRST,
                 first_of: Callable[[re.Pattern], frozenset | None] | None = None):
        """``first_of``: strings one of which every match of a regex without first literals of its own
        starts with (case-folded), or None (e.g. read alternative by alternative: an alternation of many
        cues, regex_alternatives.alternatives_first); the regex is then tried only where they occur."""
        self.gated = tuple(gated)
        self._first_of = first_of
        self._words: MultiMatch | None = None
        self._first: dict[GatedRegex, frozenset] = {}  # each case-blind one's first literals
        # each case-blind one's slots: one a required set, one for its first literals (None: none); each
        # literal's slots. A note's literals are filed by slot once (Found.present): no regex's sets are read
        self._slots: dict[GatedRegex, tuple[tuple[int, ...], int | None]] = {}
        self._roles: dict[str, tuple[int, ...]] = {}
        self._size = 0
        self._plain_left = plain_first  # as a GatedRegex: the first notes need no reading of the regexes

    @property
    def words(self) -> frozenset | None:
        """The literals one pass looks for (None until :meth:`scan` has read the regexes)."""
        return None if self._words is None else self._words.words

    def scan(self, lowered: str | None, lasts: dict[str, list[int]] | None = None) -> Found | None:
        """One note's pass (``lowered``: ``folded(text)``); None for a text that cannot be folded, and for
        the first PLAIN_FIRST notes (each regex then searches alone). ``lasts``: the note's occurrences of
        (at least) :attr:`words`, from a pass shared with others (:meth:`MultiMatch.scan` of ``lowered``)."""
        if lasts is not None and self._words is not None:
            return Found(lasts)
        if self._words is None:
            if self._plain_left > 0:
                self._plain_left -= 1
                return None
            words: set[str] = set()
            roles: dict[str, list[int]] = {}
            size = 0
            for rx in self.gated:
                if rx.fold:
                    first = rx.first or (self._first_of(rx.regex) if self._first_of else None) or ()
                    words.update(*rx.required, first)
                    self._first[rx] = frozenset(first)
                    slots: list[int] = []
                    for strings in (*rx.required, first):  # (the last: its first literals, when it has some)
                        for w in strings:
                            roles.setdefault(w, []).append(size)
                        slots.append(size)
                        size += 1
                    self._slots[rx] = (tuple(slots[:-1]), slots[-1] if first else None)
            self._roles = {w: tuple(slots) for w, slots in roles.items()}
            self._size = size
            self._words = MultiMatch({}, also=words)
        if lowered is None:
            return None
        return Found(self._words.scan(lowered))

    def finditer(self, rx: GatedRegex, text: str, lowered: str | None, found: Found | None,
                 pos: int = 0, endpos: int | None = None) -> Iterator[re.Match]:
        """``rx.finditer(text, lowered, pos, endpos)``'s matches (``rx``: one of :attr:`gated`); ``found``:
        :meth:`scan`'s of the note (or of a longer text that ``text`` begins)."""
        if found is None or rx not in self._first:
            return rx.finditer(text, lowered, pos, endpos)
        live = found.live.get(rx)
        if live is None:  # whether it may match somewhere in the note: one string of each required set in it
            present = found.present if found.present is not None else self._present(found)
            live = found.live[rx] = all(map(present.__getitem__, self._slots[rx][0]))
        if not live:
            return iter(())
        return self._finditer(rx, text, found, pos, len(text) if endpos is None else min(endpos, len(text)))

    def _present(self, found: Found) -> list[list[str]]:
        """Each slot's literals that occur in the note, filed once a note from the note's words."""
        present: list[list[str]] = [[] for _ in range(self._size)]
        roles = self._roles.get
        for w in found.lasts:
            slots = roles(w)
            if slots is not None:
                for slot in slots:
                    present[slot].append(w)
        found.present = present
        return present

    def _finditer(self, rx: GatedRegex, text: str, found: Found, pos: int, end: int):
        lasts, present = found.lasts, found.present
        required, first = self._slots[rx]
        for slot in required:  # one of each set within [pos, end), or no match
            if not any(_within(lasts[w], len(w), pos, end) for w in present[slot]):
                return
        if first is None:
            yield from rx.regex.finditer(text, pos, end)
            return
        starts = found.starts.get(first)
        if starts is None:  # (read once a note: a regex is searched in several parts of a note)
            starts = found.starts[first] = sorted({last + 1 - len(w) for w in present[first] for last in lasts[w]})
        yield from matches_at_sorted(rx.regex, text, starts, pos, end)

    def search(self, rx: GatedRegex, text: str, lowered: str | None, found, pos: int = 0, endpos: int | None = None):
        """``rx.search(text, lowered, pos, endpos)``."""
        return next(self.finditer(rx, text, lowered, found, pos, endpos), None)


class Found:
    """One note's :meth:`GatedRegexes.scan`: where each literal occurs (:meth:`MultiMatch.scan`), whether
    each regex asked about so far may match in the note, its literals filed by slot (when first asked), and
    where a regex's first literals start in it (a slot's, sorted, when first asked)."""

    __slots__ = ("lasts", "live", "present", "starts")

    def __init__(self, lasts: dict[str, list[int]]):
        self.lasts = lasts
        self.live: dict[GatedRegex, bool] = {}
        self.present: list[list[str]] | None = None
        self.starts: dict[int, list[int]] = {}


def _within(lasts: list[int], length: int, pos: int, end: int) -> bool:
    """Whether one of the occurrences (the offsets of their last characters, ascending) of a word of
    ``length`` characters lies within ``[pos, end)``."""
    k = bisect_left(lasts, pos + length - 1)
    return k < len(lasts) and lasts[k] < end

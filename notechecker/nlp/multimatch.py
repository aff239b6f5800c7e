"""Many literal strings found in one pass over a text (an Aho-Corasick automaton, pyahocorasick).

Trying a few hundred words one by one with ``str.find`` costs one scan of the note per word; a
Python regex alternation of them was slower still. :class:`MultiMatch` is compiled once, from the
words the vocabularies under ``patterns/`` name, and finds every occurrence of every word
(overlapping ones too, exactly the occurrences repeated ``str.find`` calls find) in one scan.
Each word carries the owners that asked for it (an element, a normaliser pass), so one scan
answers all of them; words asked for by nobody in particular (``also``) are only reported as seen.
"""
from __future__ import annotations

from typing import Hashable, Iterable, Iterator, Mapping

import ahocorasick


class MultiMatch:
    """Every occurrence of a set of words, each tagged with the owners that asked for it.

    ``words``: owner -> the words (non-empty strings, matched as written: lower-case them and
    the text alike for a case-blind search); ``also``: more words, of no owner, that
    :meth:`windows` reports in its ``seen`` set (which of a regex's literals a note holds).
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
        for w in owners:
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
        for last, word in self._auto.iter(text):
            ends = found.get(word)
            if ends is None:
                found[word] = [last]
            else:
                ends.append(last)
        return found

    def windows(self, owner: Hashable, found: dict[str, list[int]], radius: int, n: int) -> list[tuple[int, int]]:
        """The merged windows of ``radius`` characters on each side of each occurrence of ``owner``'s words
        in a text of ``n`` characters (``found``: its :meth:`scan`), in order: :func:`merge`'s."""
        hit = found.keys() & self._owned.get(owner, ())
        if not hit:
            return []
        if len(hit) == 1:  # one word: its windows come in order, each ending after the one before
            (word,) = hit
            back = len(word) - 1 + radius
            out: list[list[int]] = []
            for last in found[word]:
                a, b = last - back, last + 1 + radius
                if out and a <= out[-1][1]:
                    out[-1][1] = b
                else:
                    out.append([a, b])
            return [(a if a > 0 else 0, b if b < n else n) for a, b in out]
        spans = [(last - back, last + 1 + radius) for word in hit for back in (len(word) - 1 + radius,)
                 for last in found[word]]
        return [(a if a > 0 else 0, b if b < n else n) for a, b in merge(spans)]


def _checked(owner, words: Iterable[str]) -> Iterable[str]:
    for w in words:
        if not isinstance(w, str) or not w:
            raise ValueError(f"{owner!r}: a word to match must be a non-empty string, not {w!r}")
        yield w


def merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans, those that touch or overlap joined."""
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged

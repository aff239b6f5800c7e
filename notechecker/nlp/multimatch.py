"""Many literal strings found in one pass over a text (an Aho-Corasick automaton, pyahocorasick).

Trying a few hundred words one by one with ``str.find`` costs one scan of the note per word; a
Python regex alternation of them was slower still. :class:`MultiMatch` is compiled once, from the
words the vocabularies under ``patterns/`` name, and finds every occurrence of every word
(overlapping ones too, exactly the occurrences repeated ``str.find`` calls find) in one scan.
Each word carries the owners that asked for it (an element, a normaliser pass), so one scan
answers all of them.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Hashable, Iterable, Iterator, Mapping

import ahocorasick


class MultiMatch:
    """Every occurrence of a set of words, each tagged with the owners that asked for it.

    ``words``: owner -> the words (non-empty strings, matched as written: lower-case them and
    the text alike for a case-blind search).
    """

    def __init__(self, words: Mapping[Hashable, Iterable[str]]):
        owners: dict[str, list[Hashable]] = defaultdict(list)
        for owner, ws in words.items():
            for w in ws:
                if not isinstance(w, str) or not w:
                    raise ValueError(f"{owner!r}: a word to match must be a non-empty string, not {w!r}")
                if owner not in owners[w]:
                    owners[w].append(owner)
        self.words = frozenset(owners)
        self._auto = ahocorasick.Automaton()
        for w, os_ in owners.items():
            self._auto.add_word(w, (len(w), tuple(os_)))
        if owners:
            self._auto.make_automaton()

    def __bool__(self) -> bool:
        return bool(self.words)

    def find(self, text: str) -> Iterator[tuple[int, int, tuple]]:
        """(start, end, owners) of every occurrence of every word, by end position."""
        if not self.words:
            return
        for end, (n, owners) in self._auto.iter(text):
            yield end + 1 - n, end + 1, owners

    def owners_in(self, text: str) -> set:
        """The owners of the words that occur in ``text``."""
        out: set = set()
        for _, _, owners in self.find(text):
            out.update(owners)
        return out

    def windows(self, text: str, radius: int) -> dict[Hashable, list[tuple[int, int]]]:
        """Owner -> merged windows of ``radius`` characters on each side of each occurrence of its words."""
        n = len(text)
        spans: dict[Hashable, list[tuple[int, int]]] = defaultdict(list)
        if not self.words:
            return {}
        for end, (length, owners) in self._auto.iter(text):  # find()'s occurrences, without its generator
            a, b = end + 1 - length - radius, end + 1 + radius
            span = (a if a > 0 else 0, b if b < n else n)
            for o in owners:
                spans[o].append(span)
        return {o: merge(s) for o, s in spans.items()}


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

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
        self._auto = ahocorasick.Automaton()
        for w, os_ in owners.items():
            self._auto.add_word(w, (len(w), tuple(os_), w))
        if owners:
            self._auto.make_automaton()

    def __bool__(self) -> bool:
        return bool(self.words)

    def find(self, text: str) -> Iterator[tuple[int, int, tuple]]:
        """(start, end, owners) of every occurrence of every word, by end position."""
        if not self.words:
            return
        for end, (n, owners, _) in self._auto.iter(text):
            yield end + 1 - n, end + 1, owners

    def owners_in(self, text: str) -> set:
        """The owners of the words that occur in ``text``."""
        out: set = set()
        for _, _, owners in self.find(text):
            out.update(owners)
        return out

    def windows(self, text: str, radius: int, seen: set | None = None) -> dict[Hashable, list[tuple[int, int]]]:
        """Owner -> merged windows of ``radius`` characters on each side of each occurrence of its words
        (:func:`merge`'s, joined as they come); ``seen``: filled with every word that occurs."""
        n = len(text)
        out: dict[Hashable, list[list[int]]] = {}
        if not self.words:
            return {}
        add = seen.add if seen is not None else None
        for end, (length, owners, word) in self._auto.iter(text):  # find()'s occurrences, by end
            if add is not None:
                add(word)
            a, b = end + 1 - length - radius, end + 1 + radius
            a, b = (a if a > 0 else 0), (b if b < n else n)
            for o in owners:
                spans = out.get(o)
                if spans is None:
                    out[o] = [[a, b]]
                    continue
                last = spans[-1]
                if a > last[1]:  # apart from the windows so far (none ends after b: ends only grow)
                    spans.append([a, b])
                elif a >= last[0]:  # within the last window's reach: it ends at b now
                    last[1] = b
                else:  # reaches back: joins the last window, and any before it that it reaches
                    while len(spans) > 1 and a <= spans[-2][1]:
                        spans.pop()
                    spans[-1] = [min(a, spans[-1][0]), b]
        return {o: [(a, b) for a, b in spans] for o, spans in out.items()}


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

"""What every linker shares: the per-note view of hits, sentences and sections, and clause geometry.

A linker is built once from the patterns (its tables) and called per note with a :class:`NoteView`;
nothing about a note is kept on it, so one instance serves many threads.
"""
from __future__ import annotations

import bisect
import functools
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from ...facts import Evidence, Section, make_evidence

from ...schema.vocab.patterns import Patterns
from ..regex_alternatives import AlternativesRegex
from ..segmenter import MAX_SENTENCE, boundaries

#: Characters a hit's "sentence" (between periods or line ends) reaches on each side at most.
SENTENCE_TEXT = 1500
#: Procedures done body by body (their levels are the treated bodies).
PER_BODY = frozenset({"kyphoplasty", "vertebroplasty"})


def norm(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(slots=True)
class Hit:
    """A target span reduced to plain values."""

    label: str
    value: str
    start: int
    end: int
    tok_start: int
    tok_end: int
    assertion: str
    literal: str
    weight: int
    section: str | None
    sent: int
    #: its evidence, once read (:meth:`NoteView.hit_ev`)
    ev: Evidence | None = field(default=None, compare=False, repr=False)


def evidence_end(text: str, start: int, limit: int, longest: int = 300) -> int:
    """End of a quote from ``start``: its first sentence (as the segmenter splits it, so
    "1." and "Dr." do not end it) or the end of its line, never mid-word."""
    return quote_end(text, start, limit, longest)[0]


#: A sentence boundary this many characters or more before the end of a text is one of any longer text
#: that starts so (what makes a boundary lies within 4 characters after it: a list mark, "12. ").
BOUNDARY_MARGIN = 8


#: A sentence's end as :func:`~..segmenter.boundaries` reads it, or more: a mark, then marks, closing quotes or
#: brackets, then a space or tab (". ", "?\t", '." ').
_MARK_SPACE = re.compile(r"[.?!][.?!\"')\]]*[ \t]")

#: The first sentence start of the white space after a one-line quote's words (None: none), remembered per process
#: for the first SPACE_MEMO such texts ("\n\n", "\r\n\r\n", " \n" ...: a few kinds, read in every note).
_SPACE_CUT: dict[str, int | None] = {}
SPACE_MEMO = 512


def quote_end(text: str, start: int, limit: int, longest: int = 300) -> tuple[int, int | None]:
    """:func:`evidence_end`, and the sentence boundary the quote was cut at (characters after ``start``;
    None: none). A quote of fewer characters that still holds that boundary BOUNDARY_MARGIN characters
    before its end is cut there too: it ends alike."""
    stop = min(limit, start + longest)
    chunk = text[start:stop]
    if len(chunk.split(None, 2)) == 3:  # (fewer than three words: no boundary has three before it)
        words = chunk.rstrip()
        if ("\n" in words or "\r" in words or ":" in words or _MARK_SPACE.search(words) is not None
                or len(chunk) > MAX_SENTENCE):
            for cut in boundaries(chunk):
                if len(chunk[:cut].split()) >= 3:
                    return start + len(chunk[:cut].rstrip()), cut
        else:
            # one line with no heading's colon and no sentence's end (half the quotes a note: a diagnosis, a
            # procedure title ...): boundaries(chunk) finds sentence starts only in the white space after its
            # words (a blank line's), those of that white space read alone, each with all the words before it
            # (tests/test_linkers_base.py holds this to boundaries); that white space's first, remembered
            space = chunk[len(words):]
            cut = _SPACE_CUT.get(space, -1)
            if cut == -1:
                cut = next(iter(boundaries(space)), None)
                if len(_SPACE_CUT) < SPACE_MEMO:
                    _SPACE_CUT[space] = cut
            if cut is not None:
                return start + len(words), len(words) + cut
    if stop < limit and stop < len(text) and text[stop - 1:stop + 1].strip() and " " in chunk:
        stop = text.rfind(" ", start, stop)  # cut at a word boundary
    return start + len(text[start:stop].rstrip()), None


def alternatives_of(regex: re.Pattern) -> AlternativesRegex:
    """A vocabulary regex as one :class:`~..regex_alternatives.AlternativesRegex` a process (each of its
    alternatives tried only in texts with its literals), shared by the linkers that search it (an element's
    cues; the description's steps, which Headings and Elements both read: one reading of the regex, one
    count of its plain first searches): found by the pattern object's identity (hashing a compiled pattern
    hashes its code, ~0.5 us for a long alternation), else by its value (equal patterns share one)."""
    kept = _BY_ID.get(id(regex))
    if kept is not None and kept[0] is regex:
        return kept[1]
    found = _BY_ID[id(regex)] = (regex, _alternatives_by_value(regex))  # (the pattern kept: its id not reused)
    return found[1]


_BY_ID: dict[int, tuple[re.Pattern, AlternativesRegex]] = {}


@functools.lru_cache(maxsize=None)
def _alternatives_by_value(regex: re.Pattern) -> AlternativesRegex:
    return AlternativesRegex(regex)


class ByLabel(Mapping):
    """label -> what ``build(label)`` makes of that label's target spans, built the first time the label
    is asked for (a note that is not a spine operation never reads most labels); a label whose build is
    empty is absent, as in a plain dict filled with the labels that have hits."""

    __slots__ = ("_labels", "_build", "_built")

    def __init__(self, labels, build):
        self._labels = labels  # the labels that may have hits, in the order first met
        self._build = build
        self._built: dict = {}

    def get(self, label, default=None):
        built = self._built
        if label in built:
            found = built[label]
        elif label in self._labels:
            found = built[label] = self._build(label)
        else:
            return default
        return found if found else default

    def __getitem__(self, label):
        found = self.get(label)
        if found is None:
            raise KeyError(label)
        return found

    def __iter__(self):
        return (label for label in self._labels if self.get(label))

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass
class NoteView:
    """One note as the linkers read it: its text, sections, sentences and target hits, with lookups."""

    text: str
    sections: list[Section]
    sent_starts: list[int]
    sent_ends: list[int]
    #: label -> hits (a dict, or a :class:`ByLabel` that reads a label's hits when first asked)
    hits_by_label: Mapping[str, list[Hit]] = field(default_factory=dict)
    #: label -> sentence index -> hits
    by_sent: Mapping[str, dict[int, list[Hit]]] = field(default_factory=dict)
    #: sentence index -> level mentions (filled once levels are read)
    levels_by_sent: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    #: sections whose template field the note left unfilled ("Indications: ***", masked by nlp/normalize.py)
    unfilled: frozenset = frozenset()
    #: where the words of the headings, the scope and the elements occur (``Extractor._words_pass``), or None
    words: dict[str, list[int]] | None = None

    def __post_init__(self) -> None:
        self._sec_starts = [s.start for s in self.sections]
        self._sent_evs: dict[int, Evidence] = {}  # sentence index -> its evidence (linkers ask again and again)

    @property
    def sec_bodies(self) -> list[tuple[Section, int]]:
        return [(s, s.start + len(s.title)) for s in self.sections]

    def section_at(self, char: int) -> str | None:
        i = bisect.bisect_right(self._sec_starts, char) - 1
        if i < 0:
            return None
        name = self.sections[i].name
        return None if name == "none" else name

    def sent_at(self, char: int) -> int:
        return max(0, bisect.bisect_right(self.sent_starts, char) - 1)

    def ev(self, start: int, end: int) -> Evidence:
        return make_evidence(self.text[start:end], start, end, self.section_at(start))

    def hit_ev(self, h: Hit) -> Evidence:
        """``ev(h.start, h.end)``: a hit knows its section; made once a hit (the approach's hits are quoted as
        mentions too)."""
        e = h.ev
        if e is None:
            e = h.ev = make_evidence(self.text[h.start:h.end], h.start, h.end, h.section)
        return e

    def sent_ev(self, i: int) -> Evidence:
        found = self._sent_evs.get(i)
        if found is None:
            a, b = self.sent_starts[i], self.sent_ends[i]
            seg = self.text[a:b]
            a += len(seg) - len(seg.lstrip())
            b -= len(seg) - len(seg.rstrip())
            found = self._sent_evs[i] = self.ev(a, max(a, b))
        return found

    def sentence_of(self, e: Evidence) -> Evidence:
        i = bisect.bisect_right(self.sent_starts, e.start) - 1  # (sent_at)
        return self.sent_ev(i if i > 0 else 0)

    def hits(self, label: str) -> list[Hit]:
        return self.hits_by_label.get(label, [])


class Linker:
    """Tables from the patterns, and the clause geometry every linker uses."""

    def __init__(self, patterns: Patterns):
        self.patterns = patterns
        self.L = patterns.linking  # linking vocabulary (patterns/linking.yaml)
        self.cue = patterns.linking.cues

    def clause_levels(self, text: str, h, mentions):
        """The level mentions of a hit's own clause (no clause break between them), or, when its clause
        names none, those of its sentence ("...; next, a plate was applied at C5-C7" keeps C5-C7 for the
        plate and away from the clause before)."""
        if len(mentions) < 2:
            return mentions
        rx = self.cue["clause_break"]
        own = [m for m in mentions if not rx.search(text, min(m.end, h.end), max(m.start, h.start))]
        return own or mentions

    @staticmethod
    def gap(m, h) -> int:
        """Characters between a level mention and a hit (0 when they touch or overlap)."""
        return max(0, h.start - m.end, m.start - h.end)

    @staticmethod
    def level_cue(m, cues):
        """The action cue a level mention belongs to: the nearest before it, else the nearest after."""
        before = [a for a in cues if a.end <= m.start]
        if before:
            return max(before, key=lambda a: a.end)
        after = [a for a in cues if a.start >= m.end]
        return min(after, key=lambda a: a.start) if after else None

    def clause_text(self, text: str, h) -> str:
        """The clause of a hit's sentence, between the clause breaks around it ("There was good apposition;
        next, a plate was applied" and "..., and next, a plate was applied" have two clauses)."""
        a, b = self.sentence_bounds(text, h)
        for m in self.cue["clause_break"].finditer(text, a, b):
            if m.end() <= h.start:
                a = m.end()
            elif m.start() >= h.end:
                b = m.start()
                break
        return text[a:b]

    @staticmethod
    def sentence_bounds(text: str, h) -> tuple[int, int]:
        # looked for within SENTENCE_TEXT characters each side (real notes' longest: ~850),
        # so the cost is linear in the note's length
        lo, hi = max(0, h.start - SENTENCE_TEXT), min(len(text), h.end + SENTENCE_TEXT)
        a = max(text.rfind(".", lo, h.start), text.rfind("\n", lo, h.start), lo - 1) + 1
        b = min(x for x in (text.find(".", h.end, hi), text.find("\n", h.end, hi), hi) if x != -1)
        return a, b

    @classmethod
    def sentence_text(cls, text: str, h) -> str:
        a, b = cls.sentence_bounds(text, h)
        return text[a:b]

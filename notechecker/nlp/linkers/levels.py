"""Levels for procedures named without any: the levels of their parts, else the localized level."""
from __future__ import annotations

import bisect

from ...facts import Evidence, Procedure
from .. import levels as lv
from ..regex_literals import PLAIN_FIRST, GatedRegex, folded
from .base import PER_BODY, Linker, NoteView


class ProcedureLevels(Linker):
    def __init__(self, patterns):
        super().__init__(patterns)
        # a case-blind regex led by \b: tried only where its first words ("level", "verif" ...) occur
        self._operative_level = GatedRegex(self.cue["operative_level"])
        self._plain_left = PLAIN_FIRST  # (mentions read with the plain search first: see localized)

    def localized(self, v: NoteView, level_mentions) -> list:
        """The operative level the surgeon localized ("this verified the level to be C5-C6"): level
        mentions in such sentences (a label's line counts with its sentence: "Levels treated: L1, L2" may be
        split after the colon)."""
        text, non_operative = v.text, self.L.non_operative
        mentions = [m for m in level_mentions if m.kind != "pelvis" and v.section_at(m.start) not in non_operative]
        if not mentions:
            return []
        # (the first mentions read with the plain search, as the gated regex answers its first searches: a
        # one-note check never reads the regex's literals; a scan does within its first notes)
        said = _Said.of(self._operative_level, text, plain=self._plain_left > 0)
        self._plain_left -= len(mentions)
        sent_starts, sent_ev = v.sent_starts, v.sent_ev
        out = []
        for m in mentions:  # the mention's line before it, then its sentence (NoteView.sentence_of)
            i = bisect.bisect_right(sent_starts, m.start) - 1
            if said(text.rfind("\n", 0, m.start) + 1, m.start, sent_ev(i if i > 0 else 0)):
                out.append(m)
        return out

    def __call__(self, procedures, instruments, sentence_of, localized=()) -> list[Procedure]:
        """A procedure named without levels anywhere is done where the narrative does its parts: one more
        mention of it, at the levels of its source procedures and placed hardware (linking.yaml
        ``level_sources``), quoting the sentence that names them; with no such part, at the operative
        level the surgeon localized (``localized``: level mentions in such sentences, or a function that
        gives them, called only when a procedure needs them), when one."""
        out = list(procedures)
        operative = None
        present = {p.kind for p in procedures if p.assertion == "present"}  # (the kinds that may need levels)
        for kind, (proc_kinds, hw_kinds, fallback) in self.L.level_sources.items():
            if kind not in present:
                continue
            mine = [p for p in procedures if p.kind == kind and p.assertion == "present"]
            if not mine or any(p.levels or p.interspaces for p in mine):
                continue
            if operative is None:
                localized = localized() if callable(localized) else localized
                operative = {x for m in localized for x in m.vertebrae}
            sources = [p for p in procedures if p.kind in proc_kinds and p.assertion == "present"
                       and (p.levels or p.interspaces)]
            hardware = [i for i in instruments if i.kind in hw_kinds and i.levels and i.assertion == "present"
                        and (i.action in ("placed", "reinserted", "removed") or (kind in PER_BODY and i.action == "mentioned"))
                        and (i.action == "removed") == (kind in ("disc_arthroplasty_removal", "hardware_removal"))]
            levels = {x for p in sources for x in p.levels} | {x for i in hardware for x in i.levels}
            if not levels:  # the last resort: an anterior plate spans the interspaces it fixes
                sources = [p for p in procedures if p.kind in fallback and p.assertion == "present" and p.levels]
                levels = {x for p in sources for x in p.levels}
            if kind in PER_BODY:  # each body treated is localized in turn ("the T12 pedicles were localized")
                levels |= operative
            if not levels and operative and len({m.text for m in localized}) == 1:
                m = localized[0]
                out.append(Procedure(kind, tuple(m.vertebrae), tuple(m.interspaces),
                                     sentence_of(Evidence("", m.start, m.end))))
                continue
            if not levels:
                continue
            inter = {q for p in sources for q in p.interspaces}
            if not inter and kind not in PER_BODY and sources and not hardware:
                ordered = lv.sort_levels(levels)
                inter = set(zip(ordered, ordered[1:]))
            if not inter and kind not in PER_BODY:
                inter = {(a, b) for i in hardware if i.kind in ("cage", "interbody_device", "artificial_disc",
                                                                 "interspinous_device")
                         for a, b in zip(lv.sort_levels(i.levels), lv.sort_levels(i.levels)[1:])}
            first = sources[0].evidence if sources else hardware[0].evidence if hardware else \
                Evidence("", localized[0].start, localized[0].end)
            out.append(Procedure(kind, tuple(lv.sort_levels(levels)),
                                 tuple(sorted(inter, key=lambda q: lv.vertebra_index(q[0]))), sentence_of(first)))
        return out



class _Said:
    """Whether a gated regex matches a line's start before a mention, a space, and a sentence, read for every
    level mention of a note (``ProcedureLevels.localized``): ``said(a, b, sentence)`` is
    ``regex.search(text[a:b] + " " + sentence.text) is not None``. A match starts where one of the regex's
    first literals starts (what :class:`GatedRegex` tries); none of them holding a space, such a place lies in
    one of the two pieces, so the note's places, found once, say where the joined text is tried, and a
    mention whose pieces hold none is not joined at all. The plain search where that cannot be read: no first
    literals known or read (``plain``), one holding a space or a letter outside ASCII (whose lower case may
    hang on the next letter, which the joint changes: a final sigma), or a note whose lower-casing is not the
    literals' (``folded``)."""

    __slots__ = ("_match", "_starts", "_ends", "_search", "_text")

    @classmethod
    def of(cls, gated: GatedRegex, text: str, plain: bool = False) -> "_Said":
        said = cls()
        said._text, said._match, said._search = text, gated.regex.match, None
        first = None if plain else gated.first
        probe = (folded(text) if gated.fold else text) if first else None
        if probe is None or any(" " in w or not w.isascii() for w in first):
            said._search = gated.search
            return said
        found = sorted((i, i + len(w)) for w in first for i in _occurrences(probe, w))
        said._starts, said._ends = [a for a, _ in found], [b for _, b in found]
        return said

    def _places(self, a: int, b: int, shift: int) -> list[int]:
        """Where a first literal lies inside ``text[a:b]``, as offsets ``shift`` after ``a``."""
        starts, ends = self._starts, self._ends
        k, out = bisect.bisect_left(starts, a), []
        while k < len(starts) and starts[k] < b:
            if ends[k] <= b:
                out.append(starts[k] - a + shift)
            k += 1
        return out

    def __call__(self, a: int, b: int, sentence) -> bool:
        text = self._text
        if self._search is not None:
            return self._search(text[a:b] + " " + sentence.text) is not None
        places = self._places(a, b, 0) + self._places(sentence.start, sentence.end, b - a + 1)
        if not places:
            return False
        joined, match = text[a:b] + " " + sentence.text, self._match
        return any(match(joined, i) is not None for i in places)


def _occurrences(text: str, word: str) -> list[int]:
    """Every offset where ``word`` starts in ``text`` (overlapping ones too)."""
    out, i = [], text.find(word)
    while i != -1:
        out.append(i)
        i = text.find(word, i + 1)
    return out

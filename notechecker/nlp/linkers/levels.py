"""Levels for procedures named without any: the levels of their parts, else the localized level."""
from __future__ import annotations

from ...facts import Evidence, Procedure
from .. import levels as lv
from ..regex_literals import GatedRegex
from .base import PER_BODY, Linker, NoteView


class ProcedureLevels(Linker):
    def __init__(self, patterns):
        super().__init__(patterns)
        # a case-blind regex led by \b: tried only where its first words ("level", "verif" ...) occur
        self._operative_level = GatedRegex(self.cue["operative_level"])

    def localized(self, v: NoteView, level_mentions) -> list:
        """The operative level the surgeon localized ("this verified the level to be C5-C6"): level
        mentions in such sentences (a label's line counts with its sentence: "Levels treated: L1, L2" may be
        split after the colon)."""
        text = v.text
        return [m for m in level_mentions if m.kind != "pelvis" and v.section_at(m.start) not in self.L.non_operative
                and self._operative_level.search(
                    text[text.rfind("\n", 0, m.start) + 1:m.start] + " "
                    + v.sentence_of(Evidence("", m.start, m.end)).text)]

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


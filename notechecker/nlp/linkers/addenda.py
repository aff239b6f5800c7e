"""Addenda and corrections: what a signed addendum restates replaces the body's statement."""
from __future__ import annotations

import dataclasses

from ...facts import Evidence, Superseded
from ...model import DOCUMENTED, SPINE_HARDWARE
from ...vertebrae import fmt_levels
from .. import levels as lv
from .base import Linker


class Addenda(Linker):
    def __call__(self, text, addenda, level_mentions, instruments, procedures, reasons, sentence_of):
        """What a signed addendum or correction restates replaces the body's statement of that fact; one
        that adds ("also", "in addition") adds to it. Returns (instruments, procedures, reasons, superseded).

        Replaced: removal reasons (when the addendum states or denies any), procedures of a kind the
        addendum names, hardware of a kind the addendum names (taking the body's action for that kind when
        the addendum only describes it), and levels the addendum swaps ("was L3, not L2").
        """
        def inside(e: Evidence) -> bool:
            return any(sec.start <= e.start < sec.end for sec in addenda)

        adds = any(self.cue["addendum_adds"].search(text, sec.start, sec.end) for sec in addenda)
        superseded: list[Superseded] = []

        # levels swapped: "the level treated was L3, not L2", "L2 should read L3"
        mentions = [m for m in level_mentions if any(sec.start <= m.start < sec.end for sec in addenda)]
        swap: dict[str, str] = {}
        swap_ev: Evidence | None = None
        for a, b in zip(mentions, mentions[1:]):
            between = text[a.end:b.start]
            if self.cue["level_replaces_next"].match(between):
                new, old = a, b
            elif self.cue["level_replaced_by_next"].match(between):
                new, old = b, a
            else:
                continue
            if len(new.vertebrae) == len(old.vertebrae):
                swap.update(zip(old.vertebrae, new.vertebrae))
                swap_ev = sentence_of(Evidence(text[a.start:b.end], a.start, b.end))

        def swapped(levels: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(lv.sort_levels({swap.get(x, x) for x in levels}))

        # reasons: the addendum's statement of why replaces the body's
        said = [m for m in reasons if inside(m.evidence)]
        if said and not adds:
            kept = [m for m in reasons if inside(m.evidence)]
            won = sorted({m.value for m in said if m.assertion in DOCUMENTED})
            for m in reasons:
                if not inside(m.evidence) and m.assertion in DOCUMENTED and m.value not in won:
                    superseded.append(Superseded("removal_reasons", m.value, ", ".join(won), sentence_of(m.evidence),
                                                 sentence_of(said[0].evidence)))
            reasons = kept

        # procedures of a kind the addendum names
        named = {p.kind for p in procedures if inside(p.evidence) and p.assertion == "present"}
        out_procs = []
        for p in procedures:
            if not inside(p.evidence) and p.kind in named and not adds:
                new = next(q for q in procedures if inside(q.evidence) and q.kind == p.kind)
                superseded.append(Superseded(f"procedure:{p.kind}", fmt_levels(p.levels) if p.levels else p.kind,
                                             fmt_levels(new.levels) if new.levels else new.kind,
                                             sentence_of(p.evidence), sentence_of(new.evidence)))
                continue
            if swap and not inside(p.evidence) and set(p.levels) & set(swap) and swapped(p.levels) != p.levels:
                new_levels = swapped(p.levels)
                superseded.append(Superseded(f"procedure:{p.kind}", fmt_levels(p.levels), fmt_levels(new_levels),
                                             sentence_of(p.evidence), swap_ev))
                p = dataclasses.replace(p, levels=new_levels, interspaces=tuple(
                    (swap.get(a, a), swap.get(b, b)) for a, b in p.interspaces))
            out_procs.append(p)

        # hardware of a kind the addendum names
        body_action = {}
        for i in instruments:
            if not inside(i.evidence) and i.action in ("removed", "placed", "reinserted"):
                body_action.setdefault(i.kind, i.action)
        # (what imaging showed is a finding, not a restatement of what was done)
        restated = [i for i in instruments if inside(i.evidence) and i.assertion == "present"
                    and i.kind in SPINE_HARDWARE and (i.action in ("removed", "placed", "reinserted")
                                                      or (i.action == "mentioned" and i.levels and i.kind in body_action))
                    and not self.cue["finding_verb"].search(sentence_of(i.evidence).text)]
        restated = [dataclasses.replace(i, action=body_action[i.kind]) if i.action == "mentioned" else i
                    for i in restated]
        replaced = {(i.kind, i.action) for i in restated}
        out_insts = []
        for i in instruments:
            if inside(i.evidence):
                continue
            if (i.kind, i.action) in replaced and not adds:
                new = next(r for r in restated if (r.kind, r.action) == (i.kind, i.action))
                if i.levels:  # (a mention without levels is not contradicted, only restated)
                    superseded.append(Superseded(f"instrument:{i.kind} {i.action}",
                                                 fmt_levels(i.levels) if i.levels else i.kind,
                                                 fmt_levels(new.levels) if new.levels else new.kind,
                                                 sentence_of(i.evidence), sentence_of(new.evidence)))
                continue
            if swap and set(i.levels) & set(swap):
                i = dataclasses.replace(i, levels=swapped(i.levels), anchors=swapped(i.anchors))
            out_insts.append(i)
        out_insts += restated + [i for i in instruments if inside(i.evidence) and i not in restated
                                 and i.action not in ("removed", "placed", "reinserted", "mentioned")]
        unique = list({(x.fact, x.old, x.new): x for x in superseded if x.old != x.new}.values())
        return out_insts, out_procs, reasons, unique


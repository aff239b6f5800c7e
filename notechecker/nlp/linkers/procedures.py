"""Procedures named for this operation, what the note's words make of them, and the approach.

A removal cue before a procedure turns it into its removal ("removal of the L4-5 disc arthroplasty");
a fusion named as an earlier one or as a finding is not a fusion done today; a generic fusion takes
its kind from the sentence's or the note's approach and region; an interbody arthrodesis described
without its name (a graft or cage in a disc space) is one; a disc prosthesis taken out is its removal
or revision.
"""
from __future__ import annotations

import dataclasses
import re
from collections import defaultdict

from ...facts import Evidence, Procedure, slot_setters
from .. import levels as lv
from ...model import NOT_THIS_OPERATION
from .base import Linker, NoteView

#: What may stand between "removal" and what is removed: "removal of the prior L4-5 disc arthroplasty".
_NAMED_AFTER_CUE = re.compile(r"[^,;.:()\n]*$")
#: A procedure named under these assertions is not one of this operation.
_NOT_DONE_TODAY = NOT_THIS_OPERATION | {"historical"}
_NEW = object.__new__
_SET_KIND, _SET_LEVELS, _SET_INTERSPACES, _SET_EVIDENCE, _SET_ASSERTION = (
    slot_setters(Procedure, ("kind", "levels", "interspaces", "evidence", "assertion")))


class Procedures(Linker):
    def __call__(self, v: NoteView) -> list[Procedure]:
        """Procedures named for this operation, with the levels of their clause."""
        text, hits_by_label, by_sent, levels_by_sent = v.text, v.hits_by_label, v.by_sent, v.levels_by_sent
        out: list[Procedure] = []
        approach_by_sent = by_sent.get("APPROACH", {})
        actions_by_sent = by_sent.get("ACTION", {})
        non_operative, fusion_kinds, when_removed = self.L.non_operative, self.L.fusion_kinds, self.patterns.when_removed
        for h in hits_by_label.get("PROCEDURE", []):
            if h.section in non_operative or h.assertion in _NOT_DONE_TODAY:
                continue
            kind = h.value
            before = text[max(0, h.start - 40):h.start]
            actions = actions_by_sent.get(h.sent)
            removal_cue = bool(actions) and any(
                a.value == "removed" and a.end <= h.start and h.tok_start - a.tok_end <= 6
                and _NAMED_AFTER_CUE.match(text, a.end, h.start)
                and not self.L.words.passive_before.search(text, max(0, a.start - 30), a.start) for a in actions)
            if removal_cue and kind in when_removed:
                kind = when_removed[kind]
            elif kind in fusion_kinds and self.cue["exploration"].search(before):
                kind = "exploration_of_fusion"
            if kind in fusion_kinds and (
                    self.cue["prior_fusion"].search(before) or self.cue["fusion_finding"].match(text, h.end, h.end + 60)
                    or (h.section not in ("procedures", "addendum")
                        and not self.cue["fusion_performed"].search(self.sentence_text(text, h)))):
                continue  # "the fusion was solid", "her prior fusion": not a fusion done today
            if kind in ("fusion", "interbody_fusion"):
                cues = {a.value for a in approach_by_sent.get(h.sent, []) if a.assertion == "present"}
                if kind == "fusion" and self.cue["interbody"].search(before):
                    kind = "interbody_fusion"
                kind = f"{kind}@{'|'.join(sorted(cues))}"  # resolved once the note's approach is known
            vert: list[str] = []
            inter: list[tuple[str, str]] = []
            for m in self.clause_levels(text, h, levels_by_sent.get(h.sent, [])):
                vert.extend(m.vertebrae)
                inter.extend(m.interspaces)
            # Procedure(kind, levels, interspaces, evidence, assertion), built by its slots' setters (the frozen
            # dataclass's __init__ sets each field through object.__setattr__)
            p = _NEW(Procedure)
            _SET_KIND(p, kind)
            _SET_LEVELS(p, tuple(lv.sort_levels(vert)) if vert else ())
            _SET_INTERSPACES(p, tuple(sorted(set(inter), key=lambda q: lv.vertebra_index(q[0]))) if inter else ())
            _SET_EVIDENCE(p, v.hit_ev(h))
            _SET_ASSERTION(p, h.assertion)
            out.append(p)
        return out

    def resolve_fusions(self, procedures, approach, levels) -> list[Procedure]:
        """Generic "fusion" / "interbody fusion" -> a kind, by the sentence's or the note's approach and region.

        A bare "fusion" refers to the fusion the note names elsewhere when it names one
        ("TLIF L4-5 ... the fusion bed was decorticated"), so it adds nothing then.
        """
        specific = any(p.kind in self.L.fusion_kinds and "@" not in p.kind for p in procedures)
        out = []
        for p in procedures:
            if "@" in p.kind and specific and p.evidence.section != "procedures":
                continue
            if "@" not in p.kind:
                out.append(p)
                continue
            generic, cues = p.kind.split("@", 1)
            cue_set = set(cues.split("|")) - {""}
            how = next((a for a in ("anterior", "lateral", "posterior") if a in cue_set), None) or approach or "posterior"
            region_levels = p.levels or tuple(levels)
            region = "cervical" if region_levels and all(x.startswith("C") or x == "T1" for x in region_levels) else "other"
            table = self.patterns.resolve.get(generic, {})
            kind = table.get(how, {}).get(region) or table.get("posterior", {}).get(region) or "posterior_fusion"
            out.append(dataclasses.replace(p, kind=kind))
        return out

    def interbody_in_disc_space(self, procedures, instruments, approach, sentence_of) -> list[Procedure]:
        """An interbody arthrodesis the note describes without naming it.

        An anterior discectomy with a graft or spacer put in the disc space is one even when
        the note never says "fusion" ("C5-C6 anterior cervical discectomy. Bone bank allograft.
        Anterior cervical plate."); so is a cage or spacer inserted into a disc space from
        any approach ("A PEEK cage packed with autograft was inserted into the L4-5 disc space").
        """
        kinds = {p.kind.split("@")[0] for p in procedures}
        interbody = {"acdf", "interbody_fusion", "interbody_fusion_anterior", "interbody_fusion_posterior",
                     "interbody_fusion_lateral", "disc_arthroplasty"}
        if kinds & interbody or approach is None:
            return procedures
        discs = [p for p in procedures if p.kind == "discectomy" and p.levels and p.assertion == "present"]
        devices = [i for i in instruments if i.action == "placed" and i.kind in ("interbody_device", "cage")]
        graft = next((p for p in procedures if p.kind == "bone_graft" and p.assertion == "present"), None)
        if approach == "anterior" and not kinds & self.L.fusion_kinds and discs and (graft or devices):
            evidence = graft.evidence if graft is not None else devices[0].evidence
            levels = {x for p in discs for x in p.levels}
        else:
            in_space = [i for i in devices if self.cue["disc_space"].search(sentence_of(i.evidence).text)]
            if not in_space:
                return procedures
            evidence = in_space[0].evidence
            levels = {x for i in in_space for x in i.levels} or {x for p in discs for x in p.levels}
        inter = tuple(sorted({x for p in discs for x in p.interspaces}, key=lambda q: lv.vertebra_index(q[0])))
        found = Procedure(f"interbody_fusion@{approach}", tuple(lv.sort_levels(levels)), inter, evidence)
        return [*procedures, *self.resolve_fusions([found], approach, sorted(levels, key=lv.vertebra_index))]

    @staticmethod
    def disc_prosthesis_procedures(instruments, procedures, sentence_of) -> list[Procedure]:
        """A disc prosthesis taken out is a disc arthroplasty removal, or a revision when a prosthesis
        goes back in ("Removal of L4-L5 lumbar total disc prosthesis", "the migrated artificial disc was
        removed and a new one inserted"), though the note never names the procedure."""
        if any(p.kind in ("disc_arthroplasty_removal", "disc_arthroplasty_revision") for p in procedures):
            return procedures
        discs = [i for i in instruments if i.kind == "artificial_disc" and i.assertion == "present"]
        out = [i for i in discs if i.action == "removed"]
        if not out:
            return procedures
        back = [i for i in discs if i.action in ("placed", "reinserted")]
        kind = "disc_arthroplasty_revision" if back else "disc_arthroplasty_removal"
        levels = lv.sort_levels({x for i in out + back for x in i.levels})
        inter = tuple(zip(levels, levels[1:])) if len(levels) == 2 else ()
        evidence = sentence_of(next((i for i in out if i.levels), out[0]).evidence)
        done = [p for p in procedures if p.kind != "disc_arthroplasty" or not back]
        return [*done, Procedure(kind, tuple(levels), inter, evidence)]

    def approach(self, hits_by_label, procedures, instruments, hit_ev):
        """The note's approach and its best evidence: approach words, procedures and hardware, weighed."""
        score: dict[str, int] = defaultdict(int)
        evidence: dict[str, list[Evidence]] = defaultdict(list)
        for h in hits_by_label.get("APPROACH", []):
            if h.section in self.L.non_operative or h.assertion in _NOT_DONE_TODAY:
                continue
            score[h.value] += h.weight
            evidence[h.value].append((-h.weight, h.start, hit_ev(h)))
        for p in procedures:
            a = self.L.procedure_approach.get(p.kind.split("@")[0])
            if a:
                score[a] += 6 if a == "percutaneous" else 3
                evidence[a].append((-3, p.evidence.start, p.evidence))
        for kind in {i.kind for i in instruments if i.action in ("removed", "placed", "reinserted")}:
            a = self.patterns.approach_by_kind.get(kind)
            if a:
                score[a] += 3
        operative = bool(procedures) or any(i.action in ("removed", "placed", "reinserted") for i in instruments)
        if not score or not operative:
            return None, []
        best = max(score, key=lambda k: (score[k], k == "posterior"))
        if score[best] < 3:
            return None, []
        return best, [e for _, _, e in sorted(evidence[best], key=lambda x: (x[0], x[1]))[:5]]


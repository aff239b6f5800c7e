"""What the hardware facts make of the operation as a whole, before its constructs are built.

A removal counts only in a note about removing hardware; a disc arthroplasty removal takes out the
prosthesis; hardware put back where hardware came out is a reinsertion; new rods into retained anchors
put the construct back.
"""
from __future__ import annotations

import dataclasses

from ...facts import Instrument
from ...model import ANCHOR_KINDS, DOCUMENTED
from .base import Linker

#: What joins anchors: put back into retained anchors, it is the construct put back.
CONNECTOR_KINDS = frozenset({"rod", "set_screw", "crosslink"})
#: Procedures that take a disc prosthesis out (its removal, or its revision with a new one).
DISC_REMOVALS = frozenset({"disc_arthroplasty_removal", "disc_arthroplasty_revision"})


class Constructs(Linker):
    def removal_in_context(self, instruments, procedures, reasons, exploring=False,
                            prior_hardware=False) -> list[Instrument]:
        """A "removed" mention counts only in a note about removing hardware.

        Fusion notes remove trial spacers, swapped rods and cannulas in passing. Removal is
        real when the note names it outside the operative narrative (procedure list,
        title, indication), names a removal procedure, describes hardware that was
        already there, or states a reason for removal.
        """
        removed = [i for i in instruments if i.action == "removed"]
        if not removed:
            return instruments
        context = (
            any(i.evidence.section not in ("description", "findings") for i in removed)
            or any(p.kind in ("hardware_removal", "exploration_of_fusion") for p in procedures)
            or any(i.action == "retained" for i in instruments)
            or prior_hardware
            or exploring
            or any(m.assertion in DOCUMENTED for m in reasons)
        )
        if context:
            return instruments
        return [dataclasses.replace(i, action="temporary") if i.action == "removed" else i for i in instruments]

    @staticmethod
    def disc_prosthesis_removed(instruments, procedures) -> list[Instrument]:
        """The removal or revision of a disc arthroplasty takes the prosthesis out, though the narrative names
        only its parts ("the polyethylene core was removed and both endplates extracted")."""
        if any(i.kind == "artificial_disc" and i.action == "removed" for i in instruments):
            return instruments
        done = [p for p in procedures if p.kind in DISC_REMOVALS and p.assertion == "present"]
        if not done:
            return instruments
        p = next((q for q in done if q.levels), done[0])
        return [*instruments, Instrument(kind="artificial_disc", action="removed", count=None, levels=p.levels,
                                         evidence=p.evidence, anchors=())]

    @staticmethod
    def reinserted_in_kind(instruments) -> list[Instrument]:
        """In a reinsertion case, hardware placed where hardware came out was put back in kind
        (new set screws, upsized screws in the same pedicles): reinsertion, not new instrumentation."""
        if not any(i.action == "reinserted" for i in instruments):
            return instruments
        removed_levels = {x for i in instruments if i.action in ("removed", "reinserted") for x in i.levels}
        removed_kinds = {i.kind for i in instruments if i.action in ("removed", "reinserted")}
        out = []
        for i in instruments:
            if i.action == "placed" and i.kind in removed_kinds | {"set_screw"} and set(i.levels) <= removed_levels:
                i = dataclasses.replace(i, action="reinserted")
            out.append(i)
        return out

    @staticmethod
    def connectors_into_retained_anchors(instruments) -> list[Instrument]:
        """Rods (and their caps, cross-links) taken out and new ones put into the same retained screws or
        hooks, with no new anchor placed: the construct is put back, a reinsertion (CODING.md rules 4 and 11),
        not new instrumentation ("both rods replaced into the existing pedicle screws")."""
        present = [i for i in instruments if i.assertion == "present"]
        if any(i.action == "placed" and i.kind in ANCHOR_KINDS for i in present):
            return instruments
        if not any(i.action == "retained" and i.kind in ANCHOR_KINDS for i in present):
            return instruments
        removed = {i.kind for i in present if i.action == "removed"}
        if "rod" not in removed or not any(i.action == "placed" and i.kind == "rod" for i in present):
            return instruments
        return [dataclasses.replace(i, action="reinserted") if i.action == "placed" and i.kind in CONNECTOR_KINDS
                else i for i in instruments]

    def sided(self, constructs, approach):
        """Each construct on the side its own anchors tell (targets' ``hardware`` approach votes), where they
        tell one side against the note's approach and no hardware of it tells the other: the percutaneous
        pedicle screws and rods of an anterior interbody fusion are a posterior construct. (A rod alone does
        not tell: anterior rod-and-screw constructs exist.)"""
        by_kind = self.patterns.approach_by_kind
        out = []
        for c in constructs:
            anchor_sides = {by_kind[k] for k in c.kinds if k in ANCHOR_KINDS and k in by_kind}
            sides = {by_kind[k] for k in c.kinds if k in by_kind}
            if approach is not None and len(anchor_sides) == 1 and sides == anchor_sides and approach not in sides:
                c = dataclasses.replace(c, approach=anchor_sides.pop())
            out.append(c)
        return out

"""The code plan of one note: computed once, from the one operation model.

A note that is not a spine operation (``facts.scope``) gets no spine code and no plan
(CODING.md rule 12): the plan says why, and nothing else is concluded.
"""
from __future__ import annotations

from notechecker.schema.catalogue import Catalogue
from notechecker.coding.arthroplasty import arthroplasty
from notechecker.coding.augmentation import augmentation
from notechecker.coding.common import Conclusion, Note, Plan
from notechecker.coding.devices import devices
from notechecker.coding.fusion import fusions
from notechecker.coding.hardware import hardware
from notechecker.coding.interspinous import interspinous
from notechecker.coding.modifiers import add_on_primaries, modifiers
from notechecker.facts import Facts
from notechecker.model import Operation


def out_of_scope_reason(facts: Facts) -> str | None:
    """Why the note is not coded with spine codes (None for a spine operation)."""
    if facts.scope.is_spine:
        return None
    return facts.scope.reason or facts.scope.kind.replace("_", " ")


def build_plan(facts: Facts, catalogue: Catalogue, operation: Operation | None = None) -> Plan:
    note = Note(facts, catalogue, operation)
    plan = Plan()
    why = out_of_scope_reason(facts)
    if why is not None:
        rule = note.rule("spine_operation_only")
        plan.out_of_scope = Conclusion(codes=(), verdict="outside_scope", rule=rule.id,
                                       message=note.msg("out_of_scope", reason=why), reasons=(rule.text,),
                                       evidence=tuple(facts.scope.evidence))
        return plan
    hardware(note, plan)
    devices(note, plan)
    fusions(note, plan)
    arthroplasty(note, plan)
    interspinous(note, plan)
    augmentation(note, plan)
    add_on_primaries(note, plan)
    modifiers(note, plan)
    return plan

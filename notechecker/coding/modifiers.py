"""Add-ons without a primary (rule 6) and the modifiers a documented situation calls for.

Modifier suggestions never push a code up: modifier 22 is never suggested (it needs a
stated reason and a measure of the extra work, checked only when billed), and modifier 52
for a partial removal is coder review, never a requirement (CODING.md, modifier 52).
"""
from __future__ import annotations

import re
from typing import Any

from notechecker.coding.common import Conclusion, Note, Plan
from notechecker.facts import Facts


def add_on_primaries(note: Note, plan: Plan) -> None:
    """BR-06 on the suggestion: an add-on needs a primary code or a documented out-of-scope primary."""
    table = note.table
    rule = note.rule("add_on_primary")
    primaries = [ln.code for ln in plan.lines if not table.is_add_on(ln.code)]
    outside = {k: c for k, c in table.out_of_scope_primaries.items() if k in note.procs}
    for ln in plan.lines:
        if not table.is_add_on(ln.code):
            continue
        if any(table.primary_matches(ln.code, p) for p in primaries):
            continue
        found = [k for k, c in outside.items() if table.primary_matches(ln.code, c)]
        if found:
            ln.reasons.append(note.msg("primary_outside_scope", kinds=", ".join(sorted(found))))
            continue
        plan.notes.append(Conclusion(
            codes=(ln.code,), verdict=rule.verdict, rule=rule.id,
            message=note.msg("add_on_without_primary", code=ln.code),
            reasons=(rule.text,), evidence=tuple(ln.evidence)))


def modifier_gaps(facts: Facts, spec: Any, reason_documented: bool) -> list[str]:
    """What the note lacks for a modifier (cpt_spine.yaml ``modifiers``)."""
    missing = [n.replace("_", " ") for n in spec.needs if not facts.element(n).present]
    if spec.needs_value and spec.needs:
        el = facts.element(spec.needs[0])
        if el.present:
            said = " ".join([el.value or ""] + [e.text for e in el.evidence])
            if spec.measure and not re.search(spec.measure, said, re.IGNORECASE):
                missing.append(f"a measure of the {spec.needs[0].replace('_', ' ')} (time, or a comparison "
                               f"with the usual case)")
            elif not spec.measure and not el.value:
                missing.append(f"how much / who ({spec.needs[0].replace('_', ' ')} stated without detail)")
    if spec.needs_reason and not reason_documented:
        missing.append("the reason (a removal reason or indication)")
    return missing


def modifiers(note: Note, plan: Plan) -> None:
    """Modifiers the documented situation calls for, with what the note must show for each."""
    table, msg = note.table, note.msg
    primaries = [ln for ln in plan.lines if not table.is_add_on(ln.code)]
    if not primaries:
        return
    reason_doc = bool(note.reason_values) or note.element("indication")
    for mod, spec in table.modifiers.items():
        if not spec.when or not note.element(spec.when):
            continue
        codes = [ln.code for ln in primaries if spec.families is None or table.family(ln.code) in spec.families]
        if not codes:
            continue
        missing = modifier_gaps(note.facts, spec, reason_doc)
        if spec.review:  # disputed: coder review with the reason, never "needed"
            plan.modifiers.append(Conclusion(
                codes=tuple(codes), verdict="coder_review", modifiers=(mod,), rule=spec.rule,
                message=msg("modifier_review", name=spec.name[:1].upper() + spec.name[1:], mod=mod, review=spec.review.strip())
                + (" " + msg("modifier_lacks", missing=", ".join(missing)) if missing else ""),
                reasons=(spec.review.strip(),) + tuple(f"missing: {m}" for m in missing),
                evidence=note.element_evidence(spec.when)))
            continue
        event = [n.replace("_", " ") for n in spec.needs if n != spec.when]
        if any(m in event for m in missing):
            # the note names the situation (a phrase that may be a consent risk: "may require return to
            # the operating room") but not the event itself (the index operation it returns from): no
            # modifier is asked of any code; a coder confirms (issue 20)
            plan.notes.append(Conclusion(
                codes=(), verdict="coder_review", modifiers=(mod,), rule=spec.rule,
                message=msg("modifier_unestablished", name=spec.name, mod=mod, missing=", ".join(missing)),
                reasons=tuple(f"missing: {m}" for m in missing), evidence=note.element_evidence(spec.when)))
            continue
        plan.modifiers.append(Conclusion(
            codes=tuple(codes), verdict="modifier_needed", modifiers=(mod,),
            message=msg("modifier_report", name=spec.name[:1].upper() + spec.name[1:], mod=mod) + (
                " " + msg("modifier_lacks", missing=", ".join(missing)) if missing else " " + msg("modifier_complete")),
            reasons=tuple(f"missing: {m}" for m in missing), evidence=note.element_evidence(spec.when)))
    if len({ln.code for ln in primaries}) > 1:
        ordered = [ln.code for ln in primaries]
        plan.modifiers.append(Conclusion(
            codes=tuple(ordered[1:]), verdict="modifier_needed", modifiers=("51",),
            message=msg("modifier_51", codes=", ".join(ordered)), reasons=(msg.reason("modifier_51"),)))

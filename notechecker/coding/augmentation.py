"""Vertebroplasty (22510-22512) and vertebral augmentation (22513-22515); sacroplasty is not 22511."""
from __future__ import annotations

from notechecker.coding.common import Conclusion, Note, Plan, review
from notechecker.vertebrae import region_of, sort_levels


def augmentation(note: Note, plan: Plan) -> None:
    table, msg = note.table, note.msg
    treated: set[str] = set()
    for tech in ("vertebroplasty", "kyphoplasty"):
        procs = note.procedures([tech])
        if not procs:
            continue
        ev = [p.evidence for p in procs]
        bodies = sort_levels(lv for p in procs for lv in p.levels)
        other = "kyphoplasty" if tech == "vertebroplasty" else "vertebroplasty"
        if not bodies and not note.has(other):  # the note's levels are the treated bodies
            bodies = sort_levels(note.facts.levels) or sort_levels(
                lv for i in note.instruments("placed", table.roles["cement"]) for lv in i.levels)
        if not bodies:
            review(plan, list(table.codes_for("augmentation")), msg("augmentation_bodies_unknown", tech=tech),
                   [msg.reason("augmentation_bodies_unknown")], ev)
            continue
        sacral = [b for b in bodies if region_of(b) == "sacral"]
        if sacral:  # CC-02: sacroplasty has its own Category III codes
            rule = note.rule("sacroplasty_not_vertebroplasty")
            codes = tuple(c for c in table.codes_for("augmentation")
                          if table.codes[c].select.get("technique") == tech
                          and "lumbar" in (table.codes[c].select.get("region") or ()))
            plan.dropped.append(Conclusion(codes=codes, verdict=rule.verdict, rule=rule.id,
                                           message=msg("sacroplasty", bodies=", ".join(sacral)),
                                           reasons=(rule.text,), evidence=tuple(ev)))
            review(plan, [], msg("sacroplasty", bodies=", ".join(sacral)), [rule.text], ev, verdict="outside_scope",
                   rule=rule.id)
            bodies = tuple(b for b in bodies if b not in sacral)
            if not bodies:
                continue
        treated.update(bodies)
        first = next((b for b in bodies if note.pick("augmentation", technique=tech, region=region_of(b),
                                                      position="first")), None)
        if first is None:
            review(plan, [], msg("augmentation_no_code", tech=tech.capitalize(), bodies=", ".join(bodies)),
                   [f"regions: {', '.join(sorted({str(region_of(b)) for b in bodies}))}"], ev,
                   verdict="outside_scope")
            continue
        plan.add(note.pick("augmentation", technique=tech, region=region_of(first), position="first"), 1,
                 [f"{tech.capitalize()} of {first} ({region_of(first)}): first body."], ev)
        rest = [b for b in bodies if b != first]
        plan.add(note.pick("augmentation", technique=tech, region=region_of(first), position="additional"),
                 len(rest), [f"Each additional body: {', '.join(rest)}."], ev)
    both = set(lv for p in note.procedures(["vertebroplasty"]) for lv in p.levels) & set(
        lv for p in note.procedures(["kyphoplasty"]) for lv in p.levels)
    if both:
        review(plan, table.codes_for("augmentation"), msg("augmentation_both", bodies=", ".join(sort_levels(both))),
               [msg.reason("augmentation_both")], note.proc_evidence(["vertebroplasty", "kyphoplasty"]))
    limit = table.limits.get("augmentation_bodies")
    if limit is not None and len(treated) > limit:  # CC-03: a payer limit, never a coding rule
        rule = note.rule("augmentation_body_limit")
        review(plan, [ln.code for ln in plan.lines if table.family(ln.code) == "augmentation"],
               msg("augmentation_over_limit", n=len(treated), limit=limit, bodies=", ".join(sort_levels(treated))),
               [rule.text], note.proc_evidence(["vertebroplasty", "kyphoplasty"]), rule=rule.id)

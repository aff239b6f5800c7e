"""Removal, reinsertion, exploration and new instrumentation (CODING.md rules 1-5, 8, 10, 11)."""
from __future__ import annotations

from notechecker.coding.common import (Conclusion, Note, Plan, fusion_primary_documented, review,
                                       spine_levels_documented)
from notechecker.facts import Construct
from notechecker.model import segmental
from notechecker.vertebrae import PELVIS, fmt_levels, segments, sort_levels


def _structural(note: Note, c: Construct) -> bool:
    """Fixation that is new instrumentation: not only set screws, locking caps or cross-links (rule 11)."""
    kinds = set(c.kinds)
    return bool(kinds & note.table.roles["fixation"]) and not kinds <= note.table.roles["not_new_fixation"]


def _anterior_construct(note: Note, c: Construct) -> bool:
    """An anterior plate or rod construct (rule 8: integral cage anchoring is not one)."""
    return bool(set(c.kinds) & note.table.roles["anterior_construct"])


def _integral_anchoring(note: Note) -> bool:
    """The note shows screws or flanges through a stand-alone cage or spacer (data: integral_anchoring)."""
    pattern = note.table.integral_anchoring
    if pattern is None:
        return False
    kinds = note.table.roles["interbody"] | {"screw"}
    if any(pattern.search(f"{i.brand or ''} {i.evidence.text}") for i in note.instruments("placed", kinds)):
        return True
    return any(pattern.search(e.text) for c in note.built("placed") for e in c.evidence)


def hardware(note: Note, plan: Plan) -> None:
    """Removal, reinsertion, exploration and new instrumentation."""
    table, msg = note.table, note.msg
    fixation = table.roles["fixation"]
    removed = [c for c in note.built("removed") if set(c.kinds) & fixation]
    placed_all = [c for c in note.built("placed") if set(c.kinds) & fixation]
    placed = [c for c in placed_all if _structural(note, c)]
    reinserted = [c for c in note.built("reinserted") if set(c.kinds) & fixation]
    for c in placed_all:
        if c not in placed:  # set screws / cross-links tightened or added: not new fixation (BR-11)
            rule = note.rule("set_screws_not_new_fixation")
            plan.dropped.append(Conclusion(
                codes=table.codes_for("posterior_instrumentation"), verdict=rule.verdict, rule=rule.id,
                message=msg("set_screws_not_new", kinds=", ".join(k.replace("_", " ") for k in c.kinds),
                            codes=", ".join(table.codes_for("posterior_instrumentation"))),
                reasons=(rule.text,), evidence=c.evidence))
    exploring = note.element("exploration_intent") or note.has("exploration_of_fusion")
    # BR-10: a removal reason decides the intent only when hardware was actually removed
    removal_purpose = bool(note.reason_values) and bool(removed)
    explore_ev = note.element_evidence("exploration_intent") + tuple(note.proc_evidence(["exploration_of_fusion"]))
    reinsertion = note.pick("reinsertion")
    exploration = note.pick("exploration")

    # Reinsertion at other levels than the removal is new instrumentation (BR-04).
    removed_levels = {frozenset(sort_levels(c.levels)) for c in removed}
    same_reinsert = []
    for ri in reinserted:
        if frozenset(sort_levels(ri.levels)) in removed_levels and sort_levels(ri.levels):
            same_reinsert.append(ri)
        elif not sort_levels(ri.levels) and removed:
            # where it went back is not stated: never "not where it was removed" on a doubt (BR-04)
            rule = note.rule("reinsertion_requires_same_levels")
            plan.add(reinsertion, 1, [msg("reinserted_levels_unknown", code=reinsertion)], ri.evidence)
            review(plan, [reinsertion], msg("reinserted_levels_unknown", code=reinsertion), [rule.text],
                   ri.evidence, rule=rule.id)
            removed = []  # the removal goes with the reinsertion (BR-01): no removal code on top
        else:
            placed.append(ri)
            rule = note.rule("reinsertion_requires_same_levels")
            plan.dropped.append(Conclusion(
                codes=(reinsertion,), verdict=rule.verdict, rule=rule.id,
                message=msg("reinsertion_other_levels", levels=fmt_levels(sort_levels(ri.levels)),
                            code=reinsertion),
                reasons=(rule.text,), evidence=ri.evidence))
    placed_levels = set(lv for c in placed for lv in sort_levels(c.levels))
    primary = fusion_primary_documented(note)

    if exploring and not removal_purpose:
        rule = note.rule("exploration_intent")
        if _exploration_inside_fusion(note, plan, explore_ev):
            pass
        else:
            plan.add(exploration, 1, [msg("exploration_only")], explore_ev)
        for c in removed:
            code = _removal_code(note, plan, c, quiet=True)
            plan.dropped.append(Conclusion(
                codes=(code,) if code else (), verdict=rule.verdict, rule=rule.id,
                message=msg("removal_bundled_in_exploration", code=exploration),
                reasons=(rule.text,), evidence=c.evidence + explore_ev))
    elif exploring and not _exploration_inside_fusion(note, plan, explore_ev):
        rule = note.rule("exploration_intent")
        review(plan, [exploration], msg("exploration_and_reason", code=exploration),
               [rule.text, f"removal reasons: {', '.join(sorted(note.reason_values))}"], explore_ev, rule=rule.id)

    if not (exploring and not removal_purpose):
        for c in removed:
            levels = set(sort_levels(c.levels))
            if not levels and not spine_levels_documented(note) and not set(c.kinds) & table.roles["spine_only"] \
                    and not note.has("hardware_removal", "reinsertion", "exploration_of_fusion"):
                # hardware taken out at no stated vertebra, with no spinal removal named: never a guessed code
                review(plan, [], msg("removal_nowhere"), [msg("reason_levels_unknown")], c.evidence)
                continue
            code = _removal_code(note, plan, c, quiet=False)
            if placed and not levels:
                # BR-03 cannot be decided without the removed levels: never "does not overlap"
                if code:
                    plan.add(code, 1, _removal_reasons(note, c), c.evidence)
                review(plan, [x for x in (code,) if x],
                       msg("removal_levels_unknown_with_new", placed=fmt_levels(sort_levels(placed_levels)),
                           code=code or "the removal code"),
                       [msg("reason_levels_unknown")], c.evidence, rule=note.rule("disjoint_removal_modifier").id)
                continue
            if levels & placed_levels:
                if not primary:
                    # new fixation with no primary procedure: do not drop the removal on a doubt (BR-02)
                    if code:
                        plan.add(code, 1, _removal_reasons(note, c), c.evidence)
                    review(plan, [x for x in (code,) if x],
                           msg("new_fixation_without_primary", placed=fmt_levels(sort_levels(placed_levels)),
                               code=code or "a removal code"),
                           [note.rule("overlapping_insertion_absorbs_removal").text], c.evidence,
                           rule=note.rule("overlapping_insertion_absorbs_removal").id)
                    placed = []  # the "new" fixation is unconfirmed: no instrumentation code
                    placed_levels = set()
                    continue
                rule = note.rule("overlapping_insertion_absorbs_removal")
                plan.dropped.append(Conclusion(
                    codes=tuple(x for x in (code, reinsertion) if x), verdict=rule.verdict, rule=rule.id,
                    message=msg("overlap_absorbs_removal", placed=fmt_levels(sort_levels(placed_levels)),
                                removed=fmt_levels(sort_levels(levels))),
                    reasons=(rule.text, f"shared vertebrae: {', '.join(sort_levels(levels & placed_levels))}"),
                    evidence=c.evidence))
                continue
            if any(frozenset(sort_levels(ri.levels)) == frozenset(levels) for ri in same_reinsert):
                rule = note.rule("reinsertion_excludes_removal")
                ri = next(r for r in same_reinsert if frozenset(sort_levels(r.levels)) == frozenset(levels))
                plan.add(reinsertion, 1,
                         [msg("reinserted_same_levels", levels=fmt_levels(sort_levels(levels))),
                          note.rule("reinsertion_requires_same_levels").text],
                         ri.evidence + c.evidence)
                if code:
                    plan.dropped.append(Conclusion(
                        codes=(code,), verdict=rule.verdict, rule=rule.id,
                        message=msg("removal_with_reinsertion", code=code, reinsertion=reinsertion),
                        reasons=(rule.text,), evidence=c.evidence))
                continue
            if code is None:
                continue
            line = plan.add(code, 1, _removal_reasons(note, c), c.evidence)
            if placed and line is not None:
                rule = note.rule("disjoint_removal_modifier")
                line.modifiers.append("59")
                plan.modifiers.append(Conclusion(
                    codes=(code,), verdict=rule.verdict, modifiers=("59", "XS"), rule=rule.id,
                    message=msg("disjoint_removal", removed=fmt_levels(sort_levels(levels)),
                                placed=fmt_levels(sort_levels(placed_levels)), code=code),
                    reasons=(rule.text,), evidence=c.evidence))
        if not removed and note.has("hardware_removal") and not note.has(
                "disc_arthroplasty_removal", "interspinous_device_removal") and not note.built("removed"):
            ev = note.proc_evidence(["hardware_removal"])
            side = "anterior" if note.facts.approach in table.approaches["anterior"] else "posterior"
            code = note.pick("removal", approach=side, segmental=True)
            plan.add(code, 1, [msg("removal_named_not_described")], ev)
            review(plan, [code] if code else [], msg("removal_construct_unknown", code=code),
                   [msg("reason_construct_unknown")], ev)

    # New instrumentation (22840-22848).
    for c in placed:
        _instrumentation(note, plan, c)

    # Removed hardware that is not fixation: disc prostheses go to arthroplasty; interspinous to unlisted.
    for c in note.built("removed"):
        kinds = set(c.kinds)
        if kinds & table.roles["interspinous"] and not (kinds & fixation):
            plan.add(note.pick("unlisted"), 1, [msg("interspinous_removal")], c.evidence)
        elif kinds & table.roles["interbody"] and not (kinds & (fixation | table.roles["disc"])):
            review(plan, [], msg("interbody_removal"), [f"levels: {fmt_levels(sort_levels(c.levels))}"],
                   c.evidence)
    if note.has("interspinous_device_removal") and note.pick("unlisted") not in plan.codes():
        plan.add(note.pick("unlisted"), 1, [msg("interspinous_removal")],
                 note.proc_evidence(["interspinous_device_removal"]))

    if "healed_fracture_or_fusion" in note.reason_values and removed:
        # the diagnosis is debated, not the removal code: a note-level review, the code still stands
        ev = [m.evidence for m in note.present_reasons if m.value == "healed_fracture_or_fusion"]
        review(plan, [], msg("healed_fracture"), [msg("reason_healed_fracture")], ev)


def _exploration_inside_fusion(note: Note, plan: Plan, explore_ev) -> bool:
    """BR-10: 22830 is included in a fusion or re-fusion at the same level. True when it was dropped."""
    table = note.table
    fusion_kinds = set().union(*table.techniques.values())
    fusions = note.procedures(fusion_kinds)
    if not fusions:
        return False
    explored = set(sort_levels(lv for p in note.procedures(["exploration_of_fusion"]) for lv in p.levels))
    explored |= set(sort_levels(lv for c in note.built("removed") for lv in c.levels))
    fused = set(sort_levels(lv for p in fusions for lv in p.levels))
    fused |= {lv for p in fusions for pair in p.interspaces for lv in pair}
    rule = note.rule("exploration_inside_fusion")
    code = note.pick("exploration")
    if explored and fused and not explored & fused:
        return False  # exploration at other levels than the fusion: its own code
    if not explored or not fused:
        review(plan, [code], note.msg("exploration_fusion_levels_unknown", code=code), [rule.text],
               explore_ev, rule=rule.id)
        return False
    plan.dropped.append(Conclusion(
        codes=(code,), verdict=rule.verdict, rule=rule.id,
        message=note.msg("exploration_in_fusion", code=code, levels=fmt_levels(sort_levels(explored & fused))),
        reasons=(rule.text,), evidence=tuple(explore_ev)))
    return True


def _removal_code(note: Note, plan: Plan, c: Construct, *, quiet: bool) -> str | None:
    """22850 / 22852 / 22855 for one removed construct; ambiguous cases flagged for review."""
    table, msg = note.table, note.msg
    side = note.approach(c)
    if side is None:
        if not quiet:
            review(plan, table.codes_for("removal"), msg("removal_approach_unknown"),
                   [msg("reason_removal_approach")], c.evidence)
        return None
    if side == "anterior":
        return note.pick("removal", approach="anterior")
    seg = segmental(c)
    seg_code = note.pick("removal", approach="posterior", segmental=True)
    non_code = note.pick("removal", approach="posterior", segmental=False)
    if seg is None:
        if not quiet:
            review(plan, [seg_code, non_code], msg("removal_anchors_unknown", seg=seg_code, non=non_code),
                   [msg("reason_removal_anchors")], c.evidence)
        return seg_code
    if not seg and segments(c.levels) == 2 and set(c.kinds) & table.roles["pedicle"]:
        if not quiet:
            review(plan, [non_code, seg_code],
                   msg("single_interspace_pedicle", levels=fmt_levels(sort_levels(c.levels)), non=non_code,
                       seg=seg_code),
                   [msg("reason_segmental_or_not")], c.evidence)
        return non_code
    return seg_code if seg else non_code


def _removal_reasons(note: Note, c: Construct) -> list[str]:
    out = [f"Removed hardware: {', '.join(c.kinds)} at {fmt_levels(sort_levels(c.levels))}."]
    anchors = sort_levels(c.anchor_levels)
    if anchors:
        out.append(f"Anchors on {len(anchors)} vertebrae ({', '.join(anchors)}): "
                   f"{'segmental' if len(anchors) >= 3 else 'non-segmental'}.")
    out.append(f"Approach: {note.approach(c)}.")
    if note.reason_values:
        out.append(f"Reason: {', '.join(sorted(v.replace('_', ' ') for v in note.reason_values))}.")
        links = [f"{r}: {', '.join(note.table.diagnosis_links[r])}" for r in sorted(note.reason_values)
                 if r in note.table.diagnosis_links]
        if links:
            out.append(note.msg("diagnosis_links", links="; ".join(links)))
    return out


def _instrumentation(note: Note, plan: Plan, c: Construct) -> None:
    table, msg = note.table, note.msg
    side = note.approach(c)
    n = segments(c.levels)
    ev = list(c.evidence)
    where = f"{fmt_levels(sort_levels(c.levels))} ({n} vertebral segments)"
    if n == 0 and not c.pelvic and not spine_levels_documented(note):
        # hardware placed at no stated vertebra, with no spinal procedure: never a guessed spine code
        review(plan, [], msg("instrumentation_nowhere"), [msg("reason_instrumentation_levels")], ev)
        return
    if side == "anterior":
        if not _anterior_construct(note, c):
            # BR-08: screws or flanges through a stand-alone cage are inside the device code
            rule = note.rule("integral_anchoring_not_plate")
            device = note.pick("interbody_device", fusion=True)
            code = note.pick("anterior_instrumentation", segments=2)
            if _integral_anchoring(note):
                plan.dropped.append(Conclusion(
                    codes=table.codes_for("anterior_instrumentation"), verdict=rule.verdict, rule=rule.id,
                    suggested=(device,) if device else (), message=msg("integral_anchoring", device=device, code=code),
                    reasons=(rule.text,), evidence=tuple(ev)))
            else:  # screws but no plate or rod: either integral anchoring or a plate not named
                review(plan, table.codes_for("anterior_instrumentation"),
                       msg("anterior_screws_without_plate", device=device, code=code), [rule.text], ev, rule=rule.id)
            return
        code = note.pick("anterior_instrumentation", segments=n)
        if code is None:
            review(plan, table.codes_for("anterior_instrumentation"), msg("anterior_levels_unknown"),
                   [msg("reason_instrumentation_levels")], ev)
            code = note.pick("anterior_instrumentation", segments=2)
        plan.add(code, 1, [f"Anterior instrumentation spanning {where}."], ev)
    elif side == "posterior" or side is None:
        kinds = set(c.kinds)
        if kinds and kinds <= table.roles["wiring"]:
            plan.add(note.pick("wiring"), 1, [msg("wiring_only")], ev)
        else:
            seg = segmental(c)
            if seg is None:
                review(plan, table.codes_for("posterior_instrumentation"), msg("new_anchors_unknown"),
                       [msg("reason_instrumentation_anchors")], ev)
                seg = True
            code = note.pick("posterior_instrumentation", segmental=seg, segments=n) if seg else \
                note.pick("posterior_instrumentation", segmental=False)
            if code is None:  # segmental but span unknown
                review(plan, table.codes_for("posterior_instrumentation"), msg("posterior_levels_unknown"),
                       [msg("reason_instrumentation_levels")], ev)
                code = note.pick("posterior_instrumentation", segmental=True, segments=3)
            anchors = sort_levels(c.anchor_levels)
            plan.add(code, 1, [f"Posterior {'segmental' if seg else 'non-segmental'} instrumentation spanning "
                               f"{where}" + (f", anchors at {', '.join(anchors)}." if anchors else ".")], ev)
        if side is None:
            review(plan, [], msg("instrumentation_approach_unknown"), [msg("reason_instrumentation_approach")], ev)
    if c.pelvic or PELVIS in c.levels:
        plan.add(note.pick("pelvic_fixation"), 1, [msg("pelvic_fixation")], ev)

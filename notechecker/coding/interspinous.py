"""Interspinous / interlaminar devices (22867-22870) and their same-level exclusions (rule 7)."""
from __future__ import annotations

from notechecker.coding.common import Conclusion, Note, Plan, review
from notechecker.vertebrae import fmt_pairs, interspace_region, interspaces, level_index


def _instrumented_pairs(note: Note) -> set[tuple[str, str]]:
    """Interspaces bridged by new posterior fixation, from each fixation's own levels (never the device's)."""
    table = note.table
    kinds = table.roles["fixation"] - table.roles["interspinous"] - table.roles["not_new_fixation"]
    insts = note.instruments("placed", kinds)
    out: set[tuple[str, str]] = set()
    if insts:
        levels = {lv for i in insts for lv in i.levels}
        out.update(interspaces(levels))
        return out
    for c in note.built("placed"):
        if note.approach(c) == "posterior" and set(c.kinds) & kinds and not set(c.kinds) & table.roles["interspinous"]:
            out.update(interspaces(c.levels))
    return out


def interspinous(note: Note, plan: Plan) -> None:
    table, msg = note.table, note.msg
    devices = note.instruments("placed", table.roles["interspinous"])
    procs = note.procedures(["interspinous_device"])
    if not devices and not procs:
        return
    ev = [d.evidence for d in devices] + [p.evidence for p in procs]
    pairs: set[tuple[str, str]] = set()
    for d in devices:
        pairs.update(interspaces(d.levels))
    for p in procs:
        pairs.update(interspaces(p.levels, p.interspaces))
    # BR-07: not with a fusion or 22840-22842 at the same level (per level, never across levels)
    fused = set(note.proc_interspaces(set().union(*table.techniques.values())))
    clash = {p for p in pairs if p in fused or p in _instrumented_pairs(note)}
    decompression = note.procedures(["decompression"])
    dec_pairs: set[tuple[str, str]] = set()
    for p in decompression:
        dec_pairs.update(interspaces(p.levels, p.interspaces))
    dec_unknown = bool(decompression) and (not dec_pairs or not pairs)
    with_dec = dec_unknown or bool(dec_pairs & pairs)
    rule = note.rule("interspinous_excludes_fusion")
    if clash:
        code = note.pick("interspinous", decompression=with_dec, position="first")
        plan.dropped.append(Conclusion(
            codes=(code,) if code else (), verdict=rule.verdict, rule=rule.id,
            message=msg("interspinous_at_fused_level", pairs=fmt_pairs(sorted(clash, key=lambda p: level_index(p[0])))),
            reasons=(rule.text,), evidence=tuple(ev)))
    keep = sorted(pairs - clash, key=lambda p: level_index(p[0]))
    if clash and not keep:
        return
    if any(interspace_region(p) != "lumbar" for p in keep):
        review(plan, [], msg("interspinous_not_lumbar", pairs=fmt_pairs(keep)), [msg.reason("interspinous_lumbar")],
               ev, verdict="outside_scope")
        keep = [p for p in keep if interspace_region(p) == "lumbar"]
        if not keep:
            return
    n = max(len(keep), 1)
    first = note.pick("interspinous", decompression=with_dec, position="first")
    add = note.pick("interspinous", decompression=with_dec, position="additional")
    other_first = note.pick("interspinous", decompression=not with_dec, position="first")
    other_add = note.pick("interspinous", decompression=not with_dec, position="additional")
    where = f"{keep[0][0]}-{keep[0][1]}" if keep else "a level not stated"
    plan.add(first, 1, [msg("interspinous_with" if with_dec else "interspinous_without", where=where)],
             ev + note.proc_evidence(["decompression"]))
    if dec_unknown:
        review(plan, [first], msg("interspinous_decompression_level_unknown", code=first, other=other_first),
               [rule.text], ev + note.proc_evidence(["decompression"]), rule=rule.id)
    cap = table.codes[add].max_units if add else 0
    extra = min(n - 1, cap if cap is not None else n - 1)
    plan.add(add, extra, [f"Second level {keep[1][0]}-{keep[1][1]}."] if extra else [], ev)
    if n - 1 > extra:
        review(plan, [first, add], msg("interspinous_beyond", n=n), [fmt_pairs(keep)], ev)
    # the other pair of interspinous codes at the same level is never reported with this one
    others = tuple(c for c in (other_first, other_add) if c)
    if with_dec:
        text = msg("interspinous_other_pair_with", codes="/".join(others), code=first)
    else:
        text = msg("interspinous_needs_decompression", codes="/".join(others), code=first)
    plan.dropped.append(Conclusion(codes=others, verdict="wrong_code", rule=rule.id, suggested=(first,),
                                   message=text, reasons=(rule.text,), evidence=tuple(ev)))
    # decompression at the device level is inside 22867/22868 (only when its level is known to be the device's)
    if with_dec and not dec_unknown:
        ranges = table.bundled_with.get("interspinous_decompression", ())
        plan.absorbed.append((ranges, Conclusion(
            codes=(), verdict=rule.verdict, rule=rule.id, suggested=(first,),
            message=msg("decompression_inside_interspinous", code=first), reasons=(rule.text,),
            evidence=tuple(note.proc_evidence(["decompression"])))))

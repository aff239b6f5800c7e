"""Interbody devices: 22853 per fused interspace, 22854 per corpectomy defect, 22859 without fusion."""
from __future__ import annotations

from notechecker.coding.common import Note, Plan, review, spine_levels_documented
from notechecker.vertebrae import (VERTEBRAE, contiguous_groups, fmt_levels, fmt_pairs, interspaces, level_index, sort_levels, span)


def devices(note: Note, plan: Plan) -> None:
    """22853 per fused interspace with a device, 22854 per corpectomy defect, 22859 without fusion."""
    table = note.table
    devices = note.instruments("placed", table.roles["interbody"])
    if not devices:
        devices_in_construct = any(set(c.kinds) & table.roles["interbody"] for c in note.built("placed"))
        if not devices_in_construct:
            return
    ev = [d.evidence for d in devices] or [e for c in note.built("placed") for e in c.evidence]
    interbody_kinds = table.techniques.get("interbody", frozenset()) | table.techniques.get(
        "anterior_interbody", frozenset()) | table.techniques.get("acdf", frozenset())
    fused = set(note.proc_interspaces(interbody_kinds))
    device_pairs: set[tuple[str, str]] = set()
    for d in devices:
        if len(sort_levels(d.levels)) >= 2:
            device_pairs.update(interspaces(d.levels))
    # corpectomy defects
    corp_levels = [lv for p in note.procedures(["corpectomy"]) for lv in p.levels]
    defects = contiguous_groups(corp_levels)
    consumed: set[tuple[str, str]] = set()
    if defects:
        n_defects = 0
        for g in defects:
            around = span((VERTEBRAE[max(level_index(g[0]) - 1, 0)], VERTEBRAE[min(level_index(g[-1]) + 1, len(VERTEBRAE) - 1)]))
            g_pairs = set(zip(around, around[1:]))
            if not device_pairs or device_pairs & g_pairs:
                n_defects += 1
                consumed |= g_pairs
        plan.add(note.pick("corpectomy_device"), n_defects,
                 [f"Device in {n_defects} corpectomy defect(s) ({'; '.join(fmt_levels(g) for g in defects)})."], ev)
        if not device_pairs:
            return
    pairs = device_pairs - consumed
    if pairs:
        with_fusion = sorted(pairs & fused, key=lambda p: level_index(p[0]))
        without = sorted(pairs - fused, key=lambda p: level_index(p[0]))
        if without and not fused and note.has("posterior_fusion"):
            # a cage in a posterolateral fusion: the interbody technique was not named
            review(plan, [note.pick("interbody_device", fusion=True)],
                    f"A device was placed at {fmt_pairs(without)} inside a posterior fusion but no interbody "
                    f"fusion is named there; coded with fusion. Confirm the interbody technique.",
                    [note.msg.reason("device_fusion_unknown")], ev)
            with_fusion, without = sorted(pairs, key=lambda p: level_index(p[0])), []
        plan.add(note.pick("interbody_device", fusion=True), len(with_fusion),
                 [f"Device with interbody fusion at {fmt_pairs(with_fusion)}."], ev)
        plan.add(note.pick("interbody_device", fusion=False), len(without),
                 [f"Device without interbody fusion at {fmt_pairs(without)}."], ev)
        return
    if device_pairs:  # all devices were in corpectomy defects
        return
    # Device levels not stated: one per interbody-fused interspace, else by count.
    count = max((d.count or 0 for d in devices), default=0)
    if not fused and not spine_levels_documented(note):
        review(plan, [], note.msg("device_nowhere"), [note.msg.reason("device_interspace_unknown")], ev)
        return
    if fused:
        plan.add(note.pick("interbody_device", fusion=True), len(fused),
                 [f"Devices placed with interbody fusion at {fmt_pairs(sorted(fused, key=lambda p: level_index(p[0])))};"
                  f" one device per fused interspace."], ev)
        return
    units = count or 1
    if note.has(*table.out_of_scope_primaries, "posterior_fusion"):
        code = note.pick("interbody_device", fusion=True)
        review(plan, [code] if code else [], "Interbody devices are placed but neither their interspaces nor an "
                "interbody fusion are documented; units are taken from the device count.",
                [note.msg.reason("device_interspace_unknown")], ev)
    else:
        code = note.pick("interbody_device", fusion=False)
    plan.add(code, units, [f"{units} interbody device(s) placed."], ev)

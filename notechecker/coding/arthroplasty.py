"""Disc arthroplasty: insert (22856/22857 + second level), revise (22861/22862), remove (22864/22865)."""
from __future__ import annotations

from notechecker.coding.common import Conclusion, Note, Plan, review
from notechecker.facts import Evidence
from notechecker.vertebrae import fmt_pairs, interspace_region, interspaces, level_index


def _region(pair: tuple[str, str]) -> str | None:
    region = interspace_region(pair)
    return "lumbar" if region in ("lumbar", "sacral") else region


def arthroplasty(note: Note, plan: Plan) -> None:
    table, msg = note.table, note.msg
    ops = {"disc_arthroplasty": "insert", "disc_arthroplasty_revision": "revise",
           "disc_arthroplasty_removal": "remove"}
    work: dict[str, tuple[set[tuple[str, str]], list[Evidence]]] = {}
    for kind, op in ops.items():
        for p in note.procs.get(kind, ()):
            pairs, ev = work.setdefault(op, (set(), []))
            pairs.update(interspaces(p.levels, p.interspaces))
            ev.append(p.evidence)
    for action, op in (("removed", "remove"), ("placed", "insert")):
        if op in work or "revise" in work:
            continue
        for c in note.built(action):
            if set(c.kinds) & table.roles["disc"]:
                disc_levels = [lv for i in note.instruments(action, table.roles["disc"]) for lv in i.levels]
                pairs, ev = work.setdefault(op, (set(), []))
                pairs.update(interspaces(disc_levels or c.levels))
                ev.extend(c.evidence)
    for op, (pairs, ev) in work.items():
        if not pairs:
            pairs.update(interspaces(note.facts.levels))
    # BR-09: removal and a new prosthesis at the same interspace is a revision with replacement
    if "remove" in work and "insert" in work:
        same = work["remove"][0] & work["insert"][0]
        if same:
            rule = note.rule("arthroplasty_revision")
            ev = work["remove"][1] + work["insert"][1]
            rp, rev = work.setdefault("revise", (set(), []))
            rp.update(same)
            rev.extend(ev)
            for op in ("remove", "insert"):
                work[op][0].difference_update(same)
            for pair in sorted(same, key=lambda p: level_index(p[0])):
                region = _region(pair)
                revise = note.pick("disc_arthroplasty", operation="revise", region=region, position="first")
                pair_codes = tuple(c for c in (
                    note.pick("disc_arthroplasty", operation="remove", region=region, position="first"),
                    note.pick("disc_arthroplasty", operation="insert", region=region, position="first"),
                    note.pick("disc_arthroplasty", operation="insert", region=region, position="additional"))
                    if c)
                plan.dropped.append(Conclusion(
                    codes=pair_codes, verdict=rule.verdict, rule=rule.id, suggested=(revise,) if revise else (),
                    message=msg("arthroplasty_revision", pair=f"{pair[0]}-{pair[1]}", revise=revise,
                                codes=" + ".join(pair_codes[:2])),
                    reasons=(rule.text,), evidence=tuple(ev)))
            for op in ("remove", "insert"):
                if not work[op][0]:
                    del work[op]
    for op, (pairs, ev) in work.items():
        if not pairs:
            review(plan, table.codes_for("disc_arthroplasty"), msg("arthroplasty_interspace_unknown", op=op),
                   [msg.reason("arthroplasty_interspace_unknown")], ev)
            continue
        by_region: dict[str, list[tuple[str, str]]] = {}
        for pair in sorted(pairs, key=lambda p: level_index(p[0])):
            by_region.setdefault(_region(pair) or "", []).append(pair)
        for region, rp in by_region.items():
            first = note.pick("disc_arthroplasty", operation=op, region=region, position="first")
            if first is None:
                review(plan, [], msg("arthroplasty_no_code", op=op, pairs=fmt_pairs(rp), region=region),
                       [f"region: {region}"], ev, verdict="outside_scope")
                continue
            plan.add(first, 1, [f"Disc arthroplasty ({op}), {region}, {rp[0][0]}-{rp[0][1]}."], ev)
            extra = len(rp) - 1
            add = note.pick("disc_arthroplasty", operation=op, region=region, position="additional")
            if op == "revise":  # each revised interspace is its own unit of the revision code
                plan.add(first, extra, [f"Revised interspace {p[0]}-{p[1]}." for p in rp[1:]], ev)
                continue
            cap = table.codes[add].max_units if add else 0
            n = min(extra, cap) if cap is not None else extra
            plan.add(add, n, [f"Second interspace {rp[1][0]}-{rp[1][1]}."] if n else [], ev)
            if extra > n:
                review(plan, [c for c in (first, add) if c],
                       msg("arthroplasty_beyond", op=op, n=len(rp), limit=1 + n), [fmt_pairs(rp)], ev,
                       verdict="outside_scope")

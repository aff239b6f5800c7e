"""Posterior (22590-22634) and anterior (22551-22585) fusions: one primary and add-ons per group."""
from __future__ import annotations

from types import MappingProxyType

from notechecker.coding.common import Conclusion, Note, Plan, derived, review
from notechecker.facts import Procedure
from notechecker.vertebrae import fmt_pairs, interspace_region, interspaces, level_index, sort_levels


def fusions(note: Note, plan: Plan) -> None:
    """Posterior (22590-22634) and anterior (22551-22585) fusions, one primary and add-ons per group."""
    table = note.table
    tech_of, fusion_kinds = derived(note.catalogue, "coding.fusion_kinds", lambda: (
        MappingProxyType({kind: tech for tech, kinds in table.techniques.items() for kind in kinds}),
        frozenset(kind for kinds in table.techniques.values() for kind in kinds)))
    if not note.has(*fusion_kinds):
        return
    if note.has("deformity_correction"):
        ev = note.proc_evidence(["deformity_correction"]) + note.proc_evidence(fusion_kinds)
        review(plan, [], note.msg("deformity_fusion"), [note.msg.reason("deformity_fusion")], ev,
               verdict="outside_scope")
        return
    # interspace -> techniques, per column; procedures without levels count only when
    # no procedure of the same technique names any
    posterior: dict[tuple[str, str], set[str]] = {}
    anterior: dict[tuple[str, str], set[str]] = {}
    by_tech: dict[str, list[Procedure]] = {}
    for kind, tech in tech_of.items():
        by_tech.setdefault(tech, []).extend(note.procs.get(kind, ()))
    for tech, procs in by_tech.items():
        if not procs:
            continue
        named = [interspaces(p.levels, p.interspaces) for p in procs]
        pairs = {pair for ps in named for pair in ps} or set(_fallback_interspaces(note, tech))
        if not pairs:
            review(plan, [], f"The levels of the {tech.replace('_', ' ')} fusion are not documented; "
                    f"it cannot be coded.", [note.msg.reason("fusion_levels_unknown")],
                    [p.evidence for p in procs])
            continue
        target = anterior if tech in ("acdf", "anterior_interbody") else posterior
        for pair in pairs:
            target.setdefault(pair, set()).add(_acdf_if_decompressed(note, tech, pair))
    if posterior:
        _posterior_fusion(note, plan, posterior)
    if anterior:
        _anterior_fusion(note, plan, anterior)


def _acdf_if_decompressed(note: Note, tech: str, pair: tuple[str, str]) -> str:
    """A cervical anterior interbody fusion with a discectomy/decompression there is an ACDF."""
    rule = note.table.acdf_when
    if tech != "anterior_interbody" or interspace_region(pair) not in rule.regions:
        return tech
    for p in note.procedures(rule.with_procedures):
        named = interspaces(p.levels, p.interspaces)
        if not named or pair in named:
            return "acdf"
    return tech


def _fallback_interspaces(note: Note, tech: str) -> tuple[tuple[str, str], ...]:
    """Levels for a fusion the note names without levels: its column's new construct, else the note's."""
    column = "anterior" if tech in ("acdf", "anterior_interbody") else "posterior"
    for c in note.built("placed"):
        if note.approach(c) == column and sort_levels(c.levels):
            return interspaces(c.levels)
    return interspaces(note.facts.levels)


def _posterior_fusion(note: Note, plan: Plan, techs: dict[tuple[str, str], set[str]]) -> None:
    table = note.table
    ev = note.proc_evidence(table.techniques.get("posterolateral", ()) | table.techniques.get("interbody", set()))
    rank = {"combined": 0, "interbody": 1, "posterolateral": 2}
    prio = {r: i for i, r in enumerate(table.region_priority)}
    units: list[tuple[tuple[str, str], str, str]] = []  # (pair, technique, region)
    cranio = [p for p in techs if interspace_region(p) in ("occipitocervical", "atlantoaxial")]
    if cranio:
        region = "occipitocervical" if any(p[0] == "occiput" for p in cranio) else "atlantoaxial"
        plan.add(note.pick("fusion", technique="posterolateral", region=region, position="first"), 1,
                 [f"Posterior fusion {fmt_pairs(sorted(cranio, key=lambda p: level_index(p[0])))}."], ev)
    for pair, ts in techs.items():
        if pair in cranio:
            continue
        region = interspace_region(pair)
        tech = "combined" if ts >= {"posterolateral", "interbody"} else next(iter(ts))
        if note.pick("fusion", technique=tech, region=region, position="first") is None and tech != "posterolateral":
            if "posterolateral" in ts or tech == "combined":
                tech = "posterolateral"
            else:
                review(plan, [], f"Posterior interbody fusion at {pair[0]}-{pair[1]} ({region}) has no code in "
                        f"scope.", [f"region: {region}"], ev, verdict="outside_scope")
                continue
        if note.pick("fusion", technique=tech, region=region, position="first") is None:
            review(plan, [], f"Posterior fusion at {pair[0]}-{pair[1]} ({region}) has no code in scope.",
                    [f"region: {region}"], ev, verdict="outside_scope")
            continue
        units.append((pair, tech, region))
    if not units:
        return
    units.sort(key=lambda u: (rank[u[1]], prio.get(u[2], 99), level_index(u[0][0])))
    (pair, tech, region), rest = units[0], units[1:]
    plan.add(note.pick("fusion", technique=tech, region=region, position="first"), 1,
             [f"{tech.capitalize()} fusion at {pair[0]}-{pair[1]} ({region}): first level."], ev)
    if cranio:
        review(plan, [], "A craniocervical fusion continues below C2; confirm how the subaxial levels are reported.",
                [f"interspaces: {fmt_pairs(sorted(techs, key=lambda p: level_index(p[0])))}"], ev)
    for pair, tech, region in sorted(rest, key=lambda u: level_index(u[0][0])):
        code = note.pick("fusion", technique=tech, region=region, position="additional")
        if code is None:
            code = note.pick("fusion", technique="posterolateral", region=region, position="additional")
        plan.add(code, 1, [f"{tech.capitalize()} fusion at {pair[0]}-{pair[1]}: additional level."], ev)


def _anterior_fusion(note: Note, plan: Plan, techs: dict[tuple[str, str], set[str]]) -> None:
    table = note.table
    prio = {r: i for i, r in enumerate(table.region_priority)}
    by_tech: dict[str, list[tuple[str, str]]] = {}
    for pair, ts in techs.items():
        tech = "acdf" if "acdf" in ts else "anterior_interbody"  # an ACDF interspace is coded once
        by_tech.setdefault(tech, []).append(pair)
    for tech, pairs in by_tech.items():
        ev = note.proc_evidence(table.techniques.get(tech, ()))
        pairs.sort(key=lambda p: level_index(p[0]))
        firsts = sorted(pairs, key=lambda p: (prio.get(interspace_region(p), 99), level_index(p[0])))
        primary = next((p for p in firsts if note.pick("fusion", technique=tech, region=interspace_region(p),
                                                        position="first")), None)
        if primary is None:
            regions = sorted({str(interspace_region(p)) for p in pairs})
            review(plan, [], note.msg("anterior_fusion_no_code", pairs=fmt_pairs(pairs)),
                   [f"regions: {', '.join(regions)}"], ev, verdict="outside_scope")
            if tech == "acdf" and "thoracic" in regions:  # CC-01: an ACDF is cervical below C2 (C7-T1 included), never thoracic
                rule = note.rule("cervical_acdf_region")
                plan.dropped.append(Conclusion(
                    codes=tuple(c for c in table.codes_for("fusion") if table.codes[c].select.get("technique") == "acdf"), verdict=rule.verdict, rule=rule.id,
                    message=note.msg("acdf_not_thoracic", pairs=fmt_pairs([p for p in pairs if interspace_region(p) == "thoracic"])),
                    reasons=(rule.text,),
                    evidence=tuple(ev)))
            continue
        region = interspace_region(primary)
        plan.add(note.pick("fusion", technique=tech, region=region, position="first"), 1,
                 [f"{'ACDF' if tech == 'acdf' else 'Anterior interbody fusion'} at {primary[0]}-{primary[1]}: "
                  f"first interspace."], ev)
        for pair in pairs:
            if pair == primary:
                continue
            code = note.pick("fusion", technique=tech, region=interspace_region(pair), position="additional")
            if code is None:
                review(plan, [], note.msg("anterior_fusion_no_add_on", pair=f"{pair[0]}-{pair[1]}"),
                       [f"region: {interspace_region(pair)}"], ev, verdict="outside_scope")
                if tech == "acdf" and interspace_region(pair) == "thoracic":  # CC-01
                    rule = note.rule("cervical_acdf_region")
                    add_on = note.pick("fusion", technique=tech, region="cervical", position="additional")
                    plan.dropped.append(Conclusion(
                        codes=(add_on,) if add_on else (), verdict=rule.verdict, rule=rule.id,
                        message=note.msg("acdf_not_thoracic", pairs=f"{pair[0]}-{pair[1]}"), reasons=(rule.text,),
                        evidence=tuple(ev)))
                continue
            plan.add(code, 1, [f"Additional interspace {pair[0]}-{pair[1]}."], ev)

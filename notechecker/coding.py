"""Which spine codes a note supports, and whether the billed codes fit it.

A pure function of ``Facts``: a levels x anchors x actions model is built from
``facts.constructs`` (or, when the extractor left them empty, from
``facts.instruments``) and ``facts.procedures``; codes are picked from the dated
code table (``patterns/codes/cpt_spine.yaml``) by the situation each describes,
and the bundling rules (``patterns/codes/bundling.yaml``) decide what is dropped.
Known-ambiguous cases are reported as ``coder_review``, never silently guessed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from notechecker.checklists import BilledCodeError, Catalogue, CodeTable, Errors, MueTable, load_catalogue, load_mue
from notechecker.facts import Construct, Evidence, Facts, Instrument, Procedure

# --------------------------------------------------------------------------- levels
#: Vertebrae cephalad to caudal. "occiput" is level 0 for occipitocervical fusions.
VERTEBRAE = (("occiput",) + tuple(f"C{i}" for i in range(1, 8)) + tuple(f"T{i}" for i in range(1, 13))
             + tuple(f"L{i}" for i in range(1, 6)) + tuple(f"S{i}" for i in range(1, 6)))
_INDEX = {v: i for i, v in enumerate(VERTEBRAE)}
_REGION = {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}
PELVIS = "ilium"
NEGATING = frozenset({"negated", "hypothetical", "risk", "possible"})


def level_index(level: str) -> int | None:
    return _INDEX.get(level)


def region_of(level: str) -> str | None:
    """``cervical``, ``thoracic``, ``lumbar``, ``sacral`` or ``pelvis`` (ilium)."""
    if level == PELVIS:
        return "pelvis"
    if level == "occiput":
        return "cervical"
    return _REGION.get(level[:1]) if level in _INDEX else None


def sort_levels(levels: Iterable[str]) -> tuple[str, ...]:
    """Known vertebrae, unique, cephalad to caudal (ilium and unknown names dropped)."""
    return tuple(sorted({lv for lv in levels if lv in _INDEX}, key=_INDEX.__getitem__))


def span(levels: Iterable[str]) -> tuple[str, ...]:
    """Every vertebra from the most cephalad to the most caudal of ``levels``."""
    idx = [_INDEX[lv] for lv in levels if lv in _INDEX]
    return VERTEBRAE[min(idx):max(idx) + 1] if idx else ()


def interspaces(levels: Iterable[str] = (), pairs: Iterable[Sequence[str]] = ()) -> tuple[tuple[str, str], ...]:
    """Disc spaces: the given pairs when any are valid, else those between the spanned vertebrae."""
    out = []
    for pair in pairs:
        if len(pair) == 2 and pair[0] in _INDEX and pair[1] in _INDEX:
            a, b = sorted(pair, key=_INDEX.__getitem__)
            out.extend(zip(span((a, b)), span((a, b))[1:]))
    if out:
        return tuple(sorted(set(out), key=lambda p: _INDEX[p[0]]))
    lv = span(levels)
    return tuple(zip(lv, lv[1:]))


def interspace_region(pair: tuple[str, str]) -> str | None:
    """Region used to pick a fusion or arthroplasty code for one interspace."""
    a, b = pair
    if a == "occiput":
        return "occipitocervical"
    if (a, b) == ("C1", "C2"):
        return "atlantoaxial"
    return region_of(a)


def contiguous_groups(levels: Iterable[str]) -> list[tuple[str, ...]]:
    """Runs of adjacent vertebrae (one corpectomy defect per run)."""
    groups: list[list[str]] = []
    for lv in sort_levels(levels):
        if groups and _INDEX[lv] - _INDEX[groups[-1][-1]] == 1:
            groups[-1].append(lv)
        else:
            groups.append([lv])
    return [tuple(g) for g in groups]


def _fmt(levels: Sequence[str]) -> str:
    lv = [x for x in levels if x]
    if not lv:
        return "levels not stated"
    return lv[0] if len(lv) == 1 else f"{lv[0]}-{lv[-1]}"


def _fmt_pairs(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{a}-{b}" for a, b in pairs) or "interspaces not stated"


# --------------------------------------------------------------------------- hardware model
def note_constructs(facts: Facts, table: CodeTable) -> tuple[Construct, ...]:
    """The note's removed/placed/reinserted constructs: the extractor's, or built from instruments.

    Built constructs span their instruments' vertebrae (fixation kinds when any),
    count anchors on anchor kinds, and leave ``approach`` as documented (None).
    """
    out = [c for c in facts.constructs if c.action in ("removed", "placed", "reinserted")]
    have = {c.action for c in out}
    for action in ("removed", "placed", "reinserted"):
        if action in have:
            continue
        insts = [i for i in facts.instruments if i.action == action and i.assertion == "present"]
        if not insts:
            continue
        fixation = [i for i in insts if i.kind in table.roles["fixation"]] or insts
        levels = [lv for i in fixation for lv in i.levels]
        anchors = sort_levels(lv for i in insts if i.kind in table.roles["anchor"] for lv in i.levels)
        lv = span(levels)
        pelvic = any(PELVIS in i.levels for i in insts)
        segmental = (len(anchors) >= 3) if anchors else (False if 0 < len(lv) <= 2 else None)
        out.append(Construct(action=action, levels=lv + ((PELVIS,) if pelvic else ()), anchor_levels=anchors,
                             kinds=tuple(dict.fromkeys(i.kind for i in insts)), approach=None,
                             segmental=segmental, pelvic=pelvic, evidence=tuple(i.evidence for i in insts)))
    return tuple(out)


def _segmental(c: Construct) -> bool | None:
    """Segmental per CODING.md: three or more anchors on different vertebrae."""
    if c.segmental is not None:
        return c.segmental
    anchors = sort_levels(c.anchor_levels)
    if anchors:
        return len(anchors) >= 3
    if 0 < len(sort_levels(c.levels)) <= 2:
        return False  # two vertebrae cannot hold three anchors on different vertebrae
    return None


def _segments(c: Construct) -> int:
    return len(span(c.levels))


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Conclusion:
    """One verdict about one or more codes, with the reasons and evidence behind it."""

    codes: tuple[str, ...]
    verdict: str  # one of checklists.VERDICTS
    message: str
    reasons: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    modifiers: tuple[str, ...] = ()
    suggested: tuple[str, ...] = ()  # codes to use instead (wrong_code) or the expected ones
    rule: str | None = None  # bundling rule id, e.g. "BR-2"

    def to_dict(self) -> dict[str, Any]:
        return {"codes": list(self.codes), "verdict": self.verdict, "message": self.message,
                "reasons": list(self.reasons), "evidence": [e.to_dict() for e in self.evidence],
                "modifiers": list(self.modifiers), "suggested": list(self.suggested), "rule": self.rule}


@dataclass(frozen=True)
class CodingReport:
    """Suggested codes for a note and the conclusions about them (and about billed codes)."""

    note_id: str
    suggested: tuple[str, ...]
    billed: tuple[str, ...] | None
    conclusions: tuple[Conclusion, ...]
    table_version: str

    def by_verdict(self, verdict: str) -> list[Conclusion]:
        return [c for c in self.conclusions if c.verdict == verdict]

    def to_dict(self) -> dict[str, Any]:
        return {"note_id": self.note_id, "suggested": list(self.suggested),
                "billed": None if self.billed is None else list(self.billed),
                "conclusions": [c.to_dict() for c in self.conclusions], "table_version": self.table_version}


@dataclass
class _Line:
    code: str
    units: int
    reasons: list[str]
    evidence: list[Evidence]
    modifiers: list[str] = field(default_factory=list)
    alternatives: tuple[str, ...] = ()


@dataclass
class _Plan:
    lines: list[_Line] = field(default_factory=list)
    dropped: list[Conclusion] = field(default_factory=list)  # codes a bundling rule removed
    notes: list[Conclusion] = field(default_factory=list)  # coder_review / outside_scope / missing_primary
    modifiers: list[Conclusion] = field(default_factory=list)

    def add(self, code: str | None, units: int, reasons: list[str], evidence: Iterable[Evidence],
            **kw: Any) -> _Line | None:
        if code is None or units <= 0:
            return None
        for line in self.lines:
            if line.code == code:
                line.units += units
                line.reasons.extend(r for r in reasons if r not in line.reasons)
                line.evidence.extend(evidence)
                return line
        line = _Line(code=code, units=units, reasons=list(reasons), evidence=list(evidence), **kw)
        self.lines.append(line)
        return line

    def codes(self) -> set[str]:
        return {ln.code for ln in self.lines}


# --------------------------------------------------------------------------- the model
class _Note:
    """Per-note view: asserted procedures, constructs and instruments grouped once."""

    def __init__(self, facts: Facts, table: CodeTable):
        self.facts, self.table = facts, table
        self.procs: dict[str, list[Procedure]] = {}
        for p in facts.procedures:
            if p.assertion == "present":
                self.procs.setdefault(p.kind, []).append(p)
        self.constructs = note_constructs(facts, table)
        self.present_reasons = [m for m in facts.reasons if m.assertion == "present"]
        self.reason_values = set(facts.removal_reasons) | {m.value for m in self.present_reasons}

    def has(self, *kinds: str) -> bool:
        return any(k in self.procs for k in kinds)

    def procedures(self, kinds: Iterable[str]) -> list[Procedure]:
        return [p for k in kinds for p in self.procs.get(k, ())]

    def instruments(self, action: str, kinds: Iterable[str]) -> list[Instrument]:
        kinds = set(kinds)
        return [i for i in self.facts.instruments
                if i.action == action and i.assertion == "present" and i.kind in kinds]

    def built(self, action: str) -> list[Construct]:
        return [c for c in self.constructs if c.action == action]

    def element(self, name: str) -> bool:
        el = self.facts.elements.get(name)
        return bool(el and el.present)

    def element_evidence(self, name: str) -> tuple[Evidence, ...]:
        el = self.facts.elements.get(name)
        return el.evidence if el and el.present else ()

    def approach(self, c: Construct) -> str | None:
        """``anterior`` or ``posterior`` column for a construct: stated, hinted by its kinds, or the note's."""
        groups = self.table.approaches
        stated = c.approach
        if stated is None:
            kinds = set(c.kinds)
            hinted = [side for side, hint in self.table.approach_hints.items() if kinds & hint]
            if len(hinted) == 1:
                return hinted[0]
            stated = self.facts.approach
        for side, members in groups.items():
            if stated in members:
                return side
        return None

    def proc_interspaces(self, kinds: Iterable[str]) -> tuple[tuple[str, str], ...]:
        out: set[tuple[str, str]] = set()
        for p in self.procedures(kinds):
            out.update(interspaces(p.levels, p.interspaces))
        return tuple(sorted(out, key=lambda x: _INDEX[x[0]]))

    def proc_evidence(self, kinds: Iterable[str]) -> list[Evidence]:
        return [p.evidence for p in self.procedures(kinds)]


def _plan(facts: Facts, catalogue: Catalogue) -> _Plan:
    table = catalogue.table
    note = _Note(facts, table)
    plan = _Plan()
    _hardware(note, plan, catalogue)
    _devices(note, plan)
    _fusions(note, plan)
    _arthroplasty(note, plan)
    _interspinous(note, plan, catalogue)
    _augmentation(note, plan)
    _add_on_primaries(note, plan, catalogue)
    _modifiers(note, plan)
    return plan


def _review(plan: _Plan, codes: Iterable[str | None], message: str, reasons: Iterable[str] = (),
            evidence: Iterable[Evidence] = (), verdict: str = "coder_review", **kw: Any) -> None:
    plan.notes.append(Conclusion(codes=tuple(c for c in codes if c), verdict=verdict, message=message,
                                 reasons=tuple(reasons), evidence=tuple(evidence), **kw))


def _hardware(note: _Note, plan: _Plan, catalogue: Catalogue) -> None:
    """Removal, reinsertion, exploration and new instrumentation (bundling rules 1-5)."""
    table = note.table
    fixation = table.roles["fixation"]
    removed = [c for c in note.built("removed") if set(c.kinds) & fixation]
    placed = [c for c in note.built("placed") if set(c.kinds) & fixation]
    reinserted = [c for c in note.built("reinserted") if set(c.kinds) & fixation]
    removal_purpose = bool(note.reason_values)
    exploring = note.element("exploration_intent") or note.has("exploration_of_fusion")
    explore_ev = note.element_evidence("exploration_intent") + tuple(note.proc_evidence(["exploration_of_fusion"]))

    # Reinsertion at other levels than the removal is new instrumentation (BR-4).
    removed_levels = {frozenset(sort_levels(c.levels)) for c in removed}
    same_reinsert = []
    for ri in reinserted:
        if frozenset(sort_levels(ri.levels)) in removed_levels and sort_levels(ri.levels):
            same_reinsert.append(ri)
        else:
            placed.append(ri)
            rule = catalogue.rule("reinsertion_requires_same_levels")
            plan.dropped.append(Conclusion(
                codes=(table.pick("reinsertion"),), verdict=rule.verdict, rule=rule.id,
                message=f"Hardware was put back at {_fmt(sort_levels(ri.levels))}, not exactly where it was "
                        f"removed; it is coded as new instrumentation, not {table.pick('reinsertion')}.",
                reasons=(rule.text,), evidence=ri.evidence))
    placed_levels = set(lv for c in placed for lv in sort_levels(c.levels))

    if exploring and not removal_purpose:
        rule = catalogue.rule("exploration_intent")
        plan.add(table.pick("exploration"), 1,
                 ["The note explores the fusion and asserts no reason to remove hardware."], explore_ev)
        for c in removed:
            code = _removal_code(note, plan, c, quiet=True)
            plan.dropped.append(Conclusion(
                codes=(code,) if code else (), verdict=rule.verdict, rule=rule.id,
                message=f"Hardware was taken out only to explore the fusion; the removal is bundled into "
                        f"{table.pick('exploration')}.",
                reasons=(rule.text,), evidence=c.evidence + explore_ev))
    elif exploring:
        rule = catalogue.rule("exploration_intent")
        _review(plan, [table.pick("exploration")],
                "The note documents both an exploration of the fusion and a reason to remove hardware; "
                "removal is coded as the purpose. Confirm the intent.",
                [rule.text, f"removal reasons: {', '.join(sorted(note.reason_values))}"], explore_ev, rule=rule.id)

    if not (exploring and not removal_purpose):
        for c in removed:
            levels = set(sort_levels(c.levels))
            code = _removal_code(note, plan, c, quiet=False)
            if levels & placed_levels:
                rule = catalogue.rule("overlapping_insertion_absorbs_removal")
                plan.dropped.append(Conclusion(
                    codes=tuple(x for x in (code, table.pick("reinsertion")) if x), verdict=rule.verdict,
                    rule=rule.id,
                    message=f"New instrumentation at {_fmt(sort_levels(placed_levels))} overlaps the removed "
                            f"hardware at {_fmt(sort_levels(levels))}; only the insertion code is reported.",
                    reasons=(rule.text, f"shared vertebrae: {', '.join(sort_levels(levels & placed_levels))}"),
                    evidence=c.evidence))
                continue
            if any(frozenset(sort_levels(ri.levels)) == frozenset(levels) for ri in same_reinsert):
                rule = catalogue.rule("reinsertion_excludes_removal")
                ri = next(r for r in same_reinsert if frozenset(sort_levels(r.levels)) == frozenset(levels))
                plan.add(table.pick("reinsertion"), 1,
                         [f"Hardware was removed and put back at the same levels ({_fmt(sort_levels(levels))}).",
                          catalogue.rule("reinsertion_requires_same_levels").text],
                         ri.evidence + c.evidence)
                if code:
                    plan.dropped.append(Conclusion(
                        codes=(code,), verdict=rule.verdict, rule=rule.id,
                        message=f"{code} is not reported with {table.pick('reinsertion')} at the same levels.",
                        reasons=(rule.text,), evidence=c.evidence))
                continue
            if code is None:
                continue
            line = plan.add(code, 1, _removal_reasons(note, c, code), c.evidence)
            if placed and line is not None:
                rule = catalogue.rule("disjoint_removal_modifier")
                line.modifiers.append("59")
                plan.modifiers.append(Conclusion(
                    codes=(code,), verdict=rule.verdict, modifiers=("59", "XS"), rule=rule.id,
                    message=f"Removal at {_fmt(sort_levels(levels))} does not overlap the new instrumentation at "
                            f"{_fmt(sort_levels(placed_levels))}: report {code} with modifier 59 or XS.",
                    reasons=(rule.text,), evidence=c.evidence))
        if not removed and note.has("hardware_removal") and not note.has(
                "disc_arthroplasty_removal", "interspinous_device_removal") and not note.built("removed"):
            ev = note.proc_evidence(["hardware_removal"])
            side = "anterior" if note.facts.approach in table.approaches["anterior"] else "posterior"
            code = table.pick("removal", approach=side, segmental=True)
            plan.add(code, 1, ["Hardware removal is named as a procedure but the hardware is not described."], ev)
            _review(plan, [code] if code else [], "The construct removed is not described (anchors, levels); "
                    "confirm the removal code.", ["RM-02, RM-03: construct type and levels not documented"], ev)

    # New instrumentation (22840-22848).
    for c in placed:
        _instrumentation(note, plan, c)

    # Removed hardware that is not fixation: disc prostheses go to arthroplasty; interspinous to 22899.
    for c in note.built("removed"):
        kinds = set(c.kinds)
        if kinds & table.roles["interspinous"] and not (kinds & fixation):
            plan.add(table.pick("unlisted"), 1,
                     ["An interspinous device was removed; that removal has no code of its own."], c.evidence)
        elif kinds & table.roles["interbody"] and not (kinds & (fixation | table.roles["disc"])):
            _review(plan, [], "An interbody device was removed; no code in scope describes that removal "
                    "(it is usually part of a revision fusion).", [f"levels: {_fmt(sort_levels(c.levels))}"],
                    c.evidence)
    if note.has("interspinous_device_removal") and table.pick("unlisted") not in plan.codes():
        plan.add(table.pick("unlisted"), 1, ["Removal of an interspinous device has no code of its own."],
                 note.proc_evidence(["interspinous_device_removal"]))

    if "healed_fracture_or_fusion" in note.reason_values and removed:
        ev = [m.evidence for m in note.present_reasons if m.value == "healed_fracture_or_fusion"]
        _review(plan, [ln.code for ln in plan.lines if table.family(ln.code) == "removal"],
                "Removal for a healed fracture or solid fusion: the diagnosis (Z47.2 or the fracture code with "
                "7th character D) is debated; a coder should decide it.",
                ["CODING.md: healed fracture coding is debated: flag it, do not decide it"], ev)


def _removal_code(note: _Note, plan: _Plan, c: Construct, *, quiet: bool) -> str | None:
    """22850 / 22852 / 22855 for one removed construct; ambiguous cases flagged for review."""
    table = note.table
    side = note.approach(c)
    if side is None:
        if not quiet:
            _review(plan, table.codes_for("removal"),
                    "The approach to the removed hardware is not documented; the removal code cannot be chosen.",
                    ["RM-01: approach not documented"], c.evidence)
        return None
    if side == "anterior":
        return table.pick("removal", approach="anterior")
    seg = _segmental(c)
    seg_code = table.pick("removal", approach="posterior", segmental=True)
    non_code = table.pick("removal", approach="posterior", segmental=False)
    if seg is None:
        if not quiet:
            _review(plan, [seg_code, non_code],
                    "The anchors of the removed construct are not documented; segmental (22852) versus "
                    "non-segmental (22850) cannot be decided.", ["RM-02: anchors per level not documented"],
                    c.evidence)
        return seg_code
    if not seg and _segments(c) == 2 and set(c.kinds) & table.roles["pedicle"]:
        if not quiet:
            _review(plan, [non_code, seg_code],
                    f"Single-interspace pedicle screw construct ({_fmt(sort_levels(c.levels))}): non-segmental by "
                    f"CPT's 22840 examples, so 22850; no source states the mapping outright.",
                    ["CODING.md: Segmental or not"], c.evidence)
        return non_code
    return seg_code if seg else non_code


def _removal_reasons(note: _Note, c: Construct, code: str) -> list[str]:
    out = [f"Removed hardware: {', '.join(c.kinds)} at {_fmt(sort_levels(c.levels))}."]
    anchors = sort_levels(c.anchor_levels)
    if anchors:
        out.append(f"Anchors on {len(anchors)} vertebrae ({', '.join(anchors)}): "
                   f"{'segmental' if len(anchors) >= 3 else 'non-segmental'}.")
    out.append(f"Approach: {note.approach(c)}.")
    if note.reason_values:
        out.append(f"Reason: {', '.join(sorted(note.reason_values))}.")
    return out


def _instrumentation(note: _Note, plan: _Plan, c: Construct) -> None:
    table = note.table
    side = note.approach(c)
    n = _segments(c)
    ev = list(c.evidence)
    where = f"{_fmt(sort_levels(c.levels))} ({n} vertebral segments)"
    if side == "anterior":
        code = table.pick("anterior_instrumentation", segments=n)
        if code is None:
            _review(plan, table.codes_for("anterior_instrumentation"),
                    "The levels of the anterior instrumentation are not documented; its span cannot be counted.",
                    ["IN-02: levels spanned not documented"], ev)
            code = table.pick("anterior_instrumentation", segments=2)
        plan.add(code, 1, [f"Anterior instrumentation spanning {where}."], ev)
    elif side == "posterior" or side is None:
        kinds = set(c.kinds)
        if kinds and kinds <= table.roles["wiring"]:
            plan.add(table.pick("wiring"), 1, ["Spinous-process wiring without rods or screws."], ev)
        else:
            seg = _segmental(c)
            if seg is None:
                _review(plan, table.codes_for("posterior_instrumentation"),
                        "The anchors of the new construct are not documented; it is coded as segmental by its span.",
                        ["IN-03: anchors per level not documented"], ev)
                seg = True
            code = table.pick("posterior_instrumentation", segmental=seg, segments=n) if seg else \
                table.pick("posterior_instrumentation", segmental=False)
            if code is None:  # segmental but span unknown
                _review(plan, table.codes_for("posterior_instrumentation"),
                        "The levels of the new posterior construct are not documented; its span cannot be counted.",
                        ["IN-02: levels spanned not documented"], ev)
                code = table.pick("posterior_instrumentation", segmental=True, segments=3)
            anchors = sort_levels(c.anchor_levels)
            plan.add(code, 1, [f"Posterior {'segmental' if seg else 'non-segmental'} instrumentation spanning "
                               f"{where}" + (f", anchors at {', '.join(anchors)}." if anchors else ".")], ev)
        if side is None:
            _review(plan, [], "The approach of the new instrumentation is not documented; coded as posterior.",
                    ["IN-04: approach not documented"], ev)
    if c.pelvic or PELVIS in c.levels:
        plan.add(table.pick("pelvic_fixation"), 1, ["Pelvic fixation beyond the sacrum (iliac or S2AI)."], ev)


def _devices(note: _Note, plan: _Plan) -> None:
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
            around = span((VERTEBRAE[max(_INDEX[g[0]] - 1, 0)], VERTEBRAE[min(_INDEX[g[-1]] + 1, len(VERTEBRAE) - 1)]))
            g_pairs = set(zip(around, around[1:]))
            if not device_pairs or device_pairs & g_pairs:
                n_defects += 1
                consumed |= g_pairs
        plan.add(table.pick("corpectomy_device"), n_defects,
                 [f"Device in {n_defects} corpectomy defect(s) ({'; '.join(_fmt(g) for g in defects)})."], ev)
        if not device_pairs:
            return
    pairs = device_pairs - consumed
    if pairs:
        with_fusion = sorted(pairs & fused, key=lambda p: _INDEX[p[0]])
        without = sorted(pairs - fused, key=lambda p: _INDEX[p[0]])
        if without and not fused and note.has("posterior_fusion"):
            # a cage in a posterolateral fusion: the interbody technique was not named
            _review(plan, [table.pick("interbody_device", fusion=True)],
                    f"A device was placed at {_fmt_pairs(without)} inside a posterior fusion but no interbody "
                    f"fusion is named there; coded with fusion. Confirm the interbody technique.",
                    ["ID-02: interbody fusion at the interspace not documented"], ev)
            with_fusion, without = sorted(pairs, key=lambda p: _INDEX[p[0]]), []
        plan.add(table.pick("interbody_device", fusion=True), len(with_fusion),
                 [f"Device with interbody fusion at {_fmt_pairs(with_fusion)}."], ev)
        plan.add(table.pick("interbody_device", fusion=False), len(without),
                 [f"Device without interbody fusion at {_fmt_pairs(without)}."], ev)
        return
    if device_pairs:  # all devices were in corpectomy defects
        return
    # Device levels not stated: one per interbody-fused interspace, else by count.
    count = max((d.count or 0 for d in devices), default=0)
    if fused:
        plan.add(table.pick("interbody_device", fusion=True), len(fused),
                 [f"Devices placed with interbody fusion at {_fmt_pairs(sorted(fused, key=lambda p: _INDEX[p[0]]))};"
                  f" one device per fused interspace."], ev)
        return
    units = count or 1
    if note.has(*table.out_of_scope_primaries, "posterior_fusion"):
        code = table.pick("interbody_device", fusion=True)
        _review(plan, [code] if code else [], "Interbody devices are placed but neither their interspaces nor an "
                "interbody fusion are documented; units are taken from the device count.",
                ["ID-01: device interspace not documented"], ev)
    else:
        code = table.pick("interbody_device", fusion=False)
    plan.add(code, units, [f"{units} interbody device(s) placed."], ev)


def _fusions(note: _Note, plan: _Plan) -> None:
    """Posterior (22590-22634) and anterior (22551-22585) fusions, one primary and add-ons per group."""
    table = note.table
    tech_of = {kind: tech for tech, kinds in table.techniques.items() for kind in kinds}
    fusion_kinds = set(tech_of)
    if not note.has(*fusion_kinds):
        return
    if note.has("deformity_correction"):
        ev = note.proc_evidence(["deformity_correction"]) + note.proc_evidence(fusion_kinds)
        _review(plan, [], "A deformity correction is documented: its fusion is coded with deformity codes "
                "(22800-22819), outside this checker's scope. Instrumentation and device add-ons are still listed.",
                ["CODING.md: deformity fusions (228xx) are outside the scope"], ev, verdict="outside_scope")
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
            _review(plan, [], f"The levels of the {tech.replace('_', ' ')} fusion are not documented; "
                    f"it cannot be coded.", ["PF-03 / AF-02 / AC-02: levels fused not documented"],
                    [p.evidence for p in procs])
            continue
        target = anterior if tech in ("acdf", "anterior_interbody") else posterior
        for pair in pairs:
            target.setdefault(pair, set()).add(_acdf_if_decompressed(note, tech, pair))
    if posterior:
        _posterior_fusion(note, plan, posterior)
    if anterior:
        _anterior_fusion(note, plan, anterior)


def _acdf_if_decompressed(note: _Note, tech: str, pair: tuple[str, str]) -> str:
    """A cervical anterior interbody fusion with a discectomy/decompression there is an ACDF."""
    rule = note.table.acdf_when
    if tech != "anterior_interbody" or interspace_region(pair) not in rule.regions:
        return tech
    for p in note.procedures(rule.with_procedures):
        named = interspaces(p.levels, p.interspaces)
        if not named or pair in named:
            return "acdf"
    return tech


def _fallback_interspaces(note: _Note, tech: str) -> tuple[tuple[str, str], ...]:
    """Levels for a fusion the note names without levels: its column's new construct, else the note's."""
    column = "anterior" if tech in ("acdf", "anterior_interbody") else "posterior"
    for c in note.built("placed"):
        if note.approach(c) == column and sort_levels(c.levels):
            return interspaces(c.levels)
    return interspaces(note.facts.levels)


def _posterior_fusion(note: _Note, plan: _Plan, techs: dict[tuple[str, str], set[str]]) -> None:
    table = note.table
    ev = note.proc_evidence(table.techniques.get("posterolateral", ()) | table.techniques.get("interbody", set()))
    rank = {"combined": 0, "interbody": 1, "posterolateral": 2}
    prio = {r: i for i, r in enumerate(table.region_priority)}
    units: list[tuple[tuple[str, str], str, str]] = []  # (pair, technique, region)
    cranio = [p for p in techs if interspace_region(p) in ("occipitocervical", "atlantoaxial")]
    if cranio:
        region = "occipitocervical" if any(p[0] == "occiput" for p in cranio) else "atlantoaxial"
        plan.add(table.pick("fusion", technique="posterolateral", region=region, position="first"), 1,
                 [f"Posterior fusion {_fmt_pairs(sorted(cranio, key=lambda p: _INDEX[p[0]]))}."], ev)
    for pair, ts in techs.items():
        if pair in cranio:
            continue
        region = interspace_region(pair)
        tech = "combined" if ts >= {"posterolateral", "interbody"} else next(iter(ts))
        if table.pick("fusion", technique=tech, region=region, position="first") is None and tech != "posterolateral":
            if "posterolateral" in ts or tech == "combined":
                tech = "posterolateral"
            else:
                _review(plan, [], f"Posterior interbody fusion at {pair[0]}-{pair[1]} ({region}) has no code in "
                        f"scope.", [f"region: {region}"], ev, verdict="outside_scope")
                continue
        if table.pick("fusion", technique=tech, region=region, position="first") is None:
            _review(plan, [], f"Posterior fusion at {pair[0]}-{pair[1]} ({region}) has no code in scope.",
                    [f"region: {region}"], ev, verdict="outside_scope")
            continue
        units.append((pair, tech, region))
    if not units:
        return
    units.sort(key=lambda u: (rank[u[1]], prio.get(u[2], 99), _INDEX[u[0][0]]))
    (pair, tech, region), rest = units[0], units[1:]
    plan.add(table.pick("fusion", technique=tech, region=region, position="first"), 1,
             [f"{tech.capitalize()} fusion at {pair[0]}-{pair[1]} ({region}): first level."], ev)
    if cranio:
        _review(plan, [], "A craniocervical fusion continues below C2; confirm how the subaxial levels are reported.",
                [f"interspaces: {_fmt_pairs(sorted(techs, key=lambda p: _INDEX[p[0]]))}"], ev)
    for pair, tech, region in sorted(rest, key=lambda u: _INDEX[u[0][0]]):
        code = table.pick("fusion", technique=tech, region=region, position="additional")
        if code is None:
            code = table.pick("fusion", technique="posterolateral", region=region, position="additional")
        plan.add(code, 1, [f"{tech.capitalize()} fusion at {pair[0]}-{pair[1]}: additional level."], ev)


def _anterior_fusion(note: _Note, plan: _Plan, techs: dict[tuple[str, str], set[str]]) -> None:
    table = note.table
    prio = {r: i for i, r in enumerate(table.region_priority)}
    by_tech: dict[str, list[tuple[str, str]]] = {}
    for pair, ts in techs.items():
        tech = "acdf" if "acdf" in ts else "anterior_interbody"  # an ACDF interspace is coded once
        by_tech.setdefault(tech, []).append(pair)
    for tech, pairs in by_tech.items():
        ev = note.proc_evidence(table.techniques.get(tech, ()))
        pairs.sort(key=lambda p: _INDEX[p[0]])
        firsts = sorted(pairs, key=lambda p: (prio.get(interspace_region(p), 99), _INDEX[p[0]]))
        primary = next((p for p in firsts if table.pick("fusion", technique=tech, region=interspace_region(p),
                                                        position="first")), None)
        if primary is None:
            _review(plan, [], f"Anterior fusion at {_fmt_pairs(pairs)} has no code in scope "
                    f"(e.g. thoracic anterior interbody fusion 22556).",
                    [f"regions: {', '.join(sorted({str(interspace_region(p)) for p in pairs}))}"], ev,
                    verdict="outside_scope")
            continue
        region = interspace_region(primary)
        plan.add(table.pick("fusion", technique=tech, region=region, position="first"), 1,
                 [f"{'ACDF' if tech == 'acdf' else 'Anterior interbody fusion'} at {primary[0]}-{primary[1]}: "
                  f"first interspace."], ev)
        for pair in pairs:
            if pair == primary:
                continue
            code = table.pick("fusion", technique=tech, region=interspace_region(pair), position="additional")
            if code is None:
                _review(plan, [], f"Anterior fusion at {pair[0]}-{pair[1]} has no add-on code in scope.",
                        [f"region: {interspace_region(pair)}"], ev,
                        verdict="outside_scope")
                continue
            plan.add(code, 1, [f"Additional interspace {pair[0]}-{pair[1]}."], ev)


def _arthroplasty(note: _Note, plan: _Plan) -> None:
    table = note.table
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
            pairs = set(interspaces(note.facts.levels))
        if not pairs:
            _review(plan, table.codes_for("disc_arthroplasty"),
                    f"The interspace of the disc arthroplasty ({op}) is not documented; region unknown.",
                    ["DA-04: interspace not documented"], ev)
            continue
        by_region: dict[str, list[tuple[str, str]]] = {}
        for pair in sorted(pairs, key=lambda p: _INDEX[p[0]]):
            region = "lumbar" if interspace_region(pair) in ("lumbar", "sacral") else interspace_region(pair)
            by_region.setdefault(region or "", []).append(pair)
        for region, rp in by_region.items():
            first = table.pick("disc_arthroplasty", operation=op, region=region, position="first")
            if first is None:
                _review(plan, [], f"Disc arthroplasty ({op}) at {_fmt_pairs(rp)} ({region}) has no code in scope.",
                        [f"region: {region}"], ev, verdict="outside_scope")
                continue
            plan.add(first, 1, [f"Disc arthroplasty ({op}), {region}, {rp[0][0]}-{rp[0][1]}."], ev)
            extra = len(rp) - 1
            add = table.pick("disc_arthroplasty", operation=op, region=region, position="additional")
            cap = table.codes[add].max_units if add else 0
            n = min(extra, cap) if cap is not None else extra
            plan.add(add, n, [f"Second interspace {rp[1][0]}-{rp[1][1]}."] if n else [], ev)
            if extra > n:
                _review(plan, [c for c in (first, add) if c],
                        f"Disc arthroplasty ({op}) at {len(rp)} interspaces: levels beyond "
                        f"{1 + n} are reported with codes outside this checker's scope.", [_fmt_pairs(rp)], ev,
                        verdict="outside_scope")


def _interspinous(note: _Note, plan: _Plan, catalogue: Catalogue) -> None:
    table = note.table
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
    # BR-7: not with fusion or 22840-22842 at the same level
    fused = set(note.proc_interspaces(set().union(*table.techniques.values())))
    short_posterior = set()
    for c in note.built("placed"):
        if note.approach(c) == "posterior" and set(c.kinds) & table.roles["fixation"] and _segments(c) <= 6:
            short_posterior.update(interspaces(c.levels))
    clash = {p for p in pairs if p in fused or p in short_posterior}
    decompression = note.procedures(["decompression"])
    dec_pairs: set[tuple[str, str]] = set()
    for p in decompression:
        dec_pairs.update(interspaces(p.levels, p.interspaces))
        dec_pairs.update((a, b) for a, b in interspaces(span(p.levels)[:1] + span(p.levels)[-1:]))
    with_dec = bool(decompression) and (not dec_pairs or not pairs or bool(
        {lv for pr in dec_pairs for lv in pr} & {lv for pr in pairs for lv in pr}))
    if clash:
        rule = catalogue.rule("interspinous_excludes_fusion")
        code = table.pick("interspinous", decompression=with_dec, position="first")
        plan.dropped.append(Conclusion(
            codes=(code,) if code else (), verdict=rule.verdict, rule=rule.id,
            message=f"The interspinous device at {_fmt_pairs(sorted(clash, key=lambda p: _INDEX[p[0]]))} is at a "
                    f"fused or instrumented level; it is not coded there.", reasons=(rule.text,), evidence=tuple(ev)))
    keep = sorted(pairs - clash, key=lambda p: _INDEX[p[0]])
    if clash and not keep:
        return
    if any(interspace_region(p) not in ("lumbar",) for p in keep):
        _review(plan, [], f"Interspinous device at {_fmt_pairs(keep)}: these codes are lumbar only.",
                ["IS-04: lumbar level"], ev, verdict="outside_scope")
        keep = [p for p in keep if interspace_region(p) == "lumbar"]
        if not keep:
            return
    n = max(len(keep), 1)
    first = table.pick("interspinous", decompression=with_dec, position="first")
    add = table.pick("interspinous", decompression=with_dec, position="additional")
    what = "with" if with_dec else "without"
    plan.add(first, 1, [f"Interspinous device {what} open decompression at "
                        f"{keep[0][0] + '-' + keep[0][1] if keep else 'a level not stated'}."],
             ev + note.proc_evidence(["decompression"]))
    cap = table.codes[add].max_units if add else 0
    extra = min(n - 1, cap if cap is not None else n - 1)
    plan.add(add, extra, [f"Second level {keep[1][0]}-{keep[1][1]}."] if extra else [], ev)
    if n - 1 > extra:
        _review(plan, [first, add], f"Interspinous devices at {n} levels; levels beyond the second have no code.",
                [_fmt_pairs(keep)], ev)


def _augmentation(note: _Note, plan: _Plan) -> None:
    table = note.table
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
            _review(plan, [c for c in table.codes_for("augmentation")],
                    f"The bodies treated by {tech} are not documented; the region and units cannot be chosen.",
                    ["VA-03: each body treated not documented"], ev)
            continue
        first = next((b for b in bodies if table.pick("augmentation", technique=tech, region=region_of(b),
                                                      position="first")), None)
        if first is None:
            _review(plan, [], f"{tech.capitalize()} at {', '.join(bodies)} has no code in scope for that region.",
                    [f"regions: {', '.join(sorted({str(region_of(b)) for b in bodies}))}"], ev,
                    verdict="outside_scope")
            continue
        plan.add(table.pick("augmentation", technique=tech, region=region_of(first), position="first"), 1,
                 [f"{tech.capitalize()} of {first} ({region_of(first)}): first body."], ev)
        rest = [b for b in bodies if b != first]
        plan.add(table.pick("augmentation", technique=tech, region=region_of(first), position="additional"),
                 len(rest), [f"Each additional body: {', '.join(rest)}."], ev)
    both = set(lv for p in note.procedures(["vertebroplasty"]) for lv in p.levels) & set(
        lv for p in note.procedures(["kyphoplasty"]) for lv in p.levels)
    if both:
        _review(plan, table.codes_for("augmentation"),
                f"Vertebroplasty and kyphoplasty are both documented at {', '.join(sort_levels(both))}; "
                f"only one is reported per body.", ["VA-01 / VA-02: one technique per body"],
                note.proc_evidence(["vertebroplasty", "kyphoplasty"]))


def _add_on_primaries(note: _Note, plan: _Plan, catalogue: Catalogue) -> None:
    """BR-6 on the suggestion: an add-on needs a primary code or a documented out-of-scope primary."""
    table = note.table
    rule = catalogue.rule("add_on_primary")
    primaries = [ln.code for ln in plan.lines if not table.is_add_on(ln.code)]
    outside = {k: c for k, c in table.out_of_scope_primaries.items() if k in note.procs}
    for ln in plan.lines:
        if not table.is_add_on(ln.code):
            continue
        if any(table.primary_matches(ln.code, p) for p in primaries):
            continue
        found = [k for k, c in outside.items() if table.primary_matches(ln.code, c)]
        if found:
            ln.reasons.append(f"Primary procedure outside this checker's scope: {', '.join(sorted(found))}.")
            continue
        plan.notes.append(Conclusion(
            codes=(ln.code,), verdict=rule.verdict, rule=rule.id,
            message=f"{ln.code} is an add-on code and the note documents none of its primary procedures.",
            reasons=(rule.text,), evidence=tuple(ln.evidence)))


def _modifier_gaps(facts: Facts, mod: str, spec: Any, reason_documented: bool) -> list[str]:
    """What the note lacks for modifier ``mod`` (cpt_spine.yaml ``modifiers``)."""
    missing = [n.replace("_", " ") for n in spec.needs if not facts.element(n).present]
    if spec.needs_value and spec.when and facts.element(spec.when).present and not facts.element(spec.when).value:
        missing.append(f"how much / who ({spec.when.replace('_', ' ')} stated without detail)")
    if spec.needs_reason and not reason_documented:
        missing.append("the reason (a removal reason or indication)")
    return missing


def _modifiers(note: _Note, plan: _Plan) -> None:
    """Modifiers the documented situation calls for, with what the note must show for each."""
    table = note.table
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
        missing = _modifier_gaps(note.facts, mod, spec, reason_doc)
        plan.modifiers.append(Conclusion(
            codes=tuple(codes), verdict="modifier_needed", modifiers=(mod,),
            message=f"{spec.name.capitalize()}: report modifier {mod}" + (
                f"; the note lacks: {', '.join(missing)}." if missing else "; the note documents what it needs."),
            reasons=tuple(f"missing: {m}" for m in missing), evidence=note.element_evidence(spec.when)))
    if len({ln.code for ln in primaries}) > 1:
        ordered = [ln.code for ln in primaries]
        plan.modifiers.append(Conclusion(
            codes=tuple(ordered[1:]), verdict="modifier_needed", modifiers=("51",),
            message=f"Several primary procedures ({', '.join(ordered)}): modifier 51 on all but the first, "
                    f"where the payer requires it.", reasons=("CODING.md: 51 (multiple procedures)",)))


# --------------------------------------------------------------------------- public API
def suggest_codes(facts: Facts, catalogue: Catalogue | None = None) -> list[str]:
    """The ``suggested_cpt`` list: codes the documentation supports, each repeated once per unit."""
    cat = catalogue or load_catalogue()
    return [ln.code for ln in _plan(facts, cat).lines for _ in range(ln.units)]


_BILLED = re.compile(r"^\s*(?P<code>\d{4}[0-9A-Z])(?P<mods>(?:\s*-\s*[0-9A-Z]{2})*)\s*(?:[xX*]\s*(?P<n>\d+))?\s*$")


def parse_billed(billed: str | Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    """``["22852-59", "22853 x2"]`` or ``"22852-59, 22853"`` to (code, modifiers) per unit."""
    items = re.split(r"[,;\n]", billed) if isinstance(billed, str) else list(billed)
    out = []
    for raw in items:
        raw = str(raw).strip()
        if not raw:
            continue
        m = _BILLED.match(raw.upper())
        if not m:
            raise BilledCodeError(Errors.NC110.format(value=raw), code="NC110", item=raw)
        mods = tuple(x.strip() for x in m.group("mods").split("-") if x.strip())
        out.extend([(m.group("code"), mods)] * int(m.group("n") or 1))
    return out


def validate(facts: Facts, billed: str | Iterable[str] | None = None, *, catalogue: Catalogue | None = None,
             mue: MueTable | str | Path | None = None) -> CodingReport:
    """Conclusions on what the note supports and, when ``billed`` is given, on each billed code.

    ``mue``: a user-supplied ``code,mue[,effective_date]`` CSV (path or ``checklists.load_mue``
    result) adds unit-limit checks; without it none are made.
    """
    cat = catalogue or load_catalogue()
    if mue is not None and not isinstance(mue, MueTable):
        mue = load_mue(mue)
    table = cat.table
    plan = _plan(facts, cat)
    suggested = tuple(ln.code for ln in plan.lines for _ in range(ln.units))
    out: list[Conclusion] = []
    if billed is None:
        for ln in plan.lines:
            out.append(Conclusion(codes=(ln.code,), verdict="supported",
                                  message=f"{ln.code} x{ln.units}: {table.codes[ln.code].descriptor}.",
                                  reasons=tuple(ln.reasons), evidence=tuple(ln.evidence),
                                  modifiers=tuple(ln.modifiers)))
        out.extend(plan.notes)
        out.extend(plan.modifiers)
        units = {ln.code: ln.units for ln in plan.lines}
        billed_t = None
    else:
        lines = parse_billed(billed)
        billed_t = tuple(c + "".join(f"-{m}" for m in mods) for c, mods in lines)
        out.extend(_check_billed(facts, plan, cat, lines))
        units = {}
        for code, _ in lines:
            units[code] = units.get(code, 0) + 1
    if mue is not None:
        for code, n in units.items():
            limit = mue.limit(code)
            if limit is not None and n > limit:
                when = mue.effective.get(code)
                out.append(Conclusion(codes=(code,), verdict="coder_review",
                                      message=f"{code} x{n} exceeds the medically unlikely edit of {limit}"
                                              f"{f' (effective {when})' if when else ''}.",
                                      reasons=(f"MUE table: {mue.source}",)))
    return CodingReport(note_id=facts.note_id, suggested=suggested, billed=billed_t, conclusions=tuple(out),
                        table_version=table.version)


def _check_billed(facts: Facts, plan: _Plan, cat: Catalogue, lines: list[tuple[str, tuple[str, ...]]]
                  ) -> list[Conclusion]:
    table = cat.table
    out: list[Conclusion] = []
    plan_units = {ln.code: ln for ln in plan.lines}
    billed_units: dict[str, int] = {}
    billed_mods: dict[str, set[str]] = {}
    for code, mods in lines:
        billed_units[code] = billed_units.get(code, 0) + 1
        billed_mods.setdefault(code, set()).update(mods)
    dropped: dict[str, Conclusion] = {}
    for d in plan.dropped:  # the first (most specific) rule that dropped a code explains it
        for c in d.codes:
            dropped.setdefault(c, d)
    reviews = {c: n for n in plan.notes if n.verdict == "coder_review" for c in n.codes}
    billed_codes = set(billed_units)
    removal_family_codes = [ln.code for ln in plan.lines if table.family(ln.code) == "removal"]
    for code, n in billed_units.items():
        status = table.status(code)
        if status == "deleted":
            d = table.deleted[code]
            alt = tuple(c for c in d.replaced_by if c in plan_units) or tuple(d.replaced_by)
            out.append(Conclusion(codes=(code,), verdict="wrong_code", suggested=alt,
                                  message=f"{code} was deleted in {d.year}; use {', '.join(alt)}.",
                                  reasons=(f"{code}: {d.descriptor}",)))
            continue
        if status == "not_spine":
            ns = table.not_spine[code]
            alt = tuple(removal_family_codes) or tuple(ns.use_instead)
            out.append(Conclusion(codes=(code,), verdict="wrong_code", suggested=alt,
                                  message=f"{code} ({ns.descriptor}) does not belong on a spine note; "
                                          f"use {', '.join(alt)}.", reasons=(ns.descriptor,)))
            continue
        if status in ("outside_scope", "unknown"):
            name = table.scope_name(code) or "not a code this checker knows"
            out.append(Conclusion(codes=(code,), verdict="outside_scope",
                                  message=f"{code} is outside this checker's scope ({name}); not checked.",
                                  reasons=(f"{code}: {name}", f"code table {table.version}")))
            continue
        info = table.codes[code]
        if code in plan_units:
            ln = plan_units[code]
            if code in reviews:
                r = reviews[code]
                out.append(replace(r, codes=(code,)))
            elif n != ln.units:
                out.append(Conclusion(codes=(code,), verdict="coder_review", suggested=(code,) * ln.units,
                                      message=f"{code} billed x{n}; the note supports x{ln.units} "
                                              f"(unit: {info.unit}).", reasons=tuple(ln.reasons),
                                      evidence=tuple(ln.evidence)))
            else:
                out.append(Conclusion(codes=(code,), verdict="supported",
                                      message=f"{code} x{n}: {info.descriptor}.", reasons=tuple(ln.reasons),
                                      evidence=tuple(ln.evidence)))
            if "59" in ln.modifiers and not ({"59", "XS"} & billed_mods[code]):
                rule = cat.rule("disjoint_removal_modifier")
                mod = next(m for m in plan.modifiers if m.rule == rule.id and code in m.codes)
                out.append(replace(mod, message=mod.message + " It is billed without it."))
        elif code in dropped:
            d = dropped[code]
            out.append(replace(d, codes=(code,)))
        elif code in reviews:
            out.append(replace(reviews[code], codes=(code,)))
        else:
            alt = tuple(c for c in plan_units if table.family(c) == info.family)
            if alt:
                out.append(Conclusion(codes=(code,), verdict="wrong_code", suggested=alt,
                                      message=f"{code} ({info.descriptor}) does not fit the note; it supports "
                                              f"{', '.join(alt)}.",
                                      reasons=tuple(r for a in alt for r in plan_units[a].reasons),
                                      evidence=tuple(e for a in alt for e in plan_units[a].evidence)))
            else:
                out.append(Conclusion(codes=(code,), verdict="coder_review",
                                      message=f"{code} ({info.descriptor}): the note does not document it.",
                                      reasons=(f"family {info.family}: no supporting facts found",)))
        if info.add_on and not any(table.primary_matches(code, b) for b in billed_codes if b != code):
            rule = cat.rule("add_on_primary")
            out.append(Conclusion(codes=(code,), verdict=rule.verdict, rule=rule.id,
                                  message=f"{code} is an add-on and none of its primary codes is billed.",
                                  reasons=(rule.text,)))
        out.extend(_billed_modifiers(facts, table, code, billed_mods[code]))
    for code, ln in plan_units.items():
        if code not in billed_units:
            out.append(Conclusion(codes=(code,), verdict="coder_review", suggested=(code,) * ln.units,
                                  message=f"The note supports {code} x{ln.units}, which is not billed.",
                                  reasons=tuple(ln.reasons), evidence=tuple(ln.evidence)))
    # situations the claim must carry a modifier for
    for m in plan.modifiers:
        if m.rule is not None or "51" in m.modifiers:
            continue
        for code in m.codes:
            if code in billed_mods and not (set(m.modifiers) & billed_mods[code]):
                out.append(replace(m, codes=(code,)))
    out.extend(n for n in plan.notes if n.verdict == "outside_scope" or
               (n.verdict == "coder_review" and not n.codes))
    return out


def _billed_modifiers(facts: Facts, table: CodeTable, code: str, mods: set[str]) -> list[Conclusion]:
    """A billed modifier the note does not support goes to coder review, naming what is missing."""
    reason_doc = bool(facts.removal_reasons) or any(m.assertion == "present" for m in facts.reasons) \
        or facts.element("indication").present
    out = []
    for mod in sorted(mods):
        spec = table.modifiers.get(mod)
        if spec is None:
            continue
        missing = _modifier_gaps(facts, mod, spec, reason_doc)
        if missing:
            out.append(Conclusion(codes=(code,), verdict="coder_review", modifiers=(mod,),
                                  message=f"{code}-{mod} ({spec.name}) is billed but the note does not document "
                                          f"{', '.join(missing)}.",
                                  reasons=("CODING.md: Modifiers the note must support",)))
    return out

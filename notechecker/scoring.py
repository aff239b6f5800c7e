"""Score a note's facts against the checklists of the codes billed or suggested.

A pure function of ``Facts`` (no spaCy, no Doc): for each code x checklist item a
``Finding`` with status ``met`` / ``missing`` / ``negated`` / ``conflicting`` and
the evidence behind it, and per code a ``CodeSummary`` (great_expectations-like:
evaluated, met, missing, completeness, worst missing severity, coding items documented).
Requirements are compiled into closures once per catalogue, not per note.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, NamedTuple

from notechecker.schema.catalogue import Catalogue, load_catalogue
from notechecker.schema.checklist import SEVERITIES, TIERS, Item
from notechecker.schema.requirements import Requirement
from notechecker.model import DOCUMENTED, NEGATING, Operation
from notechecker.vertebrae import region_of, sort_levels
from notechecker.facts import Evidence, Facts

#: Column order of ``Finding.to_dict()`` and of every tabular rendering.
FINDING_COLUMNS = ("note_id", "code", "item_id", "item_name", "tier", "severity", "status", "message",
                   "fix_hint", "evidence")
SUMMARY_COLUMNS = ("note_id", "code", "family", "evaluated", "met", "missing", "negated", "conflicting",
                   "completeness", "worst_missing_severity", "coding_documented")


@dataclass(frozen=True, slots=True)
class Finding:
    """One checklist item judged for one code of one note (immutable, like a lint violation)."""

    note_id: str
    code: str
    item_id: str
    item_name: str
    tier: str
    severity: str
    status: str  # met | missing | negated | conflicting
    message: str
    fix_hint: str
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in FINDING_COLUMNS}
        d["evidence"] = [e.to_dict() for e in self.evidence]
        return d


@dataclass(frozen=True, slots=True)
class CodeSummary:
    """Per note x code: how much of the checklist is documented, and whether its coding items are.

    Whether the note *supports* the code is the verdict's business (``plain.CodeVerdict.supported``,
    the one definition), not the checklist's."""

    note_id: str
    code: str
    family: str | None
    evaluated: int
    met: int
    missing: int
    negated: int
    conflicting: int
    completeness: float
    worst_missing_severity: str | None
    coding_documented: bool | None  # no coding-tier error item unmet; None: no checklist covers the code
    tier_completeness: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in SUMMARY_COLUMNS}
        d["tier_completeness"] = dict(self.tier_completeness)
        return d


@dataclass(frozen=True, slots=True)
class CodeResult:
    note_id: str
    code: str
    family: str | None
    findings: tuple[Finding, ...]
    summary: CodeSummary

    def to_dict(self) -> dict[str, Any]:
        return {"note_id": self.note_id, "code": self.code, "family": self.family,
                "findings": [f.to_dict() for f in self.findings], "summary": self.summary.to_dict()}


# --------------------------------------------------------------------------- evaluation
class Outcome(NamedTuple):
    status: str  # met | missing | negated
    evidence: tuple[Evidence, ...] = ()
    levels: frozenset[str] = frozenset()


MISSING = Outcome("missing")


class _View:
    """One note's facts grouped once for all items and codes."""

    __slots__ = ("facts", "constructs", "procs", "insts")

    def __init__(self, facts: Facts, catalogue: Catalogue):
        self.facts = facts
        self.constructs: dict[str, list] = {}
        for c in Operation(facts).constructs:  # the one operation model coding reads too
            self.constructs.setdefault(c.action, []).append(c)
        self.procs: dict[str, list] = {}
        for p in facts.procedures:
            self.procs.setdefault(p.kind, []).append(p)
        self.insts: dict[str, list] = {}
        for i in facts.instruments:
            self.insts.setdefault(i.action, []).append(i)


Evaluator = Callable[[_View], Outcome]


def _section_filter(sections: frozenset[str] | None) -> Callable[[Iterable[Evidence]], tuple[Evidence, ...]]:
    if sections is None:
        return tuple
    return lambda evs: tuple(e for e in evs if e.section is None or e.section in sections)


def _levels_of_proc(p) -> frozenset[str]:
    return frozenset(p.levels) | frozenset(lv for pair in p.interspaces for lv in pair)


def compile_requirement(req: Requirement, sections: frozenset[str] | None = None) -> Evaluator:
    """Turn a validated requirement into a function of one note's view."""
    keep = _section_filter(sections)
    kind = req.kind

    if kind in ("any", "all"):
        subs = [compile_requirement(c, sections) for c in req.children]

        def combine(v: _View) -> Outcome:
            outs = [f(v) for f in subs]
            met = [o for o in outs if o.status == "met"]
            ok = bool(met) if kind == "any" else len(met) == len(outs)
            if ok:
                return Outcome("met", tuple(e for o in met for e in o.evidence),
                               frozenset().union(*(o.levels for o in met)))
            neg = [o for o in outs if o.status == "negated"]
            if neg:
                return Outcome("negated", tuple(e for o in neg for e in o.evidence))
            return MISSING
        return combine

    if kind == "not":
        inner = compile_requirement(req.children[0], sections)

        def negate(v: _View) -> Outcome:
            o = inner(v)
            return Outcome("missing", o.evidence) if o.status == "met" else Outcome("met")
        return negate

    if kind == "levels_compare":
        fa, fb = (compile_requirement(c, sections) for c in req.children)
        relation = req.relation

        def compare(v: _View) -> Outcome:
            a, b = fa(v), fb(v)
            if a.status != "met" or not a.levels:
                return Outcome("missing", a.evidence)
            if relation == "disjoint":
                ok = b.status != "met" or not (a.levels & b.levels)
            elif b.status != "met" or not b.levels:
                return Outcome("missing", a.evidence)
            elif relation == "equal":
                ok = a.levels == b.levels
            elif relation == "overlap":
                ok = bool(a.levels & b.levels)
            else:  # subset
                ok = a.levels <= b.levels
            ev = a.evidence + (b.evidence if b.status == "met" else ())
            return Outcome("met" if ok else "missing", ev, a.levels)
        return compare

    if kind == "element":
        name = req.target[0]
        values = {str(x).lower() for x in req.values} if req.values else None
        has_value = req.has_value

        def element(v: _View) -> Outcome:
            el = v.facts.elements.get(name)
            if el is None or not el.present:
                return MISSING
            if values is not None and (el.value or "").lower() not in values:
                return MISSING
            if has_value and not el.value:
                return MISSING
            ev = keep(el.evidence)
            if el.evidence and not ev:
                return MISSING
            return Outcome("met", ev)
        return element

    if kind == "mention":
        label = req.target[0]
        wanted = {str(x).lower() for x in req.values} if req.values else None

        def mention(v: _View) -> Outcome:
            hits = [m for m in v.facts.mentions if m.label == label and m.assertion in DOCUMENTED
                    and (wanted is None or m.value.lower() in wanted)]
            ev = keep(m.evidence for m in hits)
            return Outcome("met", ev) if ev else MISSING
        return mention

    if kind == "fact":
        return _compile_fact(req, keep)
    if kind == "construct":
        return _compile_construct(req, keep)
    if kind == "procedure":
        return _compile_procedure(req, keep)
    return _compile_instrument(req, keep)


def _compile_fact(req: Requirement, keep) -> Evaluator:
    key = req.target[0]
    values = set(req.values) if req.values else None

    def match(x: Any) -> bool:
        return values is None or x in values

    if key == "removal_reasons":
        def reasons(v: _View) -> Outcome:
            present = [m for m in v.facts.reasons if m.assertion in DOCUMENTED and match(m.value)]
            if present:
                ev = keep(m.evidence for m in present)
                if ev:
                    return Outcome("met", ev)
            elif any(match(r) for r in v.facts.removal_reasons):
                return Outcome("met")
            neg = [m for m in v.facts.reasons if m.assertion in NEGATING and match(m.value)]
            if neg:
                return Outcome("negated", tuple(m.evidence for m in neg))
            return MISSING
        return reasons

    if key in ("instruments_removed", "instruments_placed"):
        action = key.removeprefix("instruments_")

        def instruments(v: _View) -> Outcome:
            insts = [i for i in v.insts.get(action, ()) if match(i.kind)]
            present = [i for i in insts if i.assertion == "present"]
            if present:
                return Outcome("met", keep(i.evidence for i in present),
                               frozenset(lv for i in present for lv in i.levels))
            if any(match(k) for k in getattr(v.facts, key)):
                return Outcome("met")
            neg = [i for i in insts if i.assertion in NEGATING]
            return Outcome("negated", tuple(i.evidence for i in neg)) if neg else MISSING
        return instruments

    if key == "levels":
        def levels(v: _View) -> Outcome:
            if not v.facts.levels:
                return MISSING
            return Outcome("met", keep(e for cs in v.constructs.values() for c in cs for e in c.evidence),
                           frozenset(v.facts.levels))
        return levels

    def approach(v: _View) -> Outcome:  # key == "approach"
        if v.facts.approach is None or not match(v.facts.approach):
            return MISSING
        ev = keep(v.facts.approach_evidence)
        if v.facts.approach_evidence and not ev:
            return MISSING
        return Outcome("met", ev)
    return approach


def _compile_construct(req: Requirement, keep) -> Evaluator:
    action, fld = req.target[0], req.field
    values = set(req.values) if req.values is not None else None
    regions = set(req.regions) if req.regions else None

    def ok(c) -> bool:
        if regions is not None and not any(region_of(lv) in regions for lv in c.levels):
            return False
        if fld is None:
            return True
        val = getattr(c, fld)
        if fld in ("levels", "anchor_levels", "kinds"):
            return bool(val) and (values is None or bool(set(val) & values))
        if fld == "pelvic":
            return values is None or val in values
        return val is not None and (values is None or val in values)

    def construct(v: _View) -> Outcome:
        good = [c for c in v.constructs.get(action, ()) if ok(c)]
        if not good:
            return MISSING
        raw = [e for c in good for e in c.evidence]
        ev = keep(raw)
        if raw and not ev:
            return MISSING
        return Outcome("met", ev, frozenset(lv for c in good for lv in sort_levels(c.levels)))
    return construct


def _compile_procedure(req: Requirement, keep) -> Evaluator:
    kinds, fld = req.target, req.field
    regions = set(req.regions) if req.regions else None

    def ok(p) -> bool:
        if fld == "levels" and not (p.levels or p.interspaces):
            return False
        if fld == "interspaces" and not p.interspaces:
            return False
        if regions is not None and not any(region_of(lv) in regions for lv in _levels_of_proc(p)):
            return False
        return True

    def procedure(v: _View) -> Outcome:
        procs = [p for k in kinds for p in v.procs.get(k, ()) if ok(p)]
        present = [p for p in procs if p.assertion == "present"]
        if present:
            ev = keep(p.evidence for p in present)
            if ev:
                return Outcome("met", ev, frozenset().union(*(_levels_of_proc(p) for p in present)))
            return MISSING
        neg = [p for p in procs if p.assertion in NEGATING]
        return Outcome("negated", tuple(p.evidence for p in neg)) if neg else MISSING
    return procedure


def _compile_instrument(req: Requirement, keep) -> Evaluator:
    action = req.target[0]
    kinds = set(req.kinds) if req.kinds else None
    regions = set(req.regions) if req.regions else None
    counted, leveled, identified = req.counted, req.leveled, req.identified

    def ok(i, where: tuple[str, ...]) -> bool:
        return ((kinds is None or i.kind in kinds) and (not counted or i.count is not None)
                and (not leveled or bool(where)) and (not identified or bool(i.brand or i.size))
                and (regions is None or any(region_of(lv) in regions for lv in where)))

    def instrument(v: _View) -> Outcome:
        # An unlevelled mention is placed where its construct is when that construct spans a single
        # interspace (two vertebrae): "Implant using PEEK 7 mm" in a C5-C6 fusion is at C5-C6.
        single = [c.levels for c in v.constructs.get(action, ()) if len(sort_levels(c.levels)) == 2]
        implied = sort_levels(single[0]) if len(single) == 1 else ()
        insts = [i for i in v.insts.get(action, ()) if ok(i, tuple(i.levels) or implied)]
        present = [i for i in insts if i.assertion == "present"]
        if present:
            ev = keep(i.evidence for i in present)
            if ev:
                return Outcome("met", ev, frozenset(lv for i in present for lv in (sort_levels(i.levels) or implied)))
            return MISSING
        neg = [i for i in insts if i.assertion in NEGATING]
        return Outcome("negated", tuple(i.evidence for i in neg)) if neg else MISSING
    return instrument


@dataclass(frozen=True, slots=True)
class _CompiledItem:
    item: Item
    requires: Evaluator
    applies_when: Evaluator | None
    conflicts: tuple[tuple[frozenset[str] | None, Evaluator, str], ...]


def _compiled(catalogue: Catalogue) -> dict[str, _CompiledItem]:
    """Compiled items of a catalogue, built once and kept on it."""
    got = catalogue.cache.get("scoring.items")
    if got is None:
        got = {}
        for item in catalogue.items.values():
            got[item.id] = _CompiledItem(
                item=item, requires=compile_requirement(item.requires, item.sections),
                applies_when=compile_requirement(item.applies_when) if item.applies_when else None,
                conflicts=tuple((c.codes, compile_requirement(c.when), c.message) for c in item.conflicts))
        catalogue.cache["scoring.items"] = got
    return got


_STATUS_TEXT = {
    "met": "documented",
    "missing": "not documented",
    "negated": "mentioned only as negated, hypothetical or a risk",
}


def _normalise(codes: Iterable[str]) -> list[str]:
    """The distinct codes of ``codes`` (modifiers and units dropped), read by the one billed-code
    parser (``coding.billed``); a string that is not a code is kept as written (it has no checklist)."""
    from notechecker.coding.billed import Billed, base_code, split_codes

    if isinstance(codes, Billed):
        return list(codes.codes)  # billed codes as the caller read them (service.assemble): not read again
    out: list[str] = []
    for c in codes:
        tokens, _bad = split_codes(str(c))
        found = [base_code(t) for t in tokens] or ([str(c).strip().upper()] if str(c).strip() else [])
        for code in found:
            if code and code not in out:
                out.append(code)
    return out


def score(facts: Facts, codes: Iterable[str] | None = None, catalogue: Catalogue | None = None) -> list[CodeResult]:
    """Judge every checklist item of every code (units and modifiers ignored) against ``facts``.

    ``codes`` defaults to the codes the note supports; codes without a checklist get an
    empty result with ``coding_documented=None``. A note that is not a spine operation
    (``facts.scope``) scores no spine checklist: every code gets an empty result.
    """
    cat = catalogue or load_catalogue()
    if codes is None:
        if facts.suggested_cpt:
            codes = facts.suggested_cpt
        else:
            from notechecker.coding import suggest_codes

            codes = suggest_codes(facts, cat)
    spine = facts.scope.is_spine
    regions = _note_regions(facts)
    compiled = _compiled(cat)
    view = _View(facts, cat)
    cache: dict[Any, Outcome] = {}

    def run(key: Any, fn: Evaluator) -> Outcome:
        out = cache.get(key)
        if out is None:
            out = cache[key] = fn(view)
        return out

    results = []
    for code in _normalise(codes):
        findings = []
        for item in (cat.items_for(code) if spine else ()):
            ci = compiled[item.id]
            if ci.applies_when is not None and run(("when", item.id), ci.applies_when).status != "met":
                continue
            out = run(item.id, ci.requires)
            status, message, evidence = out.status, f"{item.name}: {_STATUS_TEXT[out.status]}", out.evidence
            if status != "met":
                message += f" ({item.description})"
            for n, (codes_, fn, msg) in enumerate(ci.conflicts):
                if codes_ is not None and code not in codes_:
                    continue
                hit = run(("conflict", item.id, n), fn)
                if hit.status == "met":
                    status, message, evidence = "conflicting", f"{item.name}: {msg}", evidence + hit.evidence
                    break
            findings.append(Finding(note_id=facts.note_id, code=code, item_id=item.id, item_name=item.name,
                                    tier=item.tier, severity=item.severity, status=status, message=message,
                                    fix_hint="" if status == "met" else _hint(item, regions), evidence=evidence))
        results.append(CodeResult(note_id=facts.note_id, code=code, family=cat.family_of(code),
                                  findings=tuple(findings), summary=summarize_code(facts.note_id, code,
                                                                                   cat.family_of(code), findings)))
    return results


def _note_regions(facts: Facts) -> set[str]:
    """Regions the note operates on: the scope's, else those of its levels."""
    if facts.scope.regions:
        return set(facts.scope.regions)
    return {r for r in (region_of(lv) for lv in facts.levels) if r and r != "pelvis"}


def _hint(item: Item, regions: set[str]) -> str:
    """The item's fix hint, with the example of the note's region when the item has one
    (never a lumbar example on a cervical note)."""
    for region in ("cervical", "thoracic", "lumbar", "sacral"):
        if region in regions and region in item.fix_hint_by_region:
            return item.fix_hint_by_region[region]
    return item.fix_hint


def summarize_code(note_id: str, code: str, family: str | None, findings: list[Finding]) -> CodeSummary:
    """Counts, completeness and support for one note x code."""
    n = len(findings)
    counts = {s: 0 for s in ("met", "missing", "negated", "conflicting")}
    for f in findings:
        counts[f.status] += 1
    unmet = [f for f in findings if f.status != "met"]
    worst = min((SEVERITIES.index(f.severity) for f in unmet), default=None)
    tiers = {}
    for tier in TIERS:
        fs = [f for f in findings if f.tier == tier]
        if fs:
            tiers[tier] = sum(f.status == "met" for f in fs) / len(fs)
    coding_documented = None if family is None else not any(
        f.tier == "coding" and f.severity == "error" for f in unmet)
    return CodeSummary(note_id=note_id, code=code, family=family, evaluated=n, met=counts["met"],
                       missing=counts["missing"], negated=counts["negated"], conflicting=counts["conflicting"],
                       completeness=counts["met"] / n if n else 1.0,
                       worst_missing_severity=SEVERITIES[worst] if worst is not None else None,
                       coding_documented=coding_documented, tier_completeness=tiers)


def summarize(results: Iterable[CodeResult]) -> dict[str, Any]:
    """A run summary over many notes: per code and overall evaluated / met / coding-documented counts."""
    per_code: dict[str, dict[str, Any]] = {}
    total = {"notes": set(), "evaluated": 0, "met": 0, "results": 0, "coding_documented": 0}
    for r in results:
        s = r.summary
        row = per_code.setdefault(r.code, {"code": r.code, "family": r.family, "notes": 0, "evaluated": 0,
                                           "met": 0, "coding_documented": 0})
        row["notes"] += 1
        row["evaluated"] += s.evaluated
        row["met"] += s.met
        row["coding_documented"] += bool(s.coding_documented)
        total["notes"].add(r.note_id)
        total["evaluated"] += s.evaluated
        total["met"] += s.met
        total["results"] += 1
        total["coding_documented"] += bool(s.coding_documented)
    for row in per_code.values():
        row["completeness"] = row["met"] / row["evaluated"] if row["evaluated"] else 1.0
    return {"notes": len(total["notes"]), "results": total["results"], "evaluated": total["evaluated"],
            "met": total["met"], "coding_documented": total["coding_documented"],
            "completeness": total["met"] / total["evaluated"] if total["evaluated"] else 1.0,
            "codes": sorted(per_code.values(), key=lambda r: r["code"])}

"""Score a note's facts against the checklists of the codes billed or suggested.

A pure function of ``Facts`` (no spaCy, no Doc): for each code x checklist item a
``Finding`` with status ``met`` / ``missing`` / ``negated`` / ``conflicting`` and
the evidence behind it, and per code a ``CodeSummary`` (great_expectations-like:
evaluated, met, missing, completeness, worst missing severity, coding items documented).
Requirements are compiled into closures once per catalogue, not per note.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from notechecker.schema.catalogue import Catalogue, load_catalogue
from notechecker.schema.checklist import SEVERITIES, TIERS, Item
from notechecker.evaluate import Evaluator, NoteFacts, Outcome, compile_requirement
from notechecker.facts import Evidence, Facts
from notechecker.model import Operation

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


@dataclass(frozen=True, slots=True)
class _CompiledItem:
    item: Item
    requires: Evaluator
    applies_when: Evaluator | None
    conflicts: tuple[tuple[frozenset[str] | None, Evaluator, str], ...]  # (codes, when, the finding's message)
    messages: dict[str, str]  # status -> the finding's message


def _compiled(catalogue: Catalogue) -> dict[str, _CompiledItem]:
    """Compiled items of a catalogue, built once and kept on it."""
    got = catalogue.cache.get("scoring.items")
    if got is None:
        got = {}
        for item in catalogue.items.values():
            got[item.id] = _CompiledItem(
                item=item, requires=compile_requirement(item.requires, item.sections),
                applies_when=compile_requirement(item.applies_when) if item.applies_when else None,
                conflicts=tuple((c.codes, compile_requirement(c.when), f"{item.name}: {c.message}")
                                for c in item.conflicts),
                messages={status: f"{item.name}: {text}" + ("" if status == "met" else f" ({item.description})")
                          for status, text in _STATUS_TEXT.items()})
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


def score(facts: Facts, codes: Iterable[str] | None = None, catalogue: Catalogue | None = None,
          operation: Operation | None = None) -> list[CodeResult]:
    """Judge every checklist item of every code (units and modifiers ignored) against ``facts``.

    ``codes`` defaults to the codes the note supports; codes without a checklist get an
    empty result with ``coding_documented=None``. A note that is not a spine operation
    (``facts.scope``) scores no spine checklist: every code gets an empty result. ``operation``: the
    note's :class:`~notechecker.model.Operation` when the caller has it (``service.assemble`` builds it
    once for coding and scoring).
    """
    cat = catalogue or load_catalogue()
    op = operation if operation is not None else Operation(facts)
    if codes is None:
        from notechecker.coding import plan_codes

        codes = plan_codes(facts, cat, operation=op).suggested()
    spine = facts.scope.is_spine
    regions = set(op.regions)
    compiled = _compiled(cat)
    view = NoteFacts(facts, op)
    cache: dict[Any, Outcome] = {}

    def run(key: Any, fn: Evaluator) -> Outcome:
        out = cache.get(key)
        if out is None:
            out = cache[key] = fn(view)
        return out

    results = []
    note_id = facts.note_id
    for code in _normalise(codes):
        findings = []
        for item in (cat.items_for(code) if spine else ()):
            ci = compiled[item.id]
            if ci.applies_when is not None and run(("when", item.id), ci.applies_when).status != "met":
                continue
            out = run(item.id, ci.requires)
            status, message, evidence = out.status, ci.messages[out.status], out.evidence
            for n, (codes_, fn, msg) in enumerate(ci.conflicts):
                if codes_ is not None and code not in codes_:
                    continue
                hit = run(("conflict", item.id, n), fn)
                if hit.status == "met":
                    status, message, evidence = "conflicting", msg, evidence + hit.evidence
                    break
            findings.append(Finding(note_id, code, item.id, item.name, item.tier, item.severity, status, message,
                                    "" if status == "met" else _hint(item, regions), evidence))
        family = cat.family_of(code)
        results.append(CodeResult(note_id=facts.note_id, code=code, family=family, findings=tuple(findings),
                                  summary=summarize_code(facts.note_id, code, family, findings)))
    return results


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
    in_tier: dict[str, int] = {}
    met_in_tier: dict[str, int] = {}
    worst = None
    coding_error = False  # an unmet coding-tier error item
    for f in findings:  # one pass: counts, counts per tier, the worst unmet severity
        status, tier = f.status, f.tier
        counts[status] += 1
        in_tier[tier] = in_tier.get(tier, 0) + 1
        if status == "met":
            met_in_tier[tier] = met_in_tier.get(tier, 0) + 1
            continue
        rank = SEVERITIES.index(f.severity)
        worst = rank if worst is None else min(worst, rank)
        coding_error = coding_error or (tier == "coding" and f.severity == "error")
    tiers = {tier: met_in_tier.get(tier, 0) / in_tier[tier] for tier in TIERS if tier in in_tier}
    coding_documented = None if family is None else not coding_error
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

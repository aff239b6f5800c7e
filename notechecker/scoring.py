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

from notechecker.coding.billed import Billed, base_code, split_codes
from notechecker.schema.catalogue import Catalogue, load_catalogue
from notechecker.schema.checklist import SEVERITIES, TIERS, Item
from notechecker.evaluate import Evaluator, NoteFacts, Outcome, compile_requirement
from notechecker.facts import Evidence, Facts, slot_setters
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
    """Compiled items of a catalogue, built once and kept on it; their outcomes without levels (a
    finding reads an outcome's status and evidence only)."""
    got = catalogue.cache.get("scoring.items")
    if got is None:
        got = {}
        for item in catalogue.items.values():
            got[item.id] = _CompiledItem(
                item=item, requires=compile_requirement(item.requires, item.sections, levels=False),
                applies_when=compile_requirement(item.applies_when, levels=False) if item.applies_when else None,
                conflicts=tuple((c.codes, compile_requirement(c.when, levels=False), f"{item.name}: {c.message}")
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


def _normalise(codes: Iterable[str], cat: Catalogue | None = None) -> list[str]:
    """The distinct codes of ``codes`` (modifiers and units dropped), read by the one billed-code
    parser (``coding.billed``); a string that is not a code is kept as written (it has no checklist).
    A code of ``cat``'s table is read once per catalogue (the code plan's codes are all such)."""
    if isinstance(codes, Billed):
        return list(codes.codes)  # billed codes as the caller read them (service.assemble): not read again
    known = cat.cache.get("scoring.codes") if cat is not None else None
    if known is None and cat is not None:
        known = cat.cache["scoring.codes"] = {c: _read_code(c) for c in cat.table.codes}
    out: list[str] = []
    for c in codes:
        found = known.get(c) if known is not None and c.__class__ is str else None
        for code in (found if found is not None else _read_code(c)):
            if code and code not in out:
                out.append(code)
    return out


def _read_code(c: Any) -> tuple[str, ...]:
    """One entry of a code list to its codes (modifiers and units dropped; an unreadable entry as written)."""
    tokens, _bad = split_codes(str(c))
    return tuple([base_code(t) for t in tokens] or ([str(c).strip().upper()] if str(c).strip() else []))


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
    regions = op.regions
    view = NoteFacts(facts, op) if spine else None
    cache: dict[Any, Outcome] = {}  # an evaluator's outcome on this note, shared by every code
    results = []
    note_id = facts.note_id
    for code in _normalise(codes, cat):
        family = cat.family_of(code)
        if not spine:
            results.append(_code_result(note_id, code, family, (), summarize_code(note_id, code, family, [])))
            continue
        # the findings, and as they are made the summary's counts (summarize_code's, in one pass: a tier's
        # place in TIERS, a severity's rank and whether the item is a coding error come with the item)
        findings: list[Finding] = []
        append = findings.append
        in_tier, met_tier = [0] * _N_TIERS, [0] * _N_TIERS
        statuses: list[str] = []  # the unmet ones
        worst = _NO_RANK
        coding_error = False
        for (iid, name, tier, severity, when, requires, messages, conflicts, hint, tier_i, rank,
             coding_item) in _code_items(cat, code):
            if when is not None:
                out = cache.get(when[0])
                if out is None:
                    out = cache[when[0]] = when[1](view)
                if out.status != "met":
                    continue
            out = cache.get(requires[0])
            if out is None:
                out = cache[requires[0]] = requires[1](view)
            status, message, evidence = out.status, messages[out.status], out.evidence
            for key, fn, msg in conflicts:
                hit = cache.get(key)
                if hit is None:
                    hit = cache[key] = fn(view)
                if hit.status == "met":
                    status, message, evidence = "conflicting", msg, evidence + hit.evidence
                    break
            in_tier[tier_i] += 1
            if status == "met":
                met_tier[tier_i] += 1
                hint = ""
            else:
                statuses.append(status)
                if rank < worst:
                    worst = rank
                if coding_item:
                    coding_error = True
                if hint.__class__ is not str:
                    hint = _region_hint(hint, regions)
            # Finding(...) made as a draft of its layout, its fields set by plain attribute stores, then
            # made the frozen Finding (_Draft): the same object at a third of the slots' setters' cost
            f = _DraftFinding()
            f.note_id = note_id
            f.code = code
            f.item_id = iid
            f.item_name = name
            f.tier = tier
            f.severity = severity
            f.status = status
            f.message = message
            f.fix_hint = hint
            f.evidence = evidence
            f.__class__ = Finding
            append(f)
        n = len(findings)
        met = n - len(statuses)
        summary = _summary(note_id, code, family, n, met, statuses.count("missing"), statuses.count("negated"),
                           statuses.count("conflicting"), met / n if n else 1.0,
                           None if worst == _NO_RANK else SEVERITIES[worst],
                           None if family is None else not coding_error,
                           {tier: met_tier[i] / k for i, (tier, k) in enumerate(zip(TIERS, in_tier)) if k})
        results.append(_code_result(note_id, code, family, tuple(findings), summary))
    return results


def _code_items(cat: Catalogue, code: str) -> tuple:
    """The items of ``code`` as the scoring loop reads them, built once per catalogue and code: id,
    name, tier, severity, (cache key, evaluator) of ``applies_when`` or None, (cache key, evaluator) of
    the requirement, the message per status, the conflicts that apply to the code ((cache key,
    evaluator, message) each), the fix hint (a str, or the item's region hints, cervical to sacral,
    and its fix hint), and for the summary the tier's place in TIERS, the severity's rank (0: error) and
    whether the item is a coding-tier error item. Items asking the same (a requirement and sections written alike) share one
    evaluator and one cache key: a note answers it once."""
    by_code = cat.cache.get("scoring.by_code")
    if by_code is None:
        by_code = cat.cache["scoring.by_code"] = {}
    got = by_code.get(code)
    if got is None:
        parts = cat.cache.setdefault("scoring.item_parts", {})
        got = []
        for item in cat.items_for(code):
            part = parts.get(item.id)
            if part is None:
                part = parts[item.id] = _item_parts(cat, item)
            head, conflicts, tail = part
            got.append((*head, tuple([c for codes_, c in conflicts if codes_ is None or code in codes_]), *tail))
        got = by_code[code] = tuple(got)
    return got


def _item_parts(cat: Catalogue, item: Any) -> tuple[tuple, tuple, tuple]:
    """What :func:`_code_items` keeps of ``item`` for every code, made once per catalogue and item
    (an item of a base checklist is in every code's list): the cells before its conflicts, its
    conflicts (each ``(codes it applies to or None, (cache key, evaluator, message))``) and the cells
    after them."""
    ci = _compiled(cat)[item.id]
    shared = cat.cache.setdefault("scoring.shared", {})

    def one(kind: str, req: Any, sections: Any, fn: Evaluator) -> tuple[int, Evaluator]:
        key = (kind, repr(req), tuple(sorted(sections)) if sections is not None else None)
        if key not in shared:
            shared[key] = (len(shared), fn)
        return shared[key]

    hints = tuple((r, item.fix_hint_by_region[r]) for r in _HINT_REGIONS if r in item.fix_hint_by_region)
    head = (item.id, item.name, item.tier, item.severity,
            None if ci.applies_when is None else one("when", item.applies_when, None, ci.applies_when),
            one("requires", item.requires, item.sections, ci.requires), ci.messages)
    conflicts = tuple((codes_, (*one("when", c.when, None, fn), msg))
                      for c, (codes_, fn, msg) in zip(item.conflicts, ci.conflicts))
    tail = ((hints, item.fix_hint) if hints else item.fix_hint, TIERS.index(item.tier), _RANK[item.severity],
            item.tier == "coding" and item.severity == "error")
    return head, conflicts, tail


_HINT_REGIONS = ("cervical", "thoracic", "lumbar", "sacral")


def _region_hint(hint: tuple, regions: Iterable[str]) -> str:
    """The item's fix hint, with the example of the note's region when the item has one
    (never a lumbar example on a cervical note): ``hint`` as :func:`_code_items` keeps it."""
    for region, text in hint[0]:
        if region in regions:
            return text
    return hint[1]


def _draft(cls: type) -> type:
    """A class of ``cls``'s slots and nothing else: an instance's fields set by plain attribute stores
    (~15 ns each, where a frozen field's setter is a call), then ``obj.__class__ = cls`` (Python allows it
    between classes of the same slots) makes it the frozen ``cls`` object its ``__init__`` would have
    made. ``cls`` must be a frozen slotted dataclass that checks nothing when made, every field a slot
    (:func:`~notechecker.facts.slot_setters` raises TypeError otherwise, when the module is imported)."""
    slot_setters(cls)
    return type(f"_Draft{cls.__name__}", (), {"__slots__": cls.__slots__})


_NEW = object.__new__
_DraftFinding = _draft(Finding)


_S_SET = slot_setters(CodeSummary)
_R_SET = slot_setters(CodeResult)


def _summary(*values) -> CodeSummary:
    """``CodeSummary(*values)`` (every field, in order) built by its slots' setters, as scoring builds a Finding."""
    s = _NEW(CodeSummary)
    for put, value in zip(_S_SET, values):
        put(s, value)
    return s


def _code_result(note_id: str, code: str, family: str | None, findings: tuple[Finding, ...],
                 summary: CodeSummary) -> CodeResult:
    """``CodeResult(...)`` built by its slots' setters, as scoring builds a Finding."""
    r = _NEW(CodeResult)
    _R0, _R1, _R2, _R3, _R4 = _R_SET
    _R0(r, note_id)
    _R1(r, code)
    _R2(r, family)
    _R3(r, findings)
    _R4(r, summary)
    return r


def summarize_code(note_id: str, code: str, family: str | None, findings: list[Finding]) -> CodeSummary:
    """Counts, completeness and support for one note x code."""
    n = len(findings)
    counts = dict.fromkeys(("met", "missing", "negated", "conflicting"), 0)
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
        rank = _RANK[f.severity]
        if worst is None or rank < worst:
            worst = rank
        if tier == "coding" and f.severity == "error":
            coding_error = True
    tiers = {tier: met_in_tier.get(tier, 0) / in_tier[tier] for tier in TIERS if tier in in_tier}
    coding_documented = None if family is None else not coding_error
    met = counts["met"]
    return CodeSummary(note_id, code, family, n, met, counts["missing"], counts["negated"], counts["conflicting"],
                       met / n if n else 1.0, SEVERITIES[worst] if worst is not None else None,
                       coding_documented, tiers)


#: severity -> its rank in SEVERITIES (0: error, the most severe)
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_NO_RANK = len(SEVERITIES)  # (no unmet item: ranks below it)
_N_TIERS = len(TIERS)


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

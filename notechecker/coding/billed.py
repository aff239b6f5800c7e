"""Billed codes: the one parser, and the check of each billed code against the note's plan.

:func:`read_billed` is the only billed-code reader of the project (the command line, the
Python API, batch scans and the web server all come here; tests/test_house_rules.py holds it):
codes separated by commas, semicolons or white space, modifiers after dashes (``22852-59``,
``22852-59-XS``), units as ``22853 x2``. It is called once per input: what it returns, a
:class:`Billed`, is handed on (``check`` -> ``assemble`` -> ``validate`` -> NCCI edits -> the
decision record), and every function here given a ``Billed`` uses it as read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from notechecker.schema.catalogue import Catalogue, load_catalogue
from notechecker.schema.codes import CodeTable
from notechecker.errors import Errors
from notechecker.schema.loader import BilledCodeError
from notechecker.schema.mue import MueTable, load_mue
from notechecker.schema.verdicts import NOT_STANDING
from notechecker.coding.common import Conclusion, CodingReport, Plan, made, messages
from notechecker.coding.modifiers import modifier_gaps
from notechecker.coding.plan import build_plan
from notechecker.facts import Facts
from notechecker.model import DOCUMENTED, Operation

_CODE_TOKEN = re.compile(r"(?<![0-9A-Z])(?P<code>\d{4}[0-9A-Z])(?P<mods>(?:\s*-\s*[0-9A-Z]{2}(?![0-9A-Z]))*)"
                         r"(?:\s*[X*]\s*(?P<n>\d{1,2}))?(?![0-9A-Z])", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class Billed:
    """Billed codes as read: (code, modifiers) per unit, and the fragments that are no code."""

    lines: tuple[tuple[str, tuple[str, ...]], ...] = ()
    bad: tuple[str, ...] = ()

    @property
    def tokens(self) -> tuple[str, ...]:
        """One token per unit, as shown and stored: ``22852-59``."""
        return tuple(code + "".join(f"-{m}" for m in mods) for code, mods in self.lines)

    @property
    def codes(self) -> tuple[str, ...]:
        """The distinct codes billed, in billing order (modifiers and units aside)."""
        return tuple(dict.fromkeys(code for code, _ in self.lines))

    def strict(self) -> Billed:
        """Itself, or ``BilledCodeError`` (E111) naming the first fragment that is no code."""
        if self.bad:
            raise BilledCodeError(Errors.E111.format(value=self.bad[0]), code="E111", item=self.bad[0])
        return self


def read_billed(value: str | Iterable[str] | Billed | None) -> Billed:
    """Billed codes (``"22852-59, 22853 x2"`` or ``["22852-59", "22853"]``) read once; a ``Billed``
    is returned as it is, so a caller handing one on is never read twice."""
    if isinstance(value, Billed):
        return value
    if value is None:
        return Billed()
    raw = value if isinstance(value, str) else " ; ".join(str(v) for v in value if v is not None)
    lines: list[tuple[str, tuple[str, ...]]] = []
    for m in _CODE_TOKEN.finditer(raw):
        mods = tuple(x.strip() for x in m.group("mods").upper().split("-") if x.strip())
        lines.extend([(m.group("code").upper(), mods)] * max(1, int(m.group("n") or 1)))
    leftover = _SEPARATORS.split(_CODE_TOKEN.sub(" ", raw))
    return Billed(tuple(lines), tuple(t for t in leftover if t))


def split_codes(value: str | Iterable[str] | None) -> tuple[list[str], list[str]]:
    """Billed codes -> (one token per unit like ``22852-59``, unreadable fragments)."""
    b = read_billed(value)
    return list(b.tokens), list(b.bad)


def base_code(token: str) -> str:
    """``22852-59`` -> ``22852``."""
    return token.split("-")[0]


def parse_billed(billed: str | Iterable[str] | Billed) -> list[tuple[str, tuple[str, ...]]]:
    """``["22852-59", "22853 x2"]`` or ``"22852-59, 22853"`` to (code, modifiers) per unit; E111 on a
    fragment that is no code."""
    return list(read_billed(billed).strict().lines)


def plan_codes(facts: Facts, catalogue: Catalogue | None = None, operation: Operation | None = None) -> Plan:
    """The note's code plan (computed once; pass it to :func:`validate` to reuse it). ``operation``: the
    note's operation model when the caller has built it (else built here)."""
    return build_plan(facts, catalogue or load_catalogue(), operation)


def suggest_codes(facts: Facts, catalogue: Catalogue | None = None) -> list[str]:
    """The ``suggested_cpt`` list: codes the documentation supports, each repeated once per unit."""
    return list(plan_codes(facts, catalogue).suggested())


def validate(facts: Facts, billed: str | Iterable[str] | Billed | None = None, *, catalogue: Catalogue | None = None,
             mue: MueTable | str | Path | None = None, plan: Plan | None = None) -> CodingReport:
    """Conclusions on what the note supports and, when ``billed`` is given, on each billed code.

    ``mue``: a user-supplied ``code,mue[,effective_date]`` CSV (path or ``checklists.load_mue``
    result) adds unit-limit checks; without it none are made.
    """
    cat = catalogue or load_catalogue()
    msg = messages(cat)
    if mue is not None and not isinstance(mue, MueTable):
        mue = load_mue(mue)
    table = cat.table
    plan = plan if plan is not None else build_plan(facts, cat)
    suggested = plan.suggested()
    out: list[Conclusion] = []
    if billed is None:
        if plan.out_of_scope is not None:
            out.append(plan.out_of_scope)
        for ln in plan.lines:
            out.append(made(Conclusion, {
                "codes": (ln.code,), "verdict": "supported",
                "message": msg("supported", code=ln.code, units=ln.units, descriptor=table.codes[ln.code].descriptor),
                "reasons": tuple(ln.reasons), "evidence": tuple(ln.evidence), "modifiers": tuple(ln.modifiers),
                "suggested": (), "rule": None}))
        out.extend(plan.notes)
        out.extend(plan.modifiers)
        units = {ln.code: ln.units for ln in plan.lines}
        billed_t = None
    else:
        read = read_billed(billed).strict()
        lines, billed_t = list(read.lines), read.tokens
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
                                      message=msg("mue", code=code, n=n, limit=limit,
                                                  when=f" (effective {when})" if when else ""),
                                      reasons=(f"MUE table: {mue.source}",)))
    return CodingReport(note_id=facts.note_id, suggested=suggested, billed=billed_t,
                        conclusions=tuple(_no_contradiction(out)), table_version=table.version)


def _no_contradiction(out: list[Conclusion]) -> list[Conclusion]:
    """Never "supported" and a verdict that the code does not stand for the same code."""
    failing = {c for x in out if x.verdict in NOT_STANDING for c in x.codes}
    return [x for x in out if not (x.verdict == "supported" and set(x.codes) & failing)]


def _check_out_of_scope(plan: Plan, cat: Catalogue, billed_units: dict[str, int]) -> list[Conclusion]:
    """A note that is not a spine operation: every billed spine code is not supported by it (rule 12)."""
    table, msg = cat.table, messages(cat)
    scope = plan.out_of_scope
    out = [scope]
    for code in billed_units:
        status = table.status(code)
        if status in ("not_spine", "unknown"):
            out.append(Conclusion(codes=(code,), verdict="outside_scope", rule=scope.rule,
                                  message=msg("non_spine_code_not_checked", code=code),
                                  reasons=scope.reasons, evidence=scope.evidence))
        else:
            out.append(Conclusion(codes=(code,), verdict="not_supported", rule=scope.rule,
                                  message=msg("spine_code_out_of_scope", code=code, scope=scope.message),
                                  reasons=scope.reasons, evidence=scope.evidence))
    return out


def _primary_outside_scope(facts: Facts, table, code: str) -> bool:
    """The note documents a primary of the add-on ``code`` whose code lies outside this checker's scope
    (a deformity correction, a decompression): its primary is billed among codes this checker does not
    read, as the plan's own add-on rule (coding/modifiers.py) assumes."""
    done = {p.kind for p in facts.procedures if p.assertion == "present"}
    return any(kind in done and table.primary_matches(code, rep)
               for kind, rep in table.out_of_scope_primaries.items())


def _check_billed(facts: Facts, plan: Plan, cat: Catalogue, lines: list[tuple[str, tuple[str, ...]]]
                  ) -> list[Conclusion]:
    table, msg = cat.table, messages(cat)
    out: list[Conclusion] = []
    plan_units = {ln.code: ln for ln in plan.lines}
    billed_units: dict[str, int] = {}
    billed_mods: dict[str, set[str]] = {}
    for code, mods in lines:
        billed_units[code] = billed_units.get(code, 0) + 1
        billed_mods.setdefault(code, set()).update(mods)
    if plan.out_of_scope is not None:
        return _check_out_of_scope(plan, cat, billed_units)
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
                                  message=msg("deleted", code=code, year=d.year, alt=", ".join(alt)),
                                  reasons=(f"{code}: {d.descriptor}",)))
            continue
        if status == "not_spine":
            ns = table.not_spine[code]
            rule = cat.rule("spine_operation_only")
            if removal_family_codes:  # the note's own spine removal, never a guess from a table (rule 12)
                alt = tuple(removal_family_codes)
                out.append(Conclusion(codes=(code,), verdict="wrong_code", suggested=alt, rule=rule.id,
                                      message=msg("not_spine_with_removal", code=code, descriptor=ns.descriptor,
                                                  alt=", ".join(alt)),
                                      reasons=(ns.descriptor,) + tuple(r for a in alt for r in plan_units[a].reasons),
                                      evidence=tuple(e for a in alt for e in plan_units[a].evidence)))
            else:
                out.append(Conclusion(codes=(code,), verdict="coder_review", rule=rule.id,
                                      message=msg("not_spine_no_removal", code=code, descriptor=ns.descriptor),
                                      reasons=(ns.descriptor, rule.text)))
            continue
        absorbed = next((c for ranges, c in plan.absorbed if any(table.in_range(code, r) for r in ranges)), None)
        if absorbed is not None and code not in table.codes:
            out.append(replace(absorbed, codes=(code,), message=f"{code}: {absorbed.message}"))
            continue
        if status in ("outside_scope", "unknown"):
            name = table.scope_name(code) or msg("unknown_code_name")
            out.append(Conclusion(codes=(code,), verdict="outside_scope",
                                  message=msg("outside_scope_code", code=code, name=name),
                                  reasons=(f"{code}: {name}", f"code table {table.version}")))
            continue
        info = table.codes[code]
        if code in plan_units:
            ln = plan_units[code]
            if code in reviews:
                out.append(replace(reviews[code], codes=(code,)))
            elif n != ln.units:
                out.append(Conclusion(codes=(code,), verdict="coder_review", suggested=(code,) * ln.units,
                                      message=msg("units", code=code, n=n, units=ln.units, unit=info.unit),
                                      reasons=tuple(ln.reasons), evidence=tuple(ln.evidence)))
            else:
                out.append(Conclusion(codes=(code,), verdict="supported",
                                      message=msg("supported", code=code, units=n, descriptor=info.descriptor),
                                      reasons=tuple(ln.reasons), evidence=tuple(ln.evidence)))
            if "59" in ln.modifiers and not ({"59", "XS"} & billed_mods[code]):
                rule = cat.rule("disjoint_removal_modifier")
                mod = next(m for m in plan.modifiers if m.rule == rule.id and code in m.codes)
                out.append(replace(mod, codes=(code,), message=mod.message + " " + msg("billed_without_modifier")))
        elif code in dropped:
            d = dropped[code]
            out.append(replace(d, codes=(code,)))
        elif code in reviews:
            out.append(replace(reviews[code], codes=(code,)))
        else:
            alt = tuple(c for c in plan_units if table.family(c) == info.family)
            if not alt:  # another technique of the same operation (22554 billed for the note's ACDF)
                related = table.confusable.get(info.family, frozenset())
                alt = tuple(c for c in plan_units if table.family(c) in related
                            and table.is_add_on(c) == info.add_on)
            if alt:
                out.append(Conclusion(codes=(code,), verdict="wrong_code", suggested=alt,
                                      message=msg("wrong_code_family", code=code, descriptor=info.descriptor,
                                                  alt=", ".join(alt)),
                                      reasons=tuple(r for a in alt for r in plan_units[a].reasons),
                                      evidence=tuple(e for a in alt for e in plan_units[a].evidence)))
            else:
                supported = ", ".join(plan_units) or msg("no_code")
                # a billed code the note does not describe: not supported (issue 20), never coder review
                out.append(Conclusion(codes=(code,), verdict="not_supported", suggested=tuple(plan_units),
                                      message=msg("not_documented", code=code, descriptor=info.descriptor,
                                                  supported=supported),
                                      reasons=(f"family {info.family}: no supporting facts found",)))
        if info.add_on and not any(table.primary_matches(code, b) for b in billed_codes if b != code) \
                and not _primary_outside_scope(facts, table, code):
            rule = cat.rule("add_on_primary")
            out.append(Conclusion(codes=(code,), verdict=rule.verdict, rule=rule.id,
                                  message=msg("billed_add_on_without_primary", code=code),
                                  reasons=(rule.text,)))
        out.extend(_billed_modifiers(facts, cat, code, billed_mods[code]))
    for code, ln in plan_units.items():
        if code not in billed_units:
            out.append(Conclusion(codes=(code,), verdict="coder_review", suggested=(code,) * ln.units,
                                  message=msg("supported_not_billed", code=code, units=ln.units),
                                  reasons=tuple(ln.reasons), evidence=tuple(ln.evidence)))
    # situations the claim must carry a modifier for
    for m in plan.modifiers:
        if (m.rule is not None and m.verdict == "modifier_needed") or "51" in m.modifiers:
            continue
        for code in m.codes:
            if code in billed_mods and not (set(m.modifiers) & billed_mods[code]):
                out.append(replace(m, codes=(code,)))
    out.extend(n for n in plan.notes if n.verdict == "outside_scope" or
               (n.verdict == "coder_review" and not n.codes))
    return out


def _billed_modifiers(facts: Facts, cat: Catalogue, code: str, mods: set[str]) -> list[Conclusion]:
    """A billed modifier the note does not support goes to coder review, naming what is missing."""
    table: CodeTable = cat.table
    msg = messages(cat)
    reason_doc = bool(facts.removal_reasons) or any(m.assertion in DOCUMENTED for m in facts.reasons) \
        or facts.element("indication").present
    out = []
    for mod in sorted(mods):
        spec = table.modifiers.get(mod)
        if spec is None:
            continue
        missing = modifier_gaps(facts, spec, reason_doc)
        if missing:
            out.append(Conclusion(codes=(code,), verdict="coder_review", modifiers=(mod,), rule=spec.rule,
                                  message=msg("billed_modifier_gaps", code=code, mod=mod, name=spec.name,
                                              missing=", ".join(missing)),
                                  reasons=(msg.reason("modifiers"),)))
        elif spec.review:
            out.append(Conclusion(codes=(code,), verdict="coder_review", modifiers=(mod,), rule=spec.rule,
                                  message=msg("billed_modifier_review", code=code, mod=mod, review=spec.review.strip()),
                                  reasons=(spec.review.strip(),)))
    return out

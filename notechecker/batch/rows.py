"""A checked note (or a failed input) to its rows of the three tables, as the schema names them.
"""
from __future__ import annotations

import functools
import operator
from typing import Any, Iterable

from ..audit.provenance import note_sha256, stamp_items
from ..errors import InputError, describe_failure
from . import packed
from .task import Task, normalize_date, surgeon_name


_ITEM_ID = operator.attrgetter("item_id")


def _r4(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _join(codes: Iterable[str]) -> str:
    return " ".join(codes)


def failure_error(exc: Exception) -> InputError:
    return InputError("E201", f"checking failed: {describe_failure(exc)} (a bug; please report it)")


def _meta(t: Task) -> dict[str, Any]:
    return {"note_id": t.note_id, "source": t.source, "surgeon": t.surgeon, "site": t.site, "date": t.date,
            "month": t.month}


def _document_meta(t: Task) -> dict[str, str]:
    return {"patient": t.patient, "encounter": t.encounter, "document": t.document}


def _provenance(t: Task, stamp: tuple | None = None) -> dict[str, str]:
    """The provenance columns of a note's rows (the note's hash, '' for an input that could not be read);
    ``stamp``: :func:`stamp_items`, when the caller read it once for many notes (a chunk's, :func:`.workers.check_tasks`)."""
    return dict(stamp_items() if stamp is None else stamp, note_sha256=note_sha256(t.text) if t.text is not None else "")


def error_rows(t: Task, code: str | None = None, message: str | None = None,
               stamp: tuple | None = None) -> dict[str, list[dict]]:
    note = {**_provenance(t, stamp), **_meta(t), "billed_codes": "", "suggested_codes": "", "codes_checked": "", "items_evaluated": None,
            "met": None, "missing": None, "completeness": None, "code_problems": None,
            "error_code": code or t.error_code, "error": message or t.error, "warning": "; ".join(t.warnings),
            "chars": len(t.text) if t.text is not None else None, "scope": "", "scope_reason": "",
            **_document_meta(t)}
    return {"findings": [], "codes": [], "notes": [note]}


def _heading_value(text: str | None, el: Any) -> str:
    """The value written after a heading element's colon: on the heading line, else on the next
    non-blank line ("SURGEON:\nDr. A. Smith"). '' when the note gives none."""
    if not text or not el.evidence:
        return ""
    start = el.evidence[0].start
    colon = text.find(":", start, start + 80)
    if colon < 0:
        return ""
    rest = text[colon + 1:colon + 400]
    for line in rest.split("\n")[:3]:
        line = line.strip()
        if line:
            return "" if line.endswith(":") else line
    return ""


def _first_line(value: str) -> str:
    """'12/02/2024\nSPINE SURGEON:' -> '12/02/2024': a value read across a line break keeps its first line."""
    return next((ln.strip() for ln in value.splitlines() if ln.strip()), "")


def _from_note(meta: dict[str, Any], facts: Any, text: str | None = None) -> dict[str, Any]:
    """Surgeon and operation date from the note's own headings when the input gave none
    (not under --redact-evidence: both are read from the note text). A date heading followed by a
    surgeon heading gives two fields, not one value spanning both lines."""
    if not meta["surgeon"]:
        el = facts.elements.get("surgeons")  # None: the note names none (no empty element built to say so)
        meta["surgeon"] = surgeon_name((el.value or _heading_value(text, el)) if el is not None else "")
    if not meta["date"]:
        el = facts.elements.get("operation_date")
        value = _first_line(el.value or "") if el is not None else ""
        meta["date"], meta["month"] = normalize_date(value) if value else ("", "")
    return meta


def _named(t: Task, warnings: Iterable[str]) -> tuple[str, ...]:
    """The checker's warnings about the codes cell, naming the input and row (they never quote the cell)."""
    return tuple(f"{t.source}, {w}" if w.startswith("billed codes:") else w for w in warnings)


def result_rows(t: Task, result: Any, redact: bool) -> dict[str, list[dict]]:
    """A note's rows of the three tables as row dicts (:func:`result_tables`, unpacked)."""
    return {name: packed.rows(table) for name, table in result_tables(t, result, redact).items()}


def result_tables(t: Task, result: Any, redact: bool, stamp: tuple | None = None) -> dict[str, Any]:
    """A checked note's (or a failed input's) tables: ``{"findings", "codes", "notes"}``, the findings
    and codes packed as :mod:`.packed` keeps them (built so, without a row dict a row), the note's
    row as a row dict. ``stamp``: the provenance columns as :func:`stamp_items` gives them, when the
    caller read them once for many notes (else they are read for this one)."""
    if isinstance(result, InputError):
        return error_rows(t, result.code, f"{t.source}: {result.message}", stamp)
    # with --redact-evidence nothing read from the note text (names, dates) reaches the outputs
    meta = _meta(t) if redact else _from_note(_meta(t), result.facts, t.text)
    prov = _provenance(t, stamp)
    tail = {"decision": "", "decision_note": "", **prov}  # how every codes and findings row ends
    code_verdicts, scope_line = _plain()

    cells, codes = [], []
    verdicts = {v.code: v for v in code_verdicts(result)}  # the decision record every face shows (no proof here)
    for r in sorted(result.results, key=lambda r: r.code):
        s = r.summary
        v = verdicts[r.code]
        codes.append((r.code, r.billed, r.suggested, s.evaluated, s.met, s.missing, _r4(s.completeness),
                      s.worst_missing_severity or "", v.supported, v.verdict, r.verdict_message, v.supported_code,
                      v.reason, v.billing_gap, _rules(r.conclusions), v.verdict))
        # a findings row's cells of the code and finding (_FINDING_FREE), in the columns' order
        for f in sorted(r.findings, key=_ITEM_ID):
            ev = f.evidence[0] if f.evidence else None
            cells.append((r.code, r.billed, r.suggested, f.item_id, f.item_name, f.tier, f.severity, f.status,
                          f.message, f.fix_hint or "",
                          "" if ev is None or redact else ev.text, None if ev is None else ev.start,
                          None if ev is None else ev.end, "" if ev is None else ev.section or ""))
    checked = {r.code for r in result.results}
    for v in sorted((v for v in verdicts.values() if v.code not in checked), key=lambda v: v.code):
        # supported by the note but not billed (under-coding): a codes row without checklist findings
        codes.append((v.code, v.billed, v.suggested, 0, 0, 0, None, "", v.supported, v.verdict, v.reason,
                      v.supported_code, v.reason, v.billing_gap,
                      _rules(c for c in result.conclusions if v.code in c.codes), v.verdict))
    evaluated = sum(c[3] for c in codes)
    met = sum(c[4] for c in codes)
    note = {**meta, "billed_codes": _join(result.billed), "suggested_codes": _join(result.suggested),
            "codes_checked": _join(result.codes), "items_evaluated": evaluated, "met": met,
            "missing": sum(c[5] for c in codes),
            "completeness": _r4(met / evaluated) if evaluated else None, "code_problems": len(result.problems),
            "error_code": "", "error": "", "warning": "; ".join(t.warnings + _named(t, result.warnings)),
            "chars": len(t.text), "scope": result.facts.scope.kind,
            "scope_reason": _scope_reason(result, redact, scope_line),
            **_document_meta(t), **prov}
    return {"findings": _table(meta, _FINDING_FREE, tail, cells), "codes": _table(meta, _CODE_FREE, tail, codes),
            "notes": [note]}


#: The columns of a findings row that a code and its finding fill, and of a codes row that its code
#: fills (the others: the note's, ``meta`` and ``tail`` of :func:`result_tables`), in the columns' order
_FINDING_FREE = ("code", "billed", "suggested", "item_id", "item_name", "tier", "severity", "status", "message",
                 "fix_hint", "evidence_text", "evidence_start", "evidence_end", "evidence_section")
_CODE_FREE = ("code", "billed", "suggested", "items_evaluated", "met", "missing", "completeness",
              "worst_missing_severity", "supported", "verdict", "verdict_message", "supported_code", "reason",
              "billing_gap", "rules", "checker_verdict")


def _table(meta: dict[str, Any], free: tuple[str, ...], tail: dict[str, Any], cells: list[tuple]) -> Any:
    """A table of a note from the cells of its rows' columns ``free`` (one tuple a row), between the
    note's ``meta`` and ``tail``: packed, its note's cells kept once; as row dicts when a cell is not
    :data:`.packed.PLAIN` (the packed tables of a note's rows hold plain cells only) or for fewer
    than two rows."""
    if not cells:
        return []
    keys = (*meta, *free, *tail)
    if len(cells) < 2:
        return [dict(zip(keys, (*meta.values(), *c, *tail.values()))) for c in cells]
    n_meta = len(meta)
    fixed = (*enumerate(meta.values()), *enumerate(tail.values(), n_meta + len(free)))
    table, plain = packed.table(keys, fixed, range(n_meta, n_meta + len(free)), cells)
    if not plain:
        return packed.rows(table)
    return table


@functools.cache
def _plain() -> tuple[Any, Any]:
    """:func:`notechecker.plain.code_verdicts` and ``scope_line``, imported on the first note, not when the
    scan starts (plain loads the verdict words when imported), and once: an import statement run a note
    costs ~5-8 us on a slow host (the import system's checks and, for a relative one, its package's)."""
    from ..plain import code_verdicts, scope_line

    return code_verdicts, scope_line


def _rules(conclusions: Iterable[Any]) -> str:
    """The rule ids of the coding conclusions about a code (BR-02, NCCI-PTP, MUE ...), space-separated."""
    return " ".join(dict.fromkeys(c.rule for c in conclusions if c.rule))


def _scope_reason(result: Any, redact: bool, scope_line: Any) -> str:
    """Why the note is (not) a spine operation; with its evidence quoted unless evidence is redacted
    (``scope_line``: :func:`notechecker.plain.scope_line`)."""
    scope = result.facts.scope
    if scope.is_spine:
        return scope.reason
    return scope.reason if redact else scope_line(result)

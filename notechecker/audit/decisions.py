"""Reviewer decisions that stick: one decision per finding, kept in a CSV or Parquet file.

Columns: ``note_sha256`` (the SHA-256 of the note text, as in the results tables), ``code``,
``item`` (a checklist item id such as RM-03, a coding rule id such as BR-02, NCCI-PTP or MUE, or
empty for the code's verdict itself), ``decision`` (agree, overrule, defer), ``reason``,
``reviewer``, ``date``; optionally ``verdict``, the reviewer's verdict for an overruled code (one
of :data:`notechecker.plain.VERDICTS`; without it an overrule turns a supporting verdict into "not
supported" and any other into "supported").

A decision follows the note's text by its hash: once the note is edited, its hash changes and the
note is checked afresh (the old decision names no note and is reported as a warning, E036).
An overruled finding is shown "overruled by REVIEWER: reason" and no longer counts in rates; an
overruled code takes the reviewer's verdict. Bad rows are located error rows (E035); the others
are used.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError
from ..plain import OVER_CODED, SUPPORTING, VERDICTS, CodeVerdict, code_verdicts
from .cms import BadRow

DECISION_KINDS = ("agree", "overrule", "defer")
COLUMNS = ("note_sha256", "code", "item", "decision", "reason", "reviewer", "date")
OPTIONAL = ("verdict",)
#: Other names accepted for a column (lower case).
ALIASES = {"note_hash": "note_sha256", "sha256": "note_sha256", "hash": "note_sha256", "item_id": "item",
           "rule": "item", "rule_id": "item", "finding": "item"}
#: Words in ``item`` that mean the code's verdict itself rather than one item or rule.
WHOLE_CODE = ("", "*", "verdict", "code")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_CODE = re.compile(r"^[0-9A-Z]\d{3}[0-9A-Z]$")
_PAST = {"agree": "agreed", "overrule": "overruled", "defer": "deferred"}


@dataclass(frozen=True)
class Decision:
    note_sha256: str
    code: str
    item: str  # item or rule id; '' = the code's verdict
    decision: str
    reason: str
    reviewer: str
    date: str
    verdict: str = ""
    line: int = 0

    @property
    def whole_code(self) -> bool:
        return self.item.lower() in WHOLE_CODE

    def note(self) -> str:
        """``overruled by A. Reviewer: reason`` (the words every face shows)."""
        return f"{_PAST[self.decision]} by {self.reviewer}" + (f": {self.reason}" if self.reason else "")


@dataclass
class Decisions:
    """The usable decisions of a file, and its rows that could not be read (located, E035)."""

    source: str = ""
    rows: tuple[Decision, ...] = ()
    problems: tuple[BadRow, ...] = ()
    _by_note: dict[str, list[Decision]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for d in self.rows:
            self._by_note.setdefault(d.note_sha256, []).append(d)

    def for_note(self, sha: str) -> list[Decision]:
        return self._by_note.get(sha, [])

    def find(self, sha: str, code: str, item: str) -> Decision | None:
        """The latest decision on this note, code and item ('' = the code's verdict)."""
        found = [d for d in self.for_note(sha) if d.code == code and
                 (d.whole_code if item == "" else d.item.upper() == item.upper())]
        return max(found, key=lambda d: (d.date, d.line), default=None)


def _records(path: Path) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """Header and (line, record) rows of a CSV or Parquet file (line = the CSV line, or row + 1)."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        cols = list(table.column_names)
        return cols, [(i + 2, r) for i, r in enumerate(table.to_pylist())]
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    if not rows:
        return [], []
    header = rows[0]
    out = []
    for n, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            out.append((n, {"__fields__": len(row)}))
            continue
        out.append((n, dict(zip(header, row))))
    return header, out


def load_decisions(path: str | Path) -> Decisions:
    """Read and validate a decisions file (``.csv`` or ``.parquet``). A file that cannot be read or lacks
    a column raises InputError (E034); each bad row is a located BadRow (E035)."""
    path = Path(path)
    shown = str(path)
    if not path.is_file():
        raise InputError("E034", f"{shown}: no such decisions file")
    try:
        header, records = _records(path)
    except Exception as exc:  # an unreadable Parquet file, bytes that are not UTF-8
        raise InputError("E034", f"{shown}: the decisions file cannot be read ({exc.__class__.__name__})") from None
    names = {h: ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header}
    missing = [c for c in COLUMNS if c not in names.values()]
    if missing:
        raise InputError("E034", f"{shown}: the decisions file has no column {', '.join(missing)} "
                                 f"(expected {', '.join(COLUMNS)}; optional {', '.join(OPTIONAL)})")
    good: list[Decision] = []
    bad: list[BadRow] = []
    for line, rec in records:
        if "__fields__" in rec:
            bad.append(BadRow("E035", shown, line, f"{rec['__fields__']} fields, the header has {len(header)}"))
            continue
        r = {names[k]: ("" if v is None else str(v).strip()) for k, v in rec.items() if k in names}
        problem = _problem(r)
        if problem:
            bad.append(BadRow("E035", shown, line, problem))
            continue
        good.append(Decision(note_sha256=r["note_sha256"].lower(), code=r["code"].upper(), item=r["item"],
                             decision=r["decision"].lower(), reason=r["reason"], reviewer=r["reviewer"],
                             date=r["date"], verdict=r.get("verdict", "").lower(), line=line))
    return Decisions(source=shown, rows=tuple(good), problems=tuple(bad))


def _problem(r: dict[str, str]) -> str:
    if not _SHA.match(r["note_sha256"].lower()):
        return "note_sha256 is not a SHA-256 (64 hexadecimal characters)"
    if not _CODE.match(r["code"].upper()):
        return "code is not a CPT code like 22852"
    if r["decision"].lower() not in DECISION_KINDS:
        return f"decision must be one of {', '.join(DECISION_KINDS)}"
    if not r["reviewer"]:
        return "reviewer is empty"
    if r["decision"].lower() == "overrule" and not r["reason"]:
        return "an overrule needs a reason"
    try:
        _dt.date.fromisoformat(r["date"][:10])
    except ValueError:
        return "date is not YYYY-MM-DD"
    if r.get("verdict") and r["verdict"].lower() not in VERDICTS:
        return f"verdict must be one of {', '.join(VERDICTS)}"
    return ""


def reviewer_verdict(d: Decision, checker: str) -> str:
    """The verdict an overrule gives a code: the reviewer's own, else the opposite of the checker's."""
    if d.verdict:
        return d.verdict
    return "not supported" if checker in SUPPORTING else "supported"


# --------------------------------------------------------------------------- the rows of a scan
def apply_rows(rows: dict[str, list[dict]], decisions: Decisions, used: set[int] | None = None
               ) -> dict[str, list[dict]]:
    """The rows of one note (``{"findings", "codes", "notes"}``) with the decisions on it applied:
    ``decision`` and ``decision_note`` filled; an overruled code takes the reviewer's verdict (the
    checker's stays in ``checker_verdict``); a code whose every error-severity gap is overruled is
    supported. ``used`` collects the lines of the decisions that matched (for :func:`unused`)."""
    note = rows["notes"][0] if rows["notes"] else {}
    sha = note.get("note_sha256", "")
    if not sha or not decisions.for_note(sha):
        return rows
    findings = [dict(f) for f in rows["findings"]]
    codes = [dict(c) for c in rows["codes"]]
    for f in findings:
        d = decisions.find(sha, f["code"], f["item_id"])
        if d is not None:
            f["decision"], f["decision_note"] = d.decision, d.note()
            if used is not None:
                used.add(d.line)
    for c in codes:
        d = decisions.find(sha, c["code"], "")
        if d is None:  # a decision on one of the code's coding rules
            d = next((x for x in (decisions.find(sha, c["code"], r) for r in (c.get("rules") or "").split()) if x),
                     None)
        gaps = [f for f in findings if f["code"] == c["code"] and f["status"] != "met" and f["severity"] == "error"]
        if d is not None:
            if used is not None:
                used.add(d.line)
            c["decision"], c["decision_note"] = d.decision, d.note()
            if d.decision == "overrule":
                _set_verdict(c, reviewer_verdict(d, c["verdict"]), d.note())
        elif gaps and all(f["decision"] == "overrule" for f in gaps) and \
                c["verdict"] in ("needs documentation", "not supported") and \
                str(c.get("reason", "")).startswith(("add: ", "not documented: ")):
            notes = "; ".join(dict.fromkeys(f["decision_note"] for f in gaps))
            c["decision"], c["decision_note"] = "overrule", notes
            _set_verdict(c, "supported", notes)
    return {**rows, "findings": findings, "codes": codes}


def _set_verdict(c: dict, verdict: str, note: str) -> None:
    c["verdict"] = verdict
    c["supported"] = verdict in SUPPORTING
    c["reason"] = note
    c["billing_gap"] = OVER_CODED if (c["billed"] and not c["supported"] and verdict != "not checked") else \
        ("" if c["billing_gap"] == OVER_CODED else c["billing_gap"])


def unused(decisions: Decisions, used: set[int]) -> list[BadRow]:
    """Warnings (E036) for the decisions that matched no note, code and item of the results: the note
    was edited since (its hash changed), or the finding is no longer raised."""
    return [BadRow("E036", decisions.source, d.line,
                   f"decision on {d.code} {d.item or '(verdict)'} matches no finding of the results (the note was "
                   f"edited since, or the finding is no longer raised): not applied")
            for d in decisions.rows if d.line not in used]


def apply_frames(frames: dict[str, Any], decisions: Decisions) -> tuple[dict[str, Any], list[BadRow]]:
    """The three result DataFrames with the decisions applied (for ``report``; same columns), and the
    E036 warnings."""
    import pandas as pd

    by_note: dict[str, dict[str, list[dict]]] = {}
    for name in ("notes", "codes", "findings"):
        df = frames[name]
        if "note_sha256" not in df.columns:
            return frames, [BadRow("E036", decisions.source, 0, "the results carry no note_sha256 (scanned "
                                                                "before provenance): no decision applied")]
        for rec in df.to_dict("records"):
            rec = {k: (None if _isna(v) else v) for k, v in rec.items()}
            key = rec["note_id"]
            by_note.setdefault(key, {"notes": [], "codes": [], "findings": []})[name].append(rec)
    used: set[int] = set()
    out = {"notes": [], "codes": [], "findings": []}
    for rows in by_note.values():
        for k, v in apply_rows(rows, decisions, used).items():
            out[k].extend(v)
    return ({k: pd.DataFrame(v, columns=list(frames[k].columns)).astype(frames[k].dtypes.to_dict())
             for k, v in out.items()}, unused(decisions, used))


def _isna(v: Any) -> bool:
    try:
        import pandas as pd

        return v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)
    except ImportError:  # pragma: no cover
        return v is None


# --------------------------------------------------------------------------- one note (check)
def overrule_verdicts(verdicts: Iterable[CodeVerdict], result, sha: str, decisions: Decisions
                      ) -> tuple[list[CodeVerdict], dict[tuple[str, str], Decision]]:
    """The layer over :func:`notechecker.plain.code_verdicts`: the same records, those the reviewer
    overruled with the reviewer's verdict and the reason "overruled by REVIEWER: reason" (the
    checker's verdict kept in ``also``); and the decisions on checklist findings, by (code, item)."""
    on_items: dict[tuple[str, str], Decision] = {}
    for r in result.results:
        for f in r.findings:
            d = decisions.find(sha, r.code, f.item_id)
            if d is not None:
                on_items[(r.code, f.item_id)] = d
    out = []
    for v in verdicts:
        rules = [c.rule for c in result.conclusions if v.code in c.codes and c.rule]
        d = decisions.find(sha, v.code, "") or next(
            (x for x in (decisions.find(sha, v.code, r) for r in rules) if x), None)
        r = next((x for x in result.results if x.code == v.code), None)
        gaps = [f for f in (r.findings if r else ()) if f.status != "met" and f.severity == "error"]
        if d is None and gaps and all(on_items.get((v.code, f.item_id)) is not None and
                                      on_items[(v.code, f.item_id)].decision == "overrule" for f in gaps) \
                and v.verdict in ("needs documentation", "not supported") and v.reason.startswith(
                    ("add: ", "not documented: ")):
            note = "; ".join(dict.fromkeys(on_items[(v.code, f.item_id)].note() for f in gaps))
            out.append(_overruled(v, "supported", note))
            continue
        if d is not None and d.decision == "overrule":
            out.append(_overruled(v, reviewer_verdict(d, v.verdict), d.note()))
        elif d is not None:
            out.append(replace(v, also=v.also + (d.note(),)))
        else:
            out.append(v)
    return out, on_items


def _overruled(v: CodeVerdict, verdict: str, note: str) -> CodeVerdict:
    from ..plain import words

    spec = words().spec(verdict)  # the reviewer's verdict, with its key, severity and tone from the one vocabulary
    supported = spec.supports
    gap = OVER_CODED if (v.billed and not supported and spec.key != "not_checked") else \
        ("" if v.billing_gap == OVER_CODED else v.billing_gap)
    return replace(v, verdict=spec.word, key=spec.key, severity=spec.severity_or_none, tone=spec.tone, reason=note,
                   supported=supported, billing_gap=gap, items=() if supported else v.items,
                   also=(f"the checker said: {v.verdict} ({v.reason})",) + v.also)


# --------------------------------------------------------------------------- summary and export
def summary(decisions: Decisions) -> dict[str, list[dict]]:
    """Where reviewers overrule the checker most: by item or rule, and by code; each with the decisions
    made and the overrule rate (overrules / decisions)."""
    def table(key) -> list[dict]:
        groups: dict[str, dict[str, int]] = {}
        for d in decisions.rows:
            g = groups.setdefault(key(d), {k: 0 for k in DECISION_KINDS})
            g[d.decision] += 1
        rows = [{"key": k, "decisions": sum(v.values()), **v,
                 "overrule_rate": round(v["overrule"] / sum(v.values()), 4)} for k, v in groups.items()]
        return sorted(rows, key=lambda r: (-r["overrule"], -r["overrule_rate"], r["key"]))
    return {"by_item": table(lambda d: d.item or "(verdict)"), "by_code": table(lambda d: d.code)}


def decided_dict(payload: dict, result, text: str, decisions: Decisions) -> dict:
    """The JSON of ``check`` with the decisions on the note: ``verdicts`` layered (overruled codes take the
    reviewer's verdict), each finding's ``decision`` and ``decision_note``, and ``note_sha256``."""
    from ..plain import code_verdicts
    from .provenance import note_sha256

    sha = note_sha256(text)
    verdicts, on_items = overrule_verdicts(code_verdicts(result), result, sha, decisions)
    payload = dict(payload)
    payload["note_sha256"] = sha
    payload["verdicts"] = [v.to_dict() for v in verdicts]
    for r in payload.get("results", []):
        for f in r.get("findings", []):
            d = on_items.get((r["code"], f.get("item_id")))
            f["decision"], f["decision_note"] = (d.decision, d.note()) if d else ("", "")
    return payload


def decided_severity(result, text: str, decisions: Decisions) -> str | None:
    """``result.worst_severity()`` with the reviewer's overrules taken out: an overruled finding, and the
    coding problems of an overruled code, no longer count (``check --fail-on``)."""
    from ..schema.checklist import SEVERITIES
    from ..schema.verdicts import CONCLUSION_SEVERITY
    from .provenance import note_sha256

    sha = note_sha256(text)
    verdicts, on_items = overrule_verdicts(code_verdicts(result), result, sha, decisions)
    overruled = {v.code for v in verdicts if v.reason.startswith("overruled by")}
    levels = [f.severity for r in result.results for f in r.findings if f.status != "met" and not (
        (r.code, f.item_id) in on_items and on_items[(r.code, f.item_id)].decision == "overrule")
        and r.code not in overruled]
    levels += [CONCLUSION_SEVERITY.get(c.verdict) or "info" for c in result.problems
               if not (c.codes and set(c.codes) <= overruled)]
    return min(levels, key=SEVERITIES.index, default=None)

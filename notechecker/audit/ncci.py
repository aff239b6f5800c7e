"""NCCI procedure-to-procedure (PTP) edits and MUEs applied to a note's billed codes.

:func:`load_edits` reads the CMS files (``--ncci`` PTP tables, repeatable; ``--mue``) into one
:class:`Edits`; :func:`edit_conclusions` turns the billed codes of one note and its date of service
into coding conclusions (rule ``NCCI-PTP`` or ``MUE``) that every face shows beside the checker's
own. Bad rows of the files are :class:`~notechecker.audit.cms.BadRow` s, kept in ``Edits.problems``;
the rows around them are used.

PTP modifier indicator: ``0`` the column-2 code is never paid with the column-1 code; ``1`` it is,
with a PTP modifier (59 or XE/XS/XP/XU) the note must back with a distinct level or session; ``9``
the edit does not apply. An edit applies on a date of service from its effective date up to the
day before its deletion date (``*``: not deleted). Without a date of service, the newest rows of the
file apply (those not deleted) and the conclusion says so.
"""
from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ..coding.billed import Billed, read_billed
from ..coding.common import Conclusion
from ..facts import Facts
from ..schema.mue import MueTable, read_mue, to_date
from .cms import CODE_CELL, BadRow, parse_date, quarter_of, read_table

PTP_RULE = "NCCI-PTP"
MUE_RULE = "MUE"
#: Modifiers CMS accepts to bypass a PTP edit with indicator 1 (spine: a distinct level or session).
PTP_MODIFIERS = ("59", "XE", "XS", "XP", "XU")
INDICATORS = {"0": "0 (no modifier allowed)", "1": "1 (allowed with a documented modifier)",
              "9": "9 (not applicable)"}
#: Environment variables that carry the edit files to worker processes (paths joined by os.pathsep).
ENV_NCCI, ENV_MUE = "NOTECHECKER_NCCI", "NOTECHECKER_MUE"
_LEVEL = re.compile(r"\b(?:[CTLS]\d{1,2}(?:\s*[-\u2013/]\s*[CTLS]?\d{1,2})?|sacrum|pelvis|ilium)\b", re.IGNORECASE)


@dataclass(frozen=True)
class PtpEdit:
    column1: str
    column2: str
    prior_1996: bool
    effective: _dt.date | None
    deletion: _dt.date | None
    indicator: str  # "0", "1" or "9"
    rationale: str
    source: str
    line: int

    def active_on(self, dos: _dt.date | None) -> bool:
        """In force on ``dos``; without a date, in force in the newest release (not deleted)."""
        if dos is None:
            return self.deletion is None
        if self.effective is not None and dos < self.effective:
            return False
        return self.deletion is None or dos < self.deletion


@dataclass(frozen=True)
class EditFile:
    """One edit file in use: its name, kind, release quarter, SHA-256 and row counts."""

    name: str
    kind: str  # "ncci-ptp" or "mue"
    quarter: str
    sha256: str
    rows: int
    bad_rows: int

    def label(self) -> str:
        return f"{Path(self.name).name} ({self.kind}{', ' + self.quarter if self.quarter else ''})"

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "quarter": self.quarter, "sha256": self.sha256,
                "rows": self.rows, "bad_rows": self.bad_rows}


@dataclass
class Edits:
    """The PTP edits of every ``--ncci`` file and the ``--mue`` table, with the rows that could not be read."""

    ptp: dict[tuple[str, str], list[PtpEdit]] = field(default_factory=dict)
    mue: MueTable | None = None
    files: tuple[EditFile, ...] = ()
    problems: tuple[BadRow, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.ptp) or self.mue is not None

    def describe(self) -> str:
        """``ptp.txt (ncci-ptp, 2026Q1); mue.txt (mue, 2026Q1)``: the files and quarters in use."""
        return "; ".join(f.label() for f in self.files)

    def edit(self, column1: str, column2: str, dos: _dt.date | None) -> PtpEdit | None:
        """The edit of this pair in force on ``dos`` (the newest such row)."""
        rows = [e for e in self.ptp.get((column1, column2), ()) if e.active_on(dos)]
        return max(rows, key=lambda e: (e.effective or _dt.date.min, e.line), default=None)


def _is_ptp_header(cells: list[str]) -> bool:
    flat = [c.replace(" ", "") for c in cells]
    return any(c.startswith("column1") for c in flat) and any(c.startswith("column2") for c in flat)


PTP_FIELDS = {
    "column1": lambda w: w.replace(" ", "").startswith("column1"),
    "column2": lambda w: w.replace(" ", "").startswith("column2"),
    "prior_1996": lambda w: "1996" in w or "in existence" in w,
    "effective": lambda w: "effective" in w,
    "deletion": lambda w: "deletion" in w,
    "indicator": lambda w: "modifier" in w,
    "rationale": lambda w: "rationale" in w,
}


def read_ptp(path: str | Path) -> tuple[list[PtpEdit], EditFile, list[BadRow]]:
    """One CMS practitioner PTP table: its edits, its :class:`EditFile` and its bad rows (E031)."""
    raw = read_table(path, kind="NCCI PTP", error_code="E030", is_header=_is_ptp_header, fields=PTP_FIELDS,
                     required=("column1", "column2", "effective", "deletion", "indicator"))
    cols = raw.columns
    edits: list[PtpEdit] = []
    bad: list[BadRow] = []

    def cell(cells: tuple[str, ...], name: str) -> str:
        k = cols.get(name)
        return cells[k].strip() if k is not None and k < len(cells) else ""

    for line, cells in raw.rows:
        c1, c2 = cell(cells, "column1").upper(), cell(cells, "column2").upper()
        if not CODE_CELL.match(c1) or not CODE_CELL.match(c2):
            bad.append(BadRow("E031", raw.file, line, "column 1 and column 2 must be CPT/HCPCS codes "
                                                      "(five characters)"))
            continue
        try:
            eff = parse_date(cell(cells, "effective"))
        except ValueError:
            bad.append(BadRow("E031", raw.file, line, f"{c1}/{c2}: the effective date is not a date (YYYYMMDD)"))
            continue
        try:
            dele = parse_date(cell(cells, "deletion"))
        except ValueError:
            bad.append(BadRow("E031", raw.file, line, f"{c1}/{c2}: the deletion date is neither a date (YYYYMMDD) "
                                                      f"nor * (none)"))
            continue
        ind = cell(cells, "indicator")[:1]
        if ind not in INDICATORS:
            bad.append(BadRow("E031", raw.file, line, f"{c1}/{c2}: the modifier indicator must be 0, 1 or 9"))
            continue
        if eff is not None and dele is not None and dele < eff:
            bad.append(BadRow("E031", raw.file, line, f"{c1}/{c2}: deleted before it took effect"))
            continue
        edits.append(PtpEdit(column1=c1, column2=c2, prior_1996=cell(cells, "prior_1996") == "*", effective=eff,
                             deletion=dele, indicator=ind, rationale=cell(cells, "rationale"), source=raw.file,
                             line=line))
    newest = max((e.effective for e in edits if e.effective), default=None)
    info = EditFile(name=raw.file, kind="ncci-ptp", quarter=quarter_of(raw, newest), sha256=raw.sha256,
                    rows=len(edits), bad_rows=len(bad))
    return edits, info, bad


def load_edits(ncci: Iterable[str | Path] = (), mue: str | Path | None = None) -> Edits:
    """Read the PTP tables and the MUE table. A file that cannot be read raises InputError (E030/E032);
    bad rows are kept in ``problems`` and the other rows used."""
    out = Edits()
    files: list[EditFile] = []
    problems: list[BadRow] = []
    for p in ncci:
        edits, info, bad = read_ptp(p)
        for e in edits:
            out.ptp.setdefault((e.column1, e.column2), []).append(e)
        files.append(info)
        problems += bad
    if mue is not None:
        table, bad = read_mue(mue)
        out.mue = table
        files.append(EditFile(name=table.source, kind="mue", quarter=table.quarter, sha256=table.sha256,
                              rows=len(table.limits), bad_rows=len(bad)))
        problems += bad
    out.files, out.problems = tuple(files), tuple(problems)
    return out


@lru_cache(maxsize=4)
def _env_edits(ncci: str, mue: str) -> Edits:
    return load_edits([p for p in ncci.split(os.pathsep) if p], mue or None)


def edits_from_env() -> Edits | None:
    """The edit files a scan named (``$NOTECHECKER_NCCI``, ``$NOTECHECKER_MUE``), loaded once per process."""
    ncci, mue = os.environ.get(ENV_NCCI, ""), os.environ.get(ENV_MUE, "")
    if not ncci and not mue:
        return None
    return _env_edits(ncci, mue)


def service_date(value: str | _dt.date | None, facts: Facts | None = None) -> _dt.date | None:
    """The date of service: ``value`` (ISO or a usual date), else the note's operation date; None if neither."""
    if isinstance(value, _dt.date):
        return value
    candidates = [value or ""]
    if facts is not None:
        candidates.append(facts.element("operation_date").value or "")
    for c in candidates:
        d = to_date(c.strip().splitlines()[0] if c.strip() else "")
        if d is not None:
            return d
    return None


def _vertebrae(token: str) -> set[str]:
    """``L1-L3`` -> {L1, L2, L3}; ``L4-5`` -> {L4, L5}; ``T12-L1`` -> {T12, L1}; ``sacrum`` -> {SACRUM}."""
    t = re.sub(r"\s+", "", token).upper().replace("\u2013", "-").replace("/", "-")
    m = re.fullmatch(r"([CTLS])(\d{1,2})-([CTLS]?)(\d{1,2})", t)
    if not m:
        return {t}
    a, b = int(m.group(2)), int(m.group(4))
    if m.group(3) and m.group(3) != m.group(1):
        return {f"{m.group(1)}{a}", f"{m.group(3)}{b}"}
    return {f"{m.group(1)}{k}" for k in range(min(a, b), max(a, b) + 1)}


def _levels(texts: Iterable[str]) -> set[str]:
    """The vertebrae named in the coding model's reasons for a code (its own words, not the note's)."""
    return {v for text in texts for m in _LEVEL.finditer(text) for v in _vertebrae(m.group(0))}


def edit_conclusions(billed: list[tuple[str, tuple[str, ...]]], edits: Edits, dos: _dt.date | None,
                     plan=None) -> list[Conclusion]:
    """Conclusions of the PTP and MUE edits about the billed (code, modifiers) units of one note."""
    out: list[Conclusion] = []
    when = f"date of service {dos.isoformat()}" if dos else \
        "no date of service: the newest edits in the file were applied"
    codes = list(dict.fromkeys(c for c, _ in billed))
    mods: dict[str, set[str]] = {}
    for c, m in billed:
        mods.setdefault(c, set()).update(m)
    lines = {ln.code: ln for ln in plan.lines} if plan is not None else {}
    for c1 in codes:
        for c2 in codes:
            if c1 == c2:
                continue
            e = edits.edit(c1, c2, dos)
            if e is None or e.indicator == "9":
                continue
            where = f"{Path(e.source).name} line {e.line}"
            head = (f"NCCI PTP edit {c1} (column 1) / {c2} (column 2), modifier indicator "
                    f"{INDICATORS[e.indicator]}; rationale: {e.rationale or 'not stated'}")
            reasons = (f"{where}; {when}",)
            if e.indicator == "0":
                out.append(Conclusion(codes=(c2,), verdict="unbundle", rule=PTP_RULE, reasons=reasons,
                                      message=f"{head}. {c2} is not paid with {c1} on the same date of service, "
                                              f"with or without a modifier."))
                continue
            used = sorted((mods.get(c2, set()) | mods.get(c1, set())) & set(PTP_MODIFIERS))
            l1, l2 = lines.get(c1), lines.get(c2)
            lv1 = _levels(l1.reasons) if l1 else set()
            lv2 = _levels(l2.reasons) if l2 else set()
            distinct = bool(lv1 and lv2 and not (lv1 & lv2))
            need = (f"the note must show {c2} done at a distinct level (or in a separate session) from {c1}, "
                    f"and the claim must carry 59 or XS on {c2}")
            evidence = tuple((l1.evidence[:1] if l1 else []) + (l2.evidence[:1] if l2 else [])) if distinct else ()
            shown = (f"the note shows distinct levels ({', '.join(sorted(lv1))} for {c1}; "
                     f"{', '.join(sorted(lv2))} for {c2})") if distinct else \
                "the note does not show a distinct level or session"
            if used and distinct:
                out.append(Conclusion(codes=(c2,), verdict="supported", rule=PTP_RULE, modifiers=tuple(used),
                                      reasons=reasons, evidence=evidence,
                                      message=f"{head}. Billed with {'/'.join(used)}; {shown}."))
            elif used:
                out.append(Conclusion(codes=(c2,), verdict="coder_review", rule=PTP_RULE, modifiers=tuple(used),
                                      reasons=reasons, message=f"{head}. Billed with {'/'.join(used)}, but {shown}; "
                                                               f"{need}."))
            else:
                out.append(Conclusion(codes=(c2,), verdict="modifier_needed", rule=PTP_RULE, modifiers=("59", "XS"),
                                      reasons=reasons, evidence=evidence,
                                      message=f"{head}. Billed without a PTP modifier: {need}; {shown}."))
    if edits.mue is not None:
        out.extend(mue_conclusions(billed, edits.mue, dos, when))
    return out


MAI_WORDS = {1: "per claim line", 2: "per date of service (policy)", 3: "per date of service (clinical)"}


def mue_conclusions(billed: list[tuple[str, tuple[str, ...]]], table: MueTable, dos: _dt.date | None,
                    when: str) -> list[Conclusion]:
    """A unit count over the MUE: per claim line (MAI 1: one code with one set of modifiers) or per date of
    service (MAI 2, 3, and tables without an indicator)."""
    out = []
    per_line: dict[tuple[str, tuple[str, ...]], int] = {}
    per_day: dict[str, int] = {}
    for c, m in billed:
        per_line[(c, tuple(sorted(m)))] = per_line.get((c, tuple(sorted(m))), 0) + 1
        per_day[c] = per_day.get(c, 0) + 1
    for code, n_day in per_day.items():
        row = table.row(code, dos)
        if row is None:
            continue
        if row.indicator == 1:
            n = max(v for (c, _), v in per_line.items() if c == code)
            unit = "on one claim line"
        else:
            n, unit = n_day, "on the date of service"
        if n <= row.limit:
            continue
        mai = f"MAI {row.indicator}: {MAI_WORDS[row.indicator]}" if row.indicator else "no adjudication indicator"
        out.append(Conclusion(codes=(code,), verdict="coder_review", rule=MUE_RULE,
                              reasons=(f"{Path(table.source).name} line {row.line}; {when}",),
                              message=f"MUE: {n} units of {code} {unit}, over the limit of {row.limit} ({mai}; "
                                      f"rationale: {row.rationale or 'not stated'}). Units past the MUE are "
                                      f"denied unless the note documents each one."))
    return out


def apply_edits(report, facts: Facts, billed: Billed | Iterable[str], plan, edits: Edits | None = None,
                date_of_service=None):
    """``report`` (a CodingReport) with the edit conclusions added, and the warnings to show (the date used)."""
    edits = edits if edits is not None else edits_from_env()
    if not edits:
        return report, []
    lines = list(read_billed(billed).lines)  # a Billed (from assemble) is used as read
    dos = service_date(date_of_service, facts)
    found = edit_conclusions(lines, edits, dos, plan)
    said = [] if dos is not None else ["no date of service: the newest NCCI/MUE edits in the files were applied"]
    if not found:
        return report, said
    return replace(report, conclusions=tuple(report.conclusions) + tuple(found)), said

"""Medically-unlikely-edit limits from a user-supplied file: the ``code,mue[,effective_date]`` CSV
(:func:`load_mue`), or the CMS MUE table as CMS ships it (:func:`read_mue`: text, CSV or Excel, title
lines before the header; code, units, adjudication indicator, rationale)."""
from __future__ import annotations

import csv
import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from notechecker.schema.codes import CODE
from notechecker.errors import Errors
from notechecker.schema.loader import MueError


@dataclass(frozen=True)
class MueRow:
    """One MUE: the unit limit of a code, its adjudication indicator (MAI 1 per claim line, 2 policy and
    3 clinical per date of service; 0 when the table gives none) and rationale."""

    code: str
    limit: int
    indicator: int = 0
    rationale: str = ""
    effective: _dt.date | None = None
    line: int = 0


@dataclass(frozen=True)
class MueTable:
    """Medically-unlikely-edit limits from a user-supplied file (never shipped, never hard-coded)."""

    limits: dict[str, int]
    effective: dict[str, _dt.date | None]
    source: str
    rows: dict[str, tuple[MueRow, ...]] = field(default_factory=dict)
    quarter: str = ""
    sha256: str = ""

    def limit(self, code: str) -> int | None:
        return self.limits.get(code)

    def row(self, code: str, dos: _dt.date | None = None) -> MueRow | None:
        """The row in force on ``dos`` (the newest one effective on or before it; without a date, the newest)."""
        rows = self.rows.get(code)
        if not rows:
            lim = self.limits.get(code)
            return None if lim is None else MueRow(code, lim, effective=self.effective.get(code))
        ok = [r for r in rows if dos is None or r.effective is None or r.effective <= dos]
        return max(ok, key=lambda r: (r.effective or _dt.date.min, r.line), default=None)


def to_date(value: str) -> _dt.date | None:
    """A date written as ISO, YYYYMMDD, MM/DD/YYYY or "Month D, YYYY"; None when it is none of these."""
    v = value.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y", "%m/%d/%y", "%B %d, %Y", "%b %d, %Y", "%d %B %Y"):
        try:
            return _dt.datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    try:
        return _dt.datetime.fromisoformat(v.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _is_mue_header(cells: list[str]) -> bool:
    has_code = any(c in ("code", "hcpcs", "cpt") or "hcpcs" in c or "cpt code" in c for c in cells)
    return has_code and any(c == "mue" or "mue value" in c or c == "units" for c in cells)


MUE_FIELDS = {
    "code": lambda w: w in ("code", "hcpcs", "cpt") or "hcpcs" in w or "cpt code" in w,
    "limit": lambda w: w in ("mue", "units") or "mue value" in w,
    "indicator": lambda w: "adjudication" in w or w == "mai",
    "rationale": lambda w: "rationale" in w,
    "effective": lambda w: "effective" in w,
}


def read_mue(path: str | Path):
    """The MUE table of ``path`` as CMS ships it (or the ``code,mue[,effective_date]`` CSV), with the rows
    that cannot be read as located BadRows (E033; the others are kept). An unreadable file raises
    InputError (E032)."""
    from notechecker.audit.cms import BadRow, parse_date, quarter_of, read_table

    raw = read_table(path, kind="MUE", error_code="E032", is_header=_is_mue_header, fields=MUE_FIELDS,
                     required=("code", "limit"))
    cols = raw.columns
    bad: list = []
    by_code: dict[str, list[MueRow]] = {}

    def cell(cells, name: str) -> str:
        k = cols.get(name)
        return cells[k].strip() if k is not None and k < len(cells) else ""

    for line, cells in raw.rows:
        code = cell(cells, "code").upper()
        if not CODE.match(code):
            bad.append(BadRow("E033", raw.file, line, "the code column is not a CPT/HCPCS code"))
            continue
        units = cell(cells, "limit")
        if not units.isdigit():
            bad.append(BadRow("E033", raw.file, line, f"{code}: the MUE value is not a whole number of units"))
            continue
        mai_cell = cell(cells, "indicator")
        mai = int(mai_cell[0]) if mai_cell[:1] in ("1", "2", "3") else 0
        if mai_cell and not mai:
            bad.append(BadRow("E033", raw.file, line, f"{code}: the adjudication indicator must start with 1, 2 "
                                                      f"or 3"))
            continue
        try:
            eff = parse_date(cell(cells, "effective"))
        except ValueError:
            bad.append(BadRow("E033", raw.file, line, f"{code}: the effective date is not a date"))
            continue
        by_code.setdefault(code, []).append(MueRow(code, int(units), mai, cell(cells, "rationale"), eff, line))
    rows = {c: tuple(v) for c, v in by_code.items()}
    newest = {c: max(v, key=lambda r: (r.effective or _dt.date.min, r.line)) for c, v in rows.items()}
    last = max((r.effective for v in rows.values() for r in v if r.effective), default=None)
    table = MueTable(limits={c: r.limit for c, r in newest.items()}, effective={c: r.effective for c, r in newest.items()},
                     source=raw.file, rows=rows, quarter=quarter_of(raw, last), sha256=raw.sha256)
    return table, bad


def load_mue(path: str | Path, *, as_of: _dt.date | None = None) -> MueTable:
    """Read ``code,mue[,effective_date]`` rows; with dates, keep the latest row on or before ``as_of``."""
    path = Path(path)
    shown = str(path)

    def fail(detail: str) -> MueError:
        return MueError(Errors.E029.format(file=shown, detail=detail), code="E029", file=shown)

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise fail(f"cannot be read: {exc}") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise fail("is empty")
    header = [h.strip().lower() for h in rows[0]]
    if header[:2] != ["code", "mue"] or len(header) > 3 or (len(header) == 3 and header[2] != "effective_date"):
        raise fail(f"header must be 'code,mue' or 'code,mue,effective_date', got {','.join(rows[0])!r}")
    limits: dict[str, int] = {}
    effective: dict[str, _dt.date | None] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(header):
            raise fail(f"line {n}: expected {len(header)} columns, got {len(row)}")
        code, mue = row[0].strip(), row[1].strip()
        if not CODE.match(code):
            raise fail(f"line {n}: {code!r} is not a CPT code")
        try:
            limit = int(mue)
        except ValueError:
            raise fail(f"line {n}: mue {mue!r} is not a whole number") from None
        if limit < 0:
            raise fail(f"line {n}: mue {limit} is negative")
        when = None
        if len(header) == 3 and row[2].strip():
            try:
                when = _dt.date.fromisoformat(row[2].strip())
            except ValueError:
                raise fail(f"line {n}: effective_date {row[2]!r} is not YYYY-MM-DD") from None
            if as_of is not None and when > as_of:
                continue
        prev = effective.get(code)
        if code in limits and (when is None or (prev is not None and when <= prev)):
            continue
        limits[code], effective[code] = limit, when
    return MueTable(limits=limits, effective=effective, source=shown)

"""Reading CMS edit tables as CMS ships them: tab-delimited text, CSV or Excel, with copyright and
title lines before the column header row (which may run over two lines).

A row that cannot be read is a :class:`BadRow` naming the file and line (never a crash); the rows
around it are kept. Nothing here knows PTP or MUE columns: the callers name the headers they need.
"""
from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import InputError

#: A CPT or HCPCS code cell (``22612``, ``0274T``, ``G0453``).
CODE_CELL = re.compile(r"^[0-9A-Z]\d{3}[0-9A-Z]$")
_QUARTER = re.compile(r"(?:(?P<y1>20\d\d)\s*[-_ ]?\s*Q(?P<q1>[1-4]))|(?:Q(?P<q2>[1-4])\s*[-_ ]?\s*(?P<y2>20\d\d))",
                      re.IGNORECASE)
_MONTHS = {m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                        "september", "october", "november", "december"), 1)}
_TITLE_DATE = re.compile(r"\b(?P<m>" + "|".join(_MONTHS) + r")\s+(?:\d{1,2},\s*)?(?P<y>20\d\d)\b", re.IGNORECASE)


@dataclass(frozen=True)
class BadRow:
    """One row of an input that could not be read: where, and what is wrong (no cell values beyond codes)."""

    code: str  # E0xx
    file: str
    line: int  # 1-based line (text) or row (Excel); 0 for the file itself
    problem: str

    @property
    def message(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"[{self.code}] {where}: {self.problem}"

    def to_dict(self) -> dict:
        return {"error_code": self.code, "file": self.file, "line": self.line, "problem": self.problem,
                "message": self.message}


@dataclass(frozen=True)
class RawTable:
    """The rows of one file after its header: ``columns`` maps a field name to a column index."""

    file: str
    sha256: str
    title: tuple[str, ...]  # lines before the header (copyright, title)
    columns: dict[str, int]
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (line, cells)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of a .txt/.tsv (tabs), .csv or .xlsx file."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            out = []
            for n, row in enumerate(ws.iter_rows(values_only=True), 1):
                out.append((n, [_cell(v) for v in row]))
            return out
        finally:
            wb.close()
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    lines = text.splitlines()
    if suffix == ".csv":
        return [(n, row) for n, row in enumerate(csv.reader(io.StringIO("\n".join(lines))), 1)]
    return [(n, line.split("\t")) for n, line in enumerate(lines, 1)]


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, _dt.datetime):
        return v.date().strftime("%Y%m%d")
    if isinstance(v, _dt.date):
        return v.strftime("%Y%m%d")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def read_table(path: str | Path, *, kind: str, error_code: str, is_header: Callable[[list[str]], bool],
               fields: dict[str, Callable[[str], bool]], required: tuple[str, ...]) -> RawTable:
    """Read ``path``; the header is the first row ``is_header`` accepts, with the non-data rows right
    after it joined to it column by column (CMS headers run over two lines). ``fields`` maps a field to a
    test on a column's joined header words. Raises :class:`InputError` (``error_code``) when the file
    cannot be read or has no header with the ``required`` fields."""
    path = Path(path)
    shown = str(path)
    if not path.is_file():
        raise InputError(error_code, f"{shown}: no such {kind} file")
    try:
        lines = _lines(path)
        sha = file_sha256(path)
    except Exception as exc:  # a damaged workbook, an unreadable file: name the file, never the contents
        raise InputError(error_code, f"{shown}: the {kind} file cannot be read ({exc.__class__.__name__})") from None
    start = next((i for i, (_, cells) in enumerate(lines) if is_header([c.strip().lower() for c in cells])), None)
    if start is None:
        raise InputError(error_code, f"{shown}: no column header row of a {kind} table (expected the CMS "
                                     f"column names: {', '.join(required)})")
    header = [c.strip() for c in lines[start][1]]
    i = start + 1
    while i < len(lines) and lines[i][1] and not CODE_CELL.match(lines[i][1][0].strip().upper()) \
            and any(c.strip() for c in lines[i][1]) and i - start < 3:
        for k, c in enumerate(lines[i][1]):  # the header's second line
            if k < len(header):
                header[k] = f"{header[k]} {c.strip()}".strip()
            else:
                header.append(c.strip())
        i += 1
    words = [" ".join(h.lower().split()) for h in header]
    columns: dict[str, int] = {}
    for name, test in fields.items():
        k = next((k for k, w in enumerate(words) if k not in columns.values() and test(w)), None)
        if k is not None:
            columns[name] = k
    missing = [f for f in required if f not in columns]
    if missing:
        raise InputError(error_code, f"{shown}, line {lines[start][0]}: the header has no column for "
                                     f"{', '.join(missing)}")
    title = tuple(" ".join(c for c in cells if c).strip() for _, cells in lines[:start])
    rows = tuple((n, tuple(c.strip() for c in cells)) for n, cells in lines[i:] if any(c.strip() for c in cells))
    return RawTable(file=shown, sha256=sha, title=tuple(t for t in title if t), columns=columns, rows=rows)


def parse_date(value: str) -> _dt.date | None:
    """A CMS date cell: ``20240101``, ``2024-01-01`` or ``01/01/2024``; '' and ``*`` are None.
    Raises ValueError for anything else."""
    v = value.strip()
    if v in ("", "*"):
        return None
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return _dt.datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    raise ValueError(v)


def quarter_of(table: RawTable, newest: _dt.date | None) -> str:
    """The release quarter: stated in the title lines or the file name (``2026Q1``, ``Q1 2026``, "January
    1, 2026"), else the quarter of the newest effective date in the file; '' when none."""
    for text in (*table.title, Path(table.file).name):
        m = _QUARTER.search(text)
        if m:
            return f"{m.group('y1') or m.group('y2')}Q{m.group('q1') or m.group('q2')}"
    for text in table.title:
        m = _TITLE_DATE.search(text)
        if m:
            return f"{m.group('y')}Q{(_MONTHS[m.group('m').lower()] - 1) // 3 + 1}"
    if newest is not None:
        return f"{newest.year}Q{(newest.month - 1) // 3 + 1}"
    return ""

"""Medically-unlikely-edit limits from a user-supplied CSV (dated rows)."""
from __future__ import annotations

import csv
import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

from notechecker.schema.codes import CODE
from notechecker.errors import Errors
from notechecker.schema.loader import MueError


@dataclass(frozen=True)
class MueTable:
    """Medically-unlikely-edit limits from a user-supplied CSV (never shipped, never hard-coded)."""

    limits: dict[str, int]
    effective: dict[str, _dt.date | None]
    source: str

    def limit(self, code: str) -> int | None:
        return self.limits.get(code)


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

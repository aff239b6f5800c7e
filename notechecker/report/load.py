"""Read the three tables written by ``notechecker scan`` into typed DataFrames.

``scan INPUT -o results.parquet`` writes ``results.parquet`` (findings),
``results.codes.parquet`` (note x code) and ``results.notes.parquet`` (note), or the
same stems with ``.csv`` / ``.jsonl``. :func:`load_results` takes any one of the three
paths, finds the other two by stem, and returns them with a fixed column order and
fixed types (text columns as strings with ``""`` for blank, counts as ints, flags as
bools), whatever the format they were stored in. A CSV keeps ``22852`` a code, not a
number.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..batch.schema import BOOL_COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, TABLES
from ..errors import NoteCheckerError

SUFFIXES = (".parquet", ".csv", ".jsonl")
TABLE_SUFFIXES = {"findings": "", "codes": ".codes", "notes": ".notes"}

#: Offsets: a blank one stays blank (<NA>); a blank count reads as 0.
OPTIONAL_INT = ("evidence_start", "evidence_end")
#: Columns of the scan the report does not read (where a note came from in a document).
NOT_REPORTED = ("patient", "encounter", "document")


def _report_type(column: str) -> str:
    """How the report reads a column: str, int (blank -> 0), optint (blank -> <NA>), float (blank -> NaN) or
    bool (blank -> False); names and types are those of the scan's one schema (:mod:`notechecker.batch.schema`)."""
    if column in OPTIONAL_INT:
        return "optint"
    if column in INT_COLUMNS:
        return "int"
    if column in FLOAT_COLUMNS:
        return "float"
    return "bool" if column in BOOL_COLUMNS else "str"


# Column order of each table, and each column's type.
FINDINGS_COLUMNS: dict[str, str] = {c: _report_type(c) for c in TABLES["findings"] if c not in NOT_REPORTED}
CODES_COLUMNS: dict[str, str] = {c: _report_type(c) for c in TABLES["codes"] if c not in NOT_REPORTED}
NOTES_COLUMNS: dict[str, str] = {c: _report_type(c) for c in TABLES["notes"] if c not in NOT_REPORTED}
SCHEMAS = {"findings": FINDINGS_COLUMNS, "codes": CODES_COLUMNS, "notes": NOTES_COLUMNS}
#: Columns without which a table cannot be reported on; the others default to blank.
REQUIRED = {"findings": ("note_id", "code", "item_id", "status"), "codes": ("note_id", "code"),
            "notes": ("note_id",)}


class ReportInputError(NoteCheckerError):
    """A results table for the report is missing, in an unknown format or lacks a column."""


@dataclass(frozen=True)
class Results:
    """The three scan tables, typed and in their fixed column order."""

    findings: pd.DataFrame
    codes: pd.DataFrame
    notes: pd.DataFrame
    source: str = ""


def table_paths(results_path) -> dict[str, Path]:
    """Paths of the findings, codes and notes tables that belong with ``results_path``.

    ``out/results.parquet``, ``out/results.codes.parquet`` and
    ``out/results.notes.parquet`` all give the same three paths.
    """
    path = Path(results_path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ReportInputError("E602", f"{path}: unknown results format {path.suffix!r}; expected one of "
                                       f"{', '.join(SUFFIXES)}")
    stem = path.name[: -len(path.suffix)]
    for part in (".codes", ".notes"):
        if stem.endswith(part):
            stem = stem[: -len(part)]
    return {name: path.with_name(f"{stem}{infix}{path.suffix}") for name, infix in TABLE_SUFFIXES.items()}


def load_results(results_path) -> Results:
    """Read the three tables that belong with ``results_path`` (see :func:`table_paths`)."""
    paths = table_paths(results_path)
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise ReportInputError("E601", "results table not found: " + ", ".join(missing)
                               + " (notechecker scan writes all three beside each other)")
    frames = {name: conform(read_table(path), name, source=str(path)) for name, path in paths.items()}
    return Results(frames["findings"], frames["codes"], frames["notes"], source=str(paths["findings"]))


def from_frames(findings: pd.DataFrame | dict, codes: pd.DataFrame | None = None,
                notes: pd.DataFrame | None = None, *, source: str = "") -> Results:
    """Results from DataFrames, e.g. the dict ``notechecker.scan(...)`` returns.

    ``from_frames(notechecker.scan(["sample_notes"]))`` or ``from_frames(findings, codes, notes)``.
    """
    if isinstance(findings, dict):
        findings, codes, notes = findings["findings"], findings["codes"], findings["notes"]
    frames = {"findings": findings, "codes": codes, "notes": notes}
    typed = {name: conform(df if df is not None else pd.DataFrame(), name, source=name)
             for name, df in frames.items()}
    return Results(typed["findings"], typed["codes"], typed["notes"], source=source)


def read_table(path) -> pd.DataFrame:
    """One table, untyped: everything CSV/JSON Lines hold is read as text or JSON values."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if path.stat().st_size == 0:
        return pd.DataFrame()
    if suffix == ".csv":
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ReportInputError("E603", f"{path}: line {lineno} is not JSON ({exc.msg})") from None
    return pd.DataFrame.from_records(rows)


def conform(df: pd.DataFrame, table: str, *, source: str = "") -> pd.DataFrame:
    """``df`` with the columns of ``table`` in order and typed; absent optional columns blank."""
    schema = SCHEMAS[table]
    if len(df.columns):
        lacking = [c for c in REQUIRED[table] if c not in df.columns]
        if lacking:
            raise ReportInputError("E604", f"{source or table}: column(s) {', '.join(lacking)} missing; the "
                                           f"{table} table has columns {', '.join(schema)}")
    out = pd.DataFrame(index=range(len(df)))
    for col, kind in schema.items():
        values = df[col].reset_index(drop=True) if col in df.columns else pd.Series([None] * len(df), dtype=object)
        out[col] = _typed(values, kind)
    if "month" in out.columns and "date" in out.columns:
        blank = out["month"] == ""
        derived = out["date"].str.extract(r"^(\d{4}-\d{2})", expand=False).fillna("")
        out.loc[blank, "month"] = derived[blank]
    return out


def _typed(values: pd.Series, kind: str) -> pd.Series:
    """``values`` as the column type; vectorised where the values allow, element-wise otherwise."""
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "str":
        if inferred in ("string", "empty"):
            return values.astype(object).where(values.notna(), "").astype(str)
        return values.map(_as_text).astype(str)
    if kind == "bool":
        if inferred in ("boolean", "empty"):
            return values.astype(object).where(values.notna(), False).astype(bool)
        if inferred == "string":
            return values.fillna("").astype(str).str.strip().str.lower().isin(TRUE_TEXT)
        return values.map(_as_bool).astype(bool)
    numbers = pd.to_numeric(values.where(values != "", None) if inferred == "string" else values,
                            errors="coerce")
    if kind == "int":
        return numbers.fillna(0).astype("int64")
    if kind == "optint":
        return numbers.astype("Int64")
    return numbers.astype("float64")


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    if isinstance(value, np.ndarray):  # list columns read from parquet
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if pd.isna(value):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))  # a code stored as 22852.0
    return str(value)


TRUE_TEXT = ("true", "1", "yes", "y", "t")


def _as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in TRUE_TEXT
    if value is None:
        return False
    if isinstance(value, (np.ndarray, list, tuple)):
        return len(value) > 0
    if pd.isna(value):
        return False
    return bool(value)

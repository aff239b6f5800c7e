"""Streaming batch checking: many notes in, three tables out.

Inputs are folders of ``.txt`` notes (recursive), ``.txt`` files, CSV / TSV / Parquet /
JSONL tables (a text column, optional id, billed codes, surgeon, date and site
columns) or pandas DataFrames. Every input is accounted for: an unreadable note, a
row without text, a table without the text column or a malformed row becomes an
error row in the notes table (code + message naming the input and row, never the
note text) and the batch goes on. Notes are checked in chunks, in-process or in
worker processes, and the rows are written in input order as they come, so memory
does not grow with the batch.

Outputs, by the extension of ``-o RESULTS.ext`` (``.parquet``, ``.csv``, ``.jsonl``):
``RESULTS.ext`` findings (note x code x item), ``RESULTS.notes.ext`` one row per
input note, ``RESULTS.codes.ext`` note x code summaries. Missing text values are
empty strings; missing numbers are null.

Column notes: ``missing`` counts items with status ``missing`` (negated and
conflicting items are in the findings table); ``supported`` is null for a code no
checklist covers; ``code_problems`` counts coding conclusions other than
``supported``; ``completeness`` is null for a note with no items (or an error);
codes lists are space-separated, one entry per unit (``22853 22853``).

Bad inputs (each an error row with a code, or a processed row with a warning):
E101 empty or blank, E102 bad byte-order mark, E103 binary, E104 too long, E105-E108
unreadable (directory, permission, missing or broken link, I/O), E109 folder that cannot
be listed, E110 folder without ``.txt`` notes, E201/E202 checking failed, E301-E306 table
problems (type, text column, malformed row, no rows, unreadable file, non-text cell).
Text that is not UTF-8 is decoded as UTF-16 (byte-order mark or not) or cp1252 with a
warning. Notes longer than :data:`MAX_CHARS` characters are refused (E104), not cut:
checking time grows faster than length (1 s for 100 000 characters, 90 s for a million),
and a truncated note would show items as missing that are documented further on.

Crash safety: with an output, finished chunks go to a checkpoint folder
``RESULTS.ext.partial/`` (``manifest.json`` plus one ``chunk-NNNNNN.json`` per chunk, each
written to a temporary file, fsynced and renamed). The three tables are written to
temporary files and renamed at the end, then the checkpoint is removed. ``resume=True``
(``scan --resume``) replays the finished chunks and checks the rest; the tables are
byte-identical to those of an uninterrupted run. A resume whose inputs, options,
notechecker version or patterns differ from the manifest is refused (E402).
"""
from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import hashlib
import io as _io
import itertools
import json
import logging
import os
import re
import shutil
import sys
from collections import deque
from dataclasses import asdict, astuple, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .errors import InputError, NoteCheckerError
from .io import MAX_BYTES, decode, iter_note_paths, read_note

log = logging.getLogger("notechecker.batch")

# --------------------------------------------------------------------------- columns
FINDINGS_COLUMNS = (
    "note_id", "source", "surgeon", "site", "date", "month", "code", "billed", "suggested", "item_id",
    "item_name", "tier", "severity", "status", "message", "fix_hint", "evidence_text", "evidence_start",
    "evidence_end", "evidence_section",
)
CODES_COLUMNS = (
    "note_id", "source", "surgeon", "site", "date", "month", "code", "billed", "suggested", "items_evaluated",
    "met", "missing", "completeness", "worst_missing_severity", "supported", "verdict", "verdict_message",
)
NOTES_COLUMNS = (
    "note_id", "source", "surgeon", "site", "date", "month", "billed_codes", "suggested_codes", "codes_checked",
    "items_evaluated", "met", "missing", "completeness", "code_problems", "error_code", "error", "warning",
    "chars",
)
TABLES = {"findings": FINDINGS_COLUMNS, "notes": NOTES_COLUMNS, "codes": CODES_COLUMNS}
#: Column types: everything not listed is a string.
_INT = {"evidence_start", "evidence_end", "items_evaluated", "met", "missing", "code_problems", "chars"}
_FLOAT = {"completeness"}
_BOOL = {"billed", "suggested", "supported"}
OUTPUT_SUFFIXES = (".parquet", ".csv", ".jsonl")
TABLE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
                  ".ndjson": "jsonl"}
NOTE_SUFFIXES = (".txt",)
#: Longest note checked, in characters; longer ones become E104 error rows.
MAX_CHARS = 100_000
#: A file this large cannot hold MAX_CHARS characters or fewer (4 bytes a character, plus a BOM): not read.
MAX_NOTE_BYTES = 4 * MAX_CHARS + 4
#: Conventional names tried for optional columns the caller did not name.
DEFAULT_NAMES = {
    "codes": ("codes", "billed_codes", "cpt", "cpt_codes"),
    "surgeon": ("surgeon",),
    "date": ("date", "date_of_service", "service_date"),
    "site": ("site", "facility"),
}


@dataclass(frozen=True)
class Columns:
    """Column names of table inputs; ``None`` for an optional column = try the usual names."""

    text: str = "text"
    id: str = "note_id"
    codes: str | None = None
    surgeon: str | None = None
    date: str | None = None
    site: str | None = None


# --------------------------------------------------------------------------- work items
@dataclass(frozen=True, slots=True)
class Task:
    """One note to check (``text`` set) or one input that failed (``error_code`` set). Picklable."""

    note_id: str
    source: str
    text: str | None = None
    codes: str | None = None
    surgeon: str = ""
    site: str = ""
    date: str = ""
    month: str = ""
    error_code: str = ""
    error: str = ""
    warnings: tuple[str, ...] = ()


def _error_task(note_id: str, source: str, exc: InputError, meta: dict | None = None) -> Task:
    return Task(note_id=note_id, source=source, error_code=exc.code, error=exc.message, **(meta or {}))


def _cell_str(value: Any) -> str:
    """A metadata cell as a stripped string ('' for null)."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(_cell_str(v) for v in value if _cell_str(v))
    try:
        import pandas as pd

        if value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
            return ""
    except (ImportError, TypeError, ValueError):
        pass
    return str(value).strip()


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%d-%b-%Y", "%d %b %Y",
                 "%b %d, %Y", "%B %d, %Y", "%Y%m%d", "%Y-%m", "%Y/%m")


def normalize_date(value: Any) -> tuple[str, str]:
    """A date cell -> (ISO date or the value as given, ``YYYY-MM`` or '')."""
    text = _cell_str(value)  # '' for null, NaN, NaT
    if text and isinstance(value, _dt.datetime):
        value = value.date()
    if text and isinstance(value, _dt.date):
        return value.isoformat(), value.strftime("%Y-%m")
    if not text:
        return "", ""
    with contextlib.suppress(ValueError):
        d = _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        return d.isoformat(), d.strftime("%Y-%m")
    for fmt in _DATE_FORMATS:
        with contextlib.suppress(ValueError):
            d = _dt.datetime.strptime(text, fmt).date()
            if fmt in ("%Y-%m", "%Y/%m"):
                return text, d.strftime("%Y-%m")
            return d.isoformat(), d.strftime("%Y-%m")
    return text, ""


# --------------------------------------------------------------------------- readers
def iter_tasks(inputs: Iterable[Any], columns: Columns = Columns()) -> Iterator[Task]:
    """Tasks for every input, in input order (ids not yet made unique)."""
    for inp in inputs:
        if _is_frame(inp):
            yield from _frame_tasks(inp, columns)
            continue
        path = Path(inp)
        if path.is_dir():
            n = 0
            for n, p in enumerate(iter_note_paths([path], NOTE_SUFFIXES), 1):
                yield _txt_task(p)
            if not n:
                yield _error_task(path.name or str(path), str(path), InputError(
                    "E110", f"{path}: no .txt notes in this folder (searched with its subfolders)"))
            continue
        kind = TABLE_SUFFIXES.get(path.suffix.lower())
        if kind is None and path.suffix.lower() not in NOTE_SUFFIXES and path.exists():
            yield _error_task(path.name, str(path), InputError(
                "E301", f"{path}: unsupported input type {path.suffix or '(no extension)'!r}; expected a folder, "
                        f".txt notes, or a .csv, .tsv, .parquet or .jsonl table"))
        elif kind is None:
            yield _txt_task(path)
        else:
            yield from _table_tasks(path, kind, columns)


def _txt_task(path: Path) -> Task:
    try:
        with contextlib.suppress(OSError):  # read_note reports a file it cannot stat
            size = path.stat().st_size
            if size > MAX_NOTE_BYTES:
                raise InputError("E104", f"{path}: {size:,} bytes, too long for one note (the limit is "
                                         f"{MAX_CHARS:,} characters); split it into notes")
        note = read_note(path)
        _check_length(note.text, str(path))
    except InputError as exc:
        return _error_task(path.stem, str(path), exc)
    return Task(note_id=note.note_id, source=note.source, text=note.text,
                warnings=(f"{path}: {note.warning}",) if note.warning else ())


def _check_length(text: str, where: str) -> None:
    if len(text) > MAX_CHARS:
        raise InputError("E104", f"{where}: {len(text):,} characters is over the {MAX_CHARS:,}-character limit "
                                 f"for one note; split it into notes")


def _is_frame(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "itertuples")


def _open_error(path: Path, exc: OSError) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError("E107", f"{path}: no such file")
    if isinstance(exc, PermissionError):
        return InputError("E106", f"{path}: permission denied")
    if isinstance(exc, IsADirectoryError):
        return InputError("E105", f"{path}: is a directory, not a table")
    return InputError("E108", f"{path}: cannot be read ({exc.strerror or exc.__class__.__name__})")


def _resolve(header: list[str], name: str | None, defaults: tuple[str, ...]) -> tuple[str | None, bool]:
    """The header column for ``name`` (exact, then case-insensitive), and whether a named one is absent."""
    wanted = (name,) if name else defaults
    for w in wanted:
        if w in header:
            return w, False
    lower = {h.lower(): h for h in header if isinstance(h, str)}
    for w in wanted:
        if w.lower() in lower:
            return lower[w.lower()], False
    return None, bool(name)


class _TableRows:
    """Maps the rows of one table to tasks: column lookup, ids, text decoding, metadata."""

    def __init__(self, label: str, name: str, header: list[str] | None, columns: Columns):
        self.label, self.name, self.columns = label, name, columns
        self.warnings: tuple[str, ...] = ()
        self.header = header
        if header is not None:
            self._bind(header)

    def _bind(self, header: list[str]) -> None:
        c = self.columns
        self.text_col, _ = _resolve(header, c.text, ())
        self.id_col, _ = _resolve(header, c.id, ())
        found = {}
        warnings = []
        for key in ("codes", "surgeon", "date", "site"):
            col, absent = _resolve(header, getattr(c, key), DEFAULT_NAMES[key])
            found[key] = col
            if absent:
                warnings.append(f"{self.label}: no {key} column {getattr(c, key)!r}")
        self.meta_cols = found
        self.warnings = tuple(warnings)

    def missing_text_column(self) -> InputError | None:
        if self.text_col is None:
            shown = ", ".join(repr(h) for h in (self.header or [])[:20]) or "none"
            return InputError("E302", f"{self.label}: no text column {self.columns.text!r} (columns: {shown}); "
                                      f"name it with --text-column")
        return None

    def task(self, n: int, row: dict[str, Any], where: str = "row") -> Task:
        """Task for data row ``n`` (1-based) given as a mapping column -> value."""
        at = f"{self.label} {where} {n}"
        note_id = _cell_str(row.get(self.id_col)) if self.id_col else ""
        warnings = list(self.warnings)
        if not note_id:
            if self.id_col:
                warnings.append(f"{at}: empty note id")
            note_id = f"{self.name}:{n}"
        date, month = normalize_date(row.get(self.meta_cols["date"])) if self.meta_cols["date"] else ("", "")
        meta = {"surgeon": _cell_str(row.get(self.meta_cols["surgeon"])) if self.meta_cols["surgeon"] else "",
                "site": _cell_str(row.get(self.meta_cols["site"])) if self.meta_cols["site"] else "",
                "date": date, "month": month, "warnings": tuple(warnings)}
        codes = row.get(self.meta_cols["codes"]) if self.meta_cols["codes"] else None
        codes = _cell_str(codes) or None
        source = f"{self.label}:{n}"
        value = row.get(self.text_col)
        try:
            text, warning = self._text(value, at)
        except InputError as exc:
            return _error_task(note_id, source, exc, meta)
        if warning:
            meta["warnings"] = meta["warnings"] + (f"{at}: {warning}",)
        return Task(note_id=note_id, source=source, text=text, codes=codes, **meta)

    def _text(self, value: Any, at: str) -> tuple[str, str | None]:
        col = self.text_col
        if value is None or (isinstance(value, float) and value != value):
            raise InputError("E101", f"{at}: no text (null in column {col!r})")
        if isinstance(value, str):
            _check_length(value, at)
            data = value.encode("utf-8", "surrogateescape")
        elif isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
        else:
            raise InputError("E306", f"{at}: column {col!r} holds {type(value).__name__} values, not text")
        if len(data) > MAX_NOTE_BYTES:
            raise InputError("E104", f"{at}: {len(data):,} bytes, too long for one note (the limit is "
                                     f"{MAX_CHARS:,} characters); split it into notes")
        text, _enc, warning = decode(data, f"{at}, column {col!r}")
        _check_length(text, at)
        return text, warning


def _table_tasks(path: Path, kind: str, columns: Columns) -> Iterator[Task]:
    reader = {"csv": _csv_tasks, "parquet": _parquet_tasks, "jsonl": _jsonl_tasks}[kind]
    n = 0
    try:
        for n, task in enumerate(reader(path, columns), 1):
            yield task
    except InputError as exc:
        yield _error_task(path.name, str(path), exc)
        return
    if not n:
        yield _error_task(path.name, str(path), InputError("E304", f"{path}: no rows (an empty table)"))


def _csv_tasks(path: Path, columns: Columns) -> Iterator[Task]:
    label = str(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise _open_error(path, exc) from None
    with fh:
        head = fh.read(4)
        fh.seek(0)
        encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
        text = _io.TextIOWrapper(fh, encoding=encoding, errors="surrogateescape", newline="")
        csv.field_size_limit(MAX_BYTES + 1)
        rows = csv.reader(text, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        try:
            header = next(rows, None)
        except (csv.Error, UnicodeError) as exc:
            raise InputError("E305", f"{label}: cannot read the header row ({_safe(exc)})") from None
        if not header or not any(h.strip() for h in header):
            raise InputError("E302", f"{label}: empty table (no header row)")
        header = [h.strip() for h in header]
        table = _TableRows(label, path.name, header, columns)
        missing = table.missing_text_column()
        if missing:
            raise missing
        n = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except (csv.Error, UnicodeError) as exc:
                n += 1
                problem = (InputError("E104", f"{label} row {n}: a cell over {MAX_BYTES:,} bytes, too long for one "
                                              f"note (the limit is {MAX_CHARS:,} characters)")
                           if "field larger than field limit" in str(exc) else
                           InputError("E303", f"{label} row {n}: malformed CSV ({_safe(exc)})"))
                yield _error_task(f"{path.name}:{n}", f"{label}:{n}", problem)
                continue
            if not row:  # blank line
                continue
            n += 1
            if len(row) != len(header):
                yield _error_task(f"{path.name}:{n}", f"{label}:{n}", InputError(
                    "E303", f"{label} row {n} (line {rows.line_num}): {len(row)} fields, "
                            f"the header has {len(header)}"))
                continue
            yield table.task(n, dict(zip(header, row)))


def _safe(exc: Exception) -> str:
    """An exception message safe to show: its first line, cut short (readers' messages hold no note text)."""
    msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return msg[:200]


def _parquet_tasks(path: Path, columns: Columns) -> Iterator[Task]:
    import pyarrow.parquet as pq

    label = str(path)
    try:
        pf = pq.ParquetFile(path)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
            raise _open_error(path, exc) from None
        raise InputError("E305", f"{label}: not a readable Parquet file ({_safe(exc)})") from None
    except Exception as exc:  # pyarrow raises ArrowInvalid for non-Parquet files
        raise InputError("E305", f"{label}: not a readable Parquet file ({_safe(exc)})") from None
    header = list(pf.schema_arrow.names)
    table = _TableRows(label, path.name, header, columns)
    missing = table.missing_text_column()
    if missing:
        raise missing
    wanted = [c for c in (table.text_col, table.id_col, *table.meta_cols.values()) if c]
    n = 0
    try:
        for batch in pf.iter_batches(batch_size=256, columns=list(dict.fromkeys(wanted))):
            for row in batch.to_pylist():
                n += 1
                yield table.task(n, row)
    except Exception as exc:  # a corrupt row group: account for the rest of the file
        raise InputError("E305", f"{label}: stopped reading after row {n} ({_safe(exc)})") from None


def _jsonl_tasks(path: Path, columns: Columns) -> Iterator[Task]:
    label = str(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise _open_error(path, exc) from None
    with fh:
        table = _TableRows(label, path.name, None, columns)
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, UnicodeError) as exc:
                yield _error_task(f"{path.name}:{n}", f"{label}:{n}",
                                  InputError("E303", f"{label} line {n}: not valid JSON ({_safe(exc)})"))
                continue
            if not isinstance(row, dict):
                yield _error_task(f"{path.name}:{n}", f"{label}:{n}", InputError(
                    "E303", f"{label} line {n}: a JSON {type(row).__name__}, expected an object"))
                continue
            table._bind(list(row))
            missing = table.missing_text_column()
            if missing:
                yield _error_task(_cell_str(row.get(table.id_col)) if table.id_col else f"{path.name}:{n}",
                                  f"{label}:{n}", InputError(
                                      "E302", f"{label} line {n}: no {columns.text!r} field"))
                continue
            yield table.task(n, row, where="line")


def _frame_tasks(frame: Any, columns: Columns) -> Iterator[Task]:
    label = "<dataframe>"
    header = [str(c) for c in frame.columns]
    table = _TableRows(label, "dataframe", header, columns)
    missing = table.missing_text_column()
    if missing:
        yield _error_task("dataframe", label, missing)
        return
    names = list(frame.columns)
    n = 0
    for n, values in enumerate(frame.itertuples(index=False, name=None), 1):
        yield table.task(n, {str(k): v for k, v in zip(names, values)})
    if not n:
        yield _error_task("dataframe", label, InputError("E304", f"{label}: no rows (an empty table)"))


def unique_ids(tasks: Iterable[Task], warn: Callable[[str], None] | None = None) -> Iterator[Task]:
    """Make note ids unique in input order: the second ``x`` becomes ``x#2``, with a warning."""
    seen: dict[str, int] = {}
    for t in tasks:
        nid = t.note_id
        if nid in seen:
            k = seen[nid]
            while True:
                k += 1
                new = f"{nid}#{k}"
                if new not in seen:
                    break
            seen[nid] = k
            seen[new] = 1
            msg = f"duplicate note id {nid!r} ({t.source}) renamed {new!r}"
            if warn:
                warn(msg)
            t = replace(t, note_id=new, warnings=t.warnings + (msg,))
        else:
            seen[nid] = 1
        yield t


# --------------------------------------------------------------------------- checking
def _r4(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _join(codes: Iterable[str]) -> str:
    return " ".join(codes)


def check_tasks(tasks: list[Task], redact_evidence: bool = False) -> list[dict[str, list[dict]]]:
    """Rows ``{"findings": [...], "codes": [...], "notes": [...]}`` per task, in order.

    Runs in the main process or a worker; a note the pipeline fails on becomes an error row.
    """
    from .api import load
    from .service import check_many

    pipeline = load()
    todo = [(t.note_id, t.text, t.codes or "") for t in tasks if t.text is not None]
    try:
        results = list(check_many(todo, pipeline=pipeline, strict=False))
    except Exception:  # one bad note must not sink its chunk: redo one at a time
        results = []
        for item in todo:
            try:
                results.extend(check_many([item], pipeline=pipeline, strict=False))
            except Exception as exc:
                results.append(_failure(exc))
    out = []
    it = iter(results)
    for t in tasks:
        out.append(_error_rows(t) if t.text is None else _rows(t, next(it), redact_evidence))
    return out


def describe_failure(exc: BaseException) -> str:
    """``ValueError at facts.py:120``: where an exception was raised, without its message (which may quote text)."""
    tb = exc.__traceback__
    where = ""
    while tb is not None:
        where = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return f"{exc.__class__.__name__} at {where or 'an unknown place'}"


def _failure(exc: Exception) -> InputError:
    return InputError("E201", f"checking failed: {describe_failure(exc)} (a bug; please report it)")


def _meta(t: Task) -> dict[str, Any]:
    return {"note_id": t.note_id, "source": t.source, "surgeon": t.surgeon, "site": t.site, "date": t.date,
            "month": t.month}


def _error_rows(t: Task, code: str | None = None, message: str | None = None) -> dict[str, list[dict]]:
    note = {**_meta(t), "billed_codes": "", "suggested_codes": "", "codes_checked": "", "items_evaluated": None,
            "met": None, "missing": None, "completeness": None, "code_problems": None,
            "error_code": code or t.error_code, "error": message or t.error, "warning": "; ".join(t.warnings),
            "chars": len(t.text) if t.text is not None else None}
    return {"findings": [], "codes": [], "notes": [note]}


_CREDENTIALS = re.compile(r"(?:,?\s*\b(?:M\.?D|D\.?O|Ph\.?D|MBBS|FACS|FRCSC?|FAAOS)\b\.?)+\s*$", re.IGNORECASE)
_DOCTOR = re.compile(r"^\s*(?:Dr\.?|Doctor)\s+", re.IGNORECASE)


def surgeon_name(value: str) -> str:
    """"CYRUS BLEVINGTON, M.D." and "Dr. Cyrus Blevington, MD" -> "Cyrus Blevington" (one group per surgeon)."""
    name = _CREDENTIALS.sub("", _DOCTOR.sub("", value.split(";")[0])).strip(" ,.")
    return name.title() if name.isupper() else name


def _from_note(meta: dict[str, Any], facts: Any) -> dict[str, Any]:
    """Surgeon and operation date from the note's own headings when the input gave none
    (not under --redact-evidence: both are read from the note text)."""
    if not meta["surgeon"]:
        meta["surgeon"] = surgeon_name(facts.element("surgeons").value or "")
    if not meta["date"]:
        meta["date"], meta["month"] = normalize_date(facts.element("operation_date").value or "")
    return meta


def _rows(t: Task, result: Any, redact: bool) -> dict[str, list[dict]]:
    if isinstance(result, InputError):
        return _error_rows(t, result.code, f"{t.source}: {result.message}")
    # with --redact-evidence nothing read from the note text (names, dates) reaches the outputs
    meta = _meta(t) if redact else _from_note(_meta(t), result.facts)
    findings, codes = [], []
    for r in sorted(result.results, key=lambda r: r.code):
        flags = {"code": r.code, "billed": r.billed, "suggested": r.suggested}
        s = r.summary
        codes.append({**meta, **flags, "items_evaluated": s.evaluated, "met": s.met, "missing": s.missing,
                      "completeness": _r4(s.completeness), "worst_missing_severity": s.worst_missing_severity or "",
                      "supported": s.supported, "verdict": r.verdict or "", "verdict_message": r.verdict_message})
        for f in sorted(r.findings, key=lambda f: f.item_id):
            ev = f.evidence[0] if f.evidence else None
            findings.append({**meta, **flags, "item_id": f.item_id, "item_name": f.item_name, "tier": f.tier,
                             "severity": f.severity, "status": f.status, "message": f.message,
                             "fix_hint": f.fix_hint or "",
                             "evidence_text": "" if ev is None or redact else ev.text,
                             "evidence_start": ev.start if ev else None, "evidence_end": ev.end if ev else None,
                             "evidence_section": (ev.section or "") if ev else ""})
    evaluated = sum(c["items_evaluated"] for c in codes)
    met = sum(c["met"] for c in codes)
    note = {**meta, "billed_codes": _join(result.billed), "suggested_codes": _join(result.suggested),
            "codes_checked": _join(result.codes), "items_evaluated": evaluated, "met": met,
            "missing": sum(c["missing"] for c in codes),
            "completeness": _r4(met / evaluated) if evaluated else None, "code_problems": len(result.problems),
            "error_code": "", "error": "", "warning": "; ".join(t.warnings + tuple(result.warnings)),
            "chars": len(t.text)}
    return {"findings": findings, "codes": codes, "notes": [note]}


# --------------------------------------------------------------------------- workers
def _init_worker() -> None:
    from .api import load
    from .checklists import load_catalogue

    load()
    load_catalogue()


def _chunks(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    chunk: list[Task] = []
    for t in tasks:
        chunk.append(t)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _encoded(tasks: list[Task], redact: bool) -> tuple[list, bytes]:
    """Worker side of a checkpointed scan: the rows as a resume reads them, and the chunk's
    checkpoint bytes, so the parent only writes them (it is the scan's serial part)."""
    rows = check_tasks(tasks, redact)
    data = _chunk_bytes(tasks, rows)
    return json.loads(data)["rows"], data


def _chunk_bytes(tasks: list[Task], rows: list) -> bytes:
    return json.dumps({"digest": _digest(tasks), "notes": len(tasks), "rows": rows}, allow_nan=False).encode()


def _checked(chunks: Iterable[list[Task]], workers: int, redact: bool,
             encode: bool = False) -> Iterator[tuple[list[Task], list, bytes | None]]:
    """(chunk, rows per task, checkpoint bytes or None) in input order; with ``workers > 1``
    chunks run in worker processes (which also encode the checkpoint when ``encode``)."""
    if workers <= 1:
        for chunk in chunks:
            yield chunk, check_tasks(chunk, redact), None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # Linux: load the pipeline once here and fork, so workers share it instead of each
    # re-importing spaCy and rebuilding it (~1-3 s a worker); elsewhere spawn.
    method = "fork" if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods() \
        else "spawn"
    if method == "fork":
        _init_worker()
    ctx = multiprocessing.get_context(method)

    def pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker)

    ex = pool()
    window: deque = deque()

    def submit(chunk: list[Task]):
        return ex.submit(_encoded, chunk, redact) if encode else ex.submit(check_tasks, chunk, redact)
    try:
        def settle() -> tuple[list[Task], list]:
            nonlocal ex
            chunk, fut = window.popleft()
            try:
                result = fut.result()
                return (chunk, *result) if encode else (chunk, result, None)
            except BrokenProcessPool:
                # a worker died (e.g. out of memory): retry this chunk note by note in a new pool
                ex.shutdown(wait=False, cancel_futures=True)
                ex = pool()
                rows = []
                for t in chunk:
                    try:
                        rows.extend(ex.submit(check_tasks, [t], redact).result())
                    except BrokenProcessPool:
                        ex.shutdown(wait=False, cancel_futures=True)
                        ex = pool()
                        rows.append(_error_rows(t, "E202", f"{t.source}: a worker process died checking this note"))
                # chunks already submitted to the dead pool are resubmitted
                for i, (c, _f) in enumerate(window):
                    window[i] = (c, submit(c))
                return chunk, rows, None

        for chunk in chunks:
            window.append((chunk, submit(chunk)))
            if len(window) >= 2 * workers:
                yield settle()
        while window:
            yield settle()
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- sinks
def output_paths(output: str | os.PathLike) -> dict[str, Path]:
    """``{"findings": RESULTS.ext, "notes": RESULTS.notes.ext, "codes": RESULTS.codes.ext}``."""
    out = Path(output)
    ext = out.suffix.lower()
    if ext not in OUTPUT_SUFFIXES:
        raise ValueError(f"{out}: output must end in {', '.join(OUTPUT_SUFFIXES)}, not {ext or '(nothing)'!r}")
    stem = out.with_suffix("")
    return {"findings": out, "notes": Path(f"{stem}.notes{out.suffix}"), "codes": Path(f"{stem}.codes{out.suffix}")}


def arrow_schema(table: str):
    import pyarrow as pa

    def typ(col: str):
        return pa.int64() if col in _INT else pa.float64() if col in _FLOAT else pa.bool_() if col in _BOOL \
            else pa.string()
    return pa.schema([pa.field(c, typ(c)) for c in TABLES[table]])


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


class _Sink:
    """Writes the rows of the three tables as they come; files appear (atomically) on close."""

    flush_rows = 2000

    def __init__(self, paths: dict[str, Path], stack: contextlib.ExitStack, tmp_dir: Path | None = None):
        from .writers import atomic_writer

        self.fmt = paths["findings"].suffix.lower()
        self.buffers: dict[str, list[dict]] = {k: [] for k in TABLES}
        self.handles = {}
        self.writers = {}
        binary = self.fmt == ".parquet"
        for name, path in paths.items():
            fh = stack.enter_context(atomic_writer(path, "wb" if binary else "w", tmp_dir=tmp_dir))
            self.handles[name] = fh
            if self.fmt == ".parquet":
                import pyarrow.parquet as pq

                writer = pq.ParquetWriter(fh, arrow_schema(name), compression="zstd")
                self.writers[name] = writer
                stack.callback(writer.close)  # before its file closes, also when the run fails
            elif self.fmt == ".csv":
                self.writers[name] = csv.writer(fh, lineterminator="\n")
                self.writers[name].writerow(TABLES[name])

    def add(self, name: str, rows: list[dict]) -> None:
        buf = self.buffers[name]
        buf.extend(rows)
        if len(buf) >= self.flush_rows:
            self._flush(name)

    def _flush(self, name: str) -> None:
        rows = self.buffers[name]
        if not rows:
            return
        cols = TABLES[name]
        if self.fmt == ".parquet":
            import pyarrow as pa

            schema = arrow_schema(name)
            self.writers[name].write_table(pa.Table.from_pydict({c: [r[c] for r in rows] for c in cols}, schema))
        elif self.fmt == ".csv":
            self.writers[name].writerows([_csv_value(r[c]) for c in cols] for r in rows)
        else:
            fh = self.handles[name]
            for r in rows:
                fh.write(json.dumps({c: r[c] for c in cols}, ensure_ascii=False) + "\n")
        rows.clear()

    def close(self) -> None:
        for name in TABLES:
            self._flush(name)
            if self.fmt == ".parquet":
                self.writers[name].close()  # closing twice is a no-op


# --------------------------------------------------------------------------- the run
@dataclass
class Summary:
    """Counts of one batch run (``notes`` counts every note row, errors included; ``warnings`` counts
    notes checked with a warning)."""

    notes: int = 0
    codes: int = 0
    findings: int = 0
    missing: int = 0
    errors: int = 0
    warnings: int = 0
    resumed: int = 0  # notes replayed from a checkpoint
    outputs: dict[str, Path] = field(default_factory=dict)
    frames: dict[str, Any] = field(default_factory=dict)  # when collected

    def line(self) -> str:
        return (f"notes {self.notes}, codes {self.codes}, findings {self.findings} (missing {self.missing}), "
                f"errors {self.errors}, warnings {self.warnings}")


# --------------------------------------------------------------------------- checkpoints
class CheckpointError(NoteCheckerError):
    """A scan cannot start or resume because of its checkpoint folder (E401-E403)."""


CHECKPOINT_FORMAT = 1


def checkpoint_dir(output: str | os.PathLike) -> Path:
    """``RESULTS.ext.partial``: the folder where a run writing ``output`` keeps its finished chunks."""
    out = output_paths(output)["findings"]
    return out.with_name(out.name + ".partial")


def _fingerprint(inputs: list[Any]) -> list[list]:
    """``[input, file, size, mtime_ns]`` per file the inputs name or hold (a content hash for DataFrames)."""
    rows: list[list] = []
    for inp in inputs:
        if _is_frame(inp):
            try:
                import pandas as pd

                digest = hashlib.sha256(pd.util.hash_pandas_object(inp, index=False).values.tobytes()).hexdigest()
            except Exception:  # unhashable cells: the chunk digests still guard the replay
                digest = ""
            rows.append(["<dataframe>", "", len(inp), digest])
            continue
        path = Path(inp)
        files = iter_note_paths([path], NOTE_SUFFIXES) if path.is_dir() else [path]
        for f in files:
            try:
                st = f.stat()
                rows.append([str(path), str(f), st.st_size, st.st_mtime_ns])
            except OSError:
                rows.append([str(path), str(f), None, None])
    return rows


def _patterns_digest() -> str:
    """A hash of the pattern files (checklists, vocabularies) the checker loads."""
    from .checklists import default_patterns_dir

    root = default_patterns_dir()
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in (".yaml", ".yml", ".json", ".csv", ".txt") and p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _manifest(inputs: list[Any], columns: Columns, redact: bool, chunk_size: int, fmt: str) -> dict[str, Any]:
    from . import __version__

    return {"format": CHECKPOINT_FORMAT, "notechecker": __version__, "patterns": _patterns_digest(),
            "options": {"output": fmt, "redact_evidence": redact, "columns": asdict(columns)},
            "chunk_size": chunk_size, "inputs": _fingerprint(inputs)}


def _digest(chunk: list[Task]) -> str:
    return hashlib.sha256(json.dumps([astuple(t) for t in chunk]).encode()).hexdigest()


class _Checkpoint:
    """The checkpoint folder: ``manifest.json`` and ``chunk-NNNNNN.json`` files, each written atomically."""

    def __init__(self, folder: Path):
        self.dir = folder
        self.manifest = folder / "manifest.json"

    def exists(self) -> bool:
        return self.manifest.is_file()

    def chunk(self, i: int) -> Path:
        return self.dir / f"chunk-{i:06d}.json"

    def start(self, manifest: dict) -> None:
        from .writers import write_atomic

        if self.dir.exists():  # a run killed before its manifest was written
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        write_atomic(self.manifest, json.dumps(manifest, sort_keys=True).encode())

    def open(self, manifest: dict) -> tuple[int, int]:
        """Check the stored manifest against ``manifest``: (finished chunks, a contiguous prefix; chunk size)."""
        try:
            stored = json.loads(self.manifest.read_bytes())
            if not isinstance(stored, dict) or stored.get("format") != CHECKPOINT_FORMAT:
                raise ValueError("not a checkpoint manifest of this notechecker")
            chunk_size = int(stored["chunk_size"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError("E403", f"{self.manifest}: cannot be read ({_safe(exc)}); delete {self.dir} "
                                          f"to start over") from None
        problem = _manifest_difference(stored, manifest)
        if problem:
            raise CheckpointError("E402", f"{self.dir}: cannot resume: {problem}; rerun with the inputs and "
                                          f"options of the interrupted run, or delete the folder to start over")
        for p in self.dir.iterdir():  # temporary files of the killed run
            if p.name.endswith(".tmp"):
                p.unlink()
        done = 0
        while self.chunk(done).is_file():
            done += 1
        self.truncate(done)
        return done, chunk_size

    def save(self, i: int, chunk: list[Task], rows: list, data: bytes | None = None) -> list:
        """Write chunk ``i``; its rows as a resume will read them (``data``: already encoded
        by a worker, with ``rows`` read back from it)."""
        from .writers import write_atomic

        if data is None:
            data = _chunk_bytes(chunk, rows)
            rows = json.loads(data)["rows"]
        write_atomic(self.chunk(i), data)
        return rows

    def load(self, i: int) -> dict | None:
        """Chunk ``i`` as written, or None when it cannot be read."""
        try:
            data = json.loads(self.chunk(i).read_bytes())
            return data if isinstance(data, dict) and isinstance(data.get("rows"), list) else None
        except (OSError, ValueError):
            return None

    def truncate(self, i: int) -> None:
        """Remove chunk ``i`` and every later one."""
        for p in self.dir.glob("chunk-*.json"):
            with contextlib.suppress(ValueError):
                if int(p.stem.split("-")[1]) >= i:
                    p.unlink()

    def remove(self) -> None:
        self.manifest.unlink(missing_ok=True)  # first: a half-removed folder is no longer a checkpoint
        shutil.rmtree(self.dir, ignore_errors=True)


def _manifest_difference(old: dict, new: dict) -> str:
    """What differs between the manifest of the interrupted run and this one's ('' when nothing)."""
    if old.get("notechecker") != new["notechecker"]:
        return f"it was written by notechecker {old.get('notechecker')}, this is {new['notechecker']}"
    if old.get("patterns") != new["patterns"]:
        return "the pattern files (checklists, vocabularies) changed since it was written"
    for key, value in new["options"].items():
        was = old.get("options", {}).get(key)
        if was != value:
            return f"option {key} was {was!r}, now {value!r}"
    was = [list(r) for r in old.get("inputs", [])]
    now = new["inputs"]
    if was != now:
        old_files, new_files = {r[1]: r for r in was}, {r[1]: r for r in now}
        added = [f for f in new_files if f not in old_files]
        removed = [f for f in old_files if f not in new_files]
        changed = [f for f in new_files if f in old_files and new_files[f] != old_files[f]]
        parts = [f"{len(x)} {what} (first: {x[0]})" for x, what in ((added, "added"), (removed, "removed"),
                                                                    (changed, "changed")) if x]
        return "the inputs differ from the interrupted run's: " + ("; ".join(parts) or "in their order")
    return ""


def count_inputs(inputs: Iterable[Any], columns: Columns = Columns()) -> int | None:
    """Cheap count of the notes in ``inputs`` for a progress bar (None when it cannot be had)."""
    total = 0
    try:
        for inp in inputs:
            if _is_frame(inp):
                total += max(1, len(inp))  # an empty input still gives one (error) row
                continue
            path = Path(inp)
            kind = TABLE_SUFFIXES.get(path.suffix.lower())
            if path.is_dir():
                total += max(1, sum(1 for _ in iter_note_paths([path], NOTE_SUFFIXES)))
            elif kind == "parquet":
                import pyarrow.parquet as pq

                total += max(1, pq.ParquetFile(path).metadata.num_rows)
            elif kind == "jsonl":
                with open(path, "rb") as fh:
                    total += max(1, sum(1 for line in fh if line.strip()))
            elif kind == "csv":
                with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
                    csv.field_size_limit(MAX_BYTES + 1)
                    total += max(1, sum(1 for row in csv.reader(fh) if row) - 1)
            else:
                total += 1
    except Exception:  # a broken input is reported by the run itself
        return None
    return total


def _progress(enabled: bool, total: int | None):
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:.1f} notes/s" if task.speed else "-- notes/s")

    return Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), Rate(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=Console(file=sys.stderr),
                    transient=False)


def run(inputs: Iterable[Any] | Any, output: str | os.PathLike | None = None, *, columns: Columns = Columns(),
        workers: int = 1, chunk_size: int = 32, redact_evidence: bool = False, progress: bool = False,
        collect: bool = False, resume: bool = False, warn: Callable[[str], None] | None = None,
        error: Callable[[str], None] | None = None, engine: Callable[..., Iterator] | None = None) -> Summary:
    """Check every note of ``inputs``; stream the three tables to ``output`` (and/or collect DataFrames).

    ``engine`` replaces in-process and worker-process checking: ``engine(chunks, redact_evidence)``
    yields ``(chunk, rows per task, None)`` in input order (the Spark engine, :mod:`notechecker.spark`).

    ``warn`` / ``error`` receive one line per warning or bad input (never note text).
    With ``output``, finished chunks are kept in :func:`checkpoint_dir` until the end;
    ``resume`` continues from them (with their chunk size). A checkpoint left by an
    interrupted run and ``resume=False`` raise :class:`CheckpointError` (E401).
    """
    if isinstance(inputs, (str, os.PathLike)) or _is_frame(inputs):
        inputs = [inputs]
    inputs = list(inputs)
    if workers < 1:
        raise ValueError(f"workers must be 1 or more, not {workers}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be 1 or more, not {chunk_size}")
    paths = output_paths(output) if output is not None else {}
    warn = warn or log.warning
    error = error or log.error
    said: set[str] = set()

    def warn_once(msg: str) -> None:
        if msg not in said:
            said.add(msg)
            warn(msg)

    ckpt, done = None, 0
    if paths:
        ckpt = _Checkpoint(checkpoint_dir(output))
        manifest = _manifest(inputs, columns, redact_evidence, chunk_size, paths["findings"].suffix.lower())
        if ckpt.exists() and not resume:
            raise CheckpointError("E401", f"{ckpt.dir}: an interrupted scan left its checkpoint here; resume it "
                                          f"(scan --resume) or delete the folder to start over")
        if ckpt.exists():
            done, chunk_size = ckpt.open(manifest)
        else:
            if resume:
                warn(f"{ckpt.dir}: no checkpoint to resume; checking every note")
            ckpt.start(manifest)
    summary = Summary(outputs=paths)
    collected: dict[str, list[dict]] = {k: [] for k in TABLES}
    total = count_inputs(inputs, columns) if progress else None
    chunks = _chunks(unique_ids(iter_tasks(inputs, columns), warn_once), chunk_size)
    with contextlib.ExitStack() as stack:
        sink = _Sink(paths, stack, ckpt.dir if ckpt else None) if paths else None
        bar = stack.enter_context(_progress(progress, total))
        task_id = bar.add_task("checking", total=total) if bar is not None else None

        def emit(rows: list[dict[str, list[dict]]]) -> None:
            for r in rows:
                note = r["notes"][0]
                summary.notes += 1
                summary.codes += len(r["codes"])
                summary.findings += len(r["findings"])
                summary.missing += sum(1 for f in r["findings"] if f["status"] == "missing")
                if note["error_code"]:
                    summary.errors += 1
                    error(f"[{note['error_code']}] {note['error']}")
                elif note["warning"]:
                    summary.warnings += 1
                    for w in note["warning"].split("; "):
                        warn_once(w)
                for name in TABLES:
                    if sink is not None:
                        sink.add(name, r[name])
                    if collect:
                        collected[name].extend(r[name])
            if bar is not None:
                bar.advance(task_id, len(rows))

        replayed = 0
        for i in range(done):  # replay the chunks an interrupted run finished
            chunk = next(chunks, None)
            if chunk is None:
                raise CheckpointError("E402", f"{ckpt.dir}: cannot resume: the inputs hold fewer notes than the "
                                              f"interrupted run checked; delete the folder to start over")
            stored = ckpt.load(i)
            if stored is None or len(stored["rows"]) != len(chunk):
                warn(f"{ckpt.chunk(i)}: unreadable; checking its notes again")
                ckpt.truncate(i)
                chunks = itertools.chain([chunk], chunks)
                break
            if stored.get("digest") != _digest(chunk):
                raise CheckpointError("E402", f"{ckpt.dir}: cannot resume: notes {chunk[0].source} to "
                                              f"{chunk[-1].source} changed since the interrupted run; delete the "
                                              f"folder to start over")
            emit(stored["rows"])
            summary.resumed += len(chunk)
            replayed = i + 1
        checked = (_checked(chunks, workers, redact_evidence, encode=ckpt is not None) if engine is None
                   else engine(chunks, redact_evidence))
        for i, (chunk, rows, data) in enumerate(checked, replayed):
            if ckpt is not None:
                rows = ckpt.save(i, chunk, rows, data)  # as read back: a replay gives the same bytes
            emit(rows)
        if sink is not None:
            sink.close()
    if ckpt is not None:
        ckpt.remove()
    if collect:
        summary.frames = {name: to_frame(name, rows) for name, rows in collected.items()}
    return summary


def to_frame(name: str, rows: list[dict]):
    """Rows of table ``name`` as a DataFrame with the fixed columns and nullable dtypes."""
    import pandas as pd

    cols = TABLES[name]
    frame = pd.DataFrame({c: [r[c] for r in rows] for c in cols}, columns=list(cols))
    for c in cols:
        if c in _INT:
            frame[c] = frame[c].astype("Int64")
        elif c in _FLOAT:
            frame[c] = frame[c].astype("Float64")
        elif c in _BOOL:
            frame[c] = frame[c].astype("boolean")
        else:
            frame[c] = frame[c].astype(object)
    return frame


def read_table(path: str | os.PathLike):
    """Read one output table back as a DataFrame (by extension)."""
    import pandas as pd

    p = Path(path)
    ext = p.suffix.lower()
    if ext == ".parquet":
        return pd.read_parquet(p, dtype_backend="numpy_nullable")
    if ext == ".csv":
        return pd.read_csv(p, dtype=str, keep_default_na=False)
    if ext == ".jsonl":
        return pd.read_json(p, lines=True, dtype=False)
    raise ValueError(f"{p}: not a results table (.parquet, .csv, .jsonl)")


__all__ = ["Columns", "Summary", "Task", "CheckpointError", "checkpoint_dir", "run", "iter_tasks", "unique_ids",
           "check_tasks", "output_paths",
           "read_table", "count_inputs", "normalize_date", "FINDINGS_COLUMNS", "CODES_COLUMNS", "NOTES_COLUMNS",
           "TABLES"]

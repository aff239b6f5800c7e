"""Streaming batch checking: many notes in, three tables out.

Inputs are folders of ``.txt`` notes (recursive), ``.txt`` files, CSV / TSV / Parquet /
JSONL tables (a text column, optional id, billed codes, surgeon, date and site
columns), pandas DataFrames, or documents (FHIR, HL7 v2, C-CDA, PDF, DOCX: read by
:mod:`notechecker.formats`, errors E5xx; in folders with ``documents=True``), whose
patient, encounter and DocumentReference fill the notes table's last three columns.
Every input is accounted for: an unreadable note, a row without text, a table without
the text column or a malformed row becomes an error row in the notes table (code +
message naming the input and row, never the note text) and the batch goes on. Notes
are checked in chunks, in-process or in worker processes, and the rows are written in
input order as they come, so memory does not grow with the batch.

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
E101 empty or blank, E102 bad byte-order mark, E103 binary (NUL bytes anywhere), E104 too long,
E105-E108 unreadable (directory or other file that is not a regular file, such as a FIFO or a
device; permission; missing or broken link; I/O), E109 folder that cannot be listed, E110
folder without ``.txt`` notes, E201/E202 checking failed (E202: the worker died), E204 over
the time budget, E301-E306 table problems (type, text column, malformed row, no rows,
unreadable file or Parquet row group, non-text cell). Text that is not UTF-8 is decoded as
UTF-16 or UTF-32 (byte-order mark), UTF-16 without one, or cp1252 with a warning; lone
surrogates in table text are replaced by U+FFFD (same offsets) with a warning. A CSV whose
quoting breaks (an unclosed quote) gives an E303 row naming the row, and the rest of that
file is not read: past the break, rows cannot be told apart from fragments of notes.
Notes longer than :data:`MAX_CHARS` characters (``--max-chars``, the limit of every
command) are refused (E104), not cut: a truncated note would show items as missing that
are documented further on. Messages name the input, row and column, never cell contents.

Time budget: with ``note_timeout`` (``--note-timeout``, default 60 s plus 1 s per 10,000
characters) notes are checked in worker processes (one fork per scan, not per note); a
note over its budget is stopped and becomes an E204 row, the others go on. Workers die
with the scan (``--workers``, kill -9, SIGTERM). CSV tables escape cells that a
spreadsheet would run as formulas (``=``, ``+``, ``-``, ``@``, tab, CR) with a leading ``'``.

Crash safety: with an output, finished chunks go to a checkpoint folder
``RESULTS.ext.partial/`` (``manifest.json`` plus one ``chunk-NNNNNN.json`` per chunk, each
written to a temporary file, fsynced and renamed). The three tables are written to
temporary files and renamed at the end, then the checkpoint is removed. ``resume=True``
(``scan --resume``) replays the finished chunks and checks the rest; the tables are
byte-identical to those of an uninterrupted run. A resume whose inputs, options,
notechecker version or patterns differ from the manifest is refused (E402). Each chunk
carries a checksum of its content: a damaged chunk is said and its notes checked again.
While a run writes an output, the output is locked (``.RESULTS.ext.lock``, ``fcntl``): a
second run to it is refused (E404) and touches nothing of the first.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import functools
import hashlib
import io as _io
import itertools
import json
import logging
import os
import re
import shutil
import sys
import time as _time
from collections import deque
from dataclasses import asdict, astuple, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .errors import InputError, NoteCheckerError
from .guard import NOTE_TIMEOUT
from .io import (MAX_CHARS, byte_cap, check_length, decode, iter_note_paths, open_regular, read_note,
                 repair_surrogates, too_many_bytes)

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
    "supported_code", "reason", "billing_gap",
)
NOTES_COLUMNS = (
    "note_id", "source", "surgeon", "site", "date", "month", "billed_codes", "suggested_codes", "codes_checked",
    "items_evaluated", "met", "missing", "completeness", "code_problems", "error_code", "error", "warning",
    "chars", "scope", "scope_reason", "patient", "encounter", "document",
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
#: Longest note checked (``io.MAX_CHARS``, ``--max-chars``); longer ones become E104 error rows.
#: A file over ``byte_cap(MAX_CHARS)`` bytes cannot hold that many characters: it is not read.
MAX_NOTE_BYTES = byte_cap(MAX_CHARS)
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
    patient: str = ""  # from a document (FHIR, HL7 v2, C-CDA): the patient, encounter and
    encounter: str = ""  # DocumentReference the note came from (see notechecker.formats)
    document: str = ""


def _error_task(note_id: str, source: str, exc: InputError, meta: dict | None = None) -> Task:
    return Task(note_id=note_id, source=source, error_code=exc.code, error=exc.message, **(meta or {}))


def _cell_str(value: Any) -> str:
    """A metadata cell as a stripped string ('' for null; lone surrogates replaced by U+FFFD)."""
    if isinstance(value, str):
        return repair_surrogates(value)[0].strip()
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
    return repair_surrogates(str(value))[0].strip()


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
def iter_tasks(inputs: Iterable[Any], columns: Columns = Columns(), documents: bool = False, *,
               max_chars: int = MAX_CHARS) -> Iterator[Task]:
    """Tasks for every input, in input order (ids not yet made unique). ``documents``: folders are
    searched for FHIR, HL7 v2, C-CDA, PDF and DOCX documents too (files named are always read)."""
    for inp in inputs:
        if _is_frame(inp):
            yield from _frame_tasks(inp, columns, max_chars=max_chars)
            continue
        path = Path(inp)
        if path.is_dir():
            n = 0
            for n, p in enumerate(iter_note_paths([path], _suffixes(documents)), 1):
                yield from _file_tasks(p, max_chars=max_chars)
            if not n:
                yield _error_task(path.name or str(path), str(path), InputError(
                    "E110", f"{path}: no .txt notes in this folder (searched with its subfolders)"
                            + _documents_hint(path, documents)))
            continue
        kind = TABLE_SUFFIXES.get(path.suffix.lower())
        if kind is None and path.suffix.lower() not in NOTE_SUFFIXES and path.exists():
            yield from _file_tasks(path, unsupported=InputError(
                "E301", f"{path}: unsupported input type {path.suffix or '(no extension)'!r}; expected a folder, "
                        f".txt notes, or a .csv, .tsv, .parquet or .jsonl table (or a FHIR, HL7 v2, C-CDA, PDF "
                        f"or DOCX document)"))
        elif kind is None:
            yield from _file_tasks(path, max_chars=max_chars)
        else:
            yield from _table_tasks(path, kind, columns, max_chars=max_chars)


def _suffixes(documents: bool) -> tuple[str, ...]:
    from .formats.detect import SUFFIXES

    return NOTE_SUFFIXES + tuple(SUFFIXES) if documents else NOTE_SUFFIXES


def _documents_hint(path: Path, documents: bool) -> str:
    """For an E110 message: how to read the documents a folder holds instead of .txt notes."""
    if documents:
        return " nor FHIR, HL7 v2, C-CDA, PDF or DOCX documents"
    n = sum(1 for _ in iter_note_paths([path], _suffixes(True)))
    return f"; it holds {n} document file(s): add --documents to read them" if n else ""


def _file_tasks(path: Path, unsupported: InputError | None = None, *,
                max_chars: int = MAX_CHARS) -> Iterator[Task]:
    """A ``.txt`` note, or the notes of the document (FHIR, HL7 v2, C-CDA, PDF, DOCX) the file holds
    (``unsupported``: the error row of a file that is neither)."""
    from .formats.tasks import document_kind, document_tasks

    doc = document_kind(path)
    if doc is not None:
        yield from document_tasks(path, doc, max_chars)
    elif unsupported is not None:
        yield _error_task(path.name, str(path), unsupported)
    else:
        yield _txt_task(path, max_chars)


def _txt_task(path: Path, max_chars: int = MAX_CHARS) -> Task:
    try:
        note = read_note(path, max_chars=max_chars)  # a regular file, read up to the byte cap
    except InputError as exc:
        return _error_task(path.stem, str(path), exc)
    return Task(note_id=note.note_id, source=note.source, text=note.text,
                warnings=(f"{path}: {note.warning}",) if note.warning else ())


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


#: What a header cell looks like (so a table without a header, whose first row holds a note,
#: a name or a date, is not quoted in a message).
_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,39}$")


class _TableRows:
    """Maps the rows of one table to tasks: column lookup, ids, text decoding, metadata."""

    def __init__(self, label: str, name: str, header: list[str] | None, columns: Columns, *,
                 max_chars: int = MAX_CHARS, escaped: bool = False):
        self.label, self.name, self.columns = label, name, columns
        self.max_chars = max_chars
        self.escaped = escaped  # text cells hold undecodable bytes as surrogate escapes (CSV)
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
        """E302 naming the table and how many columns its header has, never their values: a table
        without a header has a data row (a patient's name, a note) where the header should be."""
        if self.text_col is None:
            header = self.header or []
            if header and all(isinstance(h, str) and _COLUMN_NAME.match(h) for h in header):
                shown = f"columns: {', '.join(repr(h) for h in header[:20])}"
            else:  # some cell is not a column name: maybe a data row; never show it
                shown = f"{len(header)} columns, not all of them names; is the header row missing?"
            return InputError("E302", f"{self.label}: no text column {self.columns.text!r} ({shown}); "
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
        if date and not month:
            warnings.append(f"{at}: column {self.meta_cols['date']!r} holds a value that is not a date "
                            f"(expected e.g. 2024-03-15 or 03/15/2024), so the note is counted under no date")
        meta = {"surgeon": _cell_str(row.get(self.meta_cols["surgeon"])) if self.meta_cols["surgeon"] else "",
                "site": _cell_str(row.get(self.meta_cols["site"])) if self.meta_cols["site"] else "",
                "date": date, "month": month, "warnings": tuple(warnings)}
        codes = row.get(self.meta_cols["codes"]) if self.meta_cols["codes"] else None
        codes = _cell_str(codes) or None
        if codes is not None and len(codes) > 1000:  # not a codes cell (e.g. --codes-column names the text)
            meta["warnings"] = meta["warnings"] + (
                f"{at}: column {self.meta_cols['codes']!r} holds {len(codes):,} characters, not billed codes; "
                f"ignored",)
            codes = None
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
        repaired = 0
        if isinstance(value, str):
            check_length(value, at, self.max_chars)
            if not self.escaped:  # JSON, Parquet, DataFrame text: a lone surrogate is broken text
                value, repaired = repair_surrogates(value)
            try:
                data = value.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:  # a surrogate that is not an escaped byte
                value, repaired = repair_surrogates(value)
                data = value.encode("utf-8", "surrogateescape")
        elif isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
        else:
            raise InputError("E306", f"{at}: column {col!r} holds {type(value).__name__} values, not text")
        if len(data) > byte_cap(self.max_chars):
            raise too_many_bytes(at, self.max_chars)
        text, _enc, warning = decode(data, f"{at}, column {col!r}")
        check_length(text, at, self.max_chars)
        if repaired:
            fixed = (f"column {col!r}: {repaired} lone surrogate(s) (invalid Unicode) replaced by U+FFFD; "
                     f"offsets unchanged")
            warning = f"{warning}; {fixed}" if warning else fixed
        return text, warning


def _table_tasks(path: Path, kind: str, columns: Columns, *, max_chars: int = MAX_CHARS) -> Iterator[Task]:
    reader = {"csv": _csv_tasks, "parquet": _parquet_tasks, "jsonl": _jsonl_tasks}[kind]
    n = 0
    try:
        for n, task in enumerate(reader(path, columns, max_chars=max_chars), 1):
            yield task
    except InputError as exc:
        yield _error_task(path.name, str(path), exc)
        return
    if not n:
        yield _error_task(path.name, str(path), InputError("E304", f"{path}: no rows (an empty table)"))


def _csv_tasks(path: Path, columns: Columns, max_chars: int = MAX_CHARS) -> Iterator[Task]:
    """Rows of a CSV / TSV table. Quoting is read strictly: an unclosed or stray quote makes an
    E303 row naming the row and line, and the rest of the file is not read (past a broken
    quote, rows can no longer be told apart: reading on would check fragments as notes)."""
    label = str(path)
    try:
        fh = open_regular(path, "table")
    except InputError as exc:
        if exc.code == "E105" and "directory" in exc.message:
            raise InputError("E105", f"{path}: is a directory, not a table") from None
        raise
    with fh:
        head = fh.read(4)
        fh.seek(0)
        encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
        text = _io.TextIOWrapper(fh, encoding=encoding, errors="surrogateescape", newline="")
        csv.field_size_limit(2 * byte_cap(max_chars) + 1)  # a longer cell is E104 by its row, checked below
        rows = csv.reader(text, delimiter="\t" if path.suffix.lower() == ".tsv" else ",", strict=True)
        try:
            header = next(rows, None)
        except (csv.Error, UnicodeError) as exc:
            raise InputError("E305", f"{label}: cannot read the header row ({_safe(exc)})") from None
        if not header or not any(h.strip() for h in header):
            raise InputError("E302", f"{label}: empty table (no header row)")
        header = [h.strip() for h in header]
        table = _TableRows(label, path.name, header, columns, max_chars=max_chars, escaped=True)
        missing = table.missing_text_column()
        if missing:
            raise missing
        n = 0
        while True:
            line = rows.line_num + 1
            try:
                row = next(rows)
            except StopIteration:
                break
            except (csv.Error, UnicodeError) as exc:
                n += 1
                if "field larger than field limit" in str(exc):
                    yield _error_task(f"{path.name}:{n}", f"{label}:{n}", too_many_bytes(f"{label} row {n}",
                                                                                         max_chars))
                    continue
                yield _error_task(f"{path.name}:{n}", f"{label}:{n}", InputError(
                    "E303", f"{label} row {n} (lines {line}-{rows.line_num}): malformed CSV ({_safe(exc)}; an "
                            f"unclosed or stray quote?); the rest of the file, from line {line}, was not read"))
                return
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


def _parquet_tasks(path: Path, columns: Columns, max_chars: int = MAX_CHARS) -> Iterator[Task]:
    """Rows of a Parquet table, one row group at a time: a corrupt row group becomes one E305
    row naming its rows, and the readable groups are read."""
    import pyarrow.parquet as pq

    label = str(path)
    open_regular(path, "table").close()  # a FIFO or device is not handed to pyarrow
    try:
        pf = pq.ParquetFile(path)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
            raise _open_error(path, exc) from None
        raise InputError("E305", f"{label}: not a readable Parquet file ({_safe(exc)})") from None
    except Exception as exc:  # pyarrow raises ArrowInvalid for non-Parquet files
        raise InputError("E305", f"{label}: not a readable Parquet file ({_safe(exc)})") from None
    header = list(pf.schema_arrow.names)
    table = _TableRows(label, path.name, header, columns, max_chars=max_chars)
    missing = table.missing_text_column()
    if missing:
        raise missing
    wanted = list(dict.fromkeys(c for c in (table.text_col, table.id_col, *table.meta_cols.values()) if c))
    n = 0
    for g in range(pf.metadata.num_row_groups):
        size = pf.metadata.row_group(g).num_rows
        try:
            rows = pf.read_row_group(g, columns=wanted).to_pylist()
            if len(rows) != size:
                raise ValueError(f"{len(rows)} rows read, {size} expected")
        except Exception as exc:  # a corrupt row group: say which rows, read the others
            where = f"rows {n + 1}-{n + size}" if size else f"after row {n}"
            yield _error_task(f"{path.name}:group{g + 1}", f"{label}:group{g + 1}", InputError(
                "E305", f"{label} row group {g + 1} ({where}): unreadable ({_safe(exc)}); its rows were not "
                        f"checked"))
            n += size
            continue
        for row in rows:
            n += 1
            yield table.task(n, row)


def _jsonl_tasks(path: Path, columns: Columns, max_chars: int = MAX_CHARS) -> Iterator[Task]:
    label = str(path)
    fh = open_regular(path, "table")
    cap = byte_cap(max_chars) + 64 * 1024  # a line holds one note and its metadata
    with fh:
        table = _TableRows(label, path.name, None, columns, max_chars=max_chars)
        n = 0
        while True:
            line = fh.readline(cap + 1)
            if not line:
                break
            n += 1
            if len(line) > cap and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest of the line, block by block
                    line = fh.readline(1 << 20)
                yield _error_task(f"{path.name}:{n}", f"{label}:{n}", too_many_bytes(f"{label} line {n}", max_chars))
                continue
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


def _frame_tasks(frame: Any, columns: Columns, max_chars: int = MAX_CHARS) -> Iterator[Task]:
    label = "<dataframe>"
    header = [str(c) for c in frame.columns]
    table = _TableRows(label, "dataframe", header, columns, max_chars=max_chars)
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


def unique_ids(tasks: Iterable[Task], warn: Callable[[str], None] | None = None,
               renamed: list[str] | None = None) -> Iterator[Task]:
    """Make note ids unique in input order: the second ``x`` becomes ``x#2``, with a warning on its row.

    With ``renamed`` each rename's message is appended there (the caller prints one summary line)
    instead of being passed to ``warn``.
    """
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
            if renamed is not None:
                renamed.append(msg)
            elif warn:
                warn(msg)
            t = replace(t, note_id=new, warnings=t.warnings + (msg,))
        else:
            seen[nid] = 1
        yield t


def duplicates_line(renamed: list[str]) -> str:
    """One console line for every duplicate note id of a run (each is listed in the notes table)."""
    n = len(renamed)
    return (f"{n} duplicate note id{'s' if n != 1 else ''} renamed (id#2, id#3 ...); each is listed in the "
            f"warning column of the notes table")


# --------------------------------------------------------------------------- checking
def _r4(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _join(codes: Iterable[str]) -> str:
    return " ".join(codes)


def check_tasks(tasks: list[Task], redact_evidence: bool = False, tick: Callable[[int], None] | None = None,
                skip: dict[int, dict] | None = None) -> list[dict[str, list[dict]]]:
    """Rows ``{"findings": [...], "codes": [...], "notes": [...]}`` per task, in order.

    Runs in the main process or a worker; a note the pipeline fails on becomes an error row.
    With ``tick``, notes are checked one at a time and ``tick(k)`` is called before note ``k``
    (a worker tells its parent, which times each note); ``skip`` maps positions to the rows to
    give instead (notes that overran their budget or killed a worker).
    """
    from .api import load
    from .service import check_many

    pipeline = load()
    if tick is not None:  # as fast as nlp.pipe batches for these rule-based components
        out = []
        for k, t in enumerate(tasks):
            tick(k)
            if skip and k in skip:
                out.append(skip[k])
                continue
            if t.text is None:
                out.append(_error_rows(t))
                continue
            try:
                result = next(iter(check_many([(t.note_id, t.text, t.codes or "")], pipeline=pipeline,
                                              strict=False)))
            except Exception as exc:
                result = _failure(exc)
            out.append(_rows(t, result, redact_evidence))
        return out
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


def _document_meta(t: Task) -> dict[str, str]:
    return {"patient": t.patient, "encounter": t.encounter, "document": t.document}


def _error_rows(t: Task, code: str | None = None, message: str | None = None) -> dict[str, list[dict]]:
    note = {**_meta(t), "billed_codes": "", "suggested_codes": "", "codes_checked": "", "items_evaluated": None,
            "met": None, "missing": None, "completeness": None, "code_problems": None,
            "error_code": code or t.error_code, "error": message or t.error, "warning": "; ".join(t.warnings),
            "chars": len(t.text) if t.text is not None else None, "scope": "", "scope_reason": "",
            **_document_meta(t)}
    return {"findings": [], "codes": [], "notes": [note]}


@functools.lru_cache(maxsize=None)
def _name_patterns() -> tuple[re.Pattern, re.Pattern]:
    """(titles before a name, credentials after it) from ``patterns/surgeon_names.yaml``."""
    import yaml

    from .checklists import default_patterns_dir
    from .errors import PatternError

    path = default_patterns_dir() / "surgeon_names.yaml"
    if not path.is_file():  # a patterns folder of its own without this file: the packaged one
        import importlib.resources

        with contextlib.suppress(ModuleNotFoundError):
            path = Path(str(importlib.resources.files("notechecker.patterns") / "surgeon_names.yaml"))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PatternError("E001", f"{path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise PatternError("E002", f"{path}: not valid YAML: {exc}") from None
    found = []
    for key in ("titles", "credentials"):
        entries = data.get(key) if isinstance(data, dict) else None
        if not isinstance(entries, list) or not entries or not all(isinstance(e, str) and e for e in entries):
            raise PatternError("E010", f"{path}: {key}: expected a list of regular expression strings")
        for i, e in enumerate(entries):
            try:
                re.compile(e)
            except re.error as exc:
                raise PatternError("E010", f"{path}: {key}[{i}]: not a regular expression ({exc})") from None
        found.append("|".join(entries))
    titles, credentials = found
    return (re.compile(rf"^\s*(?:{titles})\s+", re.IGNORECASE),
            re.compile(rf"(?:,?\s*\b(?:{credentials})\b\.?)+\s*$", re.IGNORECASE))


def surgeon_name(value: str) -> str:
    """"CYRUS BLEVINGTON, M.D." and "Dr. Cyrus Blevington, MD" -> "Cyrus Blevington" (one group per surgeon)."""
    doctor, credentials = _name_patterns()
    name = credentials.sub("", doctor.sub("", value.split(";")[0])).strip(" ,.")
    return name.title() if name.isupper() else name


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
        el = facts.element("surgeons")
        meta["surgeon"] = surgeon_name(el.value or _heading_value(text, el))
    if not meta["date"]:
        meta["date"], meta["month"] = normalize_date(_first_line(facts.element("operation_date").value or ""))
    return meta


def _named(t: Task, warnings: Iterable[str]) -> tuple[str, ...]:
    """The checker's warnings about the codes cell, naming the input and row (they never quote the cell)."""
    return tuple(f"{t.source}, {w}" if w.startswith("billed codes:") else w for w in warnings)


def _rows(t: Task, result: Any, redact: bool) -> dict[str, list[dict]]:
    if isinstance(result, InputError):
        return _error_rows(t, result.code, f"{t.source}: {result.message}")
    # with --redact-evidence nothing read from the note text (names, dates) reaches the outputs
    meta = _meta(t) if redact else _from_note(_meta(t), result.facts, t.text)
    from .plain import code_verdicts

    findings, codes = [], []
    verdicts = {v.code: v for v in code_verdicts(result)}  # the one verdict per code every face shows
    for r in sorted(result.results, key=lambda r: r.code):
        flags = {"code": r.code, "billed": r.billed, "suggested": r.suggested}
        s = r.summary
        v = verdicts[r.code]
        codes.append({**meta, **flags, "items_evaluated": s.evaluated, "met": s.met, "missing": s.missing,
                      "completeness": _r4(s.completeness), "worst_missing_severity": s.worst_missing_severity or "",
                      "supported": v.supported, "verdict": v.verdict, "verdict_message": r.verdict_message,
                      "supported_code": v.supported_code, "reason": v.reason, "billing_gap": v.billing_gap})
        for f in sorted(r.findings, key=lambda f: f.item_id):
            ev = f.evidence[0] if f.evidence else None
            findings.append({**meta, **flags, "item_id": f.item_id, "item_name": f.item_name, "tier": f.tier,
                             "severity": f.severity, "status": f.status, "message": f.message,
                             "fix_hint": f.fix_hint or "",
                             "evidence_text": "" if ev is None or redact else ev.text,
                             "evidence_start": ev.start if ev else None, "evidence_end": ev.end if ev else None,
                             "evidence_section": (ev.section or "") if ev else ""})
    checked = {r.code for r in result.results}
    for v in sorted((v for v in verdicts.values() if v.code not in checked), key=lambda v: v.code):
        # supported by the note but not billed (under-coding): a codes row without checklist findings
        codes.append({**meta, "code": v.code, "billed": False, "suggested": True, "items_evaluated": 0, "met": 0,
                      "missing": 0, "completeness": None, "worst_missing_severity": "", "supported": True,
                      "verdict": v.verdict, "verdict_message": v.reason, "supported_code": "", "reason": v.reason,
                      "billing_gap": v.billing_gap})
    evaluated = sum(c["items_evaluated"] for c in codes)
    met = sum(c["met"] for c in codes)
    note = {**meta, "billed_codes": _join(result.billed), "suggested_codes": _join(result.suggested),
            "codes_checked": _join(result.codes), "items_evaluated": evaluated, "met": met,
            "missing": sum(c["missing"] for c in codes),
            "completeness": _r4(met / evaluated) if evaluated else None, "code_problems": len(result.problems),
            "error_code": "", "error": "", "warning": "; ".join(t.warnings + _named(t, result.warnings)),
            "chars": len(t.text), "scope": result.facts.scope.kind, "scope_reason": _scope_reason(result, redact),
            **_document_meta(t)}
    return {"findings": findings, "codes": codes, "notes": [note]}


def _scope_reason(result: Any, redact: bool) -> str:
    """Why the note is (not) a spine operation; with its evidence quoted unless evidence is redacted."""
    from .plain import scope_line

    scope = result.facts.scope
    if scope.is_spine:
        return scope.reason
    return scope.reason if redact else scope_line(result)


# --------------------------------------------------------------------------- workers
#: ``workers="auto"``: each worker process must get at least this many notes, else one
#: process checks them all (a worker's start-up and the parent's share of the work
#: outweigh the gain on small batches: two workers were slower than one on 84 notes).
AUTO_NOTES_PER_WORKER = 500


def auto_workers(n_notes: int | None, cpus: int | None = None) -> int:
    """Worker processes for ``workers="auto"``: 1 for small (or uncountable) batches, else one
    per usable core as long as each gets AUTO_NOTES_PER_WORKER notes."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if not n_notes:
        return 1
    return max(1, min(cpus, n_notes // AUTO_NOTES_PER_WORKER))


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


def _chunk_job(payload: tuple, tick: Callable[[int], None]) -> tuple[list, bytes | None]:
    """Worker side: one chunk, note by note with a tick before each, the notes in ``skip`` given
    their error rows instead (they overran their budget, or killed a worker)."""
    tasks, redact, encode, skip = payload
    rows = check_tasks(tasks, redact, tick=tick, skip=skip)
    if encode:  # the chunk's checkpoint bytes, so the parent only writes them (the scan's serial part)
        data = _chunk_bytes(tasks, rows)
        return json.loads(data)["rows"], data
    return rows, None


def _chunk_bytes(tasks: list[Task], rows: list) -> bytes:
    body = {"digest": _digest(tasks), "notes": len(tasks), "rows": rows}
    return json.dumps({**body, "checksum": _checksum(body)}, allow_nan=False).encode()


def _checksum(body: dict) -> str:
    """SHA-256 of a chunk's content (digest, notes, rows) as written: any change to a stored chunk shows."""
    return hashlib.sha256(json.dumps(body, allow_nan=False).encode()).hexdigest()


class _Job:
    __slots__ = ("chunk", "skip", "result", "restarts")

    def __init__(self, chunk: list[Task]):
        self.chunk, self.skip, self.result, self.restarts = chunk, {}, None, 0


def _checked(chunks: Iterable[list[Task]], workers: int, redact: bool, encode: bool = False,
             note_timeout: float | None = None) -> Iterator[tuple[list[Task], list, bytes | None]]:
    """(chunk, rows per task, checkpoint bytes or None) in input order.

    With a time budget (``note_timeout`` seconds a note, plus some a character) or ``workers > 1``,
    chunks run in worker processes (:mod:`notechecker.guard`) that die with this process, note
    by note, each note announced to this process, which times it. A note over its budget (E204)
    or whose worker dies (E202) becomes an error row: the worker is replaced and its chunk sent
    again with that note skipped; the others go on. Without a budget and with one worker,
    chunks are checked in this process.
    """
    budget = note_timeout if note_timeout and note_timeout > 0 else None
    if workers <= 1 and budget is None:
        for chunk in chunks:
            yield chunk, check_tasks(chunk, redact), None
        return
    from . import guard

    ctx = guard.context()
    if ctx.get_start_method() == "fork":  # load once here; forked workers share it
        _init_worker()

    def start() -> guard.Worker:
        return guard.Worker(_chunk_job, _init_worker, ctx)

    pool = [start() for _ in range(workers)]
    jobs: dict[int, _Job] = {}
    ids = itertools.count()
    window: deque[_Job] = deque()

    def dispatch(job: _Job) -> None:
        w = min(pool, key=lambda w: len(w.jobs))
        jid = next(ids)
        jobs[jid] = job
        w.send(jid, (job.chunk, redact, encode, job.skip))

    def replace(w: guard.Worker, code: str, problem: str) -> None:
        """Kill ``w`` (its note overran the budget, or it died), start another, send its jobs again."""
        item = w.item
        pending = [jobs.pop(j) for j in list(w.jobs) if j in jobs]  # the first is the one it was on
        w.kill()
        pool[pool.index(w)] = start()
        if pending:
            first = pending[0]
            if item is not None:
                t = first.chunk[item[1]]
                first.skip[item[1]] = _error_rows(t, code, f"{t.source}: {problem}")
            else:  # died before its first tick
                first.restarts += 1
                if first.restarts > 3:
                    raise RuntimeError("scan worker processes die before checking any note")
        for p in pending:
            dispatch(p)

    def limit_of(w: guard.Worker) -> float:
        """Seconds the worker's current note (or whole chunk, run at once) may take."""
        if budget is None:
            return float("inf")
        jid, k = w.current()
        job = jobs.get(jid)
        if job is None:
            return budget
        return guard.allowance(budget, len(job.chunk[k].text or ""))

    def pump() -> None:
        busy = [w for w in pool if w.jobs]
        now = _time.monotonic()
        left = [limit_of(w) - (now - w.since) for w in busy if w.since is not None]
        timeout = max(0.0, min(left)) + 0.01 if left and min(left) != float("inf") else None
        for w in guard.wait(busy, timeout):
            kind, jid, value = w.receive()
            if kind == "died":
                replace(w, "E202", "a worker process died checking this note (out of memory?); not checked")
            elif kind == "done":
                job = jobs.pop(jid, None)
                if job is not None:
                    job.result = value
            elif kind == "interrupt":
                raise KeyboardInterrupt
            elif kind == "error":
                raise RuntimeError(f"a scan worker failed: {value}")
        now = _time.monotonic()
        for w in list(pool):
            if w.jobs and w.since is not None and now - w.since > limit_of(w):
                seconds = limit_of(w)
                replace(w, "E204", f"checking took longer than its time budget ({seconds:.0f} s: --note-timeout "
                                   f"{budget:g} s plus {guard.SECONDS_PER_CHAR * 1e4:g} s per 10,000 characters); "
                                   f"it was stopped and not checked")

    chunks = iter(chunks)
    done = False
    try:
        while True:
            while not done and len(window) < 2 * workers:
                chunk = next(chunks, None)
                if chunk is None:
                    done = True
                    break
                window.append(_Job(chunk))
                dispatch(window[-1])
            if not window:
                break
            while window[0].result is None:
                pump()
            job = window.popleft()
            rows, data = job.result
            yield job.chunk, rows, data
    except BaseException:
        for w in pool:
            w.kill()
        raise
    for w in pool:
        w.stop()


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


#: A CSV cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection");
#: such a cell is written with a leading ``'``, and so is one starting with ``'`` (so that
#: :func:`read_table` can take exactly the added quote off again).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"^'[=+\-@\t\r']")


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str) and v.startswith((*_FORMULA_START, "'")):
        return "'" + v  # shown as text, never run as a formula (as the Excel workbook does)
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


def _fingerprint(inputs: list[Any], documents: bool = False) -> list[list]:
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
        files = iter_note_paths([path], _suffixes(documents)) if path.is_dir() else [path]
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


def _manifest(inputs: list[Any], columns: Columns, redact: bool, chunk_size: int, fmt: str,
              documents: bool = False, *, max_chars: int = MAX_CHARS) -> dict[str, Any]:
    from . import __version__

    options = {"output": fmt, "redact_evidence": redact, "columns": asdict(columns)}
    if documents:  # only when set: checkpoints of runs without it stay resumable
        options["documents"] = True
    return {"format": CHECKPOINT_FORMAT, "notechecker": __version__, "patterns": _patterns_digest(),
            "options": {**options, "max_chars": max_chars}, "chunk_size": chunk_size,
            "inputs": _fingerprint(inputs, documents)}


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

    def load(self, i: int) -> tuple[dict | None, str]:
        """Chunk ``i`` as written and '', or None and what is wrong with it (unreadable, damaged)."""
        try:
            data = json.loads(self.chunk(i).read_bytes())
        except (OSError, ValueError, RecursionError):
            return None, "unreadable"
        if not isinstance(data, dict):
            return None, "unreadable"
        checksum = data.pop("checksum", None)
        try:
            intact = checksum == _checksum(data)
        except (TypeError, ValueError, RecursionError):
            intact = False
        if not intact:
            return None, "damaged (its checksum does not match its content)"
        if not isinstance(data.get("rows"), list):
            return None, "unreadable"
        return data, ""

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


def count_inputs(inputs: Iterable[Any], columns: Columns = Columns(), documents: bool = False) -> int | None:
    """Cheap count of the notes in ``inputs`` for a progress bar (None when it cannot be had)."""
    total = 0
    try:
        for inp in inputs:
            if _is_frame(inp):
                total += max(1, len(inp))  # an empty input still gives one (error) row
                continue
            path = Path(inp)
            kind = TABLE_SUFFIXES.get(path.suffix.lower())
            if kind is not None and not path.is_file():  # never open a FIFO or device to count it
                total += 1
                continue
            if path.is_dir():
                total += max(1, sum(1 for _ in iter_note_paths([path], _suffixes(documents))))
            elif kind == "parquet":
                import pyarrow.parquet as pq

                total += max(1, pq.ParquetFile(path).metadata.num_rows)
            elif kind == "jsonl":
                with open(path, "rb") as fh:
                    total += max(1, sum(1 for line in fh if line.strip()))
            elif kind == "csv":
                with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
                    csv.field_size_limit(byte_cap(MAX_CHARS) + 1)
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
        workers: int | str = 1, chunk_size: int = 32, redact_evidence: bool = False, progress: bool = False,
        collect: bool = False, resume: bool = False, warn: Callable[[str], None] | None = None,
        error: Callable[[str], None] | None = None, documents: bool = False,
        note_timeout: float | None = NOTE_TIMEOUT, max_chars: int = MAX_CHARS,
        engine: Callable[..., Iterator] | None = None) -> Summary:
    """Check every note of ``inputs``; stream the three tables to ``output`` (and/or collect DataFrames).

    ``engine`` replaces in-process and worker-process checking: ``engine(chunks, redact_evidence)``
    yields ``(chunk, rows per task, None)`` in input order (the Spark engine, :mod:`notechecker.spark`).

    ``warn`` / ``error`` receive one line per warning or bad input (never note text).
    With ``output``, finished chunks are kept in :func:`checkpoint_dir` until the end;
    ``resume`` continues from them (with their chunk size). A checkpoint left by an
    interrupted run and ``resume=False`` raise :class:`CheckpointError` (E401); an output
    another run is writing raises E404 (the output is locked while a run writes it).
    ``note_timeout``: seconds one note may take (E204 error row past it; None or 0: no
    budget); ``max_chars``: longest note checked (E104 past it).
    """
    lock = _OutputLock(output_paths(output)["findings"]) if output is not None else None
    if lock is not None:
        lock.acquire()
    try:
        return _run(inputs, output, columns=columns, workers=workers, chunk_size=chunk_size,
                    redact_evidence=redact_evidence, progress=progress, collect=collect, resume=resume, warn=warn,
                    error=error, documents=documents, note_timeout=note_timeout, max_chars=max_chars,
                    engine=engine)
    finally:
        if lock is not None:
            lock.release()


class _OutputLock:
    """An exclusive ``fcntl`` lock on ``.RESULTS.ext.lock`` beside the output while a run writes it.

    The lock file is removed by its holder; a run that opened it meanwhile sees another inode
    and opens it again. A killed run's lock is released by the kernel (the file may stay).
    """

    def __init__(self, output: Path):
        self.path = output.with_name(f".{output.name}.lock")
        self.output = output
        self.fd: int | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # not a POSIX system: no lock
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = ""
                with contextlib.suppress(OSError, ValueError):
                    holder = f" (process {int(os.pread(fd, 32, 0).decode().strip())})"
                os.close(fd)
                raise CheckpointError("E404", f"{self.output}: the output is in use by another run{holder}; "
                                              f"wait for it to end, or write to another output") from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
                self.fd = fd
                return
            os.close(fd)  # removed by the run that held it: take the new one

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.fd)
        self.fd = None


def _run(inputs: Iterable[Any] | Any, output: str | os.PathLike | None = None, *, columns: Columns = Columns(),
        workers: int = 1, chunk_size: int = 32, redact_evidence: bool = False, progress: bool = False,
        collect: bool = False, resume: bool = False, warn: Callable[[str], None] | None = None,
        error: Callable[[str], None] | None = None, documents: bool = False,
        note_timeout: float | None = NOTE_TIMEOUT, max_chars: int = MAX_CHARS,
        engine: Callable[..., Iterator] | None = None) -> Summary:
    """The run, with the output locked (see :func:`run`)."""
    if isinstance(inputs, (str, os.PathLike)) or _is_frame(inputs):
        inputs = [inputs]
    inputs = list(inputs)
    if workers == "auto":
        workers = auto_workers(count_inputs(inputs, columns))
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be 1 or more, or 'auto', not {workers!r}")
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
        manifest = _manifest(inputs, columns, redact_evidence, chunk_size, paths["findings"].suffix.lower(),
                             documents, max_chars=max_chars)
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
    total = count_inputs(inputs, columns, documents) if progress else None
    renamed: list[str] = []
    chunks = _chunks(unique_ids(iter_tasks(inputs, columns, documents, max_chars=max_chars), warn_once, renamed),
                     chunk_size)
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
                        if not w.startswith("duplicate note id "):  # summarised in one line at the end
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
            stored, problem = ckpt.load(i)
            if stored is None or len(stored["rows"]) != len(chunk):
                warn(f"{ckpt.chunk(i)}: {problem or 'unreadable'}; checking its notes again")
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
        checked = (_checked(chunks, workers, redact_evidence, encode=ckpt is not None, note_timeout=note_timeout)
                   if engine is None else engine(chunks, redact_evidence))
        for i, (chunk, rows, data) in enumerate(checked, replayed):
            if ckpt is not None:
                rows = ckpt.save(i, chunk, rows, data)  # as read back: a replay gives the same bytes
            emit(rows)
        if sink is not None:
            sink.close()
    if renamed:
        warn(duplicates_line(renamed))
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
        frame = pd.read_csv(p, dtype=str, keep_default_na=False)
        for c in frame.columns:  # the values as checked: the quote added against formulas taken off
            escaped = frame[c].str.match(_ESCAPED.pattern)
            if escaped.any():
                frame[c] = frame[c].where(~escaped, frame[c].str[1:])
        return frame
    if ext == ".jsonl":
        return pd.read_json(p, lines=True, dtype=False)
    raise ValueError(f"{p}: not a results table (.parquet, .csv, .jsonl)")


__all__ = ["Columns", "Summary", "Task", "CheckpointError", "checkpoint_dir", "run", "iter_tasks", "unique_ids",
           "check_tasks", "output_paths",
           "read_table", "count_inputs", "normalize_date", "FINDINGS_COLUMNS", "CODES_COLUMNS", "NOTES_COLUMNS",
           "TABLES"]

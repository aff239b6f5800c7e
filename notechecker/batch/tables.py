"""Table inputs to tasks: CSV / TSV, Parquet and JSON Lines files and pandas DataFrames, row by row.

A bad table, row, cell or row group becomes an error task naming the input and row (E1xx, E3xx),
never quoting a cell, and the reading goes on where it can.
"""
from __future__ import annotations

import csv
import io as _io
import json
import re
from pathlib import Path
from typing import Any, Iterator

from ..errors import InputError, safe_message as _safe
from ..io import MAX_CHARS, byte_cap, check_length, decode, open_regular, repair_surrogates, too_many_bytes
from .task import DEFAULT_NAMES, Columns, Task, cell_str, error_task, normalize_date


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


class TableRows:
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
        note_id = cell_str(row.get(self.id_col)) if self.id_col else ""
        warnings = list(self.warnings)
        if not note_id:
            if self.id_col:
                warnings.append(f"{at}: empty note id")
            note_id = f"{self.name}:{n}"
        date, month = normalize_date(row.get(self.meta_cols["date"])) if self.meta_cols["date"] else ("", "")
        if date and not month:
            warnings.append(f"{at}: column {self.meta_cols['date']!r} holds a value that is not a date "
                            f"(expected e.g. 2024-03-15 or 03/15/2024), so the note is counted under no date")
        meta = {"surgeon": cell_str(row.get(self.meta_cols["surgeon"])) if self.meta_cols["surgeon"] else "",
                "site": cell_str(row.get(self.meta_cols["site"])) if self.meta_cols["site"] else "",
                "date": date, "month": month, "warnings": tuple(warnings)}
        codes = row.get(self.meta_cols["codes"]) if self.meta_cols["codes"] else None
        codes = cell_str(codes) or None
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
            return error_task(note_id, source, exc, meta)
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


def table_tasks(path: Path, kind: str, columns: Columns, *, max_chars: int = MAX_CHARS) -> Iterator[Task]:
    reader = {"csv": _csv_tasks, "parquet": _parquet_tasks, "jsonl": _jsonl_tasks}[kind]
    n = 0
    try:
        for n, task in enumerate(reader(path, columns, max_chars=max_chars), 1):
            yield task
    except InputError as exc:
        yield error_task(path.name, str(path), exc)
        return
    if not n:
        yield error_task(path.name, str(path), InputError("E304", f"{path}: no rows (an empty table)"))


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
        table = TableRows(label, path.name, header, columns, max_chars=max_chars, escaped=True)
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
                    yield error_task(f"{path.name}:{n}", f"{label}:{n}", too_many_bytes(f"{label} row {n}",
                                                                                         max_chars))
                    continue
                yield error_task(f"{path.name}:{n}", f"{label}:{n}", InputError(
                    "E303", f"{label} row {n} (lines {line}-{rows.line_num}): malformed CSV ({_safe(exc)}; an "
                            f"unclosed or stray quote?); the rest of the file, from line {line}, was not read"))
                return
            if not row:  # blank line
                continue
            n += 1
            if len(row) != len(header):
                yield error_task(f"{path.name}:{n}", f"{label}:{n}", InputError(
                    "E303", f"{label} row {n} (line {rows.line_num}): {len(row)} fields, "
                            f"the header has {len(header)}"))
                continue
            yield table.task(n, dict(zip(header, row)))


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
    table = TableRows(label, path.name, header, columns, max_chars=max_chars)
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
            yield error_task(f"{path.name}:group{g + 1}", f"{label}:group{g + 1}", InputError(
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
        table = TableRows(label, path.name, None, columns, max_chars=max_chars)
        n = 0
        while True:
            line = fh.readline(cap + 1)
            if not line:
                break
            n += 1
            if len(line) > cap and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest of the line, block by block
                    line = fh.readline(1 << 20)
                yield error_task(f"{path.name}:{n}", f"{label}:{n}", too_many_bytes(f"{label} line {n}", max_chars))
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, UnicodeError) as exc:
                yield error_task(f"{path.name}:{n}", f"{label}:{n}",
                                  InputError("E303", f"{label} line {n}: not valid JSON ({_safe(exc)})"))
                continue
            if not isinstance(row, dict):
                yield error_task(f"{path.name}:{n}", f"{label}:{n}", InputError(
                    "E303", f"{label} line {n}: a JSON {type(row).__name__}, expected an object"))
                continue
            table._bind(list(row))
            missing = table.missing_text_column()
            if missing:
                yield error_task(cell_str(row.get(table.id_col)) if table.id_col else f"{path.name}:{n}",
                                  f"{label}:{n}", InputError(
                                      "E302", f"{label} line {n}: no {columns.text!r} field"))
                continue
            yield table.task(n, row, where="line")


def frame_tasks(frame: Any, columns: Columns, max_chars: int = MAX_CHARS) -> Iterator[Task]:
    label = "<dataframe>"
    header = [str(c) for c in frame.columns]
    table = TableRows(label, "dataframe", header, columns, max_chars=max_chars)
    missing = table.missing_text_column()
    if missing:
        yield error_task("dataframe", label, missing)
        return
    names = list(frame.columns)
    n = 0
    for n, values in enumerate(frame.itertuples(index=False, name=None), 1):
        yield table.task(n, {str(k): v for k, v in zip(names, values)})
    if not n:
        yield error_task("dataframe", label, InputError("E304", f"{label}: no rows (an empty table)"))

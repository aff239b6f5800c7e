"""Writing the three tables as rows come (Parquet, CSV, JSON Lines; files appear atomically at the
end), and reading one back.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import re
from pathlib import Path
from typing import Any

from .schema import TABLES, arrow_schema


OUTPUT_SUFFIXES = (".parquet", ".csv", ".jsonl")


def output_paths(output: str | os.PathLike) -> dict[str, Path]:
    """``{"findings": RESULTS.ext, "notes": RESULTS.notes.ext, "codes": RESULTS.codes.ext}``."""
    out = Path(output)
    ext = out.suffix.lower()
    if ext not in OUTPUT_SUFFIXES:
        raise ValueError(f"{out}: output must end in {', '.join(OUTPUT_SUFFIXES)}, not {ext or '(nothing)'!r}")
    stem = out.with_suffix("")
    return {"findings": out, "notes": Path(f"{stem}.notes{out.suffix}"), "codes": Path(f"{stem}.codes{out.suffix}")}


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


#: The one CSV cell guard, for other CSV outputs of a scan (the worklist).
csv_value = _csv_value


class Sink:
    """Writes the rows of the three tables as they come; files appear (atomically) on close."""

    flush_rows = 2000

    def __init__(self, paths: dict[str, Path], stack: contextlib.ExitStack, tmp_dir: Path | None = None):
        from ..writers import atomic_writer

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

"""Writing the three tables as rows come (Parquet, CSV, JSON Lines; files appear atomically at the
end), and reading one back.
"""
from __future__ import annotations

import contextlib
import csv
import json
import operator
import os
import re
from itertools import chain, repeat
from pathlib import Path
from typing import Any

from . import packed
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

#: A cell (the text cells of a row, each after a NUL) starting as a formula or with the escaping quote.
_FORMULA_CELL = re.compile("\x00[" + re.escape("".join(_FORMULA_START) + "'") + "]")
#: Cells the csv module writes as :func:`_csv_value` gives them (None as ''), text aside.
_NUMBERS = frozenset({int, float, type(None)})


class _CsvCells:
    """A table's row to its CSV cells, ``[_csv_value(r[c]) for c in cols]``, most rows without a call
    a cell: when the cells of the text columns are all str and none starts as a formula, and the
    other cells are numbers or None (or bools in the bool columns), only the bools need spelling. Any
    other row goes cell by cell."""

    def __init__(self, cols: tuple[str, ...]):
        from .schema import BOOL_COLUMNS, FLOAT_COLUMNS, INT_COLUMNS

        self.all = operator.itemgetter(*cols)
        text = [c for c in cols if c not in INT_COLUMNS | FLOAT_COLUMNS | BOOL_COLUMNS]
        numbers = [c for c in cols if c in INT_COLUMNS | FLOAT_COLUMNS]
        self.text = operator.itemgetter(*text, text[0])  # a tuple even for one column
        self.numbers = operator.itemgetter(*numbers, numbers[0]) if numbers else None
        self.flags = tuple(i for i, c in enumerate(cols) if c in BOOL_COLUMNS)

    def __call__(self, r: dict) -> list:
        values = list(self.all(r))
        text = self.text(r)
        if (set(map(type, text)) != {str} or _FORMULA_CELL.search("\x00" + "\x00".join(text))
                or (self.numbers is not None and not _NUMBERS.issuperset(map(type, self.numbers(r))))):
            return [_csv_value(v) for v in values]
        for i in self.flags:
            v = values[i]
            if v.__class__ is bool:
                values[i] = "true" if v else "false"
            elif v.__class__ not in _NUMBERS:
                return [_csv_value(v) for v in values]
        return values


#: ``json.dumps(row, ensure_ascii=False)`` of a JSON Lines table, its encoder made once
_JSON_LINE = json.JSONEncoder(ensure_ascii=False).encode


class Sink:
    """Writes the rows of the three tables as they come; files appear (atomically) on close."""

    flush_rows = 2000

    def __init__(self, paths: dict[str, Path], stack: contextlib.ExitStack, tmp_dir: Path | None = None):
        from ..writers import atomic_writer

        self.fmt = paths["findings"].suffix.lower()
        self.buffers: dict[str, list[dict]] = {k: [] for k in TABLES}
        # Parquet: each table's cells as they come, joined into a row group a flush: rows given one by
        # one (row dicts, a table of one row) as tuples in the columns' order, a packed table's columns
        # whole (:func:`_parts`), in the order they came
        self.pending: dict[str, list[tuple[int, dict, dict]]] = {k: [] for k in TABLES}
        self.loose: dict[str, list[tuple]] = {k: [] for k in TABLES}
        self.counts = dict.fromkeys(TABLES, 0)
        self._in_order: dict[tuple, Any] = {}
        self.handles = {}
        self.writers = {}
        self.schemas = {}  # Parquet: each table's Arrow schema, made once (a flush gives it its rows)
        binary = self.fmt == ".parquet"
        for name, path in paths.items():
            fh = stack.enter_context(atomic_writer(path, "wb" if binary else "w", tmp_dir=tmp_dir))
            self.handles[name] = fh
            if self.fmt == ".parquet":
                import pyarrow.parquet as pq

                self.schemas[name] = arrow_schema(name)
                writer = pq.ParquetWriter(fh, self.schemas[name], compression="zstd")
                self.writers[name] = writer
                stack.callback(writer.close)  # before its file closes, also when the run fails
            elif self.fmt == ".csv":
                self.writers[name] = csv.writer(fh, lineterminator="\n")
                self.writers[name].writerow(TABLES[name])

    def add(self, name: str, rows: Any) -> None:
        """Rows of table ``name``: row dicts, or the table packed (:mod:`.packed`)."""
        if self.fmt == ".parquet":
            if rows.__class__ is list:
                self.loose[name].extend(map(self._cells(name, None), rows))
            elif len(rows["rows"]) == 1 and not rows["same"]:
                self.loose[name].append(self._cells(name, tuple(rows["keys"]))(rows["rows"][0]))
            else:
                self._settle(name)
                self.pending[name].append(_parts(rows))
            self.counts[name] += packed.size(rows)
            if self.counts[name] >= self.flush_rows:
                self._flush(name)
            return
        buf = self.buffers[name]
        buf.extend(packed.rows(rows))
        if len(buf) >= self.flush_rows:
            self._flush(name)

    def _cells(self, name: str, keys: tuple | None) -> Any:
        """A row's cells in table ``name``'s columns' order: from a row dict (``keys`` None) or from
        the values of a row whose columns are ``keys`` (KeyError, ValueError: a column missing)."""
        getter = self._in_order.get((name, keys))
        if getter is None:
            cols = TABLES[name]
            getter = operator.itemgetter(*cols) if keys is None else operator.itemgetter(*map(keys.index, cols))
            self._in_order[(name, keys)] = getter
        return getter

    def _settle(self, name: str) -> None:
        """The rows given one by one since the last packed table, as columns after what came before."""
        loose = self.loose[name]
        if loose:
            self.pending[name].append((len(loose), {}, dict(zip(TABLES[name], zip(*loose)))))
            self.loose[name] = []

    def _flush(self, name: str) -> None:
        if self.fmt == ".parquet":
            if self.counts[name]:
                import pyarrow as pa

                self._settle(name)
                pending, schema = self.pending[name], self.schemas[name]
                index, columns = None, {}
                sames = [same for _n, same, _cells in pending]
                # the columns one value fills in every table of the flush, and those no table keeps once
                kept = set(sames[0]).intersection(*sames[1:]) if len(pending) > 1 else set()
                loose = set(TABLES[name]).difference(*sames)
                for c in TABLES[name]:
                    if c in kept:
                        # a column one value fills in each table (a note's id, source, provenance ...):
                        # each value made an Arrow cell once, then repeated over its table's rows
                        if index is None:
                            import numpy as np

                            index = pa.array(np.repeat(np.arange(len(pending)), [n for n, _s, _c in pending]))
                        columns[c] = pa.array(list(map(operator.itemgetter(c), sames)),
                                              schema.field(c).type).take(index)
                    elif c in loose:  # every table's own cells, row by row
                        columns[c] = list(chain.from_iterable(map(operator.itemgetter(c),
                                                                  [cells for _n, _s, cells in pending])))
                    else:
                        columns[c] = list(chain.from_iterable(repeat(same[c], n) if c in same else cells[c]
                                                              for n, same, cells in pending))
                self.writers[name].write_table(pa.Table.from_pydict(columns, schema))
                pending.clear()
                self.counts[name] = 0
            return
        rows = self.buffers[name]
        if not rows:
            return
        cols = TABLES[name]
        if self.fmt == ".csv":
            self.writers[name].writerows(map(_CsvCells(cols), rows))
        else:
            cells, encode = operator.itemgetter(*cols), _JSON_LINE
            self.handles[name].write("".join([encode(dict(zip(cols, cells(r)))) + "\n" for r in rows]))
        rows.clear()

    def close(self) -> None:
        for name in TABLES:
            self._flush(name)
            if self.fmt == ".parquet":
                self.writers[name].close()  # closing twice is a no-op


def _parts(table: dict) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """A packed table (:mod:`.packed`) as ``(its number of rows, {column: the value that fills it}
    for the cells kept once, {column: its cells, row by row} for the others)``."""
    keys, rows, kept = table["keys"], table["rows"], table["same"]
    shape = (keys, *map(_FIRST, kept)) if keys.__class__ is tuple else None  # (read back from JSON: a list)
    split = _SPLITS.get(shape) if shape is not None else None
    if split is None:
        fixed = dict(kept)
        split = ([keys[i] for i, _v in kept], [k for i, k in enumerate(keys) if i not in fixed])
        if shape is not None and len(_SPLITS) < 256:
            _SPLITS[shape] = split
    return len(rows), dict(zip(split[0], map(_SECOND, kept))), dict(zip(split[1], zip(*rows)))


#: (a packed table's keys, the numbers of its columns kept once, in its order) -> (the names of those
#: columns in that order, the names of the others in the keys' order): a scan's tables have few shapes
_SPLITS: dict[tuple, tuple[list, list]] = {}
_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)


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

"""The worker side of notechecker on Spark (:mod:`notechecker.spark`): the schemas of the rows the
Python workers return, and the functions Spark runs in them.

``scan --engine spark`` sends tasks read on the driver as Arrow record batches and runs
:func:`task_batches` in ``mapInArrow``: the tasks' string columns are read straight from Arrow
and the rows go back as Arrow record batches, with no pandas frame either way (the
conversion ``mapInPandas`` made cost more than the Spark overhead of a small note).
:func:`notechecker.spark.check` takes a user's DataFrame, whose cells (dates, arrays,
timestamps) must reach the table reader as they do in the local engine's pandas frames: it
stays on ``mapInPandas`` (:func:`row_frames`).
"""
from __future__ import annotations

import functools
import operator
import json
from itertools import repeat
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterator

from notechecker.batch import packed
from notechecker.batch.schema import TABLES, arrow_schema
from notechecker.batch.task import Columns, Task
from notechecker.batch.workers import check_tasks

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

#: Columns of the rows the workers return, before each table's own columns: the note's
#: position in the input, its table and the row's position among the note's rows there.
KEY_COLUMNS = ("_seq", "_table", "_row")
#: Notes a worker checks between two output frames (memory, not speed).
WORKER_CHUNK = 64


# --------------------------------------------------------------------------- schemas
def table_schema(name: str):
    """The Spark schema of table ``name`` (``findings``, ``notes``, ``codes``), from batch's Arrow schema."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(arrow_schema(name))


@functools.lru_cache(maxsize=1)
def rows_arrow_schema():
    """Key columns, then every column of the three tables once (one type per name, as batch defines it)."""
    import pyarrow as pa

    fields: dict[str, Any] = {}
    for name in TABLES:
        for f in arrow_schema(name):
            seen = fields.setdefault(f.name, f)
            if seen.type != f.type:  # pragma: no cover - batch gives one type per column name
                raise TypeError(f"column {f.name} has two types: {seen.type} and {f.type}")
    keys = [pa.field("_seq", pa.int64()), pa.field("_table", pa.string()), pa.field("_row", pa.int32())]
    return pa.schema(keys + list(fields.values()))


def rows_schema():
    """The Spark schema of the worker's output (key columns + the union of the tables' columns)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(rows_arrow_schema())


# --------------------------------------------------------------------------- worker side
_READY = False


def _ready() -> None:
    """Load the pipeline and checklists once per Python worker (Spark reuses workers across tasks)."""
    global _READY
    if _READY:
        return
    from notechecker.api import load
    from notechecker.schema.catalogue import load_catalogue

    load()
    load_catalogue()
    # as a local scan's workers: what lives as long as this worker (the pipeline, its vocabularies) is
    # left out of the cycle collector's scans (some 70 ms a full collection, ~0.1 ms a note)
    import gc

    gc.collect()
    gc.freeze()
    _READY = True


def _value(v: Any) -> Any:
    """A pandas cell as the plain value the local readers see (NaN and NA as None, arrays as lists)."""
    if v is None:
        return None
    if isinstance(v, float) and v != v:
        return None
    if type(v).__module__ == "numpy":
        import numpy as np

        if isinstance(v, np.ndarray):
            return [_value(x) for x in v.tolist()]
        return v.item() if hasattr(v, "item") else v
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return v


def _columns(seqs: list[int], results: list[dict[str, Any]]) -> tuple[Any, dict[str, list]]:
    """The worker output schema and the rows of checked notes as its columns (key columns first)."""
    schema = rows_arrow_schema()
    cols: dict[str, list] = {f.name: [] for f in schema}
    data_cols = [f.name for f in schema][len(KEY_COLUMNS):]
    for seq, result in zip(seqs, results):
        for name, own in TABLES.items():
            rows = result[name]
            n = packed.size(rows)
            if not n:
                continue
            cols["_seq"].extend(repeat(seq, n))
            cols["_table"].extend(repeat(name, n))
            cols["_row"].extend(range(n))
            # the table's columns, each whole (a row's cell in a column of another table: None)
            given = dict(zip(own, zip(*map(_CELLS[name], rows)))) if rows.__class__ is list else packed.columns(rows)
            for c in data_cols:
                cells = given.get(c)
                cols[c].extend(repeat(None, n) if cells is None else cells)
    return schema, cols


#: A row's cells in its table's columns: every row of a table holds its table's columns (as the local
#: scan's writer reads them)
_CELLS = {name: operator.itemgetter(*columns) for name, columns in TABLES.items()}


def _frame(seqs: list[int], results: list[dict[str, Any]]) -> "pd.DataFrame":
    """Rows of checked notes as one pandas frame with the worker output schema."""
    import pandas as pd

    schema, cols = _columns(seqs, results)
    dtypes = {"int64": "Int64", "int32": "Int32", "double": "Float64", "bool": "boolean"}
    return pd.DataFrame({f.name: pd.array(cols[f.name], dtype=dtypes.get(str(f.type), object)) for f in schema})


def _batch(seqs: list[int], results: list[dict[str, Any]]) -> "pa.RecordBatch":
    """Rows of checked notes as one Arrow record batch with the worker output schema (no pandas)."""
    import pyarrow as pa

    schema, cols = _columns(seqs, results)
    return pa.RecordBatch.from_pydict(cols, schema=schema)


def _checked_frames(seqs: list[int], tasks: list[Task], redact: bool) -> Iterator["pd.DataFrame"]:
    for i in range(0, len(tasks), WORKER_CHUNK):
        part = tasks[i:i + WORKER_CHUNK]
        yield _frame(seqs[i:i + WORKER_CHUNK], check_tasks(part, redact))


#: The fields of :class:`notechecker.batch.Task` as columns (``warnings`` as a JSON list).
TASK_COLUMNS = ("note_id", "source", "text", "codes", "surgeon", "site", "date", "month", "error_code", "error",
                "warnings")


def task_batches(batches: Iterator["pa.RecordBatch"], redact: bool) -> Iterator["pa.RecordBatch"]:
    """mapInArrow function of the scan engine: tasks read on the driver (string columns) -> rows."""
    _ready()
    for batch in batches:
        data = batch.to_pydict()
        seqs = data["_seq"]
        tasks = []
        for i in range(batch.num_rows):
            d = {k: data[k][i] for k in TASK_COLUMNS}
            d["warnings"] = tuple(json.loads(d["warnings"] or "[]"))
            for k in ("surgeon", "site", "date", "month", "error_code", "error"):
                d[k] = d[k] or ""
            tasks.append(Task(**d))
        for i in range(0, len(tasks), WORKER_CHUNK):
            yield _batch(seqs[i:i + WORKER_CHUNK], check_tasks(tasks[i:i + WORKER_CHUNK], redact))


def row_frames(frames: Iterator["pd.DataFrame"], header: list[str], columns: Columns, renames: dict[int, str],
                redact: bool) -> Iterator["pd.DataFrame"]:
    """mapInPandas function of :func:`check`: rows of the user's DataFrame -> tasks -> rows.

    Each row becomes a task exactly as the local engine reads a pandas DataFrame (row
    numbers are ``_seq + 1``); ``renames`` gives the new id of each duplicate (by ``_seq``).
    """
    from notechecker.batch.tables import TableRows

    _ready()
    table = TableRows("<dataframe>", "dataframe", header, columns)
    for pdf in frames:
        names = [c for c in pdf.columns if c != "_seq"]
        seqs = [int(s) for s in pdf["_seq"]]
        tasks = []
        for seq, values in zip(seqs, pdf[names].itertuples(index=False, name=None)):
            task = table.task(seq + 1, {k: _value(v) for k, v in zip(names, values)})
            new = renames.get(seq)
            if new is not None:
                task = replace(task, note_id=new, warnings=task.warnings + (_renamed(task, new),))
            tasks.append(task)
        yield from _checked_frames(seqs, tasks, redact)


def _renamed(task: Task, new: str) -> str:
    """The warning :func:`notechecker.batch.inputs.unique_ids` gives a renamed duplicate."""
    return f"duplicate note id {task.note_id!r} ({task.source}) renamed {new!r}"


def effective_ids(frames: Iterator["pd.DataFrame"], header: list[str], columns: Columns
                   ) -> Iterator["pd.DataFrame"]:
    """(``_seq``, the note id the local reader gives the row) for the duplicate-id pass."""
    import pandas as pd

    from notechecker.batch.tables import TableRows

    table = TableRows("<dataframe>", "dataframe", header, columns)
    for pdf in frames:
        seqs = [int(s) for s in pdf["_seq"]]
        ids = []
        for seq, value in zip(seqs, pdf[table.id_col]):
            ids.append(_note_id(_value(value), seq))
        yield pd.DataFrame({"_seq": pd.array(seqs, dtype="Int64"), "_id": pd.array(ids, dtype=object)})


def _note_id(value: Any, seq: int) -> str:
    from notechecker.batch.task import cell_str

    return cell_str(value) or f"dataframe:{seq + 1}"



"""Apache Spark: the batch check on a cluster (``pip install notechecker[spark]``).

Two ways in:

* ``notechecker scan ... --engine spark [--spark-master URL]``: the local engine's inputs,
  options, checkpoints and output files; the notes are read on the driver by the same
  readers, checked on the executors, and the three tables written on the driver by the same
  writers, in the same order (the files are the same bytes as the local engine's).
* :func:`check` for notebooks: a Spark DataFrame with a text column in, the findings,
  notes and codes Spark DataFrames out, computed where the data lives.

The check runs in ``mapInArrow`` (``scan``) or ``mapInPandas`` (:func:`check`), the worker
side in :mod:`notechecker.spark.workers`: each Python worker loads the pipeline once (a module
cache, kept while Spark reuses the worker) and returns plain rows with the columns
and types of :data:`notechecker.batch.schema.TABLES` (the Spark schemas are derived from
:func:`notechecker.batch.schema.arrow_schema`, not copied). A note that cannot be checked becomes
an error row in the notes table with the local engine's code (E101, E104, E201, E306 ...);
the job goes on.

Under ``spark-submit`` the application file is ``notechecker/__main__.py`` (see the README).
"""
from __future__ import annotations

import functools
import json
import os
import sys
import warnings
from collections import deque
from typing import TYPE_CHECKING, Iterable, Iterator, NamedTuple

from notechecker.batch.schema import TABLES
from notechecker.batch.task import Columns, Task
from notechecker.spark.workers import (KEY_COLUMNS, TASK_COLUMNS, WORKER_CHUNK, effective_ids,  # noqa: F401
                                       row_frames, rows_schema, table_schema, task_batches)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

#: Notes per Spark partition in a ``scan --engine spark`` wave (tuned in benchmarks/bench_spark.py).
NOTES_PER_PARTITION = 512
#: Most notes in one wave whatever the cores (the driver holds two waves of text at a time).
MAX_WAVE_NOTES = 50_000
_PANDAS_WARNING = "PySpark does not yet fully support pandas"


class SparkTables(NamedTuple):
    """The three tables of :func:`check` as Spark DataFrames."""

    findings: "DataFrame"
    notes: "DataFrame"
    codes: "DataFrame"


# --------------------------------------------------------------------------- sessions
def session(master: str | None = None, app_name: str = "notechecker") -> "SparkSession":
    """The active SparkSession, or a new one configured as ``spark-submit`` would configure it.

    ``spark-submit`` options, ``spark-defaults.conf``, ``PYSPARK_SUBMIT_ARGS`` and the
    ``SPARK_*`` environment apply; ``master`` (``--spark-master``) overrides the master
    they give, and without any the master is ``local[*]``. In local mode the driver binds
    to 127.0.0.1, the web UI is off and the workers run this Python (unless configured).
    """
    warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if "PYSPARK_GATEWAY_PORT" not in os.environ and (master or configured_master() or "local").startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # a JVM of ours in local mode: loopback only
    # launches the JVM through spark-submit (or joins the one spark-submit started), so that
    # SparkConf() below holds spark-submit's options and spark-defaults.conf
    SparkContext._ensure_initialized()
    conf = SparkConf()
    if master:
        conf.setMaster(master)
    if not conf.contains("spark.master"):
        conf.setMaster("local[*]")
    if conf.get("spark.app.name", "pyspark-shell") == "pyspark-shell":  # pyspark's own default name
        conf.setAppName(app_name)
    conf.set("spark.ui.showConsoleProgress", "false")  # scan draws its own progress bar (--progress)
    # the plan of the rows is wide; Spark's own warnings would mix with scan's lines on stderr
    defaults = {"spark.sql.debug.maxToStringFields": "100", "spark.log.level": "ERROR"}
    if conf.get("spark.master").startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers import notechecker from here
        defaults.update({"spark.ui.enabled": "false", "spark.driver.host": "127.0.0.1",
                         "spark.driver.bindAddress": "127.0.0.1"})
    for key, value in defaults.items():
        if not conf.contains(key):
            conf.set(key, value)
    return SparkSession.builder.config(conf=conf).getOrCreate()


def configured_master() -> str | None:
    """The master ``PYSPARK_SUBMIT_ARGS`` or ``spark-defaults.conf`` name before the JVM starts (None: none)."""
    import shlex

    args = shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", ""))
    for i, a in enumerate(args):
        if a == "--master" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--master="):
            return a.split("=", 1)[1]
    conf_dir = os.environ.get("SPARK_CONF_DIR") or (os.path.join(os.environ["SPARK_HOME"], "conf")
                                                     if os.environ.get("SPARK_HOME") else None)
    if conf_dir:
        try:
            with open(os.path.join(conf_dir, "spark-defaults.conf"), encoding="utf-8") as fh:
                for line in fh:
                    parts = line.split(None, 1)
                    if len(parts) == 2 and parts[0] == "spark.master":
                        return parts[1].strip()
        except OSError:
            pass
    return None


def parallelism(spark: "SparkSession") -> int:
    """Cores Spark runs tasks on (``spark.default.parallelism``; local[N]: N)."""
    try:
        return max(1, int(spark.sparkContext.defaultParallelism))
    except Exception:  # Spark Connect has no SparkContext
        return max(1, int(spark.conf.get("spark.default.parallelism", "2")))


# --------------------------------------------------------------------------- scan --engine spark
class SparkEngine:
    """The checking step of :func:`notechecker.batch.run` on Spark.

    Chunks of tasks (read on the driver) are sent in waves of ``partitions x
    notes_per_partition`` notes (at most :data:`MAX_WAVE_NOTES`), one partition per slice,
    while the next wave is already queued (so no core idles at a wave's end); each wave's
    rows come back as Arrow and are handed to ``run`` per chunk, in input order.
    """

    def __init__(self, spark: "SparkSession", partitions: int | None = None,
                 notes_per_partition: int = NOTES_PER_PARTITION, in_flight: int = 2):
        self.spark = spark
        self.partitions = partitions or parallelism(spark)
        self.notes_per_partition = max(1, notes_per_partition)
        self.in_flight = max(1, in_flight)
        self.tag = f"notechecker-scan-{os.getpid()}-{id(self)}"

    def __call__(self, chunks: Iterable[list[Task]], redact: bool
                 ) -> Iterator[tuple[list[Task], list[dict[str, list[dict]]], None]]:
        from concurrent.futures import ThreadPoolExecutor

        window: deque = deque()
        with ThreadPoolExecutor(self.in_flight, thread_name_prefix="notechecker-spark") as ex:
            try:
                for wave in self._waves(chunks):
                    window.append((wave, ex.submit(self._run, wave, redact)))
                    if len(window) >= self.in_flight:
                        yield from self._settle(*window.popleft(), redact)
                while window:
                    yield from self._settle(*window.popleft(), redact)
            finally:
                if window:  # interrupted (Ctrl-C, a failed write): stop the waves still running
                    for _wave, fut in window:
                        fut.cancel()
                    try:
                        self.spark.sparkContext.cancelJobsWithTag(self.tag)
                    except Exception:  # pragma: no cover - Spark Connect: no SparkContext
                        pass

    def _waves(self, chunks: Iterable[list[Task]]) -> Iterator[list[list[Task]]]:
        size = min(self.partitions * self.notes_per_partition, max(self.partitions, MAX_WAVE_NOTES))
        wave: list[list[Task]] = []
        n = 0
        for chunk in chunks:
            wave.append(chunk)
            n += len(chunk)
            if n >= size:
                yield wave
                wave, n = [], 0
        if wave:
            yield wave

    def _run(self, wave: list[list[Task]], redact: bool) -> "pa.Table":
        try:  # thread-local: the jobs of this scan, to cancel them if it is interrupted
            self.spark.sparkContext.addJobTag(self.tag)
        except Exception:  # pragma: no cover - Spark Connect: no SparkContext
            pass
        tasks = [t for chunk in wave for t in chunk]
        return self._collect(tasks, redact, self.partitions)

    def _collect(self, tasks: list[Task], redact: bool, partitions: int) -> "pa.Table":
        import pyarrow as pa

        per = -(-len(tasks) // max(1, min(partitions, len(tasks))))  # ceil: at most `partitions` slices
        schema = pa.schema([pa.field("_seq", pa.int64())] + [pa.field(c, pa.string()) for c in TASK_COLUMNS])
        batches = []
        for start in range(0, len(tasks), per):
            part = tasks[start:start + per]
            data = {"_seq": list(range(start, start + len(part)))}
            for c in TASK_COLUMNS:
                data[c] = ([json.dumps(list(t.warnings)) for t in part] if c == "warnings"
                           else [getattr(t, c) for t in part])
            batches.append(pa.RecordBatch.from_pydict(data, schema=schema))
        # one partition per record batch (createDataFrame slices an Arrow table by batch)
        df = self.spark.createDataFrame(pa.Table.from_batches(batches, schema))
        # Arrow in, Arrow out: the tasks are strings and the rows plain values (no pandas frame)
        out = df.mapInArrow(functools.partial(task_batches, redact=redact), rows_schema())
        return out.toArrow()

    def _settle(self, wave: list[list[Task]], fut, redact: bool):
        try:
            table = fut.result()
        except Exception as exc:  # a task failed beyond Spark's retries (e.g. a worker died)
            if not _spark_error(exc):
                raise
            yield from self._rescue(wave, redact)
            return
        yield from _per_chunk(wave, table)

    def _rescue(self, wave: list[list[Task]], redact: bool):
        """Check a failed wave's notes one by one; a note whose task fails again is an E202 error row."""
        from notechecker.batch.rows import error_rows

        for chunk in wave:
            rows = []
            for t in chunk:
                try:
                    _chunk, one, _none = next(_per_chunk([[t]], self._collect([t], redact, 1)))
                    rows.append(one[0])
                except Exception as exc:
                    if not _spark_error(exc):
                        raise
                    rows.append(error_rows(t, "E202", f"{t.source}: the Spark task checking this note failed"))
            yield chunk, rows, None


def _spark_error(exc: BaseException) -> bool:
    """Whether ``exc`` is Spark's report of a failed job (not a bug on the driver)."""
    return type(exc).__module__.split(".")[0] in ("pyspark", "py4j")


def _per_chunk(wave: list[list[Task]], table: "pa.Table"):
    """Rows of a wave's Arrow table regrouped per note, yielded per chunk in input order."""
    table = table.sort_by([("_seq", "ascending"), ("_table", "ascending"), ("_row", "ascending")])
    data = table.to_pydict()
    n = sum(len(c) for c in wave)
    per = [{name: [] for name in TABLES} for _ in range(n)]
    cols = {name: TABLES[name] for name in TABLES}
    seqs, names = data["_seq"], data["_table"]
    for i in range(table.num_rows):
        name = names[i]
        per[seqs[i]][name].append({c: data[c][i] for c in cols[name]})
    start = 0
    for chunk in wave:
        yield chunk, per[start:start + len(chunk)], None
        start += len(chunk)


# --------------------------------------------------------------------------- notebooks
def check(df: "DataFrame", *, text_column: str = "text", id_column: str = "note_id", codes_column: str | None = None,
          surgeon_column: str | None = None, date_column: str | None = None, site_column: str | None = None,
          redact_evidence: bool = False, ordered: bool = False, persist: bool = True) -> SparkTables:
    """Check every row of a Spark DataFrame: the findings, notes and codes tables as Spark DataFrames.

    Columns as in ``scan``: a text column (strings, or bytes decoded like files), an
    optional id column (default ``note_id``; else ``dataframe:ROW``), billed codes
    (strings like ``22852, 22853 x2`` or arrays), surgeon, date and site columns (unnamed
    ones are looked up under their usual names). Every row gives one row of the notes
    table; a row that cannot be checked is an error row there (E101 no text, E104 too
    long, E306 not text, E201 checking failed, ...), never a failed job. Duplicate ids
    are renamed ``ID#2``, ``ID#3`` in row order, with a warning, as ``scan`` does.

    The rows are computed once and persisted (``persist=False`` recomputes them for
    each table); ``ordered=True`` sorts each table in input order as ``scan`` writes
    it. Row numbers follow the DataFrame's order, so read it from files or tables (or
    persist it) to give the same numbers each time.
    """
    warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)
    from pyspark.sql import functions as F
    from pyspark.sql.internal import InternalFunction

    from notechecker.batch.rows import error_rows
    from notechecker.batch.tables import TableRows
    from notechecker.batch.task import error_task
    from notechecker.errors import InputError

    spark = df.sparkSession
    columns = Columns(text=text_column, id=id_column, codes=codes_column, surgeon=surgeon_column, date=date_column,
                      site=site_column)
    header = [str(c) for c in df.columns]
    table = TableRows("<dataframe>", "dataframe", header, columns)
    problem = table.missing_text_column()
    if problem is None and df.isEmpty():
        problem = InputError("E304", "<dataframe>: no rows (an empty table)")
    if problem is not None:
        return _tables_of(spark, error_rows(error_task("dataframe", "<dataframe>", problem)))
    wanted = list(dict.fromkeys(c for c in (table.text_col, table.id_col, *table.meta_cols.values()) if c))
    seq_df = df.select(InternalFunction.distributed_sequence_id().alias("_seq"), *[F.col(f"`{c}`") for c in wanted])
    renames = _duplicate_renames(seq_df, header, columns, table.id_col)
    rows = seq_df.mapInPandas(functools.partial(row_frames, header=header, columns=columns, renames=renames,
                                                redact=redact_evidence), rows_schema())
    if persist:
        from pyspark import StorageLevel

        try:
            rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
        except Exception:  # pragma: no cover - a runtime without persist (some serverless ones)
            pass
    return SparkTables(**{name: _table_of(rows, name, ordered) for name in SparkTables._fields})


def _duplicate_renames(seq_df: "DataFrame", header: list[str], columns: Columns, id_col: str | None
                       ) -> dict[int, str]:
    """``{_seq: new id}`` for the second and later rows with one note id (a pass over the ids only)."""
    if id_col is None:  # ids are dataframe:ROW, unique
        return {}
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ids = seq_df.select("_seq", F.col(f"`{id_col}`")).mapInPandas(
        functools.partial(effective_ids, header=header, columns=columns), "_seq long, _id string")
    k = F.row_number().over(Window.partitionBy("_id").orderBy("_seq"))
    dups = ids.withColumn("_k", k).where(F.col("_k") > 1).collect()
    return {int(r["_seq"]): f"{r['_id']}#{int(r['_k'])}" for r in dups}


def _table_of(rows: "DataFrame", name: str, ordered: bool) -> "DataFrame":
    from pyspark.sql import functions as F

    part = rows.where(F.col("_table") == name)
    if ordered:
        part = part.orderBy("_seq", "_row")
    return part.select(*[F.col(f.name).cast(f.dataType) for f in table_schema(name).fields])


def _tables_of(spark: "SparkSession", rows: dict[str, list[dict]]) -> SparkTables:
    frames = {}
    for name in SparkTables._fields:
        schema = table_schema(name)
        frames[name] = spark.createDataFrame([tuple(r[c] for c in TABLES[name]) for r in rows[name]], schema)
    return SparkTables(**frames)


def to_pandas(sdf: "DataFrame", name: str) -> "pd.DataFrame":
    """A Spark table of :func:`check` as the pandas DataFrame ``scan`` collects (same columns and dtypes)."""
    from notechecker.batch.schema import to_frame

    return to_frame(name, sdf.toArrow().to_pylist())


__all__ = ["check", "session", "SparkEngine", "SparkTables", "table_schema", "rows_schema", "to_pandas"]

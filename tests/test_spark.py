"""Apache Spark in local mode: `scan --engine spark` and `notechecker.spark.check` give the local engine's tables.

Skipped, with the reason, where pyspark is not installed or there is no Java to run it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("pyspark", reason="pyspark not installed (pip install 'notechecker[spark]')")
if not (shutil.which("java") or (os.environ.get("JAVA_HOME") and Path(os.environ["JAVA_HOME"], "bin", "java").exists())):
    pytest.skip("no Java on this machine (java not on PATH, no JAVA_HOME): Spark cannot start; install Java 17",
                allow_module_level=True)

from notechecker import batch  # noqa: E402
from notechecker.batch import TABLES, output_paths, packed, read_table, run  # noqa: E402
from notechecker.cli import app  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
NOTES = Path(__file__).resolve().parents[1] / "sample_notes"
KEYS = {"findings": ["note_id", "code", "item_id"], "codes": ["note_id", "code"], "notes": ["note_id"]}
runner = CliRunner()


def path(prefix: str) -> Path:
    return next(NOTES.glob(f"{prefix}_*.txt"))


def text(prefix: str) -> str:
    return path(prefix).read_bytes().decode("utf-8")


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("notechecker-tests")
               .config("spark.sql.shuffle.partitions", "2").config("spark.default.parallelism", "2")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def scan(*args):
    return runner.invoke(app, ["scan", *[str(a) for a in args], "--no-progress"])


def assert_same_files(a: Path, b: Path) -> None:
    for name, pa_, pb in zip(TABLES, output_paths(a).values(), output_paths(b).values()):
        assert pa_.read_bytes() == pb.read_bytes(), f"{name}: {pa_} and {pb} differ"


def test_scan_engine_spark_writes_the_local_tables(spark, tmp_path):
    local, sp = tmp_path / "local.parquet", tmp_path / "spark.parquet"
    a = scan(NOTES, "-o", local)
    b = scan(NOTES, "-o", sp, "--engine", "spark")
    assert a.exit_code == b.exit_code == 0, b.output
    assert a.stderr.splitlines()[-2] == b.stderr.splitlines()[-2]  # the summary line
    assert_same_files(local, sp)  # same rows, order, types: the same bytes
    for name in TABLES:
        t = read_table(output_paths(sp)[name])
        assert list(t.columns) == list(TABLES[name])
        pd.testing.assert_series_equal(t.dtypes, read_table(output_paths(local)[name]).dtypes)
    notes = read_table(output_paths(sp)["notes"])
    assert len(notes) == len(list(NOTES.glob("*.txt"))) and (notes["error_code"] == "").all()
    assert len(read_table(sp)) > 1000


def test_scan_engine_spark_error_rows_duplicates_and_chunks(spark, tmp_path):
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(path("sn08"), folder / "a.txt")
    shutil.copy(path("sn06"), folder / "sub" / "a.txt")  # the same id in a subfolder
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02ELF" * 100)
    (folder / "cp1252.txt").write_bytes(text("sn20").replace("\r\n", "\n").encode("utf-8") + b" caf\xe9\n")
    pd.DataFrame({"note_id": ["c1", "c2", "c1"], "text": [text("sn10"), None, text("sn22")],
                  "codes": ["22855", "22852", "22856"], "surgeon": ["Dr Quill", "Dr Vale", "Dr Quill"],
                  "date": ["2024-06-12", "06/13/2024", "someday"]}).to_csv(tmp_path / "t.csv", index=False)
    with open(tmp_path / "t.jsonl", "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"note_id": "j1", "text": text("sn12")}) + "\n")
        fh.write('{"note_id": "j2", "text": "SECRET unterminated\n')
    inputs = [folder, tmp_path / "t.csv", tmp_path / "t.jsonl"]
    local, sp = tmp_path / "local.csv", tmp_path / "spark.csv"
    a = scan(*inputs, "-o", local, "--chunk-size", "3")
    b = scan(*inputs, "-o", sp, "--chunk-size", "3", "--engine", "spark")
    assert a.exit_code == b.exit_code == 1
    # the same warnings, errors and summary (duplicate ids are seen earlier: Spark reads a wave ahead)
    assert sorted(a.stderr.replace(str(local.with_suffix("")), "R").splitlines()) == sorted(
        line for line in b.stderr.replace(str(sp.with_suffix("")), "R").splitlines() if not line.startswith("spark: "))
    assert "SECRET" not in b.stderr
    assert_same_files(local, sp)
    notes = read_table(output_paths(sp)["notes"]).set_index("note_id")
    assert notes["error_code"].to_dict() == {
        "a": "", "a#2": "", "binary": "E103", "cp1252": "", "empty": "E101", "c1": "", "c2": "E101", "c1#2": "",
        "j1": "", "t.jsonl:2": "E303"}
    assert "duplicate note id 'c1'" in notes.loc["c1#2", "warning"]
    assert "cp1252" in notes.loc["cp1252", "warning"]


def test_scan_engine_spark_resumes_a_checkpoint(spark, tmp_path):
    inputs = [path(p) for p in ("sn08", "sn06", "sn05", "sn12", "sn20")]
    local, sp = tmp_path / "local.jsonl", tmp_path / "spark.jsonl"
    assert scan(*inputs, "-o", local, "--chunk-size", "2").exit_code == 0
    # an interrupted Spark scan: its first chunk is in the checkpoint, the rest is not
    from notechecker.spark import SparkEngine

    class Interrupted(SparkEngine):
        def __call__(self, chunks, redact):
            for i, item in enumerate(super().__call__(chunks, redact)):
                if i == 1:
                    raise KeyboardInterrupt
                yield item

    with pytest.raises(KeyboardInterrupt):
        run(inputs, sp, chunk_size=2, engine=Interrupted(spark))
    assert (batch.checkpoint_dir(sp) / "chunk-000000.json").is_file()
    res = scan(*inputs, "-o", sp, "--chunk-size", "2", "--engine", "spark", "--resume")
    assert res.exit_code == 0, res.output
    assert "resumed: 2 notes from the checkpoint, 3 checked now" in res.stderr
    assert_same_files(local, sp)


def test_a_failed_spark_wave_is_checked_note_by_note(spark, tmp_path, monkeypatch):
    from pyspark.errors import PythonException

    from notechecker.spark import SparkEngine

    inputs = [path(p) for p in ("sn08", "sn06", "sn05")]
    local = tmp_path / "local.csv"
    assert scan(*inputs, "-o", local).exit_code == 0
    engine = SparkEngine(spark)
    real = engine._collect
    doomed = path("sn06").stem

    def flaky(tasks, redact, partitions):
        if len(tasks) > 1 or tasks[0].note_id == doomed:  # the wave fails, then sn06 alone fails again
            raise PythonException("a worker died")
        return real(tasks, redact, partitions)

    monkeypatch.setattr(engine, "_collect", flaky)
    sp = tmp_path / "spark.csv"
    summary = run(inputs, sp, engine=engine)
    assert (summary.notes, summary.errors) == (3, 1)
    notes = read_table(output_paths(sp)["notes"]).set_index("note_id")
    assert notes.loc[doomed, "error_code"] == "E202" and "Spark task" in notes.loc[doomed, "error"]
    ok = read_table(output_paths(local)["findings"])
    got = read_table(output_paths(sp)["findings"])
    pd.testing.assert_frame_equal(got, ok[ok["note_id"] != doomed].reset_index(drop=True))


# --------------------------------------------------------------------------- notechecker.spark.check
ROWS_SCHEMA = "note_id string, text string, codes string, surgeon string, date string, site string"


def note_rows() -> list[tuple]:
    rows = [(p.stem, p.read_bytes().decode("utf-8"), None, None, None, "North") for p in sorted(NOTES.glob("*.txt"))]
    rows[0] = (rows[0][0], rows[0][1], "22855, 22852", "Dr. Ada Quill, MD", "06/13/2024", "South")
    rows += [
        ("blank", "   \n ", None, None, None, None),            # E101
        ("null", None, "22852", None, None, None),               # E101
        (rows[7][0], rows[7][1], "22855", None, "2024-02-30", None),  # a duplicate id, a date that is none
        (None, text("sn12"), None, "Dr Vale", "2024-06-12", None),    # no id: dataframe:ROW
        ("long", "x " * (batch.MAX_CHARS // 2 + 1), None, None, None, None),  # E104
    ]
    return rows


def test_check_dataframe_gives_the_local_tables(spark):
    from notechecker.spark import check, table_schema, to_pandas

    rows = note_rows()
    sdf = spark.createDataFrame(rows, ROWS_SCHEMA)  # two partitions (local[2])
    local = run(pd.DataFrame(rows, columns=[c.split()[0] for c in ROWS_SCHEMA.split(", ")]), collect=True).frames
    tables = check(sdf, ordered=True)
    for name in TABLES:
        got = getattr(tables, name)
        assert got.schema == table_schema(name)
        assert got.columns == list(TABLES[name])
        pd.testing.assert_frame_equal(to_pandas(got, name), local[name])
    notes = local["notes"].set_index("note_id")
    assert notes.loc[["blank", "null", "long"], "error_code"].tolist() == ["E101", "E101", "E104"]
    assert f"{rows[7][0]}#2" in notes.index and f"dataframe:{len(rows) - 1}" in notes.index
    # unordered (the default): the same rows once sorted by their keys
    free = check(sdf)
    for name in TABLES:
        a = to_pandas(getattr(free, name), name).sort_values(KEYS[name]).reset_index(drop=True)
        b = local[name].sort_values(KEYS[name]).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)


def test_check_bad_tables_are_error_rows_not_failed_jobs(spark):
    from pyspark.sql import functions as F

    from notechecker.spark import check, to_pandas

    body = spark.createDataFrame([("n1", text("sn08"))], "note_id string, body string")
    notes = to_pandas(check(body).notes, "notes")
    assert notes[["note_id", "error_code"]].values.tolist() == [["dataframe", "E302"]]
    assert "no text column 'text'" in notes.loc[0, "error"]
    ok = to_pandas(check(body, text_column="body").notes, "notes")
    assert ok[["note_id", "error_code"]].values.tolist() == [["n1", ""]]

    empty = check(body.where(F.lit(False)), text_column="body")
    assert to_pandas(empty.notes, "notes")["error_code"].tolist() == ["E304"]
    assert empty.findings.count() == 0 and empty.codes.count() == 0

    numbers = check(spark.createDataFrame([("n1", 5), ("n2", None)], "note_id string, text int"))
    assert to_pandas(numbers.notes, "notes")["error_code"].tolist() == ["E306", "E101"]

    # bytes are decoded as files are (here cp1252, with a warning); codes may be arrays, dates dates
    raw = text("sn08").encode("utf-8") + b" caf\xe9"
    mixed = spark.createDataFrame([("b1", bytearray(raw), ["22855", "22852"])],
                                  "note_id string, text binary, codes array<string>")
    mixed = mixed.withColumn("date", F.to_date(F.lit("2024-06-12")))
    got = to_pandas(check(mixed).notes, "notes")
    assert got[["note_id", "error_code", "billed_codes", "date", "month"]].values.tolist() == [
        ["b1", "", "22855 22852", "2024-06-12", "2024-06"]]
    assert "cp1252" in got.loc[0, "warning"]


def test_spark_schemas_are_batch_schemas(spark):
    from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType

    from notechecker.spark import rows_schema, table_schema

    for name, cols in TABLES.items():
        schema = table_schema(name)
        assert schema.fieldNames() == list(cols)
        for f in schema.fields:
            want = (LongType() if f.name in batch.schema.INT_COLUMNS else DoubleType() if f.name in batch.schema.FLOAT_COLUMNS
                    else BooleanType() if f.name in batch.schema.BOOL_COLUMNS else StringType())
            assert f.dataType == want, f.name
    union = rows_schema()
    assert union.fieldNames()[:3] == ["_seq", "_table", "_row"]
    assert set(union.fieldNames()[3:]) == {c for cols in TABLES.values() for c in cols}


def test_session_uses_the_active_one_and_engine_options(spark, tmp_path):
    from notechecker.spark import parallelism, session

    assert session() is spark and session("local[1]") is spark
    assert parallelism(spark) == 2
    res = scan(path("sn08"), "-o", tmp_path / "r.csv", "--engine", "flink")
    assert res.exit_code == 2 and "--engine must be local or spark" in res.stderr
    res = scan(path("sn08"), "-o", tmp_path / "r.csv", "--spark-master", "local[2]")
    assert res.exit_code == 2 and "--spark-master needs --engine spark" in res.stderr


def test_spark_submit_configuration_is_honoured(spark, tmp_path):
    """A fresh process, as spark-submit runs notechecker/__main__.py: the master and name come from
    PYSPARK_SUBMIT_ARGS (no --spark-master), the session is stopped at the end, the tables are local's."""
    local, sp = tmp_path / "local.csv", tmp_path / "spark.csv"
    assert scan(path("sn08"), path("sn20"), "-o", local).exit_code == 0
    env = {**os.environ, "PYSPARK_SUBMIT_ARGS": "--master local[1] --name nc-submit pyspark-shell",
           "SPARK_LOCAL_IP": "127.0.0.1"}
    res = subprocess.run([sys.executable, "-m", "notechecker", "scan", str(path("sn08")), str(path("sn20")),
                          "-o", str(sp), "--engine", "spark", "--no-progress"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "spark: master local[1], 1 partitions a wave, app nc-submit" in res.stderr
    assert_same_files(local, sp)


def test_configured_master_read_before_the_jvm_starts(tmp_path, monkeypatch):
    """Whether our own JVM will run in local mode (then it binds to loopback only)."""
    from notechecker.spark import configured_master

    monkeypatch.delenv("SPARK_HOME", raising=False)
    monkeypatch.delenv("SPARK_CONF_DIR", raising=False)
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--name x --master yarn pyspark-shell")
    assert configured_master() == "yarn"
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--master=spark://head:7077 pyspark-shell")
    assert configured_master() == "spark://head:7077"
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "pyspark-shell")
    assert configured_master() is None
    (tmp_path / "spark-defaults.conf").write_text("# comment\nspark.master   k8s://https://api:6443\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert configured_master() == "k8s://https://api:6443"


def test_the_workers_record_batch_holds_every_row_cell_by_cell():
    """The rows a Spark worker returns, built table by table from whole columns, are the rows of the
    checked notes read cell by cell (a column of another table: None), in order, with their keys."""
    from notechecker.batch.task import Task
    from notechecker.batch.workers import check_tasks
    from notechecker.spark import workers

    tasks = [Task(note_id=p.stem, source=p.name, text=p.read_text(encoding="utf-8"))
             for p in sorted(NOTES.glob("*.txt"))[:8]]
    tasks.append(Task(note_id="bad", source="bad.txt", error_code="E101", error="bad.txt: empty"))
    results = check_tasks(tasks)  # a checked note's findings packed (batch/packed.py), the other tables rows
    rows = packed.unpacked(results)
    assert sum(len(r["findings"]) for r in rows) > 50 and any(r["findings"].__class__ is dict for r in results)
    seqs = [3 * i + 1 for i in range(len(results))]
    got = workers._batch(seqs, results).to_pylist()
    names = workers.rows_arrow_schema().names[len(workers.KEY_COLUMNS):]
    want = [{"_seq": seq, "_table": name, "_row": j, **{c: row.get(c) for c in names}}
            for seq, result in zip(seqs, rows) for name in TABLES for j, row in enumerate(result[name])]
    assert got == want

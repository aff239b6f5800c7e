"""A scan's rows on their way to the tables: the chunk files of the checkpoint and the rows a worker
sends back are what the plain encoding gives (``json.dumps`` of the whole, rows decoded again from
it), on rows of real notes and on made-up rows of every kind of cell."""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import enum
import hashlib
import io
import json
import math

import pytest

from notechecker.batch import checkpoint, check_tasks, iter_tasks
from notechecker.batch.checkpoint import Checkpoint, body_checksum, chunk_bytes, chunk_digest, shipped
from notechecker.batch import sinks
from notechecker.batch.rows import error_rows
from notechecker.batch.schema import TABLES
from notechecker.batch.task import Task
from tests.conftest import ROOT

NOTES = sorted((ROOT / "sample_notes").glob("*.txt"))


def _plain_bytes(tasks, rows) -> bytes:
    """The chunk file as it was first written: the body encoded for its checksum, then again whole."""
    body = {"digest": _plain_digest(tasks), "notes": len(tasks), "rows": rows}
    return json.dumps({**body, "checksum": body_checksum(body)}, allow_nan=False).encode()


def _plain_digest(tasks) -> str:
    return hashlib.sha256(json.dumps([dataclasses.astuple(t) for t in tasks]).encode()).hexdigest()


def _decoded(rows):
    """The rows as a resume reads them back, with every cell's type beside its value."""
    return [{name: [[(k, type(v), v) for k, v in r.items()] for r in table] for name, table in note.items()}
            for note in rows]


@pytest.fixture(scope="module")
def real_chunk(pipeline):
    tasks = list(iter_tasks(NOTES[:12]))
    tasks.append(Task(note_id="bad", source="bad.txt", error_code="E101", error="bad.txt: empty"))
    tasks.append(Task(note_id="ü-1", source="x.csv:3", text=tasks[0].text, surgeon="Zoë Ñúñez", date="2024-03-01",
                      month="2024-03", warnings=("x.csv row 3: a warning", "another")))
    return tasks, check_tasks(tasks)


def test_chunk_bytes_are_the_plain_encoding_on_real_notes(real_chunk, tmp_path):
    tasks, rows = real_chunk
    assert sum(len(r["findings"]) for r in rows) > 100  # the sample notes' findings, not empty rows
    data = chunk_bytes(tasks, rows)
    assert data == _plain_bytes(tasks, rows)
    assert chunk_digest(tasks) == _plain_digest(tasks)
    ckpt = Checkpoint(tmp_path)
    ckpt.save(0, tasks, rows)
    stored, problem = ckpt.load(0)
    assert problem == "" and stored["rows"] == rows and stored["digest"] == chunk_digest(tasks)


def test_shipped_rows_of_real_notes_are_the_rows_read_back(real_chunk):
    tasks, rows = real_chunk
    sent, data = shipped(tasks, rows)
    assert data == _plain_bytes(tasks, rows)
    assert sent is rows  # every cell plain: not decoded again ...
    assert _decoded(sent) == _decoded(json.loads(data)["rows"])  # ... and the same values of the same types


class _Kind(str, enum.Enum):
    MET = "met"


class _Count(enum.IntEnum):
    ONE = 1


@pytest.mark.parametrize("cell", [(1, 2), ["a"], {"a": 1}, _Kind.MET, _Count.ONE])
def test_a_cell_json_does_not_give_back_as_it_was_is_read_back_from_the_bytes(cell):
    t = Task(note_id="n", source="s", text="x")
    rows = [error_rows(t, "E101", "s: empty")]
    rows[0]["notes"][0]["warning"] = cell
    sent, data = shipped([t], rows)
    assert sent is not rows
    assert sent == json.loads(data)["rows"]
    assert type(sent[0]["notes"][0]["warning"]) is type(json.loads(json.dumps(cell)))
    assert data == _plain_bytes([t], rows)


@pytest.mark.parametrize("cell", ["", "é \u2028 \"quoted\" \\ \n", "\ud800", 0, -1, 2 ** 70, 0.1, -0.0, 1e300, True,
                                  False, None])
def test_plain_cells_are_sent_as_they_are_and_read_back_alike(cell):
    t = Task(note_id="n", source="s", text="x", warnings=("w",))
    rows = [error_rows(t, "E101", "s: empty"), error_rows(t)]
    rows[1]["notes"][0]["chars"] = cell
    sent, data = shipped([t, t], rows)
    assert sent is rows
    assert _decoded(sent) == _decoded(json.loads(data)["rows"])
    assert data == _plain_bytes([t, t], rows)


def test_a_cell_json_cannot_hold_is_refused_as_before():
    t = Task(note_id="n", source="s", text="x")
    rows = [error_rows(t)]
    rows[0]["notes"][0]["completeness"] = math.nan
    with pytest.raises(ValueError):
        shipped([t], rows)
    with pytest.raises(ValueError):
        _plain_bytes([t], rows)


def test_the_worker_and_the_checkpoint_use_the_one_encoding():
    from notechecker.batch import workers

    assert workers.shipped is checkpoint.shipped


# --------------------------------------------------------------------------- the writers of the tables
def _plain_csv(rows, cols) -> str:
    """A CSV table as the sink wrote it cell by cell (the formula guard on every cell)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    writer.writerows([sinks.csv_value(r[c]) for c in cols] for r in rows)
    return buf.getvalue()


def _plain_jsonl(rows, cols) -> str:
    return "".join(json.dumps({c: r[c] for c in cols}, ensure_ascii=False) + "\n" for r in rows)


def _written(tmp_path, fmt: str, rows_per_note) -> dict[str, str]:
    paths = sinks.output_paths(tmp_path / f"out{fmt}")
    with contextlib.ExitStack() as stack:
        sink = sinks.Sink(paths, stack)
        for note in rows_per_note:
            for name in TABLES:
                sink.add(name, note[name])
        sink.close()
    return {name: paths[name].read_bytes().decode("utf-8") for name in TABLES}


def _tricky_rows(t: Task) -> list[dict]:
    """Rows whose cells each take another way through the CSV guard."""
    cells = ["=1+1", "+x", "-x", "@x", "\tx", "\rx", "'quoted", "plain", "", "x\x00=y", "\x00", "é \u2028 \"q\", ;",
             "x\ny", None, True, False, -3, 0, 2.5, -0.5, _Kind.MET, _Count.ONE, (1, 2)]
    out = []
    for cell in cells:
        for col in ("note_id", "warning", "chars", "completeness", "scope", "met"):
            rows = error_rows(t, "E101", "s: empty")
            rows["notes"][0][col] = cell
            out.append(rows)
    return out


def test_csv_and_jsonl_tables_are_the_plain_writers_bytes(real_chunk, tmp_path):
    _tasks, rows = real_chunk
    notes = list(rows) + _tricky_rows(Task(note_id="n", source="s", text="x"))
    for fmt, plain in ((".csv", _plain_csv), (".jsonl", _plain_jsonl)):
        written = _written(tmp_path / fmt[1:], fmt, notes)
        for name, cols in TABLES.items():
            table = [r for note in notes for r in note[name]]
            assert written[name] == plain(table, cols), (fmt, name)


def test_the_csv_guard_still_escapes_every_formula(tmp_path):
    t = Task(note_id="n", source="s", text="x")
    written = _written(tmp_path, ".csv", _tricky_rows(t))["notes"]
    for cell in ("'=1+1", "'+x", "'-x", "'@x", "''quoted"):
        assert cell in written
    ids = sinks.read_table(sinks.output_paths(tmp_path / "out.csv")["notes"])["note_id"].tolist()[::6]
    assert ids[:4] == ["=1+1", "+x", "-x", "@x"]  # read back as they were

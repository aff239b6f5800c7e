"""A scan's rows on their way to the tables: the chunk files of the checkpoint (a table's cells that one
value fills in every row kept once) read back as the rows written, the rows a worker sends back are the
rows a resume reads, and the CSV and JSON Lines writers give the bytes of the cell-by-cell ones; on rows
of real notes and on made-up rows of every kind of cell."""
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

from notechecker.batch import check_tasks, checkpoint, iter_tasks, packed, sinks
from notechecker.batch.checkpoint import Checkpoint, body_checksum, chunk_bytes, chunk_digest, shipped
from notechecker.batch.rows import error_rows
from notechecker.batch.schema import TABLES
from notechecker.batch.task import Task
from tests.conftest import ROOT

NOTES = sorted((ROOT / "sample_notes").glob("*.txt"))


def _typed(rows):
    """Rows with every cell's type beside its value, in the rows' own column order."""
    return [{name: [[(k, type(v), v) for k, v in r.items()] for r in table] for name, table in note.items()}
            for note in rows]


def _read_back(tmp_path, tasks, rows):
    """The rows of chunk 0 as a resume reads them from the checkpoint folder."""
    ckpt = Checkpoint(tmp_path)
    ckpt.save(0, tasks, rows)
    stored, problem = ckpt.load(0)
    assert problem == "" and stored["notes"] == len(tasks) and stored["digest"] == chunk_digest(tasks)
    return packed.unpacked(stored["rows"])


def _well_formed(data: bytes) -> dict:
    """The chunk file is json.dumps of its body with the body's checksum last."""
    chunk = json.loads(data)
    body = {k: v for k, v in chunk.items() if k != "checksum"}
    assert list(chunk) == ["digest", "notes", "rows", "checksum"] and chunk["checksum"] == body_checksum(body)
    assert data == json.dumps({**body, "checksum": body_checksum(body)}, allow_nan=False).encode()
    return chunk


@pytest.fixture(scope="module")
def real_chunk(pipeline):
    tasks = list(iter_tasks(NOTES[:12]))
    tasks.append(Task(note_id="bad", source="bad.txt", error_code="E101", error="bad.txt: empty"))
    tasks.append(Task(note_id="ü-1", source="x.csv:3", text=tasks[0].text, surgeon="Zoë Ñúñez", date="2024-03-01",
                      month="2024-03", warnings=("x.csv row 3: a warning", "another")))
    return tasks, packed.unpacked(check_tasks(tasks))


def test_a_notes_tables_packed_as_built_are_packed_as_their_rows(pipeline):
    """check_tasks packs a checked note's findings and codes as it builds them (batch/rows.py): the same
    tables, chunk bytes and rows as packing its row dicts, on real notes, redacted or not."""
    tasks = list(iter_tasks(NOTES[:12]))
    tasks.append(Task(note_id="ü-1", source="x.csv:3", text=tasks[0].text, surgeon="Zoë Ñúñez", date="2024-03-01",
                      month="2024-03"))
    for redact in (False, True):
        built = check_tasks(tasks, redact)
        assert sum(t["findings"].__class__ is dict for t in built) > 6  # packed as built, not packed afterwards
        assert any(t["codes"].__class__ is dict for t in built)  # a note of two codes or more
        rows = packed.unpacked(built)
        assert packed.packed(built) == packed.packed(rows)
        assert shipped(tasks, built) == shipped(tasks, rows)


class _Name(str):
    pass


@pytest.mark.parametrize("cell", [_Name("Zoë"), 1.5, 0.0])
def test_a_notes_cell_that_is_not_plain_or_a_float_is_packed_as_its_rows_are(pipeline, cell):
    """A note's cell kept once by construction that packing its rows would keep row by row (a float:
    0.0 == -0.0) or read back from the bytes (not plain) is packed as packing the rows packs it."""
    task = list(iter_tasks(NOTES[:1]))[0]
    built = check_tasks([dataclasses.replace(task, site=cell)])
    rows = packed.unpacked(built)
    assert packed.size(built[0]["findings"]) > 1 and rows[0]["findings"][0]["site"] is cell
    assert packed.packed(built) == packed.packed(rows)
    assert shipped([task], built) == shipped([task], rows)


def test_the_chunk_of_real_notes_reads_back_as_written(real_chunk, tmp_path):
    tasks, rows = real_chunk
    assert sum(len(r["findings"]) for r in rows) > 100  # the sample notes' findings, not empty rows
    data = chunk_bytes(tasks, rows)
    chunk = _well_formed(data)
    assert _typed(_read_back(tmp_path, tasks, rows)) == _typed(rows)
    assert _typed(packed.unpacked(chunk["rows"])) == _typed(rows)
    # a note's cells that fill every row of a table (its id, source, provenance ...) are kept once
    many = max(range(len(tasks)), key=lambda i: len(rows[i]["findings"]))
    findings = chunk["rows"][many]["findings"]
    assert len(findings["rows"]) == len(rows[many]["findings"]) > 10
    assert ["note_sha256", rows[many]["findings"][0]["note_sha256"]] in [[findings["keys"][i], v]
                                                                       for i, v in findings["same"]]
    assert data.count(rows[many]["findings"][0]["note_sha256"].encode()) == 3  # findings, codes, notes
    assert len(data) < len(json.dumps(rows)) / 2


def test_the_chunk_digest_is_that_of_the_tasks_fields(real_chunk):
    tasks, _rows = real_chunk
    assert chunk_digest(tasks) == hashlib.sha256(
        json.dumps([dataclasses.astuple(t) for t in tasks]).encode()).hexdigest()


def test_shipped_rows_of_real_notes_are_the_rows_read_back(real_chunk, tmp_path):
    tasks, rows = real_chunk
    sent, data = shipped(tasks, rows)
    assert data == chunk_bytes(tasks, rows)
    assert sent == packed.packed(rows)[0] and _not_decoded(sent)  # every cell plain: packed, not decoded ...
    assert _typed(packed.unpacked(sent)) == _typed(_read_back(tmp_path, tasks, rows))  # ... what a resume reads
    assert _typed(packed.unpacked(sent)) == _typed(rows)


def _not_decoded(notes) -> bool:
    """Packed tables as :func:`packed.packed` makes them (their rows tuples; JSON would give lists)."""
    tables = [t for note in notes for t in note.values() if t.__class__ is dict]
    return bool(tables) and all(r.__class__ is tuple for t in tables for r in t["rows"])


class _Kind(str, enum.Enum):
    MET = "met"


class _Count(enum.IntEnum):
    ONE = 1


@pytest.mark.parametrize("cell", [(1, 2), ["a"], {"a": 1}, _Kind.MET, _Count.ONE])
def test_a_cell_json_does_not_give_back_as_it_was_is_read_back_from_the_bytes(cell, tmp_path):
    t = Task(note_id="n", source="s", text="x")
    rows = [error_rows(t, "E101", "s: empty"), error_rows(t)]
    rows[0]["notes"][0]["warning"] = cell
    sent, data = shipped([t, t], rows)
    assert sent == json.loads(data)["rows"] and not _not_decoded(sent)  # read back from the bytes
    assert _typed(packed.unpacked(sent)) == _typed(_read_back(tmp_path, [t, t], rows))
    assert type(packed.unpacked(sent)[0]["notes"][0]["warning"]) is type(json.loads(json.dumps(cell)))
    _well_formed(data)


def _many_rows(t: Task, col: str, cells: list) -> list[dict]:
    """One note whose notes table has a row per cell, ``col`` holding it (the other cells alike)."""
    rows = error_rows(t, "E101", "s: empty")
    rows["notes"] = [{**rows["notes"][0], col: cell} for cell in cells]
    return [rows]


CELLS = ["", "é \u2028 \"quoted\" \\ \n", "\ud800", 0, -1, 2 ** 70, 0.1, 0.0, -0.0, 1e300, 1, 1.0, True, False, None]


@pytest.mark.parametrize("cell", CELLS)
def test_plain_cells_are_sent_as_they_are_and_read_back_alike(cell, tmp_path):
    t = Task(note_id="n", source="s", text="x", warnings=("w",))
    for rows in ([error_rows(t, "E101", "s: empty"), error_rows(t)], _many_rows(t, "chars", [cell, cell, cell]),
                 _many_rows(t, "chars", [cell, 0, cell])):
        sent, data = shipped([t] * len(rows), rows)
        assert _not_decoded(sent) and _typed(packed.unpacked(sent)) == _typed(rows)
        assert _typed(rows) == _typed(_read_back(tmp_path, [t] * len(rows), rows))
        _well_formed(data)


def test_cells_alike_but_not_the_same_are_kept_apart(tmp_path):
    """1, 1.0 and True are equal in Python, 0.0 and -0.0 too; JSON writes each its own way."""
    t = Task(note_id="n", source="s", text="x")
    for cells in ([1, True, 1.0, 1], [0.0, -0.0, 0.0], [False, 0, 0.0], [None, "", 0]):
        rows = _many_rows(t, "chars", cells)
        assert _typed(_read_back(tmp_path, [t], rows)) == _typed(rows)


def test_tables_whose_rows_differ_in_their_columns_are_kept_as_rows(tmp_path):
    t = Task(note_id="n", source="s", text="x")
    rows = _many_rows(t, "chars", [1, 2, 3])
    table = rows[0]["notes"]
    table[1] = dict(reversed(list(table[1].items())))  # the same columns in another order
    table[2] = {**table[2], "extra": "x"}
    rows[0]["codes"] = [{"a": 1}, {"b": 2}]  # one column each
    sent, data = shipped([t], rows)
    assert sent[0]["notes"] is table and sent[0]["codes"] is rows[0]["codes"]  # kept as their rows
    assert _typed(_read_back(tmp_path, [t], rows)) == _typed(rows)
    _well_formed(data)


def _packed_of(keys, same, rows):
    return {"keys": keys, "same": same, "rows": rows}


ODD_CHUNKS = [
    [],
    [{}],
    [{"findings": [], "codes": [], "notes": []}],
    [{"findings": _packed_of(("a", "b", "c"), [(0, "é\u2028")], [("x", 1.5), (_Name("y"), None)])}],
    [{"findings": _packed_of(("a", "b"), [], [("x", 1)]), "codes": _packed_of(("a", "b"), [], [(True, -0.0)])}],
    [{"findings": _packed_of(["a", "b"], [], [["x", 1]])}],  # read back from JSON: lists, not tuples
    [{"findings": _packed_of(("a", 2), [], [("x", 1)])}],  # a column name JSON makes a string
    [{"findings": {"same": [], "keys": ("a",), "rows": [("x",)]}}],  # another order of the members
    [{"findings": {"keys": ("a",), "same": [], "rows": [("x",)], "more": 1}}],
    [{1: [], "notes": [{"a": 1, 2: "b", None: 3.25}]}],  # names JSON makes strings
    [[{"a": 1}]],  # a note that is not a mapping of tables
    [{"notes": [{"a": (1, 2), "b": {"c": [None, "\ud800"]}}]}],
]


@pytest.mark.parametrize("notes", ODD_CHUNKS)
def test_a_chunks_rows_are_encoded_as_json_dumps_encodes_them(notes):
    """The chunk file's rows, encoded a note and a table at a time (a packed table's columns encoded
    once a process), are the text json.dumps gives, on tables of every shape."""
    for _ in range(2):  # the columns' JSON made, then remembered
        assert checkpoint._rows_json(notes) == json.dumps(notes, allow_nan=False)


@pytest.mark.parametrize("cell, error", [(math.inf, ValueError), (object(), TypeError), (b"x", TypeError)])
def test_a_chunks_cell_json_cannot_hold_raises_as_json_dumps_does(cell, error):
    for notes in ([{"notes": [{"a": cell}]}], [{"findings": _packed_of(("a", "b"), [(0, "x")], [(cell,), (1,)])}]):
        with pytest.raises(error):
            json.dumps(notes, allow_nan=False)
        with pytest.raises(error):
            checkpoint._rows_json(notes)


def test_a_cell_json_cannot_hold_is_refused_as_before():
    t = Task(note_id="n", source="s", text="x")
    rows = [error_rows(t)]
    rows[0]["notes"][0]["completeness"] = math.nan
    with pytest.raises(ValueError):
        shipped([t], rows)


def test_a_chunk_file_not_packed_so_is_unreadable(tmp_path, real_chunk):
    tasks, rows = real_chunk
    ckpt = Checkpoint(tmp_path)
    ckpt.save(0, tasks[:2], rows[:2])
    chunk = json.loads(ckpt.chunk(0).read_bytes())
    body = {k: v for k, v in chunk.items() if k != "checksum"}
    body["rows"][0]["findings"]["rows"][0] = body["rows"][0]["findings"]["rows"][0][:-1]  # a cell short
    ckpt.chunk(0).write_bytes(json.dumps({**body, "checksum": body_checksum(body)}).encode())
    assert ckpt.load(0) == (None, "unreadable")


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


@pytest.mark.parametrize("fmt", [".parquet", ".csv", ".jsonl"])
def test_packed_tables_are_written_as_their_rows(real_chunk, tmp_path, fmt):
    """What a worker sends (each table packed; after a resume, as JSON gave it back) makes the same
    files as the row dicts, in every format."""
    _tasks, rows = real_chunk
    tricky = _tricky_rows(Task(note_id="n", source="s", text="x"))[::7] if fmt != ".parquet" else []
    notes = list(rows) + tricky  # Parquet's typed columns take only the checker's own cells
    sent = packed.packed(notes)[0]
    assert sum(t.__class__ is dict for note in sent for t in note.values()) > 20
    assert _written_bytes(tmp_path / "rows", fmt, notes) == _written_bytes(tmp_path / "sent", fmt, sent)
    # a resume's: the chunk file's JSON read back
    assert _written_bytes(tmp_path / "rows2", fmt, rows) == \
        _written_bytes(tmp_path / "read", fmt, json.loads(checkpoint.chunk_bytes(_tasks, rows))["rows"])


def _written_bytes(folder, fmt: str, notes) -> dict[str, bytes]:
    paths = sinks.output_paths(folder / f"out{fmt}")
    folder.mkdir(parents=True)
    with contextlib.ExitStack() as stack:
        sink = sinks.Sink(paths, stack)
        sink.flush_rows = 50  # several row groups: a flush between a note's tables and the next's
        for note in notes:
            for name in TABLES:
                sink.add(name, note[name])
        sink.close()
    return {name: paths[name].read_bytes() for name in TABLES}


@pytest.mark.parametrize("damage", [
    lambda t: t.update(keys=t["keys"] + [1]),                         # a column name that is not text
    lambda t: t.update(same=[[len(t["keys"]), "x"]]),                 # a same cell beyond the columns
    lambda t: t.update(same=[[-1, "x"]]),
    lambda t: t.update(same=t["same"] + t["same"][:1]),               # a column filled twice
    lambda t: t.update(rows=[r[:-1] for r in t["rows"]]),             # a cell short
    lambda t: t.update(rows=[]),
    lambda t: t.update(rows={"a": 1}),
    lambda t: t.pop("same"),
])
def test_a_damaged_packed_table_is_refused_before_anything_reads_it(real_chunk, damage):
    _tasks, rows = real_chunk
    notes = json.loads(json.dumps(packed.packed(rows[:3])[0]))
    packed.check(notes)
    damage(notes[1]["findings"])
    with pytest.raises((TypeError, ValueError, KeyError)):
        packed.check(notes)


def test_a_packed_tables_columns_kept_once_are_those_one_value_of_one_type_fills():
    """packed.table keeps a column once exactly when every cell is the first (as list.count compares
    them), all of one type and not a float; on 3,000 generated tables of cells alike but not the same
    (1, True, 1.0; 0.0, -0.0; equal strings made apart; None, '')."""
    import random

    rng = random.Random(25)
    pool = [1, True, 1.0, 0, False, 0.0, -0.0, "a", "".join(["a"]), "b", "", None, 2 ** 70, _Name("a")]
    for _ in range(3000):
        width, n = rng.randint(1, 4), rng.randint(2, 6)
        base = rng.choice(pool)
        cells = [tuple(base if rng.random() < 0.7 else rng.choice(pool) for _ in range(width)) for _ in range(n)]
        keys = tuple(f"c{i}" for i in range(width))
        got, plain = packed.table(keys, (), range(width), cells)
        columns = list(zip(*cells))
        once = [i for i, col in enumerate(columns)
                if len({type(v) for v in col}) == 1 and type(col[0]) is not float and all(v == col[0] for v in col)]
        assert [i for i, _ in got["same"]] == once
        assert [v for _, v in got["same"]] == [columns[i][0] for i in once]
        assert got["rows"] == list(zip(*[c for i, c in enumerate(columns) if i not in once])) or \
            (len(once) == width and got["rows"] == [()] * n)
        assert plain == all(type(v) in packed.PLAIN for row in cells for v in row)
        assert packed.rows(got) == [dict(zip(keys, row)) for row in cells]


def test_columns_one_value_fills_a_table_are_written_as_its_rows(tmp_path):
    """A flush makes a column that one value fills in each packed table (kept once) an Arrow cell once
    a table, repeated over its rows: the Parquet bytes of the tables' rows written one by one, on
    generated notes whose cells kept once are None, text outside ASCII, booleans and numbers, between
    tables of one row and row dicts."""
    import random

    rng = random.Random(7)
    t = Task(note_id="n", source="s", text="x")
    base = error_rows(t, "E101", "s: empty")["notes"][0]
    notes = []
    for k in range(60):
        n = rng.choice([1, 1, 2, 3, 5])
        value = rng.choice([None, "Zoë", "", "x" * 70, f"note-{k}"])
        chars = rng.choice([None, 0, 7, 2 ** 40])
        rows = [{**base, "note_id": f"{k}-{rng.randint(0, 2)}" if rng.random() < 0.3 else f"{k}",
                 "surgeon": value, "chars": chars if rng.random() < 0.8 else rng.randint(0, 9),
                 "completeness": rng.choice([None, 0.5, 1.0])} for _ in range(n)]
        notes.append({"findings": [], "codes": [], "notes": rows})
    sent = packed.packed(notes)[0]
    assert sum(t["notes"].__class__ is dict and len(t["notes"]["same"]) > 10 for t in sent) > 10
    for flush in (7, 2000):
        got, want = {}, {}
        for out, tables in ((got, sent), (want, notes)):
            paths = sinks.output_paths(tmp_path / f"{flush}-{id(out)}" / "out.parquet")
            paths["findings"].parent.mkdir()
            with contextlib.ExitStack() as stack:
                sink = sinks.Sink(paths, stack)
                sink.flush_rows = flush
                for note in tables:
                    for name in TABLES:
                        sink.add(name, note[name])
                sink.close()
            out.update({name: paths[name].read_bytes() for name in TABLES})
        assert got == want


@pytest.mark.parametrize("tick", [None, lambda k: None])
def test_a_chunk_reads_its_provenance_once_and_stamps_every_row_with_it(pipeline, monkeypatch, tick):
    """check_tasks reads the provenance columns (``stamp_items``: the patterns folder and edit files the
    environment names) once a chunk, not once a note, and every row of the chunk carries them as a
    note's own reading gives them: checked notes and a failed input, in batches or note by note (a worker)."""
    from notechecker.audit.provenance import stamp_items
    from notechecker.batch import workers

    calls = []
    monkeypatch.setattr(workers, "stamp_items", lambda: calls.append(1) or stamp_items())
    tasks = list(iter_tasks(NOTES[:3]))
    tasks.append(Task(note_id="bad", source="bad.txt", error_code="E101", error="bad.txt: empty"))
    built = packed.unpacked(check_tasks(tasks, tick=tick))
    assert len(calls) == 1
    stamp = dict(stamp_items())
    rows = [row for note in built for table in note.values() for row in table]
    assert len(rows) > 30 and all({k: row[k] for k in stamp} == stamp for row in rows)

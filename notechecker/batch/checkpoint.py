"""Crash safety: finished chunks (with checksums) and the run's manifest in ``RESULTS.ext.partial/``,
and what a resume checks before it replays them.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import operator
import os
import shutil
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from ..errors import NoteCheckerError, safe_message as _safe
from ..io import MAX_CHARS, iter_note_paths
from .inputs import is_frame, input_suffixes
from .packed import check, packed
from .sinks import output_paths
from .task import Columns, Task


class CheckpointError(NoteCheckerError):
    """A scan cannot start or resume because of its checkpoint folder (E401-E403)."""


#: 2: a table's cells that one value fills in every row are kept once (:func:`shipped`)
CHECKPOINT_FORMAT = 2


def checkpoint_dir(output: str | os.PathLike) -> Path:
    """``RESULTS.ext.partial``: the folder where a run writing ``output`` keeps its finished chunks."""
    out = output_paths(output)["findings"]
    return out.with_name(out.name + ".partial")


def _fingerprint(inputs: list[Any], documents: bool = False) -> list[list]:
    """``[input, file, size, mtime_ns]`` per file the inputs name or hold (a content hash for DataFrames)."""
    rows: list[list] = []
    for inp in inputs:
        if is_frame(inp):
            try:
                import pandas as pd

                digest = hashlib.sha256(pd.util.hash_pandas_object(inp, index=False).values.tobytes()).hexdigest()
            except Exception:  # unhashable cells: the chunk digests still guard the replay
                digest = ""
            rows.append(["<dataframe>", "", len(inp), digest])
            continue
        path = Path(inp)
        files = iter_note_paths([path], input_suffixes(documents)) if path.is_dir() else [path]
        for f in files:
            try:
                st = f.stat()
                rows.append([str(path), str(f), st.st_size, st.st_mtime_ns])
            except OSError:
                rows.append([str(path), str(f), None, None])
    return rows


def _patterns_digest() -> str:
    """A hash of the pattern files (checklists, vocabularies) the checker loads."""
    from ..schema.loader import patterns_dir

    root = patterns_dir()
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in (".yaml", ".yml", ".json", ".csv", ".txt") and p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def scan_manifest(inputs: list[Any], columns: Columns, redact: bool, chunk_size: int, fmt: str,
              documents: bool = False, *, max_chars: int = MAX_CHARS) -> dict[str, Any]:
    from ..version import __version__

    options = {"output": fmt, "redact_evidence": redact, "columns": asdict(columns)}
    if documents:  # only when set: checkpoints of runs without it stay resumable
        options["documents"] = True
    from ..audit.provenance import edit_fingerprint

    edits = edit_fingerprint()
    if edits:  # NCCI/MUE files (scan --ncci/--mue): a resume must apply the same ones
        options["edit_files"] = edits
    return {"format": CHECKPOINT_FORMAT, "notechecker": __version__, "patterns": _patterns_digest(),
            "options": {**options, "max_chars": max_chars}, "chunk_size": chunk_size,
            "inputs": _fingerprint(inputs, documents)}


#: A task's fields in order: ``dataclasses.astuple`` of a task, whose fields hold strings, None and a
#: tuple of strings, without its deep copy (the same JSON).
_TASK_FIELDS = operator.attrgetter(*(f.name for f in fields(Task)))


def chunk_digest(chunk: list[Task]) -> str:
    return hashlib.sha256(_json([_TASK_FIELDS(t) for t in chunk]).encode()).hexdigest()


def chunk_bytes(tasks: list[Task], rows: list) -> bytes:
    """The chunk file of ``tasks`` and their ``rows`` (one ``{table: rows}`` a task): see :func:`shipped`."""
    return _chunk_file(tasks, packed(rows)[0])


def _chunk_file(tasks: list[Task], packed: list) -> bytes:
    """``{"digest", "notes", "rows", "checksum"}`` as JSON, the checksum that of the rest
    (:func:`body_checksum`): the body's JSON with the checksum's member put before its closing brace,
    the bytes ``json.dumps`` gives the whole (the rows are encoded once)."""
    body = ('{"digest": %s, "notes": %d, "rows": %s}' % (_json(chunk_digest(tasks)), len(tasks),
                                                          _rows_json(packed))).encode()
    return b"%s, \"checksum\": \"%s\"}" % (body[:-1], hashlib.sha256(body).hexdigest().encode())


def _rows_json(notes: list) -> str:
    """``json.dumps(notes, allow_nan=False)`` of a chunk's rows, one note a ``{table: rows}`` mapping,
    the tables packed (:mod:`.packed`): the same text, a packed table's columns (``keys``, one tuple of
    the schema's column names a table) encoded once a process, not once a note; anything else as
    ``json.dumps`` gives it."""
    if notes.__class__ is not list or not all(n.__class__ is dict and all(k.__class__ is str for k in n)
                                              for n in notes):
        return _json(notes)
    return "[%s]" % ", ".join(["{%s}" % ", ".join([f"{_str_json(name)}: {_table_json(table)}"
                                                  for name, table in note.items()]) for note in notes])


def _table_json(table: Any) -> str:
    """One table of a note as ``json.dumps`` gives it (see :func:`_rows_json`)."""
    if table.__class__ is not dict or tuple(table) != ("keys", "same", "rows") or table["keys"].__class__ is not tuple:
        return _json(table)
    keys = _KEYS_JSON.get(table["keys"])
    if keys is None:
        keys = _json(table["keys"])
        if len(_KEYS_JSON) < 64 and all(k.__class__ is str for k in table["keys"]):  # the schema's columns
            _KEYS_JSON[table["keys"]] = keys
    return '{"keys": %s, "same": %s, "rows": %s}' % (keys, _json(table["same"]), _json(table["rows"]))


#: a packed table's columns -> their JSON (the tables a scan writes have three)
_KEYS_JSON: dict[tuple, str] = {}

#: ``json.dumps(obj, allow_nan=False)``: the C encoder json.dumps makes for each call, made once, without
#: the check for circular references (a chunk's rows are tables of cells: nothing refers back); a cell
#: that is not JSON raises the TypeError json.dumps raises
_ENCODER = json.encoder.c_make_encoder(None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None,
                                       ": ", ", ", False, False, False) if json.encoder.c_make_encoder else None


def _json(obj: Any) -> str:
    return "".join(_ENCODER(obj, 0)) if _ENCODER is not None else json.dumps(obj, allow_nan=False)


_str_json = json.encoder.encode_basestring_ascii


def body_checksum(body: dict) -> str:
    """SHA-256 of a chunk's content (digest, notes, rows) as written: any change to a stored chunk shows."""
    return hashlib.sha256(json.dumps(body, allow_nan=False).encode()).hexdigest()


def shipped(tasks: list[Task], rows: list) -> tuple[list, bytes]:
    """The rows of a chunk, each table packed (:mod:`.packed`), as a resume reads them back from its
    file, and the file's bytes. Rows whose every cell is of a :data:`.packed.PLAIN` type read back as
    they are packed, so they are given so; others (a tuple, a str or int subclass in a cell) are read
    back from the bytes, so that a replay gives what this run gives."""
    tables, plain = packed(rows)
    data = _chunk_file(tasks, tables)
    return (tables if plain else json.loads(data)["rows"]), data


class Checkpoint:
    """The checkpoint folder: ``manifest.json`` and ``chunk-NNNNNN.json`` files, each written atomically."""

    def __init__(self, folder: Path):
        self.dir = folder
        self.manifest = folder / "manifest.json"

    def exists(self) -> bool:
        return self.manifest.is_file()

    def chunk(self, i: int) -> Path:
        return self.dir / f"chunk-{i:06d}.json"

    def start(self, manifest: dict) -> None:
        from ..writers import write_atomic

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
        """Write chunk ``i``; its rows, each table packed, as a resume will read them (``data``:
        already encoded by a worker, which sent ``rows`` so)."""
        from ..writers import write_atomic

        if data is None:
            rows, data = shipped(chunk, rows)
        write_atomic(self.chunk(i), data)
        return rows

    def load(self, i: int) -> tuple[dict | None, str]:
        """Chunk ``i`` as written (its tables packed, their structure checked) and '', or None and what
        is wrong with it (unreadable, damaged)."""
        try:
            data = json.loads(self.chunk(i).read_bytes())
        except (OSError, ValueError, RecursionError):
            return None, "unreadable"
        if not isinstance(data, dict):
            return None, "unreadable"
        checksum = data.pop("checksum", None)
        try:
            intact = checksum == body_checksum(data)
        except (TypeError, ValueError, RecursionError):
            intact = False
        if not intact:
            return None, "damaged (its checksum does not match its content)"
        try:
            check(data["rows"])
        except (KeyError, TypeError, ValueError):
            return None, "unreadable"
        return data, ""

    @property
    def documents(self) -> Path:
        """``documents.json``: documents that killed their reader or overran its budget (not read on resume)."""
        return self.dir / "documents.json"

    def read_failures(self) -> dict[str, tuple[str, str]]:
        """Fingerprint -> (code, message) of the documents the interrupted run could not read."""
        try:
            data = json.loads(self.documents.read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: (v[0], v[1]) for k, v in data.items()
                if isinstance(k, str) and isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)}

    def add_read_failure(self, key: str, code: str, message: str) -> None:
        from ..writers import write_atomic

        known = self.read_failures()
        known[key] = (code, message)
        write_atomic(self.documents, json.dumps(known, sort_keys=True).encode())

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

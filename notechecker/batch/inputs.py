"""What a scan reads: folders, ``.txt`` notes, documents and tables to tasks in input order; unique
note ids; a cheap count of the notes for the progress bar.
"""
from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import InputError
from ..formats import Document
from ..formats.guarded import GuardedReader
from ..io import MAX_CHARS, NOTE_SUFFIXES, byte_cap, iter_note_paths, read_note
from .tables import frame_tasks, table_tasks
from .task import Columns, Task, error_task, normalize_date, surgeon_name


TABLE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
                  ".ndjson": "jsonl"}
#: Longest note checked (``io.MAX_CHARS``, ``--max-chars``); longer ones become E104 error rows.
#: A file over ``byte_cap(MAX_CHARS)`` bytes cannot hold that many characters: it is not read.
MAX_NOTE_BYTES = byte_cap(MAX_CHARS)


def iter_tasks(inputs: Iterable[Any], columns: Columns = Columns(), documents: bool = False, *,
               max_chars: int = MAX_CHARS, reader: GuardedReader | None = None) -> Iterator[Task]:
    """Tasks for every input, in input order (ids not yet made unique). ``documents``: folders are
    searched for FHIR, HL7 v2, C-CDA, PDF and DOCX documents too (files named are always read).
    Documents are read by ``reader`` in its worker process (time budget, memory ceiling); without
    one, a reader with the default budget and ceiling is used for this call."""
    own = reader is None
    reader = reader or GuardedReader()
    try:
        yield from _iter_tasks(inputs, columns, documents, max_chars, reader)
    finally:
        if own:
            reader.close()


def _iter_tasks(inputs: Iterable[Any], columns: Columns, documents: bool, max_chars: int,
                reader: GuardedReader) -> Iterator[Task]:
    for inp in inputs:
        if is_frame(inp):
            yield from frame_tasks(inp, columns, max_chars=max_chars)
            continue
        path = Path(inp)
        if path.is_dir():
            n = 0
            for n, p in enumerate(iter_note_paths([path], input_suffixes(documents)), 1):
                yield from _file_tasks(p, max_chars=max_chars, reader=reader)
            if not n:
                yield error_task(path.name or str(path), str(path), InputError(
                    "E110", f"{path}: no .txt notes in this folder (searched with its subfolders)"
                            + _documents_hint(path, documents)))
            continue
        kind = TABLE_SUFFIXES.get(path.suffix.lower())
        if kind is None and path.suffix.lower() not in NOTE_SUFFIXES and path.exists():
            yield from _file_tasks(path, reader=reader, unsupported=InputError(
                "E301", f"{path}: unsupported input type {path.suffix or '(no extension)'!r}; expected a folder, "
                        f".txt notes, or a .csv, .tsv, .parquet or .jsonl table (or a FHIR, HL7 v2, C-CDA, PDF "
                        f"or DOCX document)"))
        elif kind is None:
            yield from _file_tasks(path, max_chars=max_chars, reader=reader)
        else:
            yield from table_tasks(path, kind, columns, max_chars=max_chars)


def input_suffixes(documents: bool) -> tuple[str, ...]:
    from ..formats.detect import SUFFIXES

    return NOTE_SUFFIXES + tuple(SUFFIXES) if documents else NOTE_SUFFIXES


def _documents_hint(path: Path, documents: bool) -> str:
    """For an E110 message: how to read the documents a folder holds instead of .txt notes."""
    if documents:
        return " nor FHIR, HL7 v2, C-CDA, PDF or DOCX documents"
    n = sum(1 for _ in iter_note_paths([path], input_suffixes(True)))
    return f"; it holds {n} document file(s): add --documents to read them" if n else ""


def _file_tasks(path: Path, unsupported: InputError | None = None, *,
                max_chars: int = MAX_CHARS, reader: GuardedReader | None = None) -> Iterator[Task]:
    """A ``.txt`` note, or the notes of the document (FHIR, HL7 v2, C-CDA, PDF, DOCX) the file holds
    (``unsupported``: the error row of a file that is neither)."""
    from ..formats.tasks import document_kind

    doc = document_kind(path)
    if doc is not None:
        yield from document_tasks(path, doc, max_chars, reader)
    elif unsupported is not None:
        yield error_task(path.name, str(path), unsupported)
    else:
        yield _txt_task(path, max_chars)


def document_tasks(path: Path, kind: str | None = None, max_chars: int = MAX_CHARS,
                   reader: GuardedReader | None = None) -> Iterator[Task]:
    """Tasks for the notes of one document file (FHIR, HL7 v2, C-CDA, PDF, DOCX): one per note, with
    its id, text, billed codes, surgeon, date, patient, encounter and DocumentReference, or an error
    task per document (or entry) that cannot be read. The document is read by ``reader`` in its
    worker process (a reader of its own when None), never in this one."""
    if reader is None:
        with GuardedReader() as own:
            yield from document_tasks(path, kind, max_chars, own)
        return
    n = 0
    for n, item in enumerate(reader.read(path, kind), 1):
        if isinstance(item, InputError):
            yield Task(note_id=f"{path.stem}:{n}" if n > 1 else path.stem, source=str(path),
                       error_code=item.code, error=item.message)
            continue
        yield to_task(item, max_chars)
    if not n:  # cannot happen (a reader yields a note or an error); account for the file anyway
        yield Task(note_id=path.stem, source=str(path), error_code="E301", error=f"{path}: no notes read")


def to_task(doc: Document, max_chars: int = MAX_CHARS) -> Task:
    """The task of one note read from a document (E104 when it is over ``max_chars`` characters)."""
    date, month = normalize_date(doc.date)
    meta = dict(note_id=doc.note_id, source=doc.source, surgeon=surgeon_name(doc.author) if doc.author else "",
                date=date, month=month, warnings=doc.warnings, patient=doc.patient, encounter=doc.encounter,
                document=doc.document)
    if len(doc.text) > max_chars:
        return Task(**meta, error_code="E104", error=f"{doc.source}: {len(doc.text):,} characters is over the "
                                                     f"{max_chars:,}-character limit for one note; split it into "
                                                     f"notes")
    return Task(**meta, text=doc.text, codes=doc.codes)


def _txt_task(path: Path, max_chars: int = MAX_CHARS) -> Task:
    try:
        note = read_note(path, max_chars=max_chars)  # a regular file, read up to the byte cap
    except InputError as exc:
        return error_task(path.stem, str(path), exc)
    return Task(note_id=note.note_id, source=note.source, text=note.text,
                warnings=(f"{path}: {note.warning}",) if note.warning else ())


def is_frame(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "itertuples")


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


def count_inputs(inputs: Iterable[Any], columns: Columns = Columns(), documents: bool = False) -> int | None:
    """Cheap count of the notes in ``inputs`` for a progress bar (None when it cannot be had)."""
    total = 0
    try:
        for inp in inputs:
            if is_frame(inp):
                total += max(1, len(inp))  # an empty input still gives one (error) row
                continue
            path = Path(inp)
            kind = TABLE_SUFFIXES.get(path.suffix.lower())
            if kind is not None and not path.is_file():  # never open a FIFO or device to count it
                total += 1
                continue
            if path.is_dir():
                total += max(1, sum(1 for _ in iter_note_paths([path], input_suffixes(documents))))
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

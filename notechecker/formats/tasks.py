"""The batch's side of the readers: a document file becomes batch tasks (notes or error rows).

``batch.iter_tasks`` asks :func:`document_kind` whether a file is a document; if so,
:func:`document_tasks` gives one :class:`~notechecker.batch.Task` per note (its id, text,
billed codes, surgeon, date, patient, encounter and DocumentReference from the document)
or per document that cannot be read (an error row), and the batch goes on.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..errors import InputError
from . import MAX_DOCUMENT_BYTES, Document, read_document
from .detect import SUFFIXES, detect

#: Bytes read to tell a document from a note (a DOCX is a ZIP: read whole to see its parts).
_SNIFF = 65536


def document_kind(path: Path) -> str | None:
    """The document format of the file at ``path``, or None for a plain-text note (or an unreadable file:
    the ``.txt`` reader reports it)."""
    from ..io import open_regular

    try:
        with open_regular(path, "document") as fh:
            head = fh.read(_SNIFF)
            if head.startswith(b"PK\x03\x04"):
                head += fh.read(MAX_DOCUMENT_BYTES)
    except (InputError, OSError):  # the .txt reader reports a file it cannot read
        return SUFFIXES.get(path.suffix.lower())
    return detect(head, path.name)


def document_tasks(path: Path, kind: str | None = None, max_chars: int | None = None) -> Iterator:
    """Tasks for the notes of one document file (error tasks for what cannot be read)."""
    from ..batch import MAX_CHARS, Task, normalize_date, surgeon_name

    max_chars = MAX_CHARS if max_chars is None else max_chars
    n = 0
    for n, item in enumerate(read_document(path, kind), 1):
        if isinstance(item, InputError):
            yield Task(note_id=f"{path.stem}:{n}" if n > 1 else path.stem, source=str(path),
                       error_code=item.code, error=item.message)
            continue
        yield to_task(item, Task, max_chars, normalize_date, surgeon_name)
    if not n:  # cannot happen (a reader yields a note or an error); account for the file anyway
        yield Task(note_id=path.stem, source=str(path), error_code="E301", error=f"{path}: no notes read")


def to_task(doc: Document, Task, max_chars: int, normalize_date, surgeon_name):
    date, month = normalize_date(doc.date)
    meta = dict(note_id=doc.note_id, source=doc.source, surgeon=surgeon_name(doc.author) if doc.author else "",
                date=date, month=month, warnings=doc.warnings, patient=doc.patient, encounter=doc.encounter,
                document=doc.document)
    if len(doc.text) > max_chars:
        return Task(**meta, error_code="E104", error=f"{doc.source}: {len(doc.text):,} characters is over the "
                                                     f"{max_chars:,}-character limit for one note; split it into "
                                                     f"notes")
    return Task(**meta, text=doc.text, codes=doc.codes)

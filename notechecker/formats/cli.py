"""The command line's side of the readers (``extract`` and ``check`` read documents through these)."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from ..errors import InputError
from . import read_bytes, read_document
from .detect import SUFFIXES, detect


class Note(NamedTuple):
    """One note of a document, or the error that stands for it (``error`` set, ``text`` None)."""

    note_id: str
    source: str
    text: str | None
    error: InputError | None = None
    codes: str | None = None
    warnings: tuple[str, ...] = ()
    low_confidence: tuple[tuple[int, int], ...] = ()  # OCR words read with low confidence (formats.ocr)


def note_suffixes(documents: bool) -> tuple[str, ...]:
    """File extensions a folder is searched for: ``.txt``, and the document formats with ``--documents``."""
    return (".txt",) + (tuple(SUFFIXES) if documents else ())


def _notes(items, stem: str, source: str) -> list[Note]:
    out = []
    for n, item in enumerate(items, 1):
        if isinstance(item, InputError):
            out.append(Note(f"{stem}:{n}" if n > 1 else stem, source, None, item))
        else:
            out.append(Note(item.note_id, item.source, item.text, None, item.codes, item.warnings,
                            item.low_confidence))
    return out


def document_notes(path: Path) -> list[Note] | None:
    """The notes of the document at ``path``, or None when it is a plain-text note (read it as before)."""
    from .tasks import document_kind

    kind = document_kind(path)
    if kind is None:
        return None
    return _notes(read_document(path, kind), path.stem, str(path))


def stdin_notes(data: bytes) -> list[Note] | None:
    """The notes of a document given on standard input, or None when it is plain text."""
    kind = detect(data, "")
    if kind is None:
        return None
    return _notes(read_bytes(data, "<stdin>", kind), "stdin", "<stdin>")

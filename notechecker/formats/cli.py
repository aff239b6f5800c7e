"""The command line's side of the readers (``extract`` and ``check`` read documents through these)."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from ..errors import InputError
from ..io import MAX_CHARS, check_length
from .detect import SUFFIXES, detect
from .guarded import GuardedReader


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


def _notes(items, stem: str, source: str, max_chars: int) -> list[Note]:
    out = []
    for n, item in enumerate(items, 1):
        if isinstance(item, InputError):
            out.append(Note(f"{stem}:{n}" if n > 1 else stem, source, None, item))
            continue
        try:  # the one length limit of every command holds for a document's text too
            check_length(item.text, item.source, max_chars)
        except InputError as exc:
            out.append(Note(item.note_id, item.source, None, exc))
            continue
        out.append(Note(item.note_id, item.source, item.text, None, item.codes, item.warnings,
                        item.low_confidence))
    return out


def document_notes(path: Path, reader: GuardedReader, max_chars: int = MAX_CHARS) -> list[Note] | None:
    """The notes of the document at ``path`` (read by ``reader``, in its worker process), or None when
    it is a plain-text note (read it as a ``.txt`` note)."""
    from .tasks import document_kind

    kind = document_kind(path)
    if kind is None:
        return None
    return _notes(reader.read(path, kind), path.stem, str(path), max_chars)


def stdin_notes(data: bytes, reader: GuardedReader, max_chars: int = MAX_CHARS) -> list[Note] | None:
    """The notes of a document given on standard input, or None when it is plain text."""
    kind = detect(data, "")
    if kind is None:
        return None
    return _notes(reader.read_bytes(data, "<stdin>", kind), "stdin", "<stdin>", max_chars)

"""Input sniffing of the commands that read one input: a file (a ``.txt`` note, or a FHIR, HL7 v2,
C-CDA, PDF or DOCX document, told by its content) or standard input, to notes."""
from __future__ import annotations

import sys
from pathlib import Path

from .app import usage

def file_notes(path: Path, reader, max_chars: int, note_id: str | None = None) -> list:
    """The notes of one file: its document's notes (read by ``reader``), else the ``.txt`` note; an
    unreadable file is one note with its error. The one way extract and check read a file."""
    from ..errors import InputError
    from ..formats.cli import Note, document_notes
    from ..io import read_note

    notes = document_notes(path, reader, max_chars) if path.is_file() else None
    if notes is not None:
        return notes
    try:
        nt = read_note(path, note_id, max_chars=max_chars)
    except InputError as exc:
        return [Note(note_id or path.stem, str(path), None, exc)]
    return [Note(nt.note_id, nt.source, nt.text, None, None, (f"{nt.source}: {nt.warning}",) if nt.warning else ())]


def stdin_input_notes(reader, max_chars: int, note_id: str | None = None) -> list:
    """The notes on standard input: a document's notes (read by ``reader``), else one plain-text note; an
    input over the size limit is a usage error, undecodable text one note with its error."""
    from ..errors import InputError
    from ..formats.cli import Note, stdin_notes
    from ..io import byte_cap, check_length, decode, read_capped

    try:
        data = (read_capped(sys.stdin.buffer, byte_cap(max_chars), "<stdin>", max_chars)
                if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8", "surrogateescape"))
    except InputError as exc:
        raise usage(str(exc)) from None
    notes = stdin_notes(data, reader, max_chars)
    if notes is not None:
        return notes
    try:  # plain text
        text, _enc, warning = decode(data, "<stdin>")
        check_length(text, "<stdin>", max_chars)
        return [Note(note_id or "stdin", "<stdin>", text, None, None, (f"<stdin>: {warning}",) if warning else ())]
    except InputError as exc:
        return [Note(note_id or "stdin", "<stdin>", None, exc)]

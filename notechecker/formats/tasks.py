"""Is this file a document? The batch and the command line ask :func:`document_kind` before reading a file.

``batch.iter_tasks`` asks whether a file is a document; if so,
:func:`notechecker.batch.inputs.document_tasks` gives one task per note (its id, text,
billed codes, surgeon, date, patient, encounter and DocumentReference from the document)
or per document that cannot be read (an error row), and the batch goes on.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .base import MAX_DOCUMENT_BYTES
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


"""Notes as hospitals send them: FHIR, HL7 v2, C-CDA, PDF and DOCX documents.

Each reader turns the bytes of one file into the notes it holds, each a :class:`Document`
(id, plain text, patient, encounter, author, date, the DocumentReference it came from,
billed codes when the document names them), or an :class:`~notechecker.errors.InputError`
for a document (or one entry of a Bundle) that cannot be read. The text is what a ``.txt``
file of the same note holds: no markup, segment names or PDF operators, so the facts and
evidence offsets are those of the text as read.

Errors name the input and the problem, never the note text (E5xx):

====  ==========================================================================
E501  not valid JSON
E502  JSON that is not a FHIR DocumentReference or Bundle (another resource type)
E503  a DocumentReference the FHIR R4 model rejects (names the fields)
E504  an attachment without readable text (no inline data, bad base64, type)
E505  a Bundle without any DocumentReference
E511  not an HL7 v2 message (no MSH segment, unreadable)
E512  an HL7 v2 message without OBX text
E513  an HL7 v2 message of a type that carries no note (not MDM or ORU)
E521  XML that is not well-formed
E522  XML that is not a CDA ClinicalDocument
E523  a CDA document without narrative text
E531  an encrypted PDF
E532  a PDF without a text layer that OCR cannot read (engine missing, page over its budget)
E533  a PDF that cannot be read
E541  a DOCX that cannot be read
E542  a DOCX without text
E506  a part that inflates past its cap (DOCX part, PDF stream, attachment)
E507  JSON or XML nested too deep to read
E508  reading needed more memory than a worker may take (``--max-memory``)
E509  reading took longer than its time budget (``--note-timeout``)
====  ==========================================================================

No reader's exception escapes :func:`read_bytes`: an unexpected one is the document's E201
error row (its type and place only); library messages (libxml2, pypdf, python-docx,
python-hl7, zipfile, json) are never shown, only where the problem is, in our words, and
the libraries' loggers are silenced (:func:`.base.quiet_libraries`).

:func:`read_document` reads a path, :func:`read_bytes` bytes already in memory (standard
input, a CDS Hooks request); :mod:`.detect` chooses the reader by content and extension.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from .base import MAX_DOCUMENT_BYTES, Document, quiet_libraries, safe_reason


def read_bytes(data: bytes, source: str, kind: str) -> Iterator[Document | InputError]:
    """The notes of one document of format ``kind`` (see :data:`.detect.FORMATS`)."""
    from . import cda, docx, fhir, hl7v2, pdf

    import warnings

    from ..errors import describe_failure

    reader = {"fhir": fhir.read, "hl7v2": hl7v2.read, "cda": cda.read, "pdf": pdf.read, "docx": docx.read}[kind]
    quiet_libraries()
    out: list[Document | InputError] = []  # read whole before any is given: no state held across a yield
    try:
        with warnings.catch_warnings():  # a library's warning may quote the document
            warnings.simplefilter("ignore")
            for item in reader(data, source):
                out.append(item)
    except InputError as exc:
        out.append(exc)
    except MemoryError:
        out.append(InputError("E508", f"{source}: reading it needs more memory than a document may take "
                                 f"(--max-memory); not read"))
    except RecursionError:
        out.append(InputError("E507", f"{source}: nested too deep to read"))
    except Exception as exc:  # noqa: BLE001 - a reader's bug: the document's error row, named without its message
        out.append(InputError("E201", f"{source}: reading the document failed: {describe_failure(exc)} (a bug; "
                                      f"please report it)"))
    yield from out


def read_document(path: str | os.PathLike, kind: str | None = None) -> Iterator[Document | InputError]:
    """The notes of the document at ``path`` (format detected when ``kind`` is None)."""
    from .detect import detect

    from ..io import open_regular

    p = Path(path)
    try:  # a regular file only (never a FIFO or device), with the byte cap enforced while reading
        with open_regular(p, "document") as fh:
            data = fh.read(MAX_DOCUMENT_BYTES + 1)
        if len(data) > MAX_DOCUMENT_BYTES:
            yield InputError("E104", f"{p}: over the {MAX_DOCUMENT_BYTES:,}-byte limit for one document")
            return
    except InputError as exc:
        yield exc
        return
    except OSError as exc:
        yield InputError("E108", f"{p}: cannot be read ({exc.strerror or exc.__class__.__name__})")
        return
    kind = kind or detect(data, p.name)
    if kind is None:
        yield InputError("E301", f"{p}: not a document notechecker reads (FHIR JSON, HL7 v2, C-CDA, PDF, DOCX)")
        return
    yield from read_bytes(data, str(p), kind)


__all__ = ["Document", "read_bytes", "read_document", "MAX_DOCUMENT_BYTES", "safe_reason"]

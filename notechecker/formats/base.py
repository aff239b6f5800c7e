"""What every reader of :mod:`notechecker.formats` shares: the :class:`Document` a note is read
into, the byte cap of one document file, and error text fit to show."""
from __future__ import annotations

from dataclasses import dataclass, field

#: Largest document file read (a PDF of a long note with images stays far below it).
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Document:
    """One note read from a document, with the metadata the document states ('' when it does not)."""

    note_id: str
    text: str
    source: str
    format: str
    patient: str = ""      # "Patient/123" (FHIR) or the patient identifier (HL7 PID-3, CDA recordTarget)
    encounter: str = ""    # "Encounter/9" (FHIR) or the visit / encounter identifier
    author: str = ""       # the surgeon or author as the document names them
    date: str = ""         # date of the operation (else of the document), as given
    document: str = ""     # "DocumentReference/<id>" when the note came from one
    codes: str | None = None  # CPT codes the document names (space-separated), else None
    warnings: tuple[str, ...] = field(default=())
    #: words read by OCR (formats.ocr.OcrWord: offsets, page, box, confidence); () for a text layer
    ocr_words: tuple = field(default=())
    #: [start, end) ranges of OCR words read with a confidence under formats.ocr.LOW_CONFIDENCE
    low_confidence: tuple[tuple[int, int], ...] = field(default=())


def safe_reason(exc: BaseException) -> str:
    """A parser's error message fit to show: its first line, cut short, or its type.

    Used for parsers whose messages name positions and syntax, never content (json, lxml,
    zipfile); readers of libraries that quote the input (python-hl7, pypdf) show the
    error's type only.
    """
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return msg[:160] if msg else exc.__class__.__name__

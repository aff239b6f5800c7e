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


#: Largest part unpacked from a document (a DOCX part, a decompressed PDF stream, a decoded
#: attachment), checked while it is unpacked: a note's part is kilobytes, a bomb is gigabytes (E506).
MAX_PART_BYTES = 32 * 1024 * 1024
#: Largest sum of the parts unpacked from one DOCX.
MAX_UNPACKED_BYTES = 96 * 1024 * 1024

#: Loggers of the libraries the readers use. Some log what they read (python-hl7 logs a whole
#: field on a bad escape, under a logger named by its file path): they are silenced at their roots.
LIBRARY_LOGGERS = ("hl7", "pypdf", "docx", "lxml", "fhir", "fhir.resources", "fhir_core", "PIL", "zipfile")


def quiet_libraries() -> None:
    """Silence the readers' libraries: no record of theirs reaches a handler (a note is PHI)."""
    import logging
    import sys

    names = set(LIBRARY_LOGGERS)
    for mod in ("hl7.util", "hl7.containers", "hl7.client", "hl7.mllp", "hl7.parser", "hl7.datatypes"):
        logger = getattr(sys.modules.get(mod), "logger", None)
        if isinstance(logger, logging.Logger):
            names.add(logger.name)
    for name in list(logging.root.manager.loggerDict):  # python-hl7 names its loggers by file path
        if "/hl7/" in name.replace("\\", "/") or name.split(".")[0] in LIBRARY_LOGGERS:
            names.add(name)
    for name in names:
        logger = logging.getLogger(name)
        logger.disabled = True
        logger.propagate = False
        logger.setLevel(logging.CRITICAL + 1)


def position(exc: BaseException) -> str:
    """Where a parser stopped, in our own words ('line 3, column 17'), never the parser's message
    (libxml2 quotes element and entity names, zipfile member names, json nothing but might)."""
    line = getattr(exc, "lineno", None)
    col = getattr(exc, "colno", None) or getattr(exc, "offset", None)
    pos = getattr(exc, "position", None)
    if pos and isinstance(pos, tuple) and len(pos) == 2:
        line, col = pos
    if isinstance(line, int) and line > 0:
        return f"line {line}" + (f", column {col}" if isinstance(col, int) and col > 0 else "")
    return "position unknown"

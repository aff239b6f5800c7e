"""PDF notes: the text layer, page by page (pypdf).

Pages are read in pypdf's layout mode, which keeps the blank lines between paragraphs.
A PDF without a text layer is a scan: it is refused with E532, naming OCR as the missing
step (``ocrmypdf in.pdf out.pdf``, then check ``out.pdf``). A PDF that needs a password is
refused with E531 (one encrypted with an empty user password, which any viewer opens, is
read). The note id is the file stem.
"""
from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from .base import Document, safe_reason

_TRAILING = re.compile(r"[ \t]+$", re.MULTILINE)


def read(data: bytes, source: str) -> Iterator[Document | InputError]:
    yield Document(note_id=Path(source).stem, text=pdf_text(data, source), source=source, format="pdf")


def _page_text(page) -> str:
    """A page's text in layout mode (blank lines between paragraphs kept), else pypdf's plain mode."""
    try:
        return page.extract_text(extraction_mode="layout") or ""
    except Exception:  # layout mode fails on some fonts; plain mode still gives the words
        return page.extract_text() or ""


def pdf_text(data: bytes, where: str) -> str:
    """The text layer of a PDF, pages joined by a line feed; E531-E533 when there is none to read."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings name objects, not text; keep stderr calm
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError) as exc:
                raise InputError("E531", f"{where}: an encrypted PDF ({safe_reason(exc)}); save an unencrypted "
                                         f"copy to check it") from None
            if not opened:
                raise InputError("E531", f"{where}: an encrypted PDF that needs a password; save an "
                                         f"unencrypted copy to check it")
        pages = [_page_text(page) for page in reader.pages]
    except InputError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        # pypdf's messages may quote bytes of the file: name the error's kind only
        raise InputError("E533", f"{where}: not a readable PDF ({type(exc).__name__})") from None
    text = _TRAILING.sub("", "".join(p.strip("\n") + "\n" for p in pages if p.strip()))
    if not text.strip():
        raise InputError("E532", f"{where}: a PDF of {len(pages)} page(s) with no text layer (a scanned "
                                 f"image): run OCR on it first (e.g. ocrmypdf), then check the OCR'd PDF")
    return text

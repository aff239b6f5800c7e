"""PDF notes: the text layer, page by page (pypdf).

Pages are read in pypdf's layout mode, which keeps the blank lines between paragraphs.
A page without a text layer is a scan: it is read by OCR (``formats.ocr``: tesseract through
pytesseract, pages rasterised with pypdfium2), each word keeping its page, box and confidence.
Without the OCR engine a PDF with no text layer is refused with E532, naming the missing
package (or ``ocrmypdf in.pdf out.pdf`` as the step to run first). A PDF that needs a password is
refused with E531 (one encrypted with an empty user password, which any viewer opens, is
read). The note id is the file stem.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from . import ocr
from .base import MAX_PART_BYTES, Document



def read(data: bytes, source: str) -> Iterator[Document | InputError]:
    text, words = pdf_text_and_words(data, source)
    yield Document(note_id=Path(source).stem, text=text, source=source, format="pdf",
                   ocr_words=tuple(words), low_confidence=ocr.low_confidence(words))


def _page_text(page) -> str:
    """A page's text in layout mode (blank lines between paragraphs kept), else pypdf's plain mode."""
    try:
        return page.extract_text(extraction_mode="layout") or ""
    except Exception:  # layout mode fails on some fonts; plain mode still gives the words
        return page.extract_text() or ""


#: pypdf's caps on a decompressed stream (its Configuration names, pypdf 6 and later), set to the cap
#: of a document part: LimitReachedError (E506) past it.
_PART_LIMITS = ("zlib_maximum_output_length", "lzw_maximum_output_length", "run_length_maximum_output_length",
                "array_based_stream_maximum_output_length", "maximum_declared_stream_length",
                "jbig2_maximum_output_length", "brotli_maximum_output_length", "flate_maximum_buffer_size",
                "image_maximum_buffer_size")
#: Module-level caps of older pypdf versions (5.x).
_OLD_LIMITS = ("ZLIB_MAX_OUTPUT_LENGTH", "LZW_MAX_OUTPUT_LENGTH", "RUN_LENGTH_MAX_OUTPUT_LENGTH",
               "MAX_ARRAY_BASED_STREAM_OUTPUT_LENGTH", "MAX_DECLARED_STREAM_LENGTH", "JBIG2_MAX_OUTPUT_LENGTH")


def _limits() -> None:
    """pypdf's output caps of a decompressed stream, set to the cap of a document part (E506 past it)."""
    import pypdf

    if hasattr(pypdf, "overwrite_configuration"):
        config = pypdf.get_configuration()
        changes = {k: MAX_PART_BYTES for k in _PART_LIMITS
                   if isinstance(getattr(config, k, None), int) and getattr(config, k) > MAX_PART_BYTES}
        if changes:
            pypdf.overwrite_configuration(**changes)
        return
    import pypdf.filters as filters

    for name in _OLD_LIMITS:
        if isinstance(getattr(filters, name, None), int):
            setattr(filters, name, min(getattr(filters, name), MAX_PART_BYTES))


def pdf_text(data: bytes, where: str) -> str:
    """The text of a PDF (its text layer, OCR for pages without one), pages joined by a line feed;
    E531-E533 when there is none to read."""
    return pdf_text_and_words(data, where)[0]


def pdf_text_and_words(data: bytes, where: str) -> tuple[str, list[ocr.OcrWord]]:
    """The text of a PDF and the words OCR read in it (none when every page has a text layer)."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, LimitReachedError, PdfReadError, PyPdfError

    _limits()
    logging.getLogger("pypdf").setLevel(logging.CRITICAL + 1)  # its messages may quote the file: never shown
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError) as exc:
                raise InputError("E531", f"{where}: an encrypted PDF ({type(exc).__name__}: an encryption "
                                         f"notechecker cannot open); save an unencrypted copy to check it") from None
            if not opened:
                raise InputError("E531", f"{where}: an encrypted PDF that needs a password; save an "
                                         f"unencrypted copy to check it")
        pages = [_page_text(page) for page in reader.pages]
    except InputError:
        raise
    except LimitReachedError:
        raise InputError("E506", f"{where}: a PDF stream inflates past the {MAX_PART_BYTES // (1 << 20)} MB limit "
                                 f"of a document part: not read") from None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, IndexError,
            ZeroDivisionError, AssertionError, LookupError, UnicodeError) as exc:
        # pypdf's messages may quote bytes of the file: name the error's kind only
        raise InputError("E533", f"{where}: not a readable PDF ({type(exc).__name__})") from None
    scanned = [i for i, p in enumerate(pages) if not p.strip()]
    if len(scanned) == len(pages):
        absent = ocr.missing()
        if absent is not None:
            raise InputError("E532", f"{where}: a PDF of {len(pages)} page(s) with no text layer (a scanned "
                                     f"image), and OCR is not installed: {ocr.INSTALL[absent]} is missing; "
                                     f"install it, or run OCR on it first (e.g. ocrmypdf), then check the OCR'd PDF")
    elif scanned and ocr.missing() is not None:
        scanned = []  # pages with text are read; a blank page without the engine is left out as before
    read: dict[int, tuple[str, list]] = {}
    if scanned:
        timeout = ocr.page_timeout()
        try:
            for i, image in zip(scanned, ocr.render_pages(data, scanned)):
                read[i] = ocr.read_image(image, i + 1, where, timeout)
        except InputError:
            raise
        except Exception as exc:  # pdfium cannot render the page: name the error's kind only
            raise InputError("E533", f"{where}: a page could not be rendered for OCR ({type(exc).__name__})") from None
    parts: list[str] = []
    words: list[ocr.OcrWord] = []
    pos = 0
    for i, page in enumerate(pages):
        if i in read:
            page_text, page_words = read[i]
            words += ocr.shifted(page_words, pos)
        else:
            # trailing blanks cut line by line (a regex over a long run of blanks backtracks quadratically)
            page_text = "\n".join(line.rstrip(" \t") for line in page.strip("\n").split("\n"))
        if not page_text.strip():
            continue
        parts.append(page_text + "\n")
        pos += len(page_text) + 1
    text = "".join(parts)
    if not text.strip():
        raise InputError("E532", f"{where}: a PDF of {len(pages)} page(s) with no text layer (a scanned "
                                 f"image) in which OCR found no words: check the scan, or run OCR on it first "
                                 f"(e.g. ocrmypdf), then check the OCR'd PDF")
    return text, words

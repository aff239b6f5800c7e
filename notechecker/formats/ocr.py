"""OCR of scanned pages: Debian's ``tesseract-ocr`` through ``pytesseract``, pages rasterised
with ``pypdfium2``.

A PDF page without a text layer is read here, where the document is read (``formats.pdf``),
so OCR runs wherever notes are read, in the batch workers too. Every word keeps its page,
its box (pixels at :data:`DPI`) and Tesseract's word confidence (0-100), and its character
offsets in the text the page gives; words under :data:`LOW_CONFIDENCE` make the note's
low-confidence ranges (``Document.low_confidence``, then ``Facts.low_confidence``), so a fact
whose only evidence rests on such a word can be sent to a coder.

Each page has its own budget, on top of the note's: ``--ocr-page-timeout`` (default 20 s),
passed to workers through the environment (:data:`TIMEOUT_ENV`). Without the engine or
either package a scan stays an E532 error row naming what is missing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable

from ..errors import InputError

#: Rendering resolution of a page (Tesseract reads body text best at about 300 dpi).
DPI = 300
#: A word Tesseract reads with a confidence under this is a low-confidence word.
LOW_CONFIDENCE = 60
DEFAULT_PAGE_TIMEOUT = 20.0
TIMEOUT_ENV = "NOTECHECKER_OCR_PAGE_TIMEOUT"
#: What to install for OCR, by the name a missing piece is reported under.
INSTALL = {
    "tesseract-ocr": "the Debian package tesseract-ocr (apt-get install tesseract-ocr; `make ocr`)",
    "pytesseract": "the Python package pytesseract (pip install pytesseract)",
    "pypdfium2": "the Python package pypdfium2 (pip install pypdfium2)",
}


@dataclass(frozen=True, slots=True)
class OcrWord:
    """One word read by OCR: ``text[start:end]`` in the document's text."""

    start: int
    end: int
    page: int  # 1-based
    box: tuple[int, int, int, int]  # left, top, width, height in pixels at DPI
    confidence: float  # Tesseract's word confidence, 0-100


def page_timeout() -> float:
    """Seconds one page's OCR may take (``--ocr-page-timeout``; :data:`TIMEOUT_ENV`)."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, DEFAULT_PAGE_TIMEOUT))
    except ValueError:
        return DEFAULT_PAGE_TIMEOUT
    return value if value > 0 else DEFAULT_PAGE_TIMEOUT


def set_page_timeout(seconds: float) -> None:
    """Set the per-page budget for this process and the workers it starts."""
    os.environ[TIMEOUT_ENV] = repr(float(seconds))


def missing() -> str | None:
    """The first piece of the OCR engine that is not installed, else None."""
    try:
        import pypdfium2  # noqa: F401
    except ImportError:
        return "pypdfium2"
    try:
        import pytesseract
    except ImportError:
        return "pytesseract"
    try:
        pytesseract.get_tesseract_version()
    except Exception:  # TesseractNotFoundError, or a broken binary
        return "tesseract-ocr"
    return None


def render_pages(data: bytes, pages: Iterable[int], dpi: int = DPI):
    """PIL images of the given 0-based pages of a PDF."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    try:
        for i in pages:
            page = pdf[i]
            try:
                yield page.render(scale=dpi / 72).to_pil()
            finally:
                page.close()
    finally:
        pdf.close()


def read_image(image, page: int, where: str, timeout: float | None = None) -> tuple[str, list[OcrWord]]:
    """The text of one page image and its words (offsets into that text)."""
    import pytesseract

    timeout = page_timeout() if timeout is None else timeout
    # one thread a page: Tesseract's OpenMP threads fight over shared cores (a page took over
    # 20 s on two busy cores with them, 6 s without); workers give parallelism across notes
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        data = pytesseract.image_to_data(image, output_type=pytesseract.Output.DICT, timeout=timeout)
    except RuntimeError as exc:  # pytesseract's timeout
        if "timeout" in str(exc).lower():
            raise InputError("E532", f"{where}: page {page} has no text layer and OCR took longer than "
                                     f"{timeout:g} s (--ocr-page-timeout)") from None
        raise InputError("E532", f"{where}: page {page} has no text layer and OCR failed "
                                 f"({type(exc).__name__})") from None
    except pytesseract.TesseractError as exc:
        raise InputError("E532", f"{where}: page {page} has no text layer and OCR failed "
                                 f"(tesseract status {exc.status})") from None
    parts: list[str] = []
    words: list[OcrWord] = []
    pos = 0
    last_line = last_par = None
    for i, word in enumerate(data["text"]):
        word = (word or "").strip()
        if not word or int(data["level"][i]) != 5:
            continue
        par = (data["block_num"][i], data["par_num"][i])
        line = par + (data["line_num"][i],)
        if last_line is not None:
            sep = "\n\n" if par != last_par else "\n" if line != last_line else " "
            parts.append(sep)
            pos += len(sep)
        last_line, last_par = line, par
        box = (int(data["left"][i]), int(data["top"][i]), int(data["width"][i]), int(data["height"][i]))
        words.append(OcrWord(pos, pos + len(word), page, box, float(data["conf"][i])))
        parts.append(word)
        pos += len(word)
    return "".join(parts), words


def low_confidence(words: Iterable[OcrWord], threshold: float = LOW_CONFIDENCE) -> tuple[tuple[int, int], ...]:
    """[start, end) ranges of the words read with a confidence under ``threshold``."""
    return tuple((w.start, w.end) for w in words if 0 <= w.confidence < threshold)


def shifted(words: Iterable[OcrWord], offset: int) -> list[OcrWord]:
    return [OcrWord(w.start + offset, w.end + offset, w.page, w.box, w.confidence) for w in words]

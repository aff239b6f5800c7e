"""OCR of scanned PDFs (formats/ocr.py through formats/pdf.py): tesseract-ocr via pytesseract,
pages rasterised with pypdfium2.

Sample notes are drawn as page images (PIL) at 300 dpi clean and at 150 dpi with noise, saved
as image-only PDFs (no text layer), and read back: a clean scan gives the same codes and
verdicts as the note's text; a noisy one may lose codes to review, never gain another code.
Three pages in all (OCR is slow on shared CI cores). Skipped where the engine is missing;
the E532 row naming what is missing is tested everywhere.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notechecker.cli import app
from notechecker.errors import InputError
from notechecker.formats import ocr
from notechecker.formats.pdf import pdf_text_and_words
from notechecker.service import check

from .conftest import sample_text

NOTE = "sn08_anterior_cervical_plate_removal"
needs_ocr = pytest.mark.skipif(ocr.missing() is not None, reason=f"OCR engine missing: {ocr.missing()}")


def _builder():
    """sample_notes/formats/build_samples.py, which draws scanned pages (also for the benchmark)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "sample_notes" / "formats" / "build_samples.py"
    spec = importlib.util.spec_from_file_location("build_samples", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


scanned_pdf = _builder().scanned_pdf


def verdicts(result) -> list[tuple[tuple[str, ...], str]]:
    return sorted((c.codes, c.verdict) for c in result.conclusions)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    data = scanned_pdf(sample_text(NOTE), dpi=300)
    path = tmp_path_factory.mktemp("scan") / f"{NOTE}.pdf"
    path.write_bytes(data)
    return path, pdf_text_and_words(data, path.name)


@needs_ocr
def test_a_clean_scan_gives_the_codes_and_verdicts_of_the_text(clean):
    _, (text, words) = clean
    want = check(sample_text(NOTE), note_id=NOTE)
    got = check(text, note_id=NOTE)
    assert got.suggested == want.suggested and want.suggested
    assert verdicts(got) == verdicts(want)


@needs_ocr
def test_every_ocr_word_keeps_its_page_box_and_confidence(clean):
    _, (text, words) = clean
    assert len(words) > 100
    for w in words:
        assert text[w.start:w.end].strip() == text[w.start:w.end] != ""
        assert w.page == 1 and 0 <= w.confidence <= 100
        left, top, width, height = w.box
        assert 0 <= left and 0 <= top and 0 < width < 8.5 * ocr.DPI and 0 < height < 11 * ocr.DPI
    # a clean 300 dpi page reads with high confidence almost everywhere
    assert len(ocr.low_confidence(words)) < 0.05 * len(words)
    assert "anterior cervical plate" in " ".join(text.split())


@needs_ocr
def test_extract_and_check_read_a_scan_and_carry_its_low_confidence_words(clean, tmp_path):
    path, (text, words) = clean
    out = tmp_path / "facts.jsonl"
    res = CliRunner().invoke(app, ["extract", str(path), "-o", str(out), "--ocr-page-timeout", "120"])
    assert res.exit_code == 0, res.output
    row = json.loads(out.read_text(encoding="utf-8"))
    want = check(sample_text(NOTE)).facts
    for key in ("instruments_removed", "levels", "approach", "removal_reasons"):
        value = getattr(want, key)  # (the frozen facts hold tuples; JSON reads lists)
        assert row[key] == (list(value) if isinstance(value, tuple) else value), key
    assert row["low_confidence"] == [list(r) for r in ocr.low_confidence(words)]
    for ev in (e for i in row["instruments"] for e in [i["evidence"]]):
        assert text[ev["start"]:ev["end"]] == ev["text"]


@pytest.fixture(scope="module")
def noisy():
    data = scanned_pdf(sample_text(NOTE), dpi=150, noise=0.01)
    text, words = pdf_text_and_words(data, "noisy.pdf")
    low = ocr.low_confidence(words)
    return text, words, low, check(text, note_id="noisy", low_confidence=low)


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    a = max(text.rfind(". ", 0, start), text.rfind("\n\n", 0, start)) + 1
    b = min(x for x in (text.find(". ", end), text.find("\n\n", end), len(text)) if x != -1)
    return a, b


@needs_ocr
def test_a_noisy_scan_keeps_the_codes_and_flags_what_rests_on_low_confidence_words(noisy):
    text, words, low, result = noisy
    assert low, "a noisy 150 dpi scan has words read with low confidence"
    facts = result.facts
    assert [list(r) for r in facts.low_confidence] == [list(r) for r in low]
    text_codes = set(check(sample_text(NOTE)).suggested)
    assert text_codes <= set(result.suggested)  # nothing the text supports is lost
    # a code the text does not support rests on a sentence with a word read with low confidence,
    # so the check can send it to a coder (Facts.low_confidence_evidence on the sentence)
    if set(result.suggested) - text_codes:
        kinds = {p.kind for p in check(sample_text(NOTE)).facts.procedures}
        new = [p for p in facts.procedures if p.kind not in kinds]
        assert new
        for proc in new:
            a, b = _sentence(text, proc.evidence.start, proc.evidence.end)
            assert facts.low_confidence_evidence(type(proc.evidence)(text[a:b], a, b)), proc.kind


@needs_ocr
def test_a_noisy_scan_never_gives_another_code(noisy):
    """OCR noise in this scan's history sentence ('had a' read 'hada', confidence 33) once made a past
    ACDF today's (22551); the history is still read as history."""
    _, _, _, result = noisy
    assert set(result.suggested) <= set(check(sample_text(NOTE)).suggested)


@needs_ocr
def test_a_page_over_its_ocr_budget_is_an_e532_row(monkeypatch):
    monkeypatch.setenv(ocr.TIMEOUT_ENV, "0.01")
    data = scanned_pdf("PROCEDURE: Removal of hardware L4-L5.\n" * 20, dpi=150)
    with pytest.raises(InputError) as err:
        pdf_text_and_words(data, "slow.pdf")
    assert err.value.code == "E532" and "slow.pdf" in str(err.value) and "--ocr-page-timeout" in str(err.value)


@pytest.mark.parametrize("absent", ["tesseract-ocr", "pytesseract", "pypdfium2"])
def test_without_the_engine_a_scan_stays_e532_naming_the_missing_package(monkeypatch, absent):
    monkeypatch.setattr(ocr, "missing", lambda: absent)
    data = scanned_pdf("PROCEDURE: Removal of hardware L4-L5.", dpi=72) if _pil() else None
    if data is None:
        pytest.skip("Pillow missing")
    with pytest.raises(InputError) as err:
        pdf_text_and_words(data, "scan.pdf")
    assert err.value.code == "E532" and absent in str(err.value) and "scan.pdf" in str(err.value)


def test_the_ocr_page_timeout_is_an_option_passed_on_to_workers(monkeypatch):
    monkeypatch.delenv(ocr.TIMEOUT_ENV, raising=False)
    assert ocr.page_timeout() == ocr.DEFAULT_PAGE_TIMEOUT == 20.0
    ocr.set_page_timeout(7.5)
    assert ocr.page_timeout() == 7.5
    monkeypatch.setenv(ocr.TIMEOUT_ENV, "not a number")
    assert ocr.page_timeout() == ocr.DEFAULT_PAGE_TIMEOUT
    res = CliRunner().invoke(app, ["check", "--help"])
    assert "--ocr-page-timeout" in res.output


def _pil() -> bool:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True

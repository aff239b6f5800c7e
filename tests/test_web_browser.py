"""End to end: the page in headless Chromium, driven by Playwright, against a real uvicorn.

A surgeon pastes a sample note, presses Ctrl+Enter, sees each code's verdict, selects a
documented item and sees its quote highlighted in the note, and sees a missing item with
the sentence to add. Uses the system Chromium (Debian's ``chromium`` package); skipped
when it or the ``playwright`` package is absent. No browser is downloaded.
"""
from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import live_server, nonspine_texts

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SAMPLES = Path(__file__).resolve().parent.parent / "sample_notes"

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


@pytest.fixture(scope="module")
def base_url():
    with live_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    pg = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("request", lambda r: None if r.url.startswith(base_url) else outside.append(r.url))
    pg.goto(base_url + "/")
    yield pg
    context.close()
    assert not errors, errors
    assert not outside, f"the page reached beyond its server: {outside}"


def api_check(base_url: str, body: dict) -> dict:
    req = urllib.request.Request(base_url + "/api/check", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def sample(name: str) -> str:
    # a textarea normalises line ends to \n, so the page sends (and offsets refer to) this text
    return (SAMPLES / name).read_text(encoding="utf-8").replace("\r\n", "\n")


def test_check_highlights_evidence_and_shows_missing_items(page, base_url):
    text = sample("sn08_anterior_cervical_plate_removal.txt")
    expected = api_check(base_url, {"text": text})
    res = next(r["checklist"] for r in expected["verdicts"] if r["code"] == "22855")  # nested in the record
    met = next(f for f in res["findings"] if f["status"] == "met" and f["evidence"])
    missing = next(f for f in res["findings"] if f["status"] == "missing")

    page.fill("#note", text)
    page.keyboard.press("Control+Enter")
    card = page.locator('section.code[data-code="22855"]')
    card.wait_for(timeout=30_000)
    verdict = next(v for v in expected["verdicts"] if v["code"] == "22855")
    assert card.locator("h3 .badge").inner_text().lower() == verdict["verdict"]

    # a missing item with the sentence to add
    row = page.locator(f'li[data-key="22855|{missing["item_id"]}"]')
    assert row.is_visible()
    assert missing["fix_hint"] in row.inner_text()
    assert "request (fill each ___ from the operation)" in row.inner_text().lower()

    # select a documented item: its quotes are marked in the note shown beside the results
    button = page.locator(f'button.met[data-key="22855|{met["item_id"]}"]')
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    marks = page.locator("#view mark.evidence")
    assert marks.count() >= 1
    mark_texts = marks.all_inner_texts()
    for ev in met["evidence"]:
        assert any(ev["text"] in m for m in page.eval_on_selector_all(
            "#view mark.evidence", "els => els.map(e => e.textContent)")), (ev["text"], mark_texts)
    first = marks.first
    assert first.is_visible()
    assert first.evaluate("e => { const r = e.getBoundingClientRect(), v = e.closest('#view').getBoundingClientRect();"
                          " return r.bottom > v.top && r.top < v.bottom; }")
    # category marks (displaCy style) colour the note; the legend names the categories
    assert page.locator("#view mark.ent").count() > 3
    assert page.locator("#legend").is_visible()

    # Escape clears the highlight
    page.keyboard.press("Escape")
    assert page.locator("#view mark.evidence").count() == 0


def test_given_codes_show_code_problems(page, base_url):
    text = sample("sn08_anterior_cervical_plate_removal.txt")
    page.fill("#note", text)
    page.fill("#codes", "22852")
    assert page.is_checked("#mode-given")
    page.click("#check")
    card = page.locator('section.code[data-code="22852"]')
    card.wait_for(timeout=30_000)
    badge = card.locator("h3 .badge")
    assert badge.get_attribute("data-verdict") == "wrong code"
    # the reason names the code the note supports instead, and no chip under it says "supported"
    assert "22855" in card.locator(".verdict-reason").inner_text()
    assert "supported" not in [t.lower() for t in card.locator("span.verdict").all_inner_texts()]


@pytest.mark.parametrize("name, codes", [
    ("sn12_removal_disjoint_new_tlif_numbered.txt", "22852 22612 22840 22513"),
    ("sn08_anterior_cervical_plate_removal.txt", ""),
    ("sn16_psf_t10_pelvis_s2ai_numbered.txt", "22843 22848"),
])
def test_page_verdicts_agree_with_the_json(page, base_url, name, codes):
    """Every code's badge on the page says the verdict the JSON says; the jump chips agree too."""
    text = sample(name)
    body = {"text": text, **({"codes": codes.split()} if codes else {})}
    expected = {v["code"]: v for v in api_check(base_url, body)["verdicts"]}
    page.fill("#note", text)
    if codes:
        page.fill("#codes", codes)
    page.keyboard.press("Control+Enter")
    page.locator("section.code").first.wait_for(timeout=30_000)
    shown = page.eval_on_selector_all(
        "section.code[data-code] h3 .badge", "els => els.map(e => [e.closest('section').dataset.code, "
        "e.dataset.verdict, e.textContent.trim()])")
    assert shown, "no code on the page"
    for code, verdict, label in shown:
        assert verdict == expected[code]["verdict"] == label, (code, verdict, label, expected[code])
    checked = {code for code, _, _ in shown}
    # every decision record is a card, the codes supported and not billed too (issue 20: every face
    # renders the record; they were a list of "other code problems" before)
    assert checked == set(expected)
    # a code is never badged supported while its section lists an error-severity gap it depends on,
    # and no chip inside a section says "supported" unless its badge does
    for code, verdict, _ in shown:
        if verdict == "supported":
            assert not expected[code]["reason"].startswith("add:")
        chips = page.locator(f'section.code[data-code="{code}"] span.verdict').all_inner_texts()
        if verdict != "supported":
            assert "supported" not in [c.strip().lower() for c in chips], (code, verdict, chips)


def test_out_of_scope_note_shows_the_banner_and_no_checklist(page, base_url):
    """A note classified as another operation: the page shows the out-of-scope banner with its evidence
    and no checklist: the real classifier, on a real non-spine note."""
    text = nonspine_texts(1)[0]
    page.fill("#note", text)
    page.fill("#codes", "22842")
    page.keyboard.press("Control+Enter")
    banner = page.locator(".banner.out-of-scope")
    banner.wait_for(timeout=30_000)
    assert banner.inner_text().startswith("Out of scope: not a spine operation")
    assert "evidence:" in banner.inner_text()
    assert page.locator("section.code").count() == 0  # no checklist
    assert page.locator('li[data-code="22842"] .badge').inner_text() == "out of scope"


def test_bad_codes_and_empty_note_are_explained_on_the_page(page):
    page.click("#check")
    assert "Paste the operative note" in page.inner_text("#status")
    page.fill("#note", "Removal of hardware.")
    page.fill("#codes", "2285x")
    page.keyboard.press("Control+Enter")
    assert "5 digits" in page.inner_text("#status")


def test_keyboard_only_flow(page):
    text = sample("sn01_removal_infection_headed.txt")
    page.focus("#note")
    page.fill("#note", text)
    # Tab from the note reaches the code choice, then the codes field, then the Check button
    order = []
    for _ in range(6):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    assert "check" in order and "codes" in order, order
    page.focus("#check")
    page.keyboard.press("Enter")
    page.locator("section.code").first.wait_for(timeout=30_000)
    # the first documented item is reachable and opens its evidence with the keyboard
    button = page.locator("button.met").first
    button.focus()
    page.keyboard.press("Enter")
    assert page.locator("#view mark.evidence").count() >= 1
    # focus stays on the item (Enter again = next place, Tab = next item); the status reads the quote out
    assert page.evaluate("document.activeElement.matches('button.met')")
    quote = page.locator("#view mark.evidence.current").text_content().split()[0]
    assert quote in page.inner_text("#status")


def test_report_tables_fit_1920_pixels_without_sideways_scrolling(browser, tmp_path):
    """The gap report of a real scan (sample notes billed with long ids and many codes) at 1920 px: no
    table scrolls sideways, the worst-notes table included."""
    import pandas as pd

    import notechecker
    from notechecker.report import build_report

    rows = []  # ids without separators, a date cell of free text, names without spaces: what exports hold
    for k, p in enumerate(sorted(SAMPLES.glob("*.txt"))[:12]):
        rows.append({"note_id": f"ENCOUNTER{k:04d}X{'7' * 40}", "text": p.read_text(encoding="utf-8"),
                     "codes": "22852, 22842, 22840, 22612, 22614, 22853, 22513, 22830",
                     "surgeon": "DrBartholomewFeatherstonehaughWorthingtonTheThird",
                     "date": "operation date unknown, see the anaesthesia record of the day",
                     "site": "NorthCampusOrthopaedicAndSpineInstitute"})
    out = tmp_path / "r.parquet"
    notechecker.scan([pd.DataFrame(rows)], str(out))
    html = tmp_path / "r.html"
    build_report(out, html, min_notes=5)
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    pg = context.new_page()
    pg.goto(html.as_uri())
    wide = pg.eval_on_selector_all(".table-wrap", "els => els.filter(e => e.scrollWidth > e.clientWidth + 1)"
                                                 ".map(e => e.closest('section').id)")
    assert pg.locator("#worst-notes table").count() >= 1
    assert wide == [], wide
    assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()

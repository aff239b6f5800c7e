"""CDS Hooks in ``serve``: discovery and the ``notechecker-note-sign`` hook, through FastAPI's
TestClient, and from a page in headless Chromium (skipped without it)."""
from __future__ import annotations

import base64
import json
import logging
import os

import pytest
from fastapi.testclient import TestClient

from notechecker.web.cds_hooks import HOOK, SERVICE_ID, SOURCE_LABEL, SUMMARY_MAX
from notechecker.web.server import create_app
from tests.conftest import SAMPLES, live_server

FORMATS = SAMPLES / "formats"
SN08 = SAMPLES / "sn08_anterior_cervical_plate_removal.txt"
SECRET = "Patient Zebulon Quillfeather MRN 99887766 underwent removal of L4-L5 pedicle screws."
URL = f"/cds-services/{SERVICE_ID}"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


def docref(text: str, content_type: str = "text/plain", codes: tuple[str, ...] = (), **extra) -> dict:
    doc = {"resourceType": "DocumentReference", "id": "draft-1", "status": "current", "docStatus": "preliminary",
           "subject": {"reference": "Patient/p1"},
           "content": [{"attachment": {"contentType": content_type,
                                       "data": base64.b64encode(text.encode()).decode()}}]}
    if codes:
        doc["context"] = {"event": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": c}
                                                for c in codes]}]}
    doc.update(extra)
    return doc


def hook_request(document, **context) -> dict:
    return {"hook": HOOK, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "fhirServer": "https://ehr.invalid/fhir",
            "context": {"patientId": "p1", "encounterId": "e1", "userId": "Practitioner/s1", "document": document,
                        **context}}


def test_discovery_lists_the_note_sign_service(client):
    r = client.get("/cds-services")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    (service,) = r.json()["services"]
    assert service["id"] == SERVICE_ID and service["hook"] == HOOK
    assert service["title"] and service["description"]
    for key in ("patientId", "encounterId", "userId", "document"):
        assert key in service["description"]


def test_cards_match_the_api_check_of_the_same_note(client):
    text = SN08.read_text(encoding="utf-8")
    r = client.post(URL, json=hook_request(docref(text, codes=("22855",))))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    cards = r.json()["cards"]
    check = client.post("/api/check", json={"text": text, "codes": ["22855"]}).json()
    gaps = [res for res in check["results"] if res["supported"] is not None
            and any(f["status"] != "met" for f in res["findings"])]
    problems = [c for c in check["conclusions"] if c["verdict"] != "supported"]
    assert gaps and len(cards) == len(gaps) + len(problems)
    for card in cards:
        assert 0 < len(card["summary"]) <= SUMMARY_MAX
        assert card["indicator"] in ("info", "warning", "critical")
        assert card["source"]["label"] == SOURCE_LABEL
        assert card["links"] == [{"label": "Open notechecker for the full view", "url": "http://127.0.0.1/",
                                  "type": "absolute"}]
        assert card["uuid"]
    gap_card = cards[0]
    assert gap_card["summary"].startswith("22855: ")
    unmet = [f for f in gaps[0]["findings"] if f["status"] != "met"]
    for f in unmet:
        assert f["item_id"] in gap_card["detail"]
        if f["fix_hint"]:  # the sentence to add (markdown-escaped where needed)
            assert f["fix_hint"].split(",")[0].replace("'", "'") in gap_card["detail"].replace("\\", "")
    worst = {"error": "critical", "warning": "warning", "info": "info"}[
        min((f["severity"] for f in unmet), key=["error", "warning", "info"].index)]
    assert gap_card["indicator"] == worst
    for card, problem in zip(cards[len(gaps):], problems):
        assert problem["message"][:40] in card["summary"] + card["detail"]


def test_without_codes_the_codes_the_note_supports_are_checked_and_html_is_read(client):
    text = (SAMPLES / "sn03_removal_pain_hardware_block_nocolon.txt").read_text(encoding="utf-8")
    html = "".join(f"<p>{line or '&nbsp;'}</p>" for line in text.splitlines())
    r = client.post(URL, json=hook_request(docref(html, "text/html")))
    assert r.status_code == 200, r.text
    summaries = [c["summary"] for c in r.json()["cards"]]
    check = client.post("/api/check", json={"text": text}).json()
    assert check["codes"] and all(any(s.startswith(f"{res['code']}: ") for s in summaries)
                                  for res in check["results"]
                                  if res["supported"] is not None and any(f["status"] != "met"
                                                                          for f in res["findings"]))


BAD_REQUESTS = [  # (case, body, status, error code, words)
    ("wrong_hook", {**hook_request(docref(SECRET)), "hook": "patient-view"}, 400, "E711", ["notechecker-note-sign"]),
    ("no_document", {"hook": HOOK, "hookInstance": "x", "context": {"patientId": "p", "userId": "u"}}, 422,
     "E702", ["context.document", "required"]),
    ("not_a_docref", hook_request({"resourceType": "Patient", "id": "p", "text": {"div": SECRET}}), 422, "E712",
     ["not a FHIR DocumentReference"]),
    ("url_only", hook_request(docref(SECRET, content=[{"attachment": {"contentType": "text/plain",
                                                                       "url": "https://ehr.invalid/b"}}])),
     422, "E712", ["context.document", "E504", "without inline data"]),
    ("bad_docref", hook_request(docref(SECRET, status=12)), 422, "E712", ["E503", "status"]),
    ("no_context", {"hook": HOOK, "hookInstance": "x"}, 422, "E702", ["context"]),
]


@pytest.mark.parametrize("body, status, code, words", [b[1:] for b in BAD_REQUESTS], ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_are_named_errors_without_note_text(client, caplog, body, status, code, words):
    caplog.set_level(logging.DEBUG)
    r = client.post(URL, json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    for w in words:
        assert w in err["message"], (w, err["message"])
    assert "Quillfeather" not in r.text and "99887766" not in r.text
    assert "Quillfeather" not in caplog.text
    assert "patient-view" not in r.text  # the caller's hook name is never echoed (issue 22)


def test_not_json_and_too_large_bodies_as_for_api_check(caplog):
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(max_bytes=2000), base_url="http://127.0.0.1") as c:
        r = c.post(URL, content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "E701"
        big = hook_request(docref(SECRET * 40))
        r = c.post(URL, json=big)
        assert r.status_code == 413 and r.json()["error"]["code"] == "E700"
        r = c.get(URL)
        assert r.status_code == 405 and r.json()["error"]["code"] == "E706"
    assert "Quillfeather" not in caplog.text
    assert f"POST {URL} 400" in caplog.text  # the access log: method, path, status, time only


def test_the_hook_is_in_the_openapi_description(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/cds-services" in paths and URL in paths


# --------------------------------------------------------------------------- browser
CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")
def test_discovery_and_hook_from_the_page_in_chromium():
    """An EHR-like caller in a browser: the page's origin fetches discovery, then posts the hook."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    body = hook_request(json.loads((FORMATS / "sn08_documentreference.json").read_text(encoding="utf-8")))
    with live_server() as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox",
                                                                    "--disable-gpu"])
        page = browser.new_page()
        page.goto(base + "/")
        services = page.evaluate("async () => (await (await fetch('/cds-services')).json()).services")
        answer = page.evaluate("""async (body) => {
            const r = await fetch('/cds-services/notechecker-note-sign', {method: 'POST',
                headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
            return {status: r.status, data: await r.json()};
        }""", body)
        browser.close()
    assert [s["id"] for s in services] == [SERVICE_ID]
    assert answer["status"] == 200
    cards = answer["data"]["cards"]
    assert cards and cards[0]["summary"].startswith("22855: ")
    assert all(c["links"][0]["url"] == base + "/" for c in cards)

"""The HTTP API and the page, through FastAPI's TestClient (no network, no browser).

What is checked: ``POST /api/check`` on a real sample note (codes suggested and
given; every evidence quote slices the note), ``GET /api/rules``, ``GET /healthz``,
the OpenAPI description without CDN-backed docs, 413 for oversized bodies, 400/422
for bad bodies with messages that never echo the note, an access log without note
text, and a self-contained page at ``/``.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notechecker.web.server import create_app
from tests.conftest import evidence_spans

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notes"
SN08 = "sn08_anterior_cervical_plate_removal.txt"
#: A note text that must never come back in an error or a log line.
SECRET = "Patient Zebulon Quillfeather MRN 99887766 underwent removal of L4-L5 pedicle screws."


BASE = "http://127.0.0.1"  # the service answers to its own host names only


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def sn08() -> str:
    return (SAMPLES / SN08).read_text(encoding="utf-8")


def test_check_sample_note_suggests_22855_and_evidence_slices_the_note(client, sn08):
    r = client.post("/api/check", json={"text": sn08})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    data = r.json()
    assert "22855" in data["codes"]
    # issue 20: verdicts[] is the one list of decision records; the checklist detail is nested in each
    assert "results" not in data and "conclusions" not in data and isinstance(data["schema_version"], int)
    assert [v["code"] for v in data["verdicts"]] == data["codes"]
    rec = next(v for v in data["verdicts"] if v["code"] == "22855")
    res = rec["checklist"]
    assert res["summary"]["evaluated"] == len(res["findings"]) > 0
    assert {"coding_documented", "completeness", "met", "missing"} <= res["summary"].keys()
    assert "supported" not in res["summary"]  # one definition of "supported": the record's
    statuses = {f["status"] for f in res["findings"]}
    assert "met" in statuses
    for f in res["findings"]:
        assert {"item_id", "item_name", "tier", "severity", "status", "message", "fix_hint", "evidence"} <= f.keys()
        assert f["status"] in ("met", "missing", "negated", "conflicting")
    quotes = list(evidence_spans(data))
    assert len(quotes) > 10
    for q in quotes:
        assert sn08[q["start"]:q["end"]] == q["text"], q
    assert {"kind", "label", "message", "reasons", "evidence"} <= rec["coding"][0].keys()
    assert all("verdict" not in c for v in data["verdicts"] for c in v["coding"])  # never a second verdict
    assert data["facts"]["suggested_cpt"]


def test_check_given_codes_are_the_codes_checked(client, sn08):
    r = client.post("/api/check", json={"text": sn08, "codes": ["22852"], "note_id": "sn08"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["note_id"] == "sn08"
    assert data["codes"] == ["22852"] and data["billed"] == ["22852"]
    # the note documents an anterior plate removal: 22852 (posterior segmental) does not fit it
    rec = next(v for v in data["verdicts"] if v["billed"])
    assert rec["code"] == "22852" and not rec["supported"] and rec["billing_gap"] == "over-coded"
    assert any(c["kind"] != "supported" for c in rec["coding"])
    for q in evidence_spans(data):
        assert sn08[q["start"]:q["end"]] == q["text"]


def test_offsets_count_code_points_like_python(client, sn08):
    text = "\U0001F9B4 " + sn08  # an astral character first: offsets are code points, not UTF-16 units
    data = client.post("/api/check", json={"text": text}).json()
    quotes = list(evidence_spans(data))
    assert quotes
    for q in quotes:
        assert text[q["start"]:q["end"]] == q["text"]


def test_rules_lists_every_item_with_its_codes(client):
    r = client.get("/api/rules")
    assert r.status_code == 200
    data = r.json()
    items = {it["id"]: it for cl in data["checklists"] for it in cl["items"]}
    assert {"RM-01", "RM-05", "OP-09"} <= items.keys()
    for it in items.values():
        assert {"id", "name", "description", "tier", "severity", "fix_hint", "codes", "category"} <= it.keys()
        assert it["tier"] in ("coding", "necessity", "quality")
        assert it["severity"] in ("error", "warning", "info")
        assert it["fix_hint"].startswith(("Please ", "If "))  # "If X was done, document ...; otherwise ..."
    assert "22855" in items["RM-01"]["codes"]
    assert items["RM-05"]["category"] == "reason"
    assert data["codes"]["22855"]["descriptor"]
    assert data["bundling"]


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["pipeline_loaded"] is True


def test_openapi_is_served_and_cdn_docs_are_off(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/check", "/api/rules", "/healthz"} <= spec["paths"].keys()
    assert "CheckRequest" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_page_is_self_contained(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<textarea" in html and 'id="check"' in html
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:[a-z]+:)?//""", html, re.I)
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp


def test_page_is_package_data():
    import importlib.resources

    page = importlib.resources.files("notechecker.web") / "static" / "index.html"
    assert page.is_file()


# --------------------------------------------------------------------------- size limit
@pytest.fixture(scope="module")
def small_client():
    with TestClient(create_app(max_bytes=2_000), base_url=BASE) as c:
        yield c


def test_oversized_body_is_413_with_json_error(small_client):
    r = small_client.post("/api/check", json={"text": SECRET * 100})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "E700"
    assert "Zebulon" not in r.text


def test_oversized_streamed_body_without_length_is_413(small_client):
    body = json.dumps({"text": SECRET * 100}).encode()

    def chunks():
        for i in range(0, len(body), 500):
            yield body[i:i + 500]

    r = small_client.post("/api/check", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "E700"
    assert "Zebulon" not in r.text


def test_body_under_the_limit_passes(small_client):
    r = small_client.post("/api/check", json={"text": SECRET})
    assert r.status_code == 200


# --------------------------------------------------------------------------- bad bodies
BAD_BODIES = {
    "missing_text": ({"codes": ["22852"]}, "text"),
    "text_not_string": ({"text": 22852}, "text"),
    "text_list": ({"text": [SECRET]}, "text"),
    "empty_text": ({"text": ""}, "text"),
    "blank_text": ({"text": " \n\t "}, "text"),
    "codes_string": ({"text": SECRET, "codes": "22852"}, "codes"),
    "codes_four_digits": ({"text": SECRET, "codes": ["2285"]}, "codes"),
    "codes_numbers": ({"text": SECRET, "codes": [22852]}, "codes[0]"),
    "codes_unreadable": ({"text": SECRET, "codes": ["2285-5"]}, "codes"),
    "codes_empty": ({"text": SECRET, "codes": []}, "codes"),
    "codes_too_many": ({"text": SECRET, "codes": ["22852"] * 26}, "codes"),
    "unknown_field": ({"text": SECRET, "note": SECRET}, "note"),
    "note_id_phi": ({"text": SECRET, "note_id": "Zebulon Quillfeather"}, "note_id"),
    "body_is_string": (SECRET, "body"),
    "body_is_list": ([SECRET], "body"),
}


@pytest.mark.parametrize("body,field", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_body_is_422_naming_the_field_without_echoing_the_note(client, body, field):
    r = client.post("/api/check", json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "E702"
    assert err["message"].startswith("[E702]")
    assert any(d["field"] == field for d in err["details"]), err
    assert "Zebulon" not in r.text and "99887766" not in r.text


def test_body_that_is_not_json_is_400(client):
    r = client.post("/api/check", content=b'{"text": "' + SECRET.encode() + b'"',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "E701"
    assert "Zebulon" not in r.text


def test_form_encoded_body_is_rejected_without_echo(client):
    r = client.post("/api/check", content=f"text={SECRET}".encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code in (400, 422)
    assert "Zebulon" not in r.text


def test_unknown_path_and_method_are_json(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "E705"
    r = client.get("/api/check")
    assert r.status_code == 405 and r.json()["error"]["code"] == "E706"


# --------------------------------------------------------------------------- failures and logs
def patched_client():
    """A client whose worker processes start after the test patched ``service.check`` (they fork then)."""
    return TestClient(create_app(), base_url=BASE)


def test_checker_errors_never_echo_the_note(monkeypatch):
    """A failure inside the checker is the server's (500), never blamed on the codes, never echoing the note
    (behaviour change: a ValueError that is not about the codes was a 400 'codes could not be checked')."""
    from notechecker import service

    def quoting_value_error(text, codes=None, note_id="note"):
        raise ValueError(f"[NC999] could not parse {text[:40]!r}")

    monkeypatch.setattr(service, "check", quoting_value_error)
    with patched_client() as client:
        r = client.post("/api/check", json={"text": SECRET})
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "E799" and "codes" not in r.json()["error"]["message"]
    assert "Zebulon" not in r.text

    def crash(text, codes=None, note_id="note"):
        raise RuntimeError(text)

    monkeypatch.setattr(service, "check", crash)
    with patched_client() as client:
        r = client.post("/api/check", json={"text": SECRET})
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "E799"
    assert "Zebulon" not in r.text


def test_coded_value_errors_about_codes_are_shown(monkeypatch):
    from notechecker import service

    def bad_code(text, codes=None, note_id="note"):
        raise ValueError("[E111] unreadable billed code(s) 'X'; expected e.g. 22852")

    monkeypatch.setattr(service, "check", bad_code)
    with patched_client() as client:
        r = client.post("/api/check", json={"text": SECRET})
    assert r.status_code == 400
    assert "[E111]" in r.json()["error"]["message"]


def test_logs_hold_method_path_status_but_no_note_text(client, caplog, monkeypatch):
    from notechecker import service

    def crash(text, codes=None, note_id="note"):
        raise RuntimeError(text)

    caplog.set_level(logging.DEBUG)
    client.post("/api/check", json={"text": SECRET})
    client.post("/api/check", json={"text": ""})
    client.post("/api/check?text=" + SECRET.replace(" ", "+"), json={"text": SECRET})
    monkeypatch.setattr(service, "check", crash)
    with patched_client() as crashing:
        crashing.post("/api/check", json={"text": SECRET})
    access = [r.getMessage() for r in caplog.records if r.name == "notechecker.web.access"]
    assert any(line.startswith("POST /api/check 200") for line in access), access
    assert any(line.startswith("POST /api/check 422") for line in access), access
    assert any(line.startswith("POST /api/check 500") for line in access), access
    server_side = [r for r in caplog.records if r.name.split(".")[0] in ("notechecker", "uvicorn", "fastapi", "starlette")]
    assert server_side
    for record in server_side:
        text = record.getMessage() + (record.exc_text or "")
        assert "Zebulon" not in text and "99887766" not in text, (record.name, text)

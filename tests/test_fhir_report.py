"""``notechecker report RESULTS --fhir OUT.json``: a FHIR R4 Bundle of MeasureReports, validated
with the R4 models of fhir.resources (``fhir.resources.R4B``)."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport
from typer.testing import CliRunner

from notechecker.batch import run
from notechecker.cli import app
from notechecker.report.fhir import (DAVINCI_EVIDENCE_CODES, DAVINCI_EVIDENCE_STATUS, EXT_CODE, EXT_ENCOUNTER,
                                     EXT_EVIDENCE, EXT_STATUS)
from tests.conftest import SAMPLES

FORMATS = SAMPLES / "formats"
BAD = SAMPLES.parent / "tests" / "fixtures" / "formats"


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """Results of a scan of the document samples, one .txt note and one bad document; the report as JSON."""
    d = tmp_path_factory.mktemp("fhir")
    results = d / "results.parquet"
    run([FORMATS, SAMPLES / "sn17_tlif_l4_l5_title.txt", BAD / "scanned.pdf"], results, documents=True)
    out = d / "gap.fhir.json"
    res = CliRunner().invoke(app, ["report", str(results), "--fhir", str(out)])
    assert res.exit_code == 0, res.output
    assert not (d / "gap-report.html").exists() and not list(d.glob("*.html"))  # only what was asked for
    bundle = json.loads(out.read_text(encoding="utf-8"))
    frames = {name: pd.read_parquet(d / f"results{infix}.parquet") for name, infix in
              (("findings", ""), ("codes", ".codes"), ("notes", ".notes"))}
    return bundle, frames, res.output, results


def _ext(resource: dict, url: str):
    return [e for e in resource.get("extension", []) if e["url"] == url]


def test_bundle_and_every_measure_report_validate_against_r4_models(scanned):
    bundle, frames, output, _ = scanned
    Bundle.model_validate(bundle)  # raises on any invalid element
    assert bundle["type"] == "collection"
    reports = [e["resource"] for e in bundle["entry"]]
    for r in reports:
        MeasureReport.model_validate(r)
        assert r["resourceType"] == "MeasureReport" and r["type"] == "individual" and r["status"] == "complete"
    assert len(reports) == len(frames["codes"])  # one per note and code; the unreadable PDF has none
    assert f"({len(reports)} MeasureReports)" in output


def test_one_group_per_checklist_item_with_status_and_evidence_status(scanned):
    bundle, frames, _, _ = scanned
    findings = frames["findings"]
    for entry in bundle["entry"]:
        r = entry["resource"]
        note_id, code = r["identifier"][0]["value"].rsplit("|", 1)
        assert _ext(r, EXT_CODE)[0]["valueCoding"]["code"] == code
        assert r["measure"].endswith(f":{code}")
        mine = findings[(findings["note_id"] == note_id) & (findings["code"] == code)]
        groups = r.get("group", [])
        assert [g["code"]["coding"][0]["code"] for g in groups] == list(mine["item_id"])
        for g, (_, f) in zip(groups, mine.iterrows()):
            status = _ext(g, EXT_STATUS)[0]["valueCode"]
            assert status == f["status"] in ("met", "missing", "negated", "conflicting")
            (ev_status,) = _ext(g, DAVINCI_EVIDENCE_STATUS)
            coding = ev_status["valueCodeableConcept"]["coding"][0]
            assert coding["system"] == DAVINCI_EVIDENCE_CODES
            assert coding["code"] == ("closed-gap" if status == "met" else "open-gap")
            evidence = _ext(g, EXT_EVIDENCE)
            if pd.isna(f["evidence_start"]):
                assert not evidence
            else:
                parts = {e["url"]: e for e in evidence[0]["extension"]}
                assert parts["start"]["valueInteger"] == f["evidence_start"]
                assert parts["end"]["valueInteger"] == f["evidence_end"]


def test_subject_encounter_and_document_reference_when_known(scanned):
    bundle, _, _, _ = scanned
    by_note = {}
    for e in bundle["entry"]:
        r = e["resource"]
        by_note.setdefault(r["identifier"][0]["value"].rsplit("|", 1)[0], r)
    fhir_note = by_note["sn08-op-note"]
    assert fhir_note["subject"] == {"reference": "Patient/synth-p08"}
    assert fhir_note["evaluatedResource"] == [{"reference": "DocumentReference/sn08-op-note"}]
    assert _ext(fhir_note, EXT_ENCOUNTER)[0]["valueReference"] == {"reference": "Encounter/synth-e08"}
    assert fhir_note["period"] == {"start": "2024-03-12", "end": "2024-03-12"}
    hl7_note = by_note["DOC-SN26"]  # an identifier, not a FHIR reference; no DocumentReference
    assert hl7_note["subject"] == {"type": "Patient", "identifier": {"value": "SYN026"}}
    assert "evaluatedResource" not in hl7_note
    txt_note = by_note["sn17_tlif_l4_l5_title"]  # a .txt note: no patient known; date read from the note
    assert "subject" not in txt_note and "evaluatedResource" not in txt_note
    assert txt_note["period"]["start"] == "2023-12-11"


def test_no_quoted_note_text_in_the_fhir_output(scanned):
    bundle, frames, _, _ = scanned
    raw = json.dumps(bundle)
    quotes = [q for q in frames["findings"]["evidence_text"] if isinstance(q, str) and len(q) > 25]
    assert quotes
    assert not [q for q in quotes if json.dumps(q)[1:-1] in raw]


def test_same_results_give_the_same_bundle(scanned):
    from notechecker.report.fhir import fhir_bundle

    bundle, _, _, results = scanned
    assert fhir_bundle(results) == bundle


def test_report_without_fhir_still_writes_the_html(tmp_path):
    results = tmp_path / "r.csv"
    run([SAMPLES / "sn08_anterior_cervical_plate_removal.txt"], results)
    res = CliRunner().invoke(app, ["report", str(results), "-o", str(tmp_path / "g.html"), "--fhir",
                                   str(tmp_path / "g.json")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "g.html").is_file() and json.loads((tmp_path / "g.json").read_text())["entry"]

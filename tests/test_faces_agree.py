"""Issue 20: every corpus note, with its gold codes, through every face: the same verdict per code.

One pipeline, one check per note and billing (its decision records are computed once), then each
face renders it: the JSON of ``check``, the text of ``check`` at 80 columns, the web API's JSON
(``POST /api/check`` through the real app), CDS Hooks cards, the scan's codes table, the report's
verdict breakdown per code and the FHIR MeasureReports. Each face is read back in its own shape
(the text's verdict column, a card's summary, a MeasureReport extension ...) and compared with the
record. Notes: ../shared/eval dev, dev2 and forms with the codes of their auditor's verdicts (when
present) and sample_notes/ with the codes of sample_notes/gold.jsonl, each billed as gold and
once more with one unit too many of its first code (over-coding must read the same everywhere).
"""
from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
SAMPLES = ROOT / "sample_notes"


def _gold_codes(path: Path, key: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = collections.defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if key == "verdicts":
            out[row["note_id"]] += [str(row["code"])] * int(row.get("units") or 1)
        else:
            out[Path(row["file"]).stem] += [str(c) for c in row.get("suggested_cpt") or []]
    return out


def corpus() -> list[tuple[str, str, str, list[str]]]:
    """(set, note id, text, gold codes one per unit) for every corpus note that has gold codes."""
    cases = []
    for name in ("dev", "dev2", "forms"):
        gold = EVAL / name / "verdicts.jsonl"
        if not gold.exists():
            continue
        codes = _gold_codes(gold, "verdicts")
        for p in sorted((EVAL / name / "notes").glob("*.txt")):
            if codes.get(p.stem):
                cases.append((name, p.stem, p.read_text(encoding="utf-8"), codes[p.stem]))
    codes = _gold_codes(SAMPLES / "gold.jsonl", "gold")
    for p in sorted(SAMPLES.glob("*.txt")):
        if codes.get(p.stem):
            cases.append(("sample_notes", p.stem, p.read_text(encoding="utf-8"), codes[p.stem]))
    return cases


def billings(codes: list[str]) -> list[tuple[str, list[str]]]:
    """The gold billing and one with a unit too many of the first code."""
    return [("gold", codes), ("units", codes + [codes[0]])]


@pytest.fixture(scope="module")
def checked(pipeline):
    """(row id, text, codes, CheckResult) for every corpus note and billing: one pipeline pass a note."""
    from notechecker.service import assemble

    out = []
    for name, nid, text, codes in corpus():
        facts = pipeline.facts(text, nid)
        for kind, billed in billings(codes):
            out.append((f"{name}/{nid}#{kind}", text, billed, assemble(facts, billed)))
    assert len({rid.split("#")[0] for rid, *_ in out}) >= 36  # sample_notes at least
    return out


def _records(result, text):
    from notechecker.plain import code_verdicts

    return {v.code: v for v in code_verdicts(result, text=text)}


def test_check_json_and_text_say_the_same_verdict_per_code(checked):
    from notechecker.cli import check_lines
    from notechecker.plain import result_dict

    for rid, text, _codes, result in checked:
        records = _records(result, text)
        d = json.loads(json.dumps(result_dict(result, text), ensure_ascii=False))
        assert {v["code"]: v["verdict"] for v in d["verdicts"]} == {c: v.verdict for c, v in records.items()}, rid
        assert "results" not in d and "conclusions" not in d, rid  # one list of records, no second verdict
        lines = [ln for _, ln in check_lines(result, text, width=80)]
        assert all(len(ln) <= 80 for ln in lines), rid
        if result.facts.scope.is_spine:
            shown = {}
            for ln in lines:
                m = re.match(r"^. (\d{4}[0-9A-Z])\s.*?\s{1,}([A-Z][A-Z ,]+)$", ln)
                if m and m.group(1) in records:
                    shown[m.group(1)] = m.group(2).strip().lower()
            assert shown == {c: v.verdict for c, v in records.items()}, rid
        else:
            for c, v in records.items():
                if v.billed:
                    assert any(ln.strip().startswith(f"\u2717 {c}: {v.verdict} (") for ln in lines), rid
        describes = " ".join(dict.fromkeys(result.suggested))
        for c, v in records.items():
            # never "not supported" beside "codes the note describes: C" (issue 20)
            if v.verdict == "not supported":
                assert c not in describes.split(), rid


def test_web_api_and_cds_hooks_say_the_same_verdict_per_code(checked):
    from fastapi.testclient import TestClient

    from notechecker.web.cds_hooks import cards
    from notechecker.web.server import create_app

    with TestClient(create_app(workers=0), base_url="http://127.0.0.1") as client:
        for rid, text, codes, result in checked:
            records = _records(result, text)
            r = client.post("/api/check", json={"text": text, "codes": codes})
            assert r.status_code == 200, (rid, r.text[:200])
            data = r.json()
            assert {v["code"]: v["verdict"] for v in data["verdicts"]} == {c: v.verdict for c, v in records.items()}
            assert data["schema_version"] >= 2
            by_card = {}
            for card in cards(result, "faces", "http://127.0.0.1/", text):
                ext = card.get("extension") or {}
                if "notechecker-code" in ext:
                    by_card[ext["notechecker-code"]] = ext["notechecker-verdict"]
                    assert card["summary"].startswith(f"{ext['notechecker-code']}: {ext['notechecker-verdict']}")
            for c, v in records.items():
                # a code without a card is one the record calls supported with nothing to add
                assert by_card.get(c, "supported") == v.verdict, (rid, c)


def test_scan_table_report_and_fhir_say_the_same_verdict_per_code(checked):
    from notechecker.batch.rows import result_rows
    from notechecker.batch.task import Task
    from notechecker.report.fhir import EXT_VERDICT, measure_report
    from notechecker.report.load import from_frames
    from notechecker.report.tables import by_code

    findings, codes_rows, notes = [], [], []
    expected = {}
    for rid, text, codes, result in checked:
        task = Task(note_id=rid, source=rid, text=text, codes=" ".join(codes))
        rows = result_rows(task, result, redact=False)
        findings += rows["findings"]
        codes_rows += rows["codes"]
        notes += rows["notes"]
        for c, v in _records(result, text).items():
            expected[(rid, c)] = v
    table = {(r["note_id"], r["code"]): r for r in codes_rows}
    assert set(table) == set(expected)
    for key, v in expected.items():
        row = table[key]
        assert (row["verdict"], row["billing_gap"], bool(row["supported"])) == (v.verdict, v.billing_gap, v.supported), key
    # over-coding by units reads over-coded everywhere; gold billings are never over-coded by units
    for (rid, code), v in expected.items():
        if rid.endswith("#units") and v.billed and v.supported_units and v.billed_units > v.supported_units:
            assert v.billing_gap == "over-coded" and v.verdict != "supported", (rid, code)
    results = from_frames(pd.DataFrame(findings), pd.DataFrame(codes_rows), pd.DataFrame(notes))
    counted = {r.code: r.verdicts for r in by_code(results).itertuples()}
    want = collections.defaultdict(collections.Counter)
    for (_rid, code), v in expected.items():
        if v.billing_gap != "under-coded" or v.billed:
            want[code][v.verdict] += 1
    for code, counter in want.items():
        got = dict((w.rsplit(" ", 1)[0], int(w.rsplit(" ", 1)[1])) for w in counted[code].split(", ") if w)
        assert got == dict(counter), code
    by_pair = {k: g for k, g in results.findings.groupby(["note_id", "code"], sort=False)}
    empty = results.findings.iloc[0:0]
    for _, row in results.codes.iterrows():
        report = measure_report(row, by_pair.get((row["note_id"], row["code"]), empty), {})
        word = next(e["valueCode"] for e in report["extension"] if e["url"] == EXT_VERDICT)
        assert word == expected[(row["note_id"], row["code"])].verdict

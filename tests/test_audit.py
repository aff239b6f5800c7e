"""The auditor's workflow (issue 24): NCCI PTP and MUE edits from files in the CMS layouts (made here,
never shipped), reviewer decisions that stick, the worklist, provenance and verify, site overrides."""
from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from notechecker.audit.decisions import apply_rows, load_decisions, overrule_verdicts, summary, unused
from notechecker.audit.ncci import load_edits
from notechecker.audit.provenance import note_sha256
from notechecker.audit.worklist import Weights, load_rvu, worklist
from notechecker.errors import InputError, NoteCheckerError
from notechecker.plain import code_verdicts
from notechecker.service import check

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_notes"
SN12 = "sn12_removal_disjoint_new_tlif_numbered"  # removal L1-L3, new TLIF L4-L5 (distinct levels)
SN19 = "sn19_posterolateral_fusion_l3_l5_lowercase"  # posterolateral fusion L3-L5, decompression
SN17 = "sn17_tlif_l4_l5_title"

PTP_TITLE = ["CPT only copyright 2025 American Medical Association. All rights reserved.",
             "Practitioner PTP edits, version 2026 Q1 (test file made by the tests)", ""]
PTP_HEADER = [["Column 1", "Column 2", "*=in existence", "Effective", "Deletion", "Modifier", "PTP Edit Rationale"],
              ["", "", "prior to 1996", "Date", "Date *=no data", "0=not allowed 1=allowed 9=not applicable", ""]]
PTP_ROWS = [
    ["22633", "22852", "", "20150101", "*", "1", "Misuse of column two code with column one code"],
    ["22612", "63047", "", "20150101", "*", "0", "Standards of medical / surgical practice"],
    ["22612", "63048", "", "20150101", "*", "9", "Standards of medical / surgical practice"],
    ["22612", "22614", "*", "19960101", "20200101", "0", "Mutually exclusive procedures"],  # deleted in 2020
]
BAD_PTP_ROWS = [["2261", "22614", "", "20150101", "*", "0", "x"],  # not a code
                ["22612", "22842", "", "2015-13-01", "*", "1", "x"],  # not a date
                ["22612", "22840", "", "20150101", "*", "5", "x"]]  # not an indicator
MUE_TITLE = ["CPT codes, descriptions and other data only are copyright 2025 American Medical Association.",
             "Medically Unlikely Edits, practitioner services, effective January 1, 2026 (test file)"]
MUE_HEADER = ["HCPCS/CPT Code", "Practitioner Services MUE Values", "MUE Adjudication Indicator", "MUE Rationale"]
MUE_ROWS = [["22853", "1", "2 Date of Service Edit: Policy", "Anatomic Consideration"],
            ["22614", "1", "1 Line Edit", "Code Descriptor / CPT Instruction"]]
BAD_MUE_ROWS = [["228", "1", "2 Date of Service Edit: Policy", "x"], ["22612", "one", "2", "x"],
                ["22840", "1", "7 Something", "x"]]


def text_of(stem: str) -> str:
    return (SAMPLES / f"{stem}.txt").read_bytes().decode("utf-8")


def write_txt(path: Path, title: list[str], header: list[list[str]], rows: list[list[str]]) -> Path:
    lines = title + ["\t".join(h) for h in header] + ["\t".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ptp(tmp_path) -> Path:
    return write_txt(tmp_path / "ptp_2026q1.txt", PTP_TITLE, PTP_HEADER, PTP_ROWS + BAD_PTP_ROWS)


@pytest.fixture
def mue(tmp_path) -> Path:
    return write_txt(tmp_path / "mue_practitioner.txt", MUE_TITLE, [MUE_HEADER], MUE_ROWS + BAD_MUE_ROWS)


def ptp_conclusions(result, code=None):
    return [c for c in result.conclusions if c.rule == "NCCI-PTP" and (code is None or code in c.codes)]


# --------------------------------------------------------------------------- NCCI PTP
def test_ptp_file_as_cms_ships_it_bad_rows_located_nothing_lost(ptp):
    edits = load_edits([ptp])
    assert sum(len(v) for v in edits.ptp.values()) == len(PTP_ROWS)
    assert [(p.code, p.line) for p in edits.problems] == [("E031", 10), ("E031", 11), ("E031", 12)]
    assert "not a date" in edits.problems[1].message and "ptp_2026q1.txt, line 11" in edits.problems[1].message
    assert "modifier indicator" in edits.problems[2].problem
    (f,) = edits.files
    assert (f.kind, f.quarter, f.rows, f.bad_rows) == ("ncci-ptp", "2026Q1", 4, 3)
    assert edits.edit("22612", "22614", None) is None  # deleted: not in the newest edits
    assert edits.edit("22612", "22614", dt.date(2019, 6, 1)).indicator == "0"  # in force before its deletion
    assert edits.ptp[("22612", "22614")][0].prior_1996


def test_ptp_file_without_header_is_a_located_error(tmp_path):
    bad = tmp_path / "ptp.txt"
    bad.write_text("just a title\n22612\t63047\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_edits([bad])
    assert e.value.code == "E030" and "ptp.txt" in str(e.value)


def test_indicator_0_bundles_the_column_2_code_with_or_without_modifier(pipeline, ptp):
    edits = load_edits([ptp])
    for billed in ("22612, 22614, 22842, 63047", "22612, 22614, 22842, 63047-59"):
        r = check(text_of(SN19), billed, pipeline=pipeline, edits=edits, date_of_service="2024-03-01")
        (c,) = ptp_conclusions(r, "63047")
        assert c.verdict == "unbundle"
        assert "22612" in c.message and "63047" in c.message and "indicator 0" in c.message
        assert "Standards of medical / surgical practice" in c.message
        assert {v.code: v.verdict for v in code_verdicts(r)}["63047"] == "bundled"


def test_indicator_9_and_a_deleted_edit_raise_nothing(pipeline, ptp):
    edits = load_edits([ptp])
    r = check(text_of(SN19), "22612, 22614, 22842, 63048", pipeline=pipeline, edits=edits,
              date_of_service="2024-03-01")
    assert ptp_conclusions(r) == []  # 22612/63048 is indicator 9, 22612/22614 was deleted in 2020
    before = check(text_of(SN19), "22612, 22614, 22842", pipeline=pipeline, edits=edits,
                   date_of_service="2019-06-01")
    (c,) = ptp_conclusions(before, "22614")  # on a date of service before the deletion it applies
    assert c.verdict == "unbundle" and "Mutually exclusive" in c.message


def test_indicator_1_asks_for_the_modifier_and_shows_the_distinct_levels(pipeline, ptp):
    edits = load_edits([ptp])
    r = check(text_of(SN12), "22852, 22633, 22840, 22853", pipeline=pipeline, edits=edits)
    (c,) = ptp_conclusions(r, "22852")
    assert c.verdict == "modifier_needed" and "indicator 1" in c.message
    assert "59 or XS" in c.message and "distinct level" in c.message
    assert "L1, L2, L3 for 22852" in c.message  # what the note shows
    assert c.evidence and all(text_of(SN12)[e.start:e.end] == e.text for e in c.evidence)
    with_59 = check(text_of(SN12), "22852-59, 22633, 22840, 22853", pipeline=pipeline, edits=edits)
    (c59,) = ptp_conclusions(with_59, "22852")
    assert c59.verdict == "supported" and c59.modifiers == ("59",)


def test_indicator_1_with_a_modifier_the_note_does_not_back_goes_to_review(pipeline, tmp_path):
    f = write_txt(tmp_path / "p.txt", [], PTP_HEADER[:1], [["22612", "22842", "", "20150101", "*", "1", "x"]])
    r = check(text_of(SN19), "22612, 22614, 22842-XS", pipeline=pipeline, edits=load_edits([f]),
              date_of_service="2024-01-01")
    (c,) = ptp_conclusions(r, "22842")
    assert c.verdict == "coder_review" and "does not show a distinct level" in c.message


def test_no_date_of_service_uses_the_newest_edits_and_says_so(pipeline, ptp):
    edits = load_edits([ptp])
    text = "\n".join(line for line in text_of(SN19).splitlines() if "date" not in line.lower())
    r = check(text, "22612, 22614, 22842, 63047", pipeline=pipeline, edits=edits)
    (c,) = ptp_conclusions(r, "63047")
    assert "no date of service: the newest edits in the file were applied" in c.reasons[0]
    assert any("no date of service" in w for w in r.warnings)


def test_ptp_csv_and_xlsx_read_like_the_text_file(tmp_path, ptp):
    from openpyxl import Workbook

    rows = PTP_HEADER + PTP_ROWS
    with open(tmp_path / "ptp.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        for t in PTP_TITLE[:2]:
            w.writerow([t])
        w.writerows(rows)
    wb = Workbook()
    ws = wb.active
    for t in PTP_TITLE[:2]:
        ws.append([t])
    for r in rows:
        ws.append([int(c) if c.isdigit() and len(c) == 8 else c for c in r])  # dates as numbers, as Excel keeps them
    wb.save(tmp_path / "ptp.xlsx")
    want = {k: [(e.indicator, e.effective, e.deletion) for e in v] for k, v in load_edits([ptp]).ptp.items()}
    for name in ("ptp.csv", "ptp.xlsx"):
        got = load_edits([tmp_path / name])
        assert {k: [(e.indicator, e.effective, e.deletion) for e in v] for k, v in got.ptp.items()} == want
        assert got.problems == ()


# --------------------------------------------------------------------------- MUE
def test_mue_file_as_cms_ships_it_bad_rows_located(mue):
    edits = load_edits([], mue)
    assert set(edits.mue.limits) == {"22853", "22614"}
    assert [(p.code, p.line) for p in edits.problems] == [("E033", 6), ("E033", 7), ("E033", 8)]
    assert edits.files[0].quarter == "2026Q1"


def test_mue_excess_per_date_of_service_and_per_line(pipeline, mue):
    edits = load_edits([], mue)
    r = check(text_of(SN12), "22852-59, 22633, 22840, 22853 x2", pipeline=pipeline, edits=edits)
    (c,) = [c for c in r.conclusions if c.rule == "MUE"]
    assert c.codes == ("22853",) and c.verdict == "coder_review"
    assert "2 units of 22853 on the date of service, over the limit of 1" in c.message and "MAI 2" in c.message
    # MAI 1 counts a claim line: 22614 on two lines with different modifiers is within the MUE
    two_lines = check(text_of(SN19), "22612, 22614, 22614-59, 22842", pipeline=pipeline, edits=edits)
    assert not [c for c in two_lines.conclusions if c.rule == "MUE"]
    one_line = check(text_of(SN19), "22612, 22614 x2, 22842", pipeline=pipeline, edits=edits)
    (c1,) = [c for c in one_line.conclusions if c.rule == "MUE"]
    assert "on one claim line" in c1.message and "MAI 1" in c1.message


def test_the_old_code_mue_csv_still_reads(tmp_path):
    p = tmp_path / "mue.csv"
    p.write_text("code,mue,effective_date\n22853,3,2024-01-01\n22853,2,2025-01-01\n", encoding="utf-8")
    edits = load_edits([], p)
    assert edits.mue.row("22853", dt.date(2024, 6, 1)).limit == 3
    assert edits.mue.row("22853", None).limit == 2


# --------------------------------------------------------------------------- decisions
def _scan_rows(pipeline, stem: str, codes: str, text: str | None = None):
    from notechecker.batch.rows import result_rows
    from notechecker.batch.task import Task

    text = text if text is not None else text_of(stem)
    t = Task(note_id=stem, source=f"{stem}.txt", text=text, codes=codes)
    return result_rows(t, check(text, codes, pipeline=pipeline), False)


def _decisions(tmp_path, rows, header=("note_sha256", "code", "item", "decision", "reason", "reviewer", "date")):
    p = tmp_path / "decisions.csv"
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return p


def test_a_decision_hides_a_finding_and_a_changed_note_is_checked_afresh(pipeline, tmp_path):
    rows = _scan_rows(pipeline, SN19, "22612, 22614, 22842")
    gap = next(f for f in rows["findings"] if f["status"] != "met" and f["code"] == "22612")
    sha = rows["notes"][0]["note_sha256"]
    assert sha == note_sha256(text_of(SN19))
    d = load_decisions(_decisions(tmp_path, [[sha, "22612", gap["item_id"], "overrule", "in the addendum",
                                              "A. Reviewer", "2026-01-10"]]))
    used: set[int] = set()
    out = apply_rows(rows, d, used)
    hit = next(f for f in out["findings"] if f["code"] == "22612" and f["item_id"] == gap["item_id"])
    assert (hit["decision"], hit["decision_note"]) == ("overrule", "overruled by A. Reviewer: in the addendum")
    assert unused(d, used) == []
    # the report's rates leave it out
    from notechecker.report import from_frames, tables
    from notechecker.report.audit import apply_decisions
    from notechecker.batch.schema import to_frame

    res = from_frames({k: to_frame(k, v) for k, v in rows.items()})
    kept, decided, warnings = apply_decisions(res, d)
    assert len(kept.findings) == len(res.findings) - 1 and not warnings
    assert tables.summary_counts(kept)["missing"] == tables.summary_counts(res)["missing"] - 1
    assert list(decided["decision_note"]) == ["overruled by A. Reviewer: in the addendum"]
    # the note is edited: its hash changes, the finding is raised again and the decision says it did not apply
    edited = _scan_rows(pipeline, SN19, "22612, 22614, 22842", text_of(SN19) + "\nAddendum: none.\n")
    used2: set[int] = set()
    again = apply_rows(edited, d, used2)
    assert all(f["decision"] == "" for f in again["findings"])
    (w,) = unused(d, used2)
    assert w.code == "E036" and w.line == 2 and "edited since" in w.problem


def test_an_overruled_code_takes_the_reviewers_verdict_in_every_face(pipeline, tmp_path, ptp):
    edits = load_edits([ptp])
    text = text_of(SN19)
    r = check(text, "22612, 22614, 22842, 63047", pipeline=pipeline, edits=edits, date_of_service="2024-03-01")
    d = load_decisions(_decisions(tmp_path, [[note_sha256(text), "63047", "NCCI-PTP", "overrule",
                                              "separate level", "A. Auditor", "2026-01-10"]]))
    verdicts, _ = overrule_verdicts(code_verdicts(r), r, note_sha256(text), d)
    v = next(v for v in verdicts if v.code == "63047")
    assert v.verdict == "supported" and v.reason == "overruled by A. Auditor: separate level"
    assert v.also[0].startswith("the checker said: bundled")
    from notechecker.cli import check_lines

    lines = "\n".join(line for _, line in check_lines(r, text, decisions=d, width=200))
    assert "overruled by A. Auditor: separate level" in lines


def test_bad_decision_rows_are_located_and_the_others_kept(tmp_path):
    sha = "a" * 64
    p = _decisions(tmp_path, [
        [sha, "22612", "PF-01", "overrule", "ok", "A", "2026-01-01"],
        ["not-a-hash", "22612", "PF-01", "agree", "", "A", "2026-01-01"],
        [sha, "22612", "PF-01", "maybe", "", "A", "2026-01-01"],
        [sha, "22612", "PF-01", "overrule", "", "A", "2026-01-01"],  # an overrule needs a reason
        [sha, "22612", "PF-01", "agree", "", "", "2026-01-01"],
        [sha, "22612", "PF-01", "agree", "", "A", "01/02/2026"],
        [sha, "22612", "PF-02", "defer", "ask the surgeon", "B", "2026-01-02"],
    ])
    d = load_decisions(p)
    assert [x.line for x in d.rows] == [2, 8]
    assert [(b.code, b.line) for b in d.problems] == [("E035", n) for n in (3, 4, 5, 6, 7)]
    assert "decisions.csv, line 4: decision must be one of agree, overrule, defer" in d.problems[1].message
    with pytest.raises(InputError) as e:
        load_decisions(_decisions(tmp_path, [], header=("code", "decision")))
    assert e.value.code == "E034" and "note_sha256" in str(e.value)
    s = summary(d)
    assert s["by_item"][0] == {"key": "PF-01", "decisions": 1, "agree": 0, "overrule": 1, "defer": 0,
                               "overrule_rate": 1.0}


def test_decisions_parquet(tmp_path):
    sha = "b" * 64
    pd.DataFrame({"note_hash": [sha], "code": ["22852"], "rule_id": ["BR-03"], "decision": ["agree"],
                  "reason": [""], "reviewer": ["C"], "date": ["2026-02-01"]}).to_parquet(tmp_path / "d.parquet")
    (row,) = load_decisions(tmp_path / "d.parquet").rows
    assert (row.note_sha256, row.item, row.line) == (sha, "BR-03", 2)


# --------------------------------------------------------------------------- worklist
def _frames():
    codes = pd.DataFrame([
        {"note_id": "a", "code": "22612", "billed": True, "verdict": "supported", "billing_gap": "", "decision": ""},
        {"note_id": "b", "code": "22852", "billed": True, "verdict": "wrong code", "billing_gap": "over-coded",
         "decision": ""},
        {"note_id": "c", "code": "22633", "billed": True, "verdict": "coder review", "billing_gap": "", "decision": ""},
        {"note_id": "d", "code": "22853", "billed": True, "verdict": "wrong code", "billing_gap": "over-coded",
         "decision": "overrule"},  # decided: no longer on the worklist
        {"note_id": "e", "code": "22614", "billed": False, "verdict": "supported, not billed",
         "billing_gap": "under-coded", "decision": ""},
    ])
    gap = {"status": "missing", "severity": "error", "billed": True, "decision": ""}
    findings = pd.DataFrame([{"note_id": "a", "code": "22612", "item_id": "PF-01", **gap},
                             {"note_id": "a", "code": "22612", "item_id": "PF-03", **gap},
                             {"note_id": "c", "code": "22633", "item_id": "PF-01", **{**gap, "severity": "warning"}}])
    notes = pd.DataFrame([{"note_id": k, "surgeon": "", "site": "", "date": "", "source": f"{k}.txt"}
                          for k in "abcde"])
    return {"codes": codes, "findings": findings, "notes": notes}


def test_worklist_order_weights_and_why(tmp_path):
    wl = worklist(_frames())
    assert list(wl["note_id"]) == ["a", "b", "c"] and list(wl["score"]) == [6, 5, 1]
    assert list(wl["rank"]) == [1, 2, 3]
    assert "2 error items missing: PF-01, PF-03 (+6)" in wl["why"][0] and "over-coded (+5)" in wl["why"][1]
    heavy = worklist(_frames(), Weights.parse("over_coded=10,coder_review=0"))
    assert list(heavy["note_id"]) == ["b", "a"]
    rvu = tmp_path / "rvu.txt"
    write_txt(rvu, ["CPT codes and descriptions only are copyright 2025 American Medical Association.",
                    "PPRRVU26 (test file)"], [["HCPCS", "MOD", "DESCRIPTION", "WORK", "NON-FAC"],
                                              ["", "", "", "RVU", "PE RVU"]],
              [["22612", "", "x", "23.53", "1"], ["22612", "26", "x", "9", "1"], ["22852", "", "x", "10.0", "1"],
               ["22633", "", "x", "27.75", "1"], ["226", "", "x", "1", "1"], ["22853", "", "x", "n/a", "1"]])
    values, bad = load_rvu(rvu)
    assert values["22612"] == 23.53 and [b.line for b in bad] == [9, 10]
    by_rvu = worklist(_frames(), rvu=values)
    assert list(by_rvu["note_id"]) == ["a", "b", "c"]
    assert by_rvu["score"][0] == pytest.approx(6 * 23.53) and "x RVU 23.53" in by_rvu["why"][0]
    with pytest.raises(ValueError):
        Weights.parse("overcoded=2")


# --------------------------------------------------------------------------- site overrides
def test_site_override_changes_severity_disables_adds_vocabulary(tmp_path, pipeline):
    from notechecker.schema.catalogue import load_catalogue
    from notechecker.schema.site import layered_patterns, overrides_in_force
    site = tmp_path / "site"
    (site / "targets").mkdir(parents=True)
    (site / "overrides.yaml").write_text("items:\n  RM-03: {severity: warning, reason: payer policy}\n"
                                         "  OP-09: {disabled: true}\n", encoding="utf-8")
    (site / "targets" / "reasons.yaml").write_text("rules:\n  infection:\n    - periprosthetic sepsis\n",
                                                   encoding="utf-8")
    merged, said = layered_patterns(site)
    assert said == ["targets/reasons.yaml: adds 1 vocabulary entry", "RM-03: severity error -> warning (payer policy)",
                    "OP-09: disabled by the site"]
    assert overrides_in_force(merged) == said
    cat = load_catalogue(merged)
    assert cat.items["RM-03"].severity == "warning" and "OP-09" not in cat.items
    assert load_catalogue().items["RM-03"].severity == "error"  # the shipped data is untouched
    from notechecker.api import load

    facts = load(merged).facts("PROCEDURE: Removal of posterior segmental instrumentation L3-L5.\n"
                               "INDICATION: periprosthetic sepsis.\n", "n")
    assert "infection" in facts.removal_reasons
    assert "infection" not in pipeline.facts("PROCEDURE: Removal of posterior segmental instrumentation L3-L5.\n"
                                             "INDICATION: periprosthetic sepsis.\n", "n").removal_reasons
    assert "periprosthetic sepsis" in (merged / "targets" / "reasons.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("overrides, words", [
    ("items:\n  XX-99: {severity: warning}\n", "no checklist item 'XX-99'"),
    ("items:\n  RM-03: {severity: loud}\n", "severity 'loud' is not one of"),
    ("items:\n  RM-03: {colour: red}\n", "expected severity"),
    ("rules: []\n", "expected a mapping with one key, items"),
])
def test_a_bad_site_override_is_a_located_error(tmp_path, overrides, words):
    from notechecker.schema.site import layered_patterns

    site = tmp_path / "site"
    site.mkdir()
    (site / "overrides.yaml").write_text(overrides, encoding="utf-8")
    with pytest.raises(NoteCheckerError) as e:
        layered_patterns(site)
    assert e.value.code == "E038" and str(site) in str(e.value) and words in str(e.value)


def test_a_site_item_that_does_not_validate_is_refused(tmp_path):
    from notechecker.schema.site import layered_patterns

    site = tmp_path / "site"
    (site / "checklists").mkdir(parents=True)
    (site / "checklists" / "removal.yaml").write_text(
        "items:\n  - id: ST-01\n    name: site item\n    tier: quality\n    severity: urgent\n", encoding="utf-8")
    with pytest.raises(NoteCheckerError) as e:
        layered_patterns(site)
    assert e.value.code == "E038" and "do not validate" in str(e.value) and "ST-01" in str(e.value)


# --------------------------------------------------------------------------- the command line, provenance, verify
def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "notechecker", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_scan_report_verify_from_the_command_line(tmp_path, ptp, mue):
    notes = tmp_path / "notes"
    notes.mkdir()
    for stem in (SN12, SN17, SN19):
        shutil.copy(SAMPLES / f"{stem}.txt", notes)
    table = tmp_path / "notes.csv"
    billed = {SN12: "22852, 22633, 22840, 22853 x2", SN17: "22633, 22840, 22853", SN19: "22612, 22614, 22842, 63047"}
    with open(table, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["note_id", "text", "codes", "date"])
        for stem, codes in billed.items():
            w.writerow([stem, text_of(stem), codes, "2024-05-01"])
    out = tmp_path / "out" / "results.parquet"
    r = _cli("scan", table, "-o", out, "--ncci", ptp, "--mue", mue)
    assert r.returncode == 1, r.stderr  # the bad rows of the edit files
    assert "[E031]" in r.stderr and "line 10" in r.stderr and "[E033]" in r.stderr
    errs = pd.read_csv(tmp_path / "out" / "results.input_errors.csv")
    assert list(errs["error_code"]) == ["E031"] * 3 + ["E033"] * 3
    codes = pd.read_parquet(tmp_path / "out" / "results.codes.parquet")
    row = codes[(codes["note_id"] == SN19) & (codes["code"] == "63047")].iloc[0]
    assert row["verdict"] == "bundled" and "NCCI-PTP" in row["rules"]
    for name in ("results.parquet", "results.codes.parquet", "results.notes.parquet"):
        t = pd.read_parquet(tmp_path / "out" / name)
        assert (t["note_sha256"].str.len() == 64).all() and (t["notechecker_version"] != "").all()
        assert t["edit_files"].iloc[0] == "ptp_2026q1.txt (ncci-ptp, 2026Q1); mue_practitioner.txt (mue, 2026Q1)"
    wl = pd.read_csv(tmp_path / "out" / "results.worklist.csv")
    assert list(wl["note_id"][:2]) == [SN12, SN19] and wl["score"].is_monotonic_decreasing
    manifest = json.loads((tmp_path / "out" / "results.provenance" / "manifest.json").read_text())
    assert [f["quarter"] for f in manifest["edit_files"]] == ["2026Q1", "2026Q1"]
    # a reviewer overrules the bundling of 63047; the report shows it and its rates leave it out
    sha19 = note_sha256(text_of(SN19))
    dec = _decisions(tmp_path, [[sha19, "63047", "NCCI-PTP", "overrule", "distinct level", "A. Auditor",
                                 "2026-01-10"], ["c" * 64, "22852", "RM-03", "agree", "", "B", "2026-01-10"]])
    r = _cli("report", out, "-o", tmp_path / "r.html", "--xlsx", tmp_path / "r.xlsx", "--decisions", dec)
    assert r.returncode == 0, r.stderr
    assert "[E036]" in r.stderr and "line 3" in r.stderr
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "r.xlsx")
    decided = [row for row in wb["Decisions"].iter_rows(min_row=2, values_only=True)]
    assert decided == [(SN19, "63047", "(verdict)", "overrule", "overruled by A. Auditor: distinct level", "bundled",
                        "supported")]
    assert [c.value for c in wb["Summary"]["B"][1:4]] == [3, 3, 0]  # counts are numbers, not text
    assert "overruled by A. Auditor" in (tmp_path / "r.html").read_text(encoding="utf-8")
    # verify: every row reproduces; a changed note and a changed rule are caught
    rows = pd.read_parquet(tmp_path / "out" / "results.notes.parquet")
    assert rows["source"].str.startswith(str(table)).all()  # notes of a table cannot be read back
    r = _cli("scan", notes, "-o", tmp_path / "o2" / "results.parquet")
    assert r.returncode == 0, r.stderr
    r = _cli("verify", tmp_path / "o2" / "results.parquet")
    assert r.returncode == 0 and r.stdout.count("reproduces") == 3, r.stdout + r.stderr
    (notes / f"{SN17}.txt").write_text(text_of(SN17) + "\nAddendum.\n", encoding="utf-8")
    changed = tmp_path / "patterns"
    shutil.copytree(ROOT / "patterns", changed)
    fp = changed / "checklists" / "fusion_posterior.yaml"
    fp.write_text(fp.read_text(encoding="utf-8").replace("severity: error", "severity: warning", 1),
                  encoding="utf-8")
    r = _cli("verify", tmp_path / "o2" / "results.parquet", "--patterns", changed)
    assert r.returncode == 1
    lines = {stem: next(line for line in r.stdout.splitlines() if stem in line) for stem in (SN12, SN17, SN19)}
    assert lines[SN17].startswith("note changed")
    assert lines[SN19].startswith("differs") and "rules changed (checklists/fusion_posterior.yaml)" in lines[SN19]


def test_check_json_carries_decisions_and_ncci(tmp_path, ptp):
    text = text_of(SN19)
    dec = _decisions(tmp_path, [[note_sha256(text), "63047", "NCCI-PTP", "overrule", "distinct level",
                                 "A. Auditor", "2026-01-10"]])
    r = _cli("check", SAMPLES / f"{SN19}.txt", "-c", "22612, 22614, 22842, 63047", "--ncci", ptp, "--decisions", dec,
             "--format", "json", "--date", "2024-05-01")
    d = json.loads(r.stdout)
    assert d["note_sha256"] == note_sha256(text)
    v = next(v for v in d["verdicts"] if v["code"] == "63047")
    assert v["verdict"] == "supported" and v["reason"] == "overruled by A. Auditor: distinct level"
    assert any(c.get("rule") == "NCCI-PTP" for r in d["verdicts"] for c in r["coding"])  # nested in the record


def test_decisions_summary_and_export(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    shutil.copy(SAMPLES / f"{SN12}.txt", notes)
    out = tmp_path / "o" / "results.parquet"
    assert _cli("scan", notes, "-o", out).returncode == 0
    findings = pd.read_parquet(out)
    gap = findings[(findings["status"] != "met")].iloc[0]
    codes = pd.read_parquet(tmp_path / "o" / "results.codes.parquet")
    rule = next(r for r in codes["rules"] if r).split()[0]
    rule_code = codes[codes["rules"].str.contains(rule)]["code"].iloc[0]
    sha = note_sha256(text_of(SN12))
    dec = _decisions(tmp_path, [[sha, gap["code"], gap["item_id"], "overrule", "stated in the op note", "A",
                                 "2026-01-01"], [sha, rule_code, rule, "overrule", "not a bundling case", "B",
                                                 "2026-01-02"], [sha, rule_code, rule, "agree", "", "C", "2026-01-03"]])
    r = _cli("decisions", "summary", dec, "--format", "json")
    s = json.loads(r.stdout)
    assert {x["key"] for x in s["by_item"]} == {gap["item_id"], rule}
    assert next(x for x in s["by_item"] if x["key"] == rule)["overrule_rate"] == 0.5
    r = _cli("decisions", "export", dec, "--results", out, "-o", tmp_path / "fixtures")
    assert r.returncode == 0, r.stderr
    import yaml

    case = yaml.safe_load((tmp_path / "fixtures" / "rule_cases" / f"{rule}.yaml").read_text())
    (name, body), = case["cases"].items()
    assert case["rule"] == rule and body["fires"] is False and body["facts"]["constructs"]
    assert body["expect"]["absent"] == [{"codes": [rule_code], "rule": rule}]
    written = list((tmp_path / "fixtures" / "checklists").glob("*.yaml"))
    (fx,) = written
    data = yaml.safe_load(fx.read_text())
    assert data["items"][gap["item_id"]]["cases"][f"overruled_{gap['code']}_{sha[:8]}"]["expect"] == "met"
    assert text_of(SN12)[100:160] not in fx.read_text()  # facts only, never the note's text
    assert {f.stat().st_mode & 0o777 for f in (tmp_path / "fixtures").rglob("*.yaml")} == {0o600}
    r = _cli("decisions", "export", dec, "--results", out, "-o", tmp_path / "shared", "--group-readable")
    assert r.returncode == 0, r.stderr
    shared = list((tmp_path / "shared").rglob("*.yaml"))
    assert len(shared) == 2 and {f.stat().st_mode & 0o777 for f in shared} == {0o640}


def test_the_python_api_scans_with_edits_decisions_and_a_site(tmp_path, ptp, mue):
    from notechecker.audit.api import audit_scan

    site = tmp_path / "site"
    site.mkdir()
    (site / "overrides.yaml").write_text("items:\n  PF-07: {severity: info}\n", encoding="utf-8")
    frame = pd.DataFrame({"note_id": ["a", "b"], "text": [text_of(SN19), text_of(SN12)],
                          "codes": ["22612, 22614, 22842, 63047", "22852, 22633, 22840, 22853 x2"],
                          "date": ["2024-05-01", "2024-05-01"]})
    dec = _decisions(tmp_path, [[note_sha256(text_of(SN12)), "22853", "MUE", "overrule", "two interspaces",
                                 "A. Auditor", "2026-01-10"], ["d" * 64, "22612", "PF-01", "agree", "", "B",
                                                               "2026-01-10"]])
    out = audit_scan([frame], tmp_path / "o" / "results.parquet", ncci=[ptp], mue=mue, decisions=dec, site=site)
    assert out["overrides"] == ["PF-07: severity warning -> info"]
    assert set(out["findings"][out["findings"]["item_id"] == "PF-07"]["severity"]) == {"info"}
    assert [p.code for p in out["problems"]] == ["E031"] * 3 + ["E033"] * 3 + ["E036"]
    c = out["codes"].set_index(["note_id", "code"])
    assert c.loc[("b", "22853"), "decision_note"] == "overruled by A. Auditor: two interspaces"
    assert c.loc[("a", "63047"), "verdict"] == "bundled"
    assert list(out["worklist"]["note_id"]) == ["a"]  # b's only problem was overruled
    manifest = json.loads((tmp_path / "o" / "results.provenance" / "manifest.json").read_text())
    assert manifest["site_overrides"] == ["PF-07: severity warning -> info"]
    from notechecker.schema.catalogue import load_catalogue

    assert load_catalogue().items["PF-07"].severity == "warning"  # the process's own patterns are back


def test_check_exit_code_follows_the_reviewers_overrule(tmp_path, ptp):
    text = text_of(SN19)
    dec = _decisions(tmp_path, [[note_sha256(text), "63047", "NCCI-PTP", "overrule", "distinct level",
                                 "A. Auditor", "2026-01-10"]])
    args = ["check", SAMPLES / f"{SN19}.txt", "-c", "22612, 22614, 22842, 63047", "--ncci", ptp, "--date", "2024-05-01"]
    without = _cli(*args)
    assert without.returncode == 1 and "BUNDLED" in without.stdout
    decided = _cli(*args, "--decisions", dec)
    assert decided.returncode == 0, decided.stdout + decided.stderr
    assert "overruled by A. Auditor: distinct level" in " ".join(decided.stdout.split())

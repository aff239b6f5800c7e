"""The gap report: tables, charts, HTML page and workbook.

Most tests build a small results set by hand with the exact columns ``notechecker scan``
writes, so every number can be checked by hand; one test runs the real scan on
``sample_notes/`` and reports on it end to end.
"""
from __future__ import annotations

import dataclasses

import math
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from notechecker.report import (ReportInputError, build_report, charts, from_frames, load_results, tables,
                                workbook_tables)
from notechecker.report.load import CODES_COLUMNS, FINDINGS_COLUMNS, NOTES_COLUMNS, table_paths

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_NOTES = ROOT / "sample_notes"
SHEETS = ["Summary", "Billing by code", "Billing by surgeon", "By code", "Top missing items", "By surgeon", "By site",
          "By month", "Worst notes", "Worst note items", "Out of scope", "Errors", "Worklist", "Decisions", "Audit trail"]
HEADINGS = ["Over- and under-coding by code", "Over- and under-coding by surgeon", "Completeness by code", "Most-missed checklist items", "By surgeon", "By site", "By month",
            "Notes with the worst gaps", "Out-of-scope notes", "Unreadable notes"]
EVIDENCE = "Infection <b>ruled out</b> & cultures < 48 h negative"

# ----------------------------------------------------------------------------- data
NOTE_META = {
    "n1": dict(source="notes/n1.txt", surgeon="Marguerite Okonkwo-Hale, MD", site="North Campus",
               date="2024-01-15", month="2024-01"),
    "n2": dict(source="notes/n2.txt", surgeon="", site="Riverside <Annex>", date="2024-02-03", month="2024-02"),
    "n3": dict(source="notes/n3.txt", surgeon="Dev Raman, MD", site="", date="", month=""),
    "n4": dict(source="notes/n4.txt", surgeon="Dev Raman, MD", site="North Campus", date="2024-01-20",
               month="2024-01"),
}
# (note, code, item_id, item_name, tier, severity, status, evidence)
FINDINGS = [
    ("n1", "22852", "RM-03", "levels of the removed hardware", "coding", "error", "met", "L3 to L5"),
    ("n1", "22852", "RM-05", "reason for removal", "necessity", "error", "negated", EVIDENCE),
    ("n1", "22852", "OP-10", "estimated blood loss", "quality", "warning", "missing", ""),
    ("n1", "22852", "OP-11", "complications or explicit none", "quality", "warning", "met", "Complications: none."),
    ("n2", "22633", "FP-01", "levels fused", "coding", "error", "missing", ""),
    ("n2", "22633", "OP-10", "estimated blood loss", "quality", "warning", "missing", ""),
    ("n2", "22633", "OP-11", "complications or explicit none", "quality", "warning", "met", "Complications: none"),
    ("n3", "22551", "AC-01", "interspace", "coding", "error", "met", "C5-6"),
    ("n3", "22551", "OP-10", "estimated blood loss", "quality", "warning", "met", "EBL 50 mL"),
    ("n3", "22551", "OP-13", "implant identifiers", "quality", "info", "conflicting", "size ? lot ?"),
]


def make_frames(findings=FINDINGS, meta=NOTE_META, errors=("n4",)) -> dict[str, pd.DataFrame]:
    """Findings, codes and notes tables shaped as ``notechecker scan`` writes them."""
    f_rows = []
    for note, code, item, name, tier, severity, status, evidence in findings:
        start = 100 if evidence else None
        f_rows.append({"note_id": note, **meta[note], "code": code, "billed": True, "suggested": code != "22551",
                       "item_id": item, "item_name": name, "tier": tier, "severity": severity, "status": status,
                       "message": f"{name}: {status}", "fix_hint": f"Please document the {name}.",
                       "evidence_text": evidence, "evidence_start": start,
                       "evidence_end": start + len(evidence) if evidence else None,
                       "evidence_section": "procedure" if evidence else ""})
    findings_df = pd.DataFrame(f_rows, columns=list(FINDINGS_COLUMNS))
    c_rows, n_rows = [], []
    for note in meta:
        if note in errors:
            n_rows.append({"note_id": note, **meta[note], "billed_codes": "", "suggested_codes": "",
                           "codes_checked": "", "items_evaluated": None, "met": None, "missing": None,
                           "completeness": None, "code_problems": None, "error_code": "E103",
                           "error": f"{meta[note]['source']}: binary file (NUL bytes), not a text note",
                           "warning": "", "chars": None})
            continue
        mine = findings_df[findings_df["note_id"] == note]
        for code, g in mine.groupby("code"):
            met = int((g["status"] == "met").sum())
            c_rows.append({"note_id": note, **meta[note], "code": code, "billed": True, "suggested": True,
                           "items_evaluated": len(g), "met": met, "missing": int((g["status"] == "missing").sum()),
                           "completeness": met / len(g), "worst_missing_severity": "error",
                           "supported": met == len(g), "verdict": "supported" if met == len(g) else "coder_review",
                           "verdict_message": ""})
        met = int((mine["status"] == "met").sum())
        n_rows.append({"note_id": note, **meta[note], "billed_codes": " ".join(sorted(set(mine["code"]))),
                       "suggested_codes": "", "codes_checked": " ".join(sorted(set(mine["code"]))),
                       "items_evaluated": len(mine), "met": met, "missing": int((mine["status"] == "missing").sum()),
                       "completeness": met / len(mine) if len(mine) else None, "code_problems": 0,
                       "error_code": "", "error": "", "warning": "", "chars": 4000})
    return {"findings": findings_df, "codes": pd.DataFrame(c_rows, columns=list(CODES_COLUMNS)),
            "notes": pd.DataFrame(n_rows, columns=list(NOTES_COLUMNS))}


def write_frames(frames: dict[str, pd.DataFrame], stem: Path, ext: str = "parquet") -> Path:
    """The three tables on disk as ``scan -o STEM.ext`` leaves them."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    for name, infix in (("findings", ""), ("codes", ".codes"), ("notes", ".notes")):
        path = Path(f"{stem}{infix}.{ext}")
        df = frames[name]
        if ext == "parquet":
            df.to_parquet(path, index=False)
        elif ext == "csv":
            out = df.copy()
            for col in out.columns:
                if out[col].dtype == bool:
                    out[col] = out[col].map({True: "true", False: "false"})
            out.to_csv(path, index=False)
        else:
            df.to_json(path, orient="records", lines=True)
    return Path(f"{stem}.{ext}")


@pytest.fixture
def results_path(tmp_path) -> Path:
    return write_frames(make_frames(), tmp_path / "out" / "results")


@pytest.fixture
def built(results_path, tmp_path):
    html_path, xlsx_path = tmp_path / "report.html", tmp_path / "report.xlsx"
    build_report(results_path, html_path, xlsx_path, title="Spine gap report")
    return html_path.read_text(encoding="utf-8"), openpyxl.load_workbook(xlsx_path)


# ----------------------------------------------------------------------------- HTML
def test_html_has_every_section_and_the_header_summary(built):
    html, _ = built
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Spine gap report</title>" in html
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in html, heading
    for label in ("Notes", "Codes checked", "Findings", "Missing items", "Errors", "Overall completeness"):
        assert f'<div class="label">{label}</div>' in html, label
    # 10 findings, 5 met -> 50.0%; 4 notes, 1 unreadable
    assert '<div class="value">50.0%</div>' in html
    assert '<div class="value">10</div>' in html


def test_html_shows_codes_surgeons_and_the_worst_note(built):
    html, _ = built
    for code in ("22852", "22633", "22551"):
        assert f">{code}<" in html
    assert "Marguerite Okonkwo-Hale, MD" in html
    assert "Dev Raman, MD" in html
    # n2 (1 of 3 met) is the worst note and its missing items are listed
    worst = html[html.index('<section id="worst-notes">'):]
    assert worst.index(">n2<") < worst.index(">n1<")
    assert "FP-01" in worst and "Please document the levels fused." in worst
    # the unreadable note is listed with its code
    errors = html[html.index('<section id="errors">'):]
    assert ">n4<" in errors and "E103" in errors


def test_html_is_self_contained(built):
    html, _ = built
    assert html.count("<svg") >= 6  # by code, items, surgeon, site, month, worst notes, errors
    assert "http://" not in html and "https://" not in html
    for tag in ("<script", "<link", "<img", "<iframe", "@import", "url(http"):
        assert tag not in html, tag
    assert "<style>" in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids repeat across charts"


def test_html_escapes_data(built):
    html, _ = built
    assert "Infection &lt;b&gt;ruled out&lt;/b&gt; &amp; cultures &lt; 48 h negative" in html
    assert "<b>ruled out</b>" not in html
    assert "Riverside &lt;Annex&gt;" in html
    assert "Riverside <Annex>" not in html


# ----------------------------------------------------------------------------- workbook
def test_workbook_sheets_headers_and_values(built):
    _, wb = built
    assert wb.sheetnames == SHEETS
    for ws in wb.worksheets:
        assert ws["A1"].font.b, ws.title
        assert ws.freeze_panes in ("A2", "B2"), ws.title
        assert ws.column_dimensions["A"].width >= 8, ws.title
    by_code = wb["By code"]
    header = [c.value for c in by_code[1]]
    assert header[:4] == ["Code", "Code meaning (our paraphrase)", "Checked (notes)", "Billed"]
    codes = {row[0].value: row for row in by_code.iter_rows(min_row=2)}
    assert set(codes) == {"22852", "22633", "22551"}
    completeness = header.index("Completeness (met / items evaluated)")
    assert codes["22633"][completeness].value == pytest.approx(1 / 3)
    assert codes["22633"][completeness].number_format == "0.0%"
    items = wb["Top missing items"]
    assert items["A2"].value == "OP-10"  # missed in two notes
    errors = wb["Errors"]
    assert [c.value for c in errors[2]][:3] == ["n4", "notes/n4.txt", "E103"]


def test_workbook_matches_the_tables(results_path):
    results = load_results(results_path)
    sheets = workbook_tables(results)
    assert list(sheets) == SHEETS
    assert list(sheets["By code"].columns) == list(tables.BY_CODE_COLUMNS)


# ----------------------------------------------------------------------------- tables
def test_summary_counts():
    s = tables.summary_counts(from_frames(make_frames()))
    assert (s["notes"], s["notes_read"], s["errors"]) == (4, 3, 1)
    assert (s["findings"], s["met"], s["missing"], s["error_missing"]) == (10, 5, 5, 2)
    assert (s["status_missing"], s["negated"], s["conflicting"]) == (3, 1, 1)
    assert s["completeness"] == pytest.approx(0.5)
    assert (s["first_month"], s["last_month"]) == ("2024-01", "2024-02")


def test_by_code_least_complete_first():
    df = tables.by_code(from_frames(make_frames()))
    assert list(df.columns) == list(tables.BY_CODE_COLUMNS)
    assert list(df["code"]) == ["22633", "22852", "22551"]
    row = df.set_index("code").loc["22852"]
    assert (row["items_evaluated"], row["met"], row["missing"], row["error_missing"]) == (4, 2, 2, 1)


def test_top_missing_items_counts_and_shares():
    df = tables.top_missing_items(from_frames(make_frames()))
    assert list(df.columns) == list(tables.TOP_ITEMS_COLUMNS)
    top = df.iloc[0]
    assert (top["item_id"], top["notes_missing"], top["notes_evaluated"]) == ("OP-10", 2, 3)
    assert top["share_of_notes"] == pytest.approx(2 / 3)  # of the 3 readable notes
    assert top["miss_rate"] == pytest.approx(2 / 3)
    assert top["severity"] == "warning" and top["codes"] == "22633, 22852"
    negated = df.set_index("item_id").loc["RM-05"]
    assert (negated["negated"], negated["missing"]) == (1, 0)


def test_groups_label_blanks_and_order_months():
    results = from_frames(make_frames())
    surgeon = tables.by_group(results, "surgeon").set_index("surgeon")  # every surgeon, however few notes
    assert tables.NOT_STATED in surgeon.index
    assert surgeon.loc["Dev Raman, MD", "notes"] == 2 and surgeon.loc["Dev Raman, MD", "unreadable"] == 1
    month = tables.by_month(results)
    assert list(month["month"]) == ["2024-01", "2024-02", tables.NO_DATE]
    jan = month.set_index("month").loc["2024-01"]
    assert jan["missing_per_note"] == pytest.approx(2.0)  # n1: 2 gaps; n4 unreadable


def test_worst_notes_order_and_items():
    results = from_frames(make_frames())
    worst = tables.worst_notes(results)
    assert list(worst.columns) == list(tables.WORST_NOTES_COLUMNS)
    assert list(worst["note_id"]) == ["n2", "n1", "n3"]
    assert worst.iloc[0]["missing_items"].startswith("FP-01 levels fused (error, missing, 22633)")
    items = tables.worst_note_items(results, ["n1"])
    assert list(items["item_id"]) == ["RM-05", "OP-10"]  # error first
    assert items.iloc[0]["evidence_text"] == EVIDENCE


# ----------------------------------------------------------------------------- formats
@pytest.mark.parametrize("ext", ["parquet", "csv", "jsonl"])
def test_every_format_reads_the_same(tmp_path, ext):
    frames = make_frames()
    path = write_frames(frames, tmp_path / "r", ext)
    results = load_results(path)
    assert list(results.findings.columns) == list(FINDINGS_COLUMNS)
    assert results.findings["code"].tolist() == frames["findings"]["code"].tolist()  # codes stay text
    assert results.findings["billed"].dtype == bool
    assert results.findings["evidence_start"].isna().sum() == 3
    expected = tables.by_code(from_frames(frames))
    pd.testing.assert_frame_equal(tables.by_code(results), expected, check_dtype=False)


def test_companion_paths_find_the_same_tables(tmp_path):
    path = write_frames(make_frames(), tmp_path / "r", "csv")
    assert table_paths(tmp_path / "r.codes.csv") == table_paths(path)
    assert table_paths(path)["notes"] == tmp_path / "r.notes.csv"


def test_missing_table_unknown_format_and_missing_column(tmp_path):
    path = write_frames(make_frames(), tmp_path / "r", "csv")
    Path(f"{tmp_path / 'r'}.notes.csv").unlink()
    with pytest.raises(ReportInputError, match=r"\[E601\].*r\.notes\.csv"):
        load_results(path)
    with pytest.raises(ReportInputError, match=r"\[E602\]"):
        load_results(tmp_path / "r.xlsx")
    frames = make_frames()
    frames["findings"] = frames["findings"].drop(columns=["status"])
    path = write_frames(frames, tmp_path / "s", "csv")
    with pytest.raises(ReportInputError, match=r"\[E604\].*status"):
        load_results(path)


# ----------------------------------------------------------------------------- empty inputs
def _build(tmp_path, frames, ext="parquet"):
    path = write_frames(frames, tmp_path / "r", ext)
    build_report(path, tmp_path / "r.html", tmp_path / "r.xlsx")
    return (tmp_path / "r.html").read_text(encoding="utf-8"), openpyxl.load_workbook(tmp_path / "r.xlsx")


def test_no_rows_at_all(tmp_path):
    html, wb = _build(tmp_path, make_frames(findings=[], meta={}, errors=()), ext="csv")
    assert "The results hold no notes: the scan had no input." in html
    assert "<svg" not in html
    assert '<div class="value">n/a</div>' in html
    assert wb.sheetnames == SHEETS
    assert wb["By code"]["A1"].value == "Code" and wb["By code"]["A2"].value


def test_empty_files(tmp_path):
    for infix in ("", ".codes", ".notes"):
        Path(f"{tmp_path / 'r'}{infix}.csv").write_bytes(b"")
    build_report(tmp_path / "r.csv", tmp_path / "r.html")
    assert "The results hold no notes" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_every_note_unreadable(tmp_path):
    html, wb = _build(tmp_path, make_frames(findings=[], errors=tuple(NOTE_META)))
    assert "Every note was unreadable: see Errors." in html
    errors = html[html.index('<section id="errors">'):]
    for note in NOTE_META:
        assert f">{note}<" in errors
    assert wb["Errors"].max_row == 1 + len(NOTE_META)


def test_no_surgeon_site_or_date(tmp_path):
    meta = {k: dict(v, surgeon="", site="", date="", month="") for k, v in NOTE_META.items()}
    html, wb = _build(tmp_path, make_frames(meta=meta))
    assert "No note names its surgeon" in html and "No note names its site" in html
    assert "No note has a date of operation" in html
    assert wb["By surgeon"]["A2"].value == tables.NOT_STATED
    assert wb["By month"]["A2"].value == tables.NO_DATE


def test_all_items_met(tmp_path):
    met = [row[:6] + ("met", row[7]) for row in FINDINGS]
    html, _ = _build(tmp_path, make_frames(findings=met, errors=()))
    assert "Every checklist item evaluated was met." in html
    assert "No note has a checklist item missing." in html
    assert "Every note was read." in html


# ----------------------------------------------------------------------------- charts
def test_svg_is_inline_ready_and_ids_are_prefixed():
    df = tables.by_code(from_frames(make_frames()))
    a = charts.to_svg(charts.completeness_bars(df, "code", title="A"), id_prefix="one", title="A <chart>")
    b = charts.to_svg(charts.completeness_bars(df, "code", title="A"), id_prefix="two")
    assert a.startswith("<svg") and a.rstrip().endswith("</svg>")
    assert "http" not in a and "<?xml" not in a and "<!DOCTYPE" not in a
    assert "<title>A &lt;chart&gt;</title>" in a
    assert "viewBox" in a and 'class="chart"' in a
    assert not set(re.findall(r'id="([^"]+)"', a)) & set(re.findall(r'id="([^"]+)"', b))
    assert ">22633<" in a  # text kept as text


def test_dollar_signs_in_names_do_not_trip_mathtext():
    df = pd.DataFrame({"surgeon": ["Dr $mith$ & Co"], "completeness": [0.5], "items_evaluated": [4]})
    svg = charts.figure_svg(charts.completeness_bars(df, "surgeon", title="t"))
    assert "Dr $mith$ &amp; Co" in svg


def test_charts_return_none_without_data():
    empty = pd.DataFrame(columns=list(tables.TOP_ITEMS_COLUMNS))
    assert charts.top_items_chart(empty) is None
    assert charts.to_svg(None) == ""
    month = pd.DataFrame({"month": [tables.NO_DATE], "completeness": [0.5], "notes": [1], "unreadable": [0],
                          "missing": [1], "error_missing": [0]})
    assert charts.month_trend(month) is None


# ----------------------------------------------------------------------------- the real scan
@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    import notechecker

    out = tmp_path_factory.mktemp("scan") / "results.parquet"
    frames = notechecker.scan([str(SAMPLE_NOTES)], str(out))
    return out, frames


def test_report_on_the_sample_notes(scanned, tmp_path):
    out, frames = scanned
    html_path, xlsx_path = tmp_path / "gap.html", tmp_path / "gap.xlsx"
    build_report(out, html_path, xlsx_path)
    html = html_path.read_text(encoding="utf-8")
    notes = frames["notes"]
    assert f'<div class="value">{len(notes)}</div>' in html
    assert "http://" not in html and "https://" not in html
    for code in set(frames["codes"]["code"]):
        assert f">{code}<" in html
    # .txt notes carry no columns: surgeon and date come from the notes' own headings, site from nowhere
    assert "Cyrus Blevington" in html and "Marguerite Okonkwo-Hale" in html
    assert "No note names its site" in html
    # the note the scan scores lowest heads the worst-notes ranking
    worst = tables.worst_notes(load_results(out))
    lowest = notes.dropna(subset=["completeness"]).sort_values("completeness").iloc[0]
    assert worst.iloc[0]["completeness"] == pytest.approx(float(lowest["completeness"]), abs=1e-3)
    assert openpyxl.load_workbook(xlsx_path).sheetnames == SHEETS


def test_scan_frames_and_files_give_the_same_tables(scanned):
    out, frames = scanned
    from_files, in_memory = load_results(out), from_frames(frames)
    for name in ("findings", "codes", "notes"):
        pd.testing.assert_frame_equal(getattr(from_files, name), getattr(in_memory, name), check_dtype=False)
    s = tables.summary_counts(in_memory)
    assert s["findings"] == len(frames["findings"])
    met = (frames["findings"]["status"] == "met").sum()
    assert math.isclose(s["completeness"], met / len(frames["findings"]))
    assert not np.isnan(s["completeness"])


# ----------------------------------------------------------------------------- billed codes, scope, counts
def _note(prefix: str) -> str:
    return next(SAMPLE_NOTES.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def billed_scan(tmp_path_factory):
    """A real scan of sample notes billed as an auditor's export would carry them: right codes, a wrong
    removal code, a fusion code for the wrong technique, a kyphoplasty the note does not describe; six
    notes for one surgeon, one each for two others; one note classified (by hand, until the classifier
    lands) as another operation."""
    import notechecker
    from notechecker.api import Pipeline
    from notechecker.facts import Evidence, Scope

    rows = [
        ("b-sn08", _note("sn08"), "22852", "Dr Ada Wren"),  # anterior plate removal billed as posterior: wrong
        ("b-sn12", _note("sn12"), "22852-59, 22612, 22840, 22513", "Dr Ada Wren"),
        ("b-sn06", _note("sn06"), "22850", "Dr Ada Wren"),
        ("b-sn10", _note("sn10"), "22855", "Dr Ada Wren"),
        ("b-sn17", _note("sn17"), "22633, 22853, 22840", "Dr Ada Wren"),
        ("b-sn19", _note("sn19"), "22612, 22614, 22842", "Dr Ada Wren"),
        ("b-sn01", _note("sn01"), "22852", "Dr Cy Moss"),
        ("b-sn21", _note("sn21"), "22513", "Dr Cy Moss"),
        ("ns-eye", "PROCEDURE: Vitrectomy, right eye.\nDESCRIPTION: A 23-gauge vitrectomy was performed. "
                   "Estimated blood loss: minimal. Complications: none.\n", "22842",
         "Dr Bo <script>alert(1)</script>"),  # the out-of-scope table always shows it: escaped there
    ]
    frame = pd.DataFrame(rows, columns=["note_id", "text", "codes", "surgeon"])
    real = Pipeline.facts_many

    def facts_many(self, items, batch_size=32):
        for f in real(self, items, batch_size=batch_size):
            if f.note_id.startswith("ns-"):
                f = dataclasses.replace(f, scope=Scope(kind="other_operation", reason="an eye operation; no spinal procedure is named",
                                evidence=(Evidence("PROCEDURE: Vitrectomy, right eye.", 0, 33),)))
            yield f

    out = tmp_path_factory.mktemp("billed") / "results.parquet"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Pipeline, "facts_many", facts_many)
        frames = notechecker.scan([frame], str(out))
    return out, frames


def test_codes_table_carries_over_and_under_coding(billed_scan):
    _, frames = billed_scan
    c = frames["codes"].set_index(["note_id", "code"])
    wrong = c.loc[("b-sn08", "22852")]
    assert (wrong["billed"], wrong["supported"], wrong["verdict"]) == (True, False, "wrong code")
    assert wrong["supported_code"] == "22855" and wrong["billing_gap"] == "over-coded" and wrong["reason"]
    under = c.loc[("b-sn08", "22855")]
    assert (under["billed"], under["supported"], under["billing_gap"]) == (False, True, "under-coded")
    assert c.loc[("b-sn12", "22513"), "billing_gap"] == "over-coded"
    assert c.loc[("b-sn12", "22840"), "verdict"] == "supported" and c.loc[("b-sn12", "22840"), "supported"]
    # every verdict is a plain word, never a token
    assert not frames["codes"]["verdict"].str.contains("_").any()
    # the out-of-scope note: its billed spine code is not supported, the notes table says why
    ns = frames["notes"].set_index("note_id").loc["ns-eye"]
    assert ns["scope"] == "other_operation"
    assert ns["scope_reason"].startswith("Out of scope: not a spine operation") and "Vitrectomy" in ns["scope_reason"]
    assert c.loc[("ns-eye", "22842"), "verdict"] == "out of scope"
    assert c.loc[("ns-eye", "22842"), "billing_gap"] == "over-coded"


def test_codes_table_agrees_with_check(billed_scan, pipeline):
    """The verdict the codes table holds for a note and code is the verdict check shows for it."""
    from notechecker.plain import code_verdicts
    from notechecker.service import assemble

    _, frames = billed_scan
    c = frames["codes"]
    for nid, prefix, codes in (("b-sn12", "sn12", "22852-59, 22612, 22840, 22513"), ("b-sn19", "sn19",
                                                                                     "22612, 22614, 22842")):
        mine = {v.code: v for v in code_verdicts(assemble(pipeline.facts(_note(prefix), nid), codes))}
        rows = c[c["note_id"] == nid]
        assert set(rows["code"]) == set(mine)
        for r in rows.itertuples():
            assert (r.verdict, bool(r.supported), r.billing_gap) == (mine[r.code].verdict, mine[r.code].supported,
                                                                      mine[r.code].billing_gap)


def test_each_count_is_defined_once(billed_scan):
    """Supported / not supported per code add up to checked, the verdict breakdown adds up to checked,
    and the header's totals are the sums of the per-code table."""
    out, _ = billed_scan
    results = load_results(out)
    code = tables.by_code(results)
    s = tables.summary_counts(results)
    from notechecker.plain import SUPPORTING

    for row in code.itertuples():
        assert row.supported + row.not_supported == row.checked, row
        parts = dict((w.rsplit(" ", 1)[0], int(w.rsplit(" ", 1)[1])) for w in row.verdicts.split(", ") if w)
        assert sum(parts.values()) == row.checked, row
        assert sum(n for v, n in parts.items() if v in SUPPORTING) == row.supported, row
    assert code["supported"].sum() == s["supported"] and code["not_supported"].sum() == s["not_supported"]
    assert code["over_coded"].sum() == s["over_coded"] and code["under_coded"].sum() == s["under_coded"]
    billing = tables.billing_by_code(results)
    assert billing["over_coded"].sum() == s["over_coded"] and billing["under_coded"].sum() == s["under_coded"]
    assert s["out_of_scope"] == 1


def test_billing_tables_by_code_and_surgeon(billed_scan):
    out, _ = billed_scan
    results = load_results(out)
    by_code = tables.billing_by_code(results).set_index("code")
    assert by_code.loc["22852", "over_coded"] >= 1 and "22855" in by_code.loc["22852", "supported_instead"]
    assert by_code.loc["22852", "descriptor"] == "removal of posterior segmental instrumentation"
    assert by_code.loc["22855", "under_coded"] >= 1
    surgeons = tables.billing_by_surgeon(results, min_notes=5)
    ranked = surgeons[surgeons["ranked"]]
    # only the surgeon with six notes is ranked; the two with one or two notes are pooled in one row
    assert list(ranked["surgeon"]) == ["Dr Ada Wren"] and int(ranked.iloc[0]["notes"]) == 6
    pooled = surgeons[~surgeons["ranked"]]
    assert list(pooled["surgeon"]) == [tables.FEW_NOTES.format(n=5)] and int(pooled.iloc[0]["notes"]) == 3
    assert list(tables.billing_by_surgeon(results, min_notes=1)["ranked"]) == [True, True, True]
    by_surgeon = tables.by_surgeon(results, min_notes=5)
    assert set(by_surgeon["surgeon"]) == {"Dr Ada Wren", tables.FEW_NOTES.format(n=5)}


def test_report_shows_descriptors_plain_verdicts_and_escapes(billed_scan, tmp_path):
    out, _ = billed_scan
    html_path = tmp_path / "r.html"
    build_report(out, html_path, tmp_path / "r.xlsx", min_notes=5)
    html = html_path.read_text(encoding="utf-8")
    by_code = html[html.index('<section id="by-code">'):html.index('<section id="top-items">')]
    assert "removal of anterior instrumentation" in by_code  # 22855's paraphrase beside it
    for token in ("wrong_code", "modifier_needed", "coder_review", "missing_primary", "outside_scope"):
        assert token not in html, token
    assert "wrong code" in html
    billing = html[html.index('<section id="billing-code">'):html.index('<section id="billing-surgeon">')]
    assert "<svg" in billing and "22855 (1)" in billing
    surgeon = html[html.index('<section id="billing-surgeon">'):html.index('<section id="by-code">')]
    assert "Dr Ada Wren" in surgeon and "(fewer than 5 notes each)" in surgeon
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    scope = html[html.index('<section id="out-of-scope">'):html.index('<section id="errors">')]
    assert "ns-<wbr>eye" in scope and "Vitrectomy" in scope
    assert '<div class="label">Out of scope</div><div class="value">1</div>' in html
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert wb["Billing by code"]["A1"].value == "Code" and wb["Out of scope"]["A2"].value == "ns-eye"

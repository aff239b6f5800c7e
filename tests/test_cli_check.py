"""`notechecker check`, `rules`, `serve` and `report` driven through typer's CliRunner."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notechecker.cli import app
from tests.conftest import ROOT, nonspine_texts

NOTES = Path(__file__).resolve().parents[1] / "sample_notes"
EVAL = ROOT.parent / "shared" / "eval"
NONSPINE = nonspine_texts(3)
runner = CliRunner()


def path(prefix: str) -> Path:
    return next(NOTES.glob(f"{prefix}_*.txt"))


@pytest.fixture(scope="session", autouse=True)
def pipeline():
    from notechecker.api import load

    return load()


def invoke(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], **kw)


def lines_of(res) -> list[str]:
    return res.stdout.splitlines()


def code_line(res, code: str) -> str:
    """The verdict line of ``code`` (it starts with a mark and the code)."""
    return next(ln for ln in lines_of(res) if re.match(rf"^[\u2713\u2717!\u00b7] {code} ", ln))


def test_text_output_verdict_first_then_what_to_add(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    res = invoke("check", path("sn08"), "--fail-on", "never")
    assert res.exit_code == 0, res.output
    out = lines_of(res)
    assert "codes the note describes: 22855" in out[1]
    # the verdict of the code comes right after the header, with our paraphrase of the code
    assert out[2] == code_line(res, "22855") and "removal of anterior instrumentation" in out[2]
    to_add = out.index("To add:")
    assert to_add > 2
    # the title names the removal ("OPERATION PERFORMED: Removal of anterior cervical plate ..."):
    # nothing asks for it
    assert "RM-09" not in res.stdout
    # a missing item shows the sentence to add (the example of its fix hint), not the whole hint
    other = invoke("check", path("sn07"), "--fail-on", "never")
    lines = lines_of(other)
    rm04 = next(i for i, ln in enumerate(lines) if "RM-04 components removed with counts" in ln)
    # issue 20: a template with blanks, shown after "complete:", never in the quotes evidence is shown in
    assert rm04 > lines.index("To add:") and lines[rm04 + 1].strip().startswith("complete: Removed: ___")
    assert "Please list the components" not in other.stdout
    # documented items are summarised, and --detail quotes each with its evidence
    assert any(ln.startswith("Documented: ") for ln in out)
    detail = invoke("check", path("sn08"), "--fail-on", "never", "--detail")
    assert "OP-10 estimated blood loss" in detail.stdout and "\u201cBLOOD LOSS: Less than 25 mL.\u201d" in detail.stdout


def test_billed_wrong_code_names_the_supported_code():
    res = invoke("check", path("sn08"), "--code", "22852")
    assert res.exit_code == 1
    line = code_line(res, "22852")
    assert line.startswith("\u2717") and line.endswith("WRONG CODE")
    assert "the note supports 22855" in res.stdout
    # the code is never called supported on the same screen; the one it should be is under-coded
    assert not [ln for ln in lines_of(res) if "22852" in ln and "SUPPORTED" in ln]
    assert code_line(res, "22855").endswith("SUPPORTED, NOT BILLED")


def test_each_item_appears_once_with_four_codes():
    """Common op-note items (OP-01..OP-16) are not repeated under every code: each item id once."""
    res = invoke("check", path("sn12"), "--code", "22852, 22612, 22840, 22513", "--fail-on", "never", "--detail")
    ids = re.findall(r"\b[A-Z]{2}-\d{2}\b", res.stdout)
    repeated = {i for i in ids if ids.count(i) > 1}
    assert not repeated, repeated
    assert sum(1 for i in ids if i.startswith("OP-")) >= 10  # the common items are there, once each


def test_no_contradictory_verdicts_on_one_screen():
    """sn12 billed with a wrong fusion code and a kyphoplasty it does not describe: one verdict per code,
    and the text agrees with the JSON's verdicts."""
    args = ("check", path("sn12"), "--code", "22852, 22612, 22840, 22513", "--fail-on", "never")
    text = invoke(*args)
    verdicts = {v["code"]: v for v in json.loads(invoke(*args, "--format", "json").stdout)["verdicts"]}
    assert verdicts["22612"]["verdict"] == "wrong code" and verdicts["22612"]["supported_code"] == "22633"
    assert verdicts["22513"]["verdict"] == "not supported"
    assert verdicts["22633"]["verdict"] == "supported, not billed" and verdicts["22633"]["billing_gap"] == "under-coded"
    for code, v in verdicts.items():
        line = code_line(text, code)
        assert line.endswith(v["verdict"].upper()), (line, v)
        assert sum(1 for ln in lines_of(text) if re.match(rf"^. {code} ", ln)) == 1
    # no request to document the kyphoplasty the note does not describe, only the conditional
    assert "VA-02 cavity creation" in text.stdout
    assert not any(ln.strip().startswith(("\u2717 VA-", "! VA-")) for ln in lines_of(text))
    assert "If it was done, document" in text.stdout and "otherwise the note does not support 22513" in text.stdout


def test_supported_never_beside_an_error_for_the_code(pipeline):
    """Over every sample note: a code whose verdict is 'supported' has no error-severity gap and no
    coding problem; one with a coding-tier error gap reads 'needs documentation' when the note describes the
    code (issue 20: never 'not supported' beside 'codes the note describes'), else 'not supported'."""
    from notechecker.plain import code_verdicts
    from notechecker.service import assemble

    seen = set()
    for p in sorted(NOTES.glob("*.txt")):
        text = p.read_text(encoding="utf-8")
        result = assemble(pipeline.facts(text, p.stem))
        for v, r in zip(code_verdicts(result), result.results):
            seen.add(v.verdict)
            gaps = [f for f in r.findings if f.status != "met" and f.severity == "error"]
            if v.verdict == "supported":
                assert not gaps and not [c for c in r.conclusions if c.verdict != "supported"], (p.stem, v)
            if any(f.tier == "coding" for f in gaps):
                allowed = ("needs documentation",) if v.suggested else ("not supported", "wrong code", "bundled",
                                                                       "no primary code", "coder review")
                assert v.verdict in allowed or v.verdict == "coder review", (p.stem, v)
                assert v.items and {i.id for i in v.items} >= {f.item_id for f in gaps}
    assert {"supported", "needs documentation"} <= seen


def test_typical_note_fits_one_screen(pipeline):
    """At 80 columns the text of check stays about one screen: median <= 30 lines, none over 45 (a
    truncated note missing ten items, each with its sentence), no line wider than 80, over the sample
    notes and the real notes of ../shared/eval (dev, dev2)."""
    from notechecker.cli import check_lines
    from notechecker.service import assemble

    files = sorted(NOTES.glob("*.txt"))
    for d in (EVAL / "dev" / "notes", EVAL / "dev2" / "notes"):  # absent folders add nothing
        files += sorted(d.glob("*.txt"))
    counts = []
    for p in files:
        text = p.read_text(encoding="utf-8")
        lines = check_lines(assemble(pipeline.facts(text, p.stem)), text, width=80)
        assert all(len(ln) <= 80 for _, ln in lines), p.stem
        counts.append(len(lines))
    counts.sort()
    assert len(counts) >= 36
    assert counts[len(counts) // 2] <= 30 and counts[-1] <= 45, counts


def test_json_keeps_every_detail():
    res = invoke("check", path("sn12"), "--code", "22852, 22840", "--format", "json", "--fail-on", "never")
    d = json.loads(res.stdout)
    text = path("sn12").read_text(encoding="utf-8")
    # every finding of every code, met or not, with its evidence and fix hint
    results = [v["checklist"] for v in d["verdicts"] if v["checklist"]]  # nested in the records (issue 20)
    n_findings = sum(len(r["findings"]) for r in results)
    assert n_findings == sum(r["summary"]["evaluated"] for r in results) > 30
    assert any(f["status"] == "met" and f["evidence"] for r in results for f in r["findings"])
    for r in results:
        for f in r["findings"]:
            for e in f["evidence"]:
                assert text[e["start"]:e["end"]] == e["text"]
    assert {v["code"] for v in d["verdicts"]} >= {"22852", "22840"} and d["scope_message"] == ""


HEADINGS = """DATE OF OPERATION:
12/02/2024
SPINE SURGEON:
Dr. Cyrus Blevington, MD

PREOPERATIVE DIAGNOSIS: Painful retained hardware L4-L5.
POSTOPERATIVE DIAGNOSIS: Same.
PROCEDURE: Removal of posterior segmental instrumentation L4-L5.
DESCRIPTION OF PROCEDURE: The patient was placed prone. The old incision was opened. Bilateral pedicle screws
at L4 and L5 and two rods were removed. The wound was closed.
ESTIMATED BLOOD LOSS: 50 mL.
COMPLICATIONS: None.
"""


def test_evidence_quoted_as_proof_is_a_meaningful_span(pipeline):
    """A match of one word or a heading cut after a letter is quoted with its sentence or heading line,
    and the quote is still the note's own text at its offsets."""
    from notechecker.facts import Evidence
    from notechecker.plain import proof

    facts = pipeline.facts(HEADINGS, "headings")
    surgeon = facts.element("surgeons").evidence[0]
    widened = proof(HEADINGS, surgeon)
    assert "Blevington" in widened.text and HEADINGS[widened.start:widened.end] == widened.text
    # one word inside a long narrative line: the sentence around it, not the whole line
    start = HEADINGS.index("opened")
    one = proof(HEADINGS, Evidence("opened", start, start + 6))
    assert one.text == "The old incision was opened."
    # a span that already proves something is kept as is
    ebl = Evidence("ESTIMATED BLOOD LOSS: 50 mL.", HEADINGS.index("ESTIMATED"), HEADINGS.index("ESTIMATED") + 28)
    assert proof(HEADINGS, ebl) == ebl
    # across the sample notes, every evidence quoted as proof of a documented item has at least three
    # words or is whole lines of the note (a heading and its value, "COMPLICATIONS: NONE.")
    from notechecker.service import assemble

    n = 0
    for p in sorted(NOTES.glob("*.txt")):
        text = p.read_text(encoding="utf-8")
        for r in assemble(pipeline.facts(text, p.stem)).results:
            for f in r.met:
                if not f.evidence:
                    continue
                w = proof(text, f.evidence[0])
                n += 1
                assert text[w.start:w.end] == w.text and w.start <= f.evidence[0].start <= f.evidence[0].end <= w.end
                whole = (w.start == 0 or text[w.start - 1] in "\r\n") and (w.end == len(text) or text[w.end] in "\r\n")
                assert len(re.findall(r"[A-Za-z0-9]{2,}", w.text)) >= 3 or whole, (p.stem, f.item_id, w.text)
    assert n > 300


def test_out_of_scope_note_gets_no_checklist(pipeline):
    """A note the classifier puts out of scope (a real non-spine note): 'Out of scope: not a spine
    operation (evidence: ...)', no checklist, no request to document anything; a billed spine code
    is not supported (exit 1)."""
    text = NONSPINE[0]
    assert pipeline.facts(text).scope.kind in ("other_operation", "not_operative")
    res = invoke("check", "-", "--fail-on", "error", input=text)
    assert res.exit_code == 0, res.output
    assert "Out of scope: not a spine operation" in res.stdout and "evidence: \u201c" in res.stdout
    assert "To add" not in res.stdout and "Documented" not in res.stdout
    billed = invoke("check", "-", "--code", "22842", input=text)
    assert billed.exit_code == 1
    assert "22842: out of scope" in billed.stdout  # the record's word, as in the JSON (issue 20)
    d = json.loads(invoke("check", "-", "--code", "22842", "-f", "json", input=text).stdout)
    assert d["scope_message"].startswith("Out of scope") and d["verdicts"][0]["verdict"] == "out of scope"


@pytest.mark.parametrize("args, exits", [
    # sn08 with the codes it supports: only info-level items missing (specimens, global period)
    (("sn08",), {"error": 0, "warning": 0, "never": 0}),
    # sn07 (Harrington rod and hooks): the components removed are not counted, a warning, no error
    (("sn07",), {"error": 0, "warning": 1, "never": 0}),
    # sn08 billed as 22852: the note describes an anterior plate removal, a wrong code is an error
    (("sn08", "--code", "22852"), {"error": 1, "warning": 1, "never": 0}),
])
def test_fail_on_thresholds(args, exits):
    """Exit codes from what the note says, not from the code under test: the expectations are written
    down, and the text output must show the marks that justify them."""
    prefix, *rest = args
    for fail_on, code in exits.items():
        res = invoke("check", path(prefix), *rest, "--fail-on", fail_on)
        assert res.exit_code == code, (fail_on, res.output)
    text = invoke("check", path(prefix), *rest, "--fail-on", "never").stdout
    has_error = any(ln.startswith("\u2717") or ln.lstrip().startswith("\u2717 ") for ln in text.splitlines())
    assert has_error == bool(exits["error"])


def test_wrong_code_fails_by_default_not_with_never():
    assert invoke("check", path("sn08"), "--code", "22852").exit_code == 1
    assert invoke("check", path("sn08"), "--code", "22852", "--fail-on", "never").exit_code == 0


def test_json_output_is_check_result():
    res = invoke("check", path("sn06"), "--format", "json")
    d = json.loads(res.stdout)
    text = path("sn06").read_text(encoding="utf-8")
    assert d["note_id"] == path("sn06").stem
    assert d["codes"] == ["22850"] and d["verdicts"][0]["verdict"] == "coder review"
    assert "coder_review" in [c["kind"] for c in d["verdicts"][0]["coding"]]
    for f in d["verdicts"][0]["checklist"]["findings"]:
        for e in f["evidence"]:
            assert text[e["start"]:e["end"]] == e["text"]


def test_stdin_input():
    text = path("sn08").read_text(encoding="utf-8")
    res = invoke("check", "-", "--format", "json", "--code", "22855", input=text)
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["note_id"] == "stdin" and d["billed"] == ["22855"]
    assert d["verdicts"][0]["supported"] is True and d["verdicts"][0]["verdict"] == "supported"


def test_repeated_code_options():
    res = invoke("check", path("sn12"), "--code", "22852-59", "--code", "22840, 22853", "-f", "json")
    d = json.loads(res.stdout)
    assert d["billed"] == ["22852-59", "22840", "22853"]
    assert d["codes"] == ["22852", "22840", "22853"]


def test_missing_file_is_usage_error():
    res = invoke("check", "no/such/note.txt")
    assert res.exit_code == 2
    assert "no/such/note.txt" in res.stderr and "no such file" in res.stderr
    assert "Traceback" not in res.output


def test_binary_and_empty_files_are_input_errors(tmp_path):
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    for p, code in ((binary, "E103"), (empty, "E101")):
        res = invoke("check", p)
        assert res.exit_code == 2
        assert code in res.stderr and str(p) in res.stderr
        assert res.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["--code", "22852 banana"], "'banana'"),
    (["--format", "xml"], "--format"),
    (["--fail-on", "sometimes"], "--fail-on"),
])
def test_usage_errors(args, message):
    res = invoke("check", path("sn08"), *args)
    assert res.exit_code == 2
    assert message in res.stderr


def test_rules_list_and_show():
    res = invoke("rules", "list", "--code", "22855")
    assert res.exit_code == 0
    assert "22855 removal of anterior instrumentation" in res.stdout
    assert "RM-03" in res.stdout and "OP-10" in res.stdout
    allr = invoke("rules", "list")
    assert "removal: Hardware removal and reinsertion" in allr.stdout
    item = invoke("rules", "show", "rm-03")
    assert item.exit_code == 0
    assert "RM-03 levels of the removed hardware" in item.stdout and "fix hint" in item.stdout
    code = invoke("rules", "show", "22850")
    assert "checklist removal" in code.stdout and "RM-02" in code.stdout
    assert invoke("rules", "show", "XX-99").exit_code == 2
    assert invoke("rules", "list", "--code", "99999").exit_code == 2


def test_serve_calls_web_server(monkeypatch):
    import notechecker.web.server as server

    calls = []
    monkeypatch.setattr(server, "run", lambda **kw: calls.append(kw))
    res = invoke("serve", "--port", "8123")
    assert res.exit_code == 0, res.output
    auth = calls[0].pop("auth")
    assert not auth.configured  # loopback: no authentication asked for
    assert calls == [{"host": "127.0.0.1", "port": 8123, "allowed_hosts": (), "workers": 2, "note_timeout": 60.0,
                      "max_chars": 2_000_000, "max_memory": 2 * 1024 ** 3}]


def test_report_wraps_build_report(tmp_path):
    out = tmp_path / "res.parquet"
    assert invoke("scan", path("sn08"), path("sn06"), "-o", out, "--no-progress").exit_code == 0
    html = tmp_path / "gap.html"
    res = invoke("report", out, "-o", html)
    assert res.exit_code == 0, res.output
    assert html.stat().st_size > 0
    missing = invoke("report", tmp_path / "nothing.parquet", "-o", tmp_path / "x.html")
    assert missing.exit_code == 2 and "nothing.parquet" in missing.stderr


def test_help_does_not_import_spacy():
    code = ("import sys; from typer.testing import CliRunner; from notechecker.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0; "
            "print(any(m.split('.')[0] in ('spacy', 'medspacy', 'pandas') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_help_speaks_to_users():
    top = invoke("--help").stdout
    assert not re.search(r"\b(typer|thin layer)\b", top), top
    assert "spine operative note" in top and "over- and under-coding" in top
    ext = invoke("extract", "--help").stdout
    assert "../shared" not in ext and "FACTS.md" not in ext
    assert "removal reasons" in ext


def test_codes_column_help_names_the_real_defaults(tmp_path):
    """--codes-column documents the names batch really tries, in order, and a table whose billed codes
    sit in a 'cpt' column (the third default) gets them read."""
    import pandas as pd

    from notechecker.batch import DEFAULT_NAMES

    helptext = " ".join(invoke("scan", "--help", env={"COLUMNS": "200"}).stdout.split())
    assert ", ".join(DEFAULT_NAMES["codes"]) in helptext
    assert ", ".join(DEFAULT_NAMES["date"]) in helptext
    table = tmp_path / "notes.csv"
    pd.DataFrame([{"note_id": "a", "text": path("sn08").read_text(encoding="utf-8"), "CPT": "22852"}]).to_csv(
        table, index=False)
    out = tmp_path / "r.csv"
    assert invoke("scan", table, "-o", out, "--no-progress").exit_code == 0
    codes = pd.read_csv(tmp_path / "r.codes.csv", dtype=str)
    assert codes.loc[codes["code"] == "22852", "billed"].str.lower().tolist() == ["true"]


def test_a_phrase_never_asks_for_modifier_22():
    """sn08 dissects 'through dense scar' and bills nothing with 22: no prompt to document extra work
    for modifier 22 (issue 16 point 10); when 22 is billed, the coding rule MD-22 asks for it."""
    res = invoke("check", path("sn08"), "--fail-on", "never")
    assert "dense scar" in path("sn08").read_text(encoding="utf-8")
    assert "modifier 22" not in res.stdout and "extra work" not in res.stdout
    billed = invoke("check", path("sn08"), "--code", "22855-22", "--format", "json", "--fail-on", "never")
    rules = [c.get("rule") for v in json.loads(billed.stdout)["verdicts"] for c in v["coding"]]
    assert "MD-22" in rules


def test_check_colours_on_a_terminal_only(monkeypatch):
    """Colour by escape codes: forced with FORCE_COLOR, never with NO_COLOR or off a terminal; the words
    are the same either way, and a verdict's colour is its tone (sn08: 22855 supported, green)."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    plain = invoke("check", path("sn08"))
    assert "\x1b[" not in plain.stdout
    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = invoke("check", path("sn08"))
    assert re.search(r"^\x1b\[32m\u2713 22855 .*SUPPORTED\x1b\[0m$", coloured.stdout, re.MULTILINE), coloured.stdout
    assert re.sub(r"\x1b\[\d+m", "", coloured.stdout) == plain.stdout
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("NO_COLOR", "1")
    assert invoke("check", path("sn08")).stdout == plain.stdout

"""Every coding rule of patterns/codes/bundling.yaml, case by case (tests/rule_cases/<RULE-ID>.yaml).

Facts in, conclusion out, through the public interfaces: ``coding.validate`` for the
conclusions and ``service.assemble`` (what ``check --format json`` prints) for the
verdict per billed code. Ids are ``<RULE-ID>_<case>``: ``pytest -k BR-07`` runs one rule.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from notechecker.schema.catalogue import load_catalogue
from notechecker.schema.rules import VERDICTS
from notechecker.coding import NOT_STANDING, suggest_codes, validate
from notechecker.service import assemble
from tests.conftest_checklists import PATTERNS, make_facts

CASES_DIR = Path(__file__).parent / "rule_cases"


def _load() -> list[tuple[str, str, dict]]:
    out = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["rule"] == path.stem, f"{path.name}: rule {data['rule']!r} does not match the file name"
        for name, case in data["cases"].items():
            out.append((data["rule"], name, case))
    return out


CASES = _load()


@pytest.fixture(scope="module")
def cat():
    return load_catalogue(PATTERNS)


def _matches(c, want: dict) -> bool:
    for key, value in want.items():
        if key in ("codes", "modifiers", "suggested"):
            if list(getattr(c, key)) != list(value):
                return False
        elif key in ("verdict", "rule"):
            if getattr(c, key) != value:
                return False
        elif key == "message_has":
            if not all(v in c.message for v in value):
                return False
        elif key == "message_lacks":
            if any(v in c.message for v in value):
                return False
        elif key == "reason_has":
            if not all(any(v in r for r in c.reasons) for v in value):
                return False
        elif key == "reason_lacks":
            if any(v in r for r in c.reasons for v in value):
                return False
        else:
            raise AssertionError(f"unknown expectation key {key!r}")
    return True


_LEADING = re.compile(r"^Please document (?:the|each)\b.*\bperformed\b", re.IGNORECASE)
_CONTRADICTION = re.compile(r"levels not stated (?:does not )?overlaps?|overlaps? (?:the )?[^.;]*levels not stated",
                            re.IGNORECASE)


def _invariants(report, result) -> None:
    """Issue 16 point 12 on every case: self-explaining, non-contradictory conclusions."""
    failing = {code for c in report.conclusions if c.verdict in NOT_STANDING for code in c.codes}
    supported = {code for c in report.conclusions if c.verdict == "supported" for code in c.codes}
    assert not failing & supported, f"'supported' and an error for {sorted(failing & supported)}"
    for c in report.conclusions:
        assert c.verdict in VERDICTS
        assert "_" not in c.label and c.label, f"verdict {c.verdict!r} has no plain label"
        assert not _CONTRADICTION.search(c.message), c.message
        if c.verdict in ("wrong_code", "not_supported"):  # names the reason and what the note supports
            assert c.suggested or re.search(r"\b\d{4}[0-9A-Z]\b|not a spine operation", c.message), c.message
    for r in result["results"]:
        assert set(r) >= {"code", "verdict", "verdict_label"}
        if r["verdict"] is not None:
            assert r["verdict_label"] and "_" not in r["verdict_label"]
        for f in r["findings"]:
            assert not _LEADING.match(f["fix_hint"] or ""), f["fix_hint"]


@pytest.mark.parametrize("rule,name,case", CASES, ids=[f"{r}_{n}" for r, n, _ in CASES])
def test_rule_case(cat, rule, name, case):
    facts = make_facts(case["facts"])
    expect = case.get("expect") or {}
    billed = case.get("billed")
    before = facts.to_dict()
    report = validate(facts, billed, catalogue=cat)
    result = assemble(facts, billed, catalogue=cat).to_dict()
    assert facts.to_dict() == before, "coding must not modify the facts"
    if "suggested" in expect:
        assert sorted(suggest_codes(facts, cat)) == sorted(expect["suggested"])
        assert sorted(result["suggested"]) == sorted(expect["suggested"])
    for code, verdict in (expect.get("results") or {}).items():
        [r] = [r for r in result["results"] if r["code"] == code]
        assert r["verdict"] == verdict, f"{code}: {r['verdict']} ({r['verdict_message']})"
    for want in expect.get("conclusions") or ():
        assert any(_matches(c, want) for c in report.conclusions), (
            f"no conclusion matches {want}; got {[(c.codes, c.verdict, c.rule, c.message) for c in report.conclusions]}")
    for unwanted in expect.get("absent") or ():
        hits = [c for c in report.conclusions if _matches(c, unwanted)]
        assert not hits, f"unexpected {[(c.codes, c.verdict, c.rule, c.message) for c in hits]}"
    # "fires": a conclusion carries the rule with a verdict beyond a doubt (coder review counts
    # only for rules whose verdict is coder review); DX-01 speaks in the removal's reasons
    own = next(r for r in cat.bundling if r.id == rule)
    counted = set(case.get("fires_verdicts") or ()) | {own.verdict}
    fired = any(c.rule == rule and (c.verdict != "coder_review" or c.verdict in counted)
                for c in report.conclusions)
    if rule == "DX-01":
        fired = any(any(link in r for r in c.reasons) for c in report.conclusions for link in ("T84.216-",))
    assert fired == case["fires"], f"rule {rule} fired={fired}, expected {case['fires']}"
    _invariants(report, result)


def test_every_rule_has_a_firing_and_a_quiet_case(cat):
    by_rule: dict[str, set[bool]] = {}
    for rule, _, case in CASES:
        by_rule.setdefault(rule, set()).add(bool(case["fires"]))
    for r in cat.bundling:
        assert by_rule.get(r.id) == {True, False}, f"{r.id}: needs a case where it fires and one where it must not"


def test_every_point_of_issue_16_has_cases():
    points: dict[int, set[bool]] = {}
    for _, _, case in CASES:
        if "point" in case:
            points.setdefault(case["point"], set()).add(bool(case["fires"]))
    for p in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13):
        assert points.get(p) == {True, False}, f"point {p}"


# --------------------------------------------------------------------------- the interfaces that carry the rules
NOTES = Path(__file__).resolve().parents[1] / "sample_notes"


def test_rules_list_and_show_name_the_coding_rules(cat):
    from typer.testing import CliRunner

    from notechecker.cli import app

    out = CliRunner().invoke(app, ["rules", "list"])
    assert out.exit_code == 0
    for r in cat.bundling:
        assert r.id in out.output
    assert "modifier_needed" not in out.output and "coder review" in out.output
    show = CliRunner().invoke(app, ["rules", "show", "br-07"])
    assert show.exit_code == 0 and "63005-63048" in show.output


def test_check_json_lists_each_billed_code_with_verdict_and_label():
    """`check NOTE --code C --code C2-59 --format json`: per billed code a result with code and verdict."""
    from typer.testing import CliRunner

    from notechecker.cli import app

    note = next(NOTES.glob("sn12_*.txt"))  # removal at other levels than a new TLIF construct
    out = CliRunner().invoke(app, ["check", str(note), "--code", "22852-59", "--code", "22633",
                                   "--format", "json", "--fail-on", "never"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    by_code = {r["code"]: r for r in data["verdicts"] if r["billed"]}  # the decision records (issue 20)
    assert set(by_code) == {"22852", "22633"}
    for r in by_code.values():
        assert "_" not in r["verdict"] and all(c["kind"] in VERDICTS and "_" not in c["label"] for c in r["coding"])
    assert by_code["22852"]["verdict"] == "supported"
    assert data["facts"]["suggested_cpt"] == data["suggested"]  # the contract key, from the coding result


def test_web_server_reads_billed_codes_with_the_shared_parser():
    from notechecker.web.server import CheckRequest

    req = CheckRequest(text="note", codes=["22852-59", "22853 x2"])
    assert req.codes == ["22852-59", "22853 x2"]
    with pytest.raises(ValueError):
        CheckRequest(text="note", codes=["2285"])


def test_non_spine_note_gets_no_spine_code_no_checklist_and_billed_codes_not_supported(cat):
    """Rule 12 / scope gate, with Facts built by hand (the classifier fills facts.scope)."""
    facts = make_facts({"scope": {"kind": "other_operation", "reason": "an elbow operation"},
                        "approach": "posterior",
                        "instruments": [{"kind": "pedicle_screw", "action": "placed", "levels": ["L3", "L4", "L5"]}],
                        "procedures": [{"kind": "posterior_fusion", "levels": ["L3", "L5"]}]})
    assert suggest_codes(facts, cat) == []
    result = assemble(facts, ["22612", "22842"], catalogue=cat)
    assert {r.code: r.verdict for r in result.results} == {"22612": "not_supported", "22842": "not_supported"}
    assert all(r.findings == () for r in result.results)  # no spine checklist scored
    assert all("not a spine operation" in r.verdict_message for r in result.results)
    unbilled = assemble(facts, None, catalogue=cat)
    assert unbilled.results == () and [c.verdict for c in unbilled.conclusions] == ["outside_scope"]
    spine = make_facts({"approach": "posterior",
                        "procedures": [{"kind": "posterior_fusion", "levels": ["L3", "L5"]}]})
    assert suggest_codes(spine, cat) == ["22612", "22614"]


def test_extract_writes_suggested_cpt_from_the_coding_result(tmp_path):
    from typer.testing import CliRunner

    from notechecker.cli import app

    note = next(NOTES.glob("sn08_*.txt"))
    out = tmp_path / "facts.jsonl"
    res = CliRunner().invoke(app, ["extract", str(note), "-o", str(out), "--no-detail"])
    assert res.exit_code == 0, res.output
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["suggested_cpt"] == ["22855"]

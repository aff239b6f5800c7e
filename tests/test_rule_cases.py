"""Every coding rule of patterns/codes/bundling.yaml, case by case (tests/rule_cases/<RULE-ID>.yaml).

Facts in, conclusion out, through the public interfaces: ``coding.validate`` for the
conclusions and ``service.assemble`` (what ``check --format json`` prints) for the
verdict per billed code. Ids are ``<RULE-ID>_<case>``: ``pytest -k BR-07`` runs one rule.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from notechecker.checklists import VERDICTS, load_catalogue
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

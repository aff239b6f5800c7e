"""Checklist items judged on fixture facts: every item met once and missing once.

Cases live in tests/fixtures/checklists/<checklist>.yaml; ids are
``<ITEM-ID>_<case>`` so ``pytest -k RM-03`` runs one item.
"""
from __future__ import annotations

import re

import ast
import sys
from pathlib import Path

import pytest

from notechecker.schema.catalogue import load_catalogue
from notechecker.scoring import FINDING_COLUMNS, SUMMARY_COLUMNS, Finding, score, summarize
from tests.conftest_checklists import PATTERNS, load_fixture_cases, make_facts

CASES = load_fixture_cases()


def _params():
    for family, item_id, spec in CASES:
        for name, case in spec["cases"].items():
            yield pytest.param(family, item_id, spec.get("code"), name, case, id=f"{item_id}_{name}")


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(PATTERNS)


@pytest.mark.parametrize("family,item_id,code,name,case", list(_params()))
def test_item_case(catalogue, family, item_id, code, name, case):
    code = case.get("code", code)
    expect = case.get("expect", name)
    facts = make_facts(case["facts"], note_id=f"{item_id}_{name}")
    item = catalogue.item(item_id)
    assert item.checklist == family, f"{item_id} lives in {item.checklist}.yaml, not {family}.yaml"
    assert (item in catalogue.items_for(code)) == (expect != "not_for_code"), f"{item_id} and {code}"
    if expect == "not_for_code":
        return
    [result] = score(facts, [code], catalogue)
    found = [f for f in result.findings if f.item_id == item_id]
    if expect == "not_applicable":
        assert found == []
        return
    assert len(found) == 1
    finding = found[0]
    assert finding.status == expect, finding.message
    assert finding.code == code and finding.note_id == f"{item_id}_{name}"
    if expect == "met":
        assert finding.fix_hint == ""
    else:
        assert finding.fix_hint.startswith(("Please ", "If "))


def test_every_item_has_met_and_missing_cases(catalogue):
    cases = {item_id: spec["cases"] for _, item_id, spec in CASES}
    lacking = [f"{item_id}_{needed}" for item_id in catalogue.items for needed in ("met", "missing")
               if not any(c.get("expect", n) == needed for n, c in cases.get(item_id, {}).items())]
    assert lacking == [], f"items without a fixture case: {lacking}"
    assert set(cases) <= set(catalogue.items), f"fixtures for unknown items: {set(cases) - set(catalogue.items)}"


def test_fixture_files_match_checklist_files(catalogue):
    families = {family for family, _, _ in CASES}
    assert families == set(catalogue.checklists)


# --------------------------------------------------------------------------- statuses and records
def _finding(catalogue, facts, code, item_id):
    [result] = score(make_facts(facts), [code], catalogue)
    return next(f for f in result.findings if f.item_id == item_id), result


def test_negated_reason_only_is_negated_with_evidence(catalogue):
    facts = {"reasons": [{"value": "infection", "assertion": "negated",
                          "evidence": {"text": "no evidence of infection", "start": 10, "end": 34,
                                       "section": "findings"}}]}
    finding, _ = _finding(catalogue, facts, "22852", "RM-05")
    assert finding.status == "negated"
    assert finding.evidence[0].text == "no evidence of infection"
    assert "negated" in finding.message


def test_conflicting_construct_type_for_22852(catalogue):
    facts = {"constructs": [{"action": "removed", "levels": ["T4", "T5", "T6", "T7"], "anchor_levels": ["T4", "T7"],
                             "kinds": ["rod", "hook"], "approach": "posterior", "segmental": False}]}
    finding, result = _finding(catalogue, facts, "22852", "RM-02")
    assert finding.status == "conflicting"
    assert "22850" in finding.message
    assert result.summary.conflicting >= 1 and result.summary.coding_documented is False


def test_conflicting_reason_versus_exploration(catalogue):
    facts = {"removal_reasons": ["pain"], "reasons": [{"value": "pain"}],
             "elements": {"exploration_intent": {"evidence": ["the fusion was explored"]}}}
    finding, _ = _finding(catalogue, facts, "22852", "RM-05")
    assert finding.status == "conflicting"
    assert [e.text for e in finding.evidence] == ["pain mention", "the fusion was explored"]


def test_sections_constraint_limits_evidence(tmp_path):
    import shutil

    root = tmp_path / "patterns"
    shutil.copytree(PATTERNS / "codes", root / "codes")
    (root / "checklists").mkdir()
    (root / "checklists" / "mini.yaml").write_text("""
title: mini
description: one item with a section constraint
codes: ["22852"]
items:
  - id: ZZ-01
    name: complications in their section
    description: Complications are stated in the complications section.
    rationale: test
    tier: quality
    severity: warning
    sections: [complications]
    requires: {element: complications}
    fix_hint: "Please state complications in the complications section."
    references: [test]
""", encoding="utf-8")
    cat = load_catalogue(root)
    inside = {"elements": {"complications": {"value": "none", "evidence": [
        {"text": "COMPLICATIONS: None", "section": "complications"}]}}}
    outside = {"elements": {"complications": {"value": "none", "evidence": [
        {"text": "no complications", "section": "plan"}]}}}
    assert score(make_facts(inside), ["22852"], cat)[0].findings[0].status == "met"
    assert score(make_facts(outside), ["22852"], cat)[0].findings[0].status == "missing"


def test_finding_to_dict_has_fixed_columns(catalogue):
    finding, result = _finding(catalogue, {"elements": {"ebl": {"value": "200 mL"}}}, "22852", "OP-10")
    d = finding.to_dict()
    assert tuple(d) == FINDING_COLUMNS
    assert d["evidence"] == [{"text": "ebl", "start": 0, "end": 3, "section": None}]
    assert tuple(result.summary.to_dict())[:len(SUMMARY_COLUMNS)] == SUMMARY_COLUMNS
    with pytest.raises(AttributeError):
        finding.status = "met"  # type: ignore[misc]
    assert isinstance(finding, Finding)


def test_summary_counts_and_support(catalogue):
    facts = make_facts({
        "approach": "posterior", "removal_reasons": ["hardware_failure"], "reasons": [{"value": "hardware_failure"}],
        "constructs": [{"action": "removed", "levels": ["L3", "L4", "L5"], "anchor_levels": ["L3", "L4", "L5"],
                        "kinds": ["pedicle_screw", "rod"], "approach": "posterior", "segmental": True}],
        "instruments": [{"kind": "pedicle_screw", "action": "removed", "count": 6, "levels": ["L3", "L4", "L5"]}],
        "procedures": [{"kind": "hardware_removal", "levels": ["L3", "L4", "L5"]}],
    })
    [r] = score(facts, ["22852-59"], catalogue)
    s = r.summary
    assert r.code == "22852" and r.family == "removal"
    assert s.evaluated == len(r.findings) == s.met + s.missing + s.negated + s.conflicting
    assert s.coding_documented is True  # every error-severity coding item is met
    assert s.worst_missing_severity == "error"  # OP-05 description (quality) is still missing
    assert 0 < s.completeness < 1 and s.tier_completeness["coding"] > s.tier_completeness["quality"]
    empty = score(make_facts({}), ["22852"], catalogue)[0].summary
    assert empty.coding_documented is False and empty.completeness < s.completeness
    overall = summarize([r])
    assert overall["results"] == 1 and overall["codes"][0]["code"] == "22852"


def test_codes_without_checklist_and_default_codes(catalogue):
    facts = make_facts({"removal_reasons": ["pain"], "approach": "posterior",
                        "instruments": [{"kind": "rod", "action": "removed", "levels": ["L3", "L4", "L5"]},
                                        {"kind": "pedicle_screw", "action": "removed", "levels": ["L3", "L4", "L5"]}],
                        "procedures": [{"kind": "hardware_removal", "levels": ["L3", "L4", "L5"]}]})
    results = score(facts, ["22852", "63047", "22852"], catalogue)
    assert [r.code for r in results] == ["22852", "63047"]  # units collapse; a code without a checklist is empty
    assert results[1].findings == () and results[1].summary.coding_documented is None
    # no codes given: the codes the note supports, from the one code plan
    from notechecker.coding import suggest_codes

    assert [r.code for r in score(facts, None, catalogue)] == sorted(set(suggest_codes(facts, catalogue)),
                                                                      key=suggest_codes(facts, catalogue).index)
    assert suggest_codes(facts, catalogue)


def test_scoring_imports_no_spacy():
    src = (Path(__file__).resolve().parent.parent / "notechecker" / "scoring.py").read_text(encoding="utf-8")
    imported = {n.module or "" for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.startswith(("spacy", "medspacy", "notechecker.nlp")) for m in imported)
    root = Path(__file__).resolve().parent.parent / "notechecker"
    deps = [root / "evaluate.py", root / "model.py", root / "vertebrae.py", *sorted((root / "coding").glob("*.py")),
            *sorted((root / "schema").rglob("*.py"))]
    for path in deps:
        dep_src = path.read_text(encoding="utf-8")
        assert "import spacy" not in dep_src and "notechecker.nlp" not in dep_src and "from .nlp" not in dep_src
    assert "scoring" in sys.modules["notechecker.scoring"].__name__


_LUMBAR = re.compile(r"\b(?:L[1-5]|S1)\b|lumbar|retroperitoneal")


def test_fix_hints_never_give_a_lumbar_example_on_a_cervical_note(catalogue):
    """Issue 16 point 11: a cervical note's hints show cervical examples."""
    cervical = make_facts({"levels": ["C5", "C6"], "approach": "anterior",
                           "constructs": [{"action": "removed", "levels": ["C5", "C6"], "kinds": ["plate", "screw"]}]})
    lumbar = make_facts({"levels": ["L3", "L4", "L5"]})
    table = catalogue.table
    lumbar_only = {c for c, info in table.codes.items()
                   if set(info.select.get("region") or ()) and set(info.select["region"]) <= {"lumbar", "sacral"}
                   or info.select["slot"] in ("interspinous", "pelvic_fixation", "unlisted")}
    codes = [c for c in table.codes if c not in lumbar_only]  # every code a cervical note can carry
    assert {"22855", "22852", "22551", "22845", "22853", "22600", "22830", "22856", "22510"} <= set(codes)
    hints = {f.item_id: f.fix_hint for r in score(cervical, codes, catalogue) for f in r.findings if f.fix_hint}
    assert hints, "the cervical note should have unmet items"
    lumbar_hints = [i for i, h in hints.items() if _LUMBAR.search(h)]
    assert not lumbar_hints, {i: hints[i] for i in lumbar_hints}
    # issue 20: an example never states a level the note does not state: a template with blanks on
    # every note (the lumbar examples were invented levels too)
    lumbar_out = {f.item_id: f.fix_hint for r in score(lumbar, ["22852"], catalogue) for f in r.findings}
    assert "___" in lumbar_out["RM-03"] and not _LUMBAR.search(lumbar_out["RM-03"])


def test_hints_that_decide_a_code_do_not_lead(catalogue):
    """Issue 16 point 11: 'If X was done, document it; otherwise the note supports Y'."""
    for item_id, other in (("IS-02", "22869"), ("RM-01", "22855"), ("PF-02", "22612"), ("VA-02", "22510")):
        hint = catalogue.item(item_id).fix_hint
        assert hint.startswith("If ") and "otherwise" in hint and other in hint, hint


def test_items_asking_the_same_share_one_outcome_and_score_as_each_alone(catalogue):
    """Items whose requirement (and sections) are written alike share one evaluator a note; each item's
    finding is still the one it gets when scored alone, for a note where they are met and one where not."""
    from collections import defaultdict

    same = defaultdict(list)
    for item in catalogue.items.values():
        same[(repr(item.requires), item.sections)].append(item)
    shared = [items for items in same.values() if len({i.id for i in items}) > 1]
    assert shared, "the catalogue has items asking the same requirement"
    codes = [c for c in catalogue.table.codes if catalogue.items_for(c)]
    for facts in (make_facts({}), make_facts({
            "approach": "posterior", "levels": ["L4", "L5"], "removal_reasons": ["pain"],
            "elements": {"ebl": {"value": "200 mL"}, "indication": {"value": "pain"}},
            "procedures": [{"kind": "hardware_removal", "levels": ["L4", "L5"]}],
            "instruments": [{"kind": "pedicle_screw", "action": "removed", "levels": ["L4", "L5"], "count": 4}]})):
        together = {(r.code, f.item_id): f for r in score(facts, codes, catalogue) for f in r.findings}
        alone = {(r.code, f.item_id): f for c in codes for r in score(facts, [c], catalogue) for f in r.findings}
        assert together == alone and together
        for items in shared:
            statuses = {f.status for (code, iid), f in together.items() if iid in {i.id for i in items}
                        and f.status != "conflicting"}
            assert len(statuses) <= 1, [i.id for i in items]


def test_a_finding_built_by_scoring_is_the_dataclass_it_claims(catalogue):
    """Scoring builds its findings as drafts of their slots made Findings (``scoring._draft``): each is a
    Finding, equal, hashed and frozen like ``Finding(...)``; the draft holds Finding's slots and no other."""
    from notechecker import scoring
    from dataclasses import fields, replace

    facts = make_facts({"approach": "posterior", "levels": ["L4", "L5"], "elements": {"ebl": {"value": "200 mL"}},
                        "procedures": [{"kind": "hardware_removal", "levels": ["L4", "L5"]}]})
    found = [f for r in score(facts, ["22852", "22612"], catalogue) for f in r.findings]
    assert {f.status for f in found} >= {"met", "missing"} and any(f.evidence for f in found)
    for fast in found:
        args = [getattr(fast, f.name) for f in fields(Finding)]
        slow = Finding(*args)
        assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
        assert replace(fast, status="missing").status == "missing"
        with pytest.raises(AttributeError):
            fast.status = "missing"  # type: ignore[misc]
        assert type(fast) is Finding and not hasattr(fast, "__dict__")
    assert scoring._DraftFinding.__slots__ == Finding.__slots__ and scoring._DraftFinding.__bases__ == (object,)


def test_a_draft_is_refused_for_a_class_it_cannot_make():
    """``scoring._draft`` raises TypeError for a class whose ``__init__`` checks something or that is not frozen
    and slotted (made as a draft, it would skip the check): the module would fail when imported."""
    from dataclasses import dataclass

    from notechecker.scoring import _draft

    @dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self):
            assert self.a > 0

    @dataclass(frozen=True)
    class Unslotted:
        a: int

    for cls in (Checked, Unslotted):
        with pytest.raises(TypeError):
            _draft(cls)


def test_a_summary_counted_while_scoring_is_summarize_code_of_its_findings(catalogue):
    """Scoring counts a code's summary as it makes the findings (tiers, ranks and coding errors read from the
    item); it equals summarize_code of those findings on every fixture case's facts, for every code with
    a checklist and one without (a result built by its slots' setters is the dataclass it claims)."""
    from dataclasses import fields

    from notechecker.scoring import CodeResult, summarize_code

    codes = [c for c in catalogue.table.codes if catalogue.items_for(c)] + ["99999"]
    seen = set()
    for _, item_id, spec in CASES:
        for name, case in spec["cases"].items():
            facts = make_facts(case["facts"], note_id=f"{item_id}_{name}")
            for r in score(facts, codes, catalogue):
                assert r.summary == summarize_code(r.note_id, r.code, r.family, list(r.findings))
                assert r == CodeResult(*(getattr(r, f.name) for f in fields(CodeResult)))
                seen.add((r.summary.worst_missing_severity, r.summary.coding_documented, r.summary.negated > 0,
                          r.summary.conflicting > 0))
    # the cases reach every branch of the counting: no unmet item or an unmet error, coding errors or none,
    # negated and conflicting findings
    assert {s[0] for s in seen} >= {None, "error"}
    assert {s[1] for s in seen} == {None, True, False} and {s[2] for s in seen} == {s[3] for s in seen} == {True, False}


def test_a_codes_items_are_each_items_own_cells_and_conflicts_for_that_code(catalogue):
    """_code_items keeps what each item gives every code once (an item of a base checklist is in every
    code's list): for every code of the catalogue, each item's cells are its own, its conflicts those
    that apply to the code, and items asking the same (requirement and sections written alike) share one
    cache key and evaluator, items asking otherwise not."""
    from notechecker.schema.checklist import SEVERITIES, TIERS
    from notechecker.scoring import _code_items, _compiled

    compiled = _compiled(catalogue)
    codes = [c for c in catalogue.table.codes if catalogue.items_for(c)]
    seen: dict[int, tuple] = {}  # cache key -> what was asked
    for code in codes:
        got = _code_items(catalogue, code)
        assert _code_items(catalogue, code) is got  # built once a code
        assert [g[0] for g in got] == [i.id for i in catalogue.items_for(code)]
        for item, g in zip(catalogue.items_for(code), got):
            ci = compiled[item.id]
            assert g[:4] == (item.id, item.name, item.tier, item.severity) and g[6] is ci.messages
            asked = [(g[5], ("requires", repr(item.requires), tuple(sorted(item.sections)) if item.sections is not None else None))]
            if item.applies_when is None:
                assert g[4] is None
            else:
                asked.append((g[4], ("when", repr(item.applies_when), None)))
            applying = [c for c in item.conflicts if c.codes is None or code in c.codes]
            assert [m for _k, _f, m in g[7]] == [f"{item.name}: {c.message}" for c in applying]
            asked += [((k, f), ("when", repr(c.when), None)) for (k, f, _m), c in zip(g[7], applying)]
            for (key, fn), what in asked:
                assert seen.setdefault(key, what) == what  # one key, one question
                assert callable(fn)
            regions = tuple((r, item.fix_hint_by_region[r]) for r in ("cervical", "thoracic", "lumbar", "sacral")
                            if r in item.fix_hint_by_region)
            assert g[8] == ((regions, item.fix_hint) if regions else item.fix_hint)
            assert g[9:] == (TIERS.index(item.tier), SEVERITIES.index(item.severity),
                             item.tier == "coding" and item.severity == "error")
    assert len(set(seen.values())) == len(seen)  # one question, one key
    assert len(seen) < sum(len(catalogue.items_for(c)) for c in codes)  # shared across codes and items


def test_requirements_compiled_without_levels_give_the_outcomes_with_them_but_their_levels(catalogue, pipeline):
    """Scoring compiles its requirements without levels (a finding reads an outcome's status and
    evidence only): on the facts of every fixture case and of every sample note, each item's requirement,
    ``applies_when`` and conflicts give the same status and evidence compiled either way, and levels
    without them only where they are those with them (a few evaluators keep theirs); most met outcomes
    with levels have none without them (so the two ways were told apart). An instrument requirement
    compiled without levels that asks neither ``leveled`` nor ``regions`` does not place its mentions (the
    construct's levels for an unlevelled one) at all: this holds that it gives what placing them gives."""
    from notechecker.evaluate import NoteFacts, compile_requirement
    from notechecker.model import Operation
    from tests.conftest import SAMPLES

    asked = []
    for item in catalogue.items.values():
        asked.append((item.requires, item.sections))
        asked += [(r, None) for r in (item.applies_when, *(c.when for c in item.conflicts)) if r is not None]
    pairs = [(compile_requirement(r, s), compile_requirement(r, s, levels=False)) for r, s in asked]
    facts = [make_facts(case["facts"], note_id=name) for _f, _i, spec in CASES for name, case in spec["cases"].items()]
    facts += [pipeline.facts(p.read_text(encoding="utf-8"), p.stem) for p in sorted(SAMPLES.glob("*.txt"))]
    met = with_levels = dropped = 0
    for f in facts:
        view, bare = NoteFacts(f, Operation(f)), NoteFacts(f, Operation(f))
        for full, without in pairs:
            a, b = full(view), without(bare)
            assert (b.status, b.evidence) == (a.status, a.evidence) and b.levels in (frozenset(), a.levels)
            met += a.status == "met"
            with_levels += bool(a.levels)
            dropped += bool(a.levels) and not b.levels
    assert met > 1000 and dropped > 500 and dropped > with_levels / 2, (met, dropped, with_levels, len(facts))


def test_any_and_all_give_what_their_children_outcomes_give():
    """``any`` and ``all`` read their children's outcomes in one pass (``evaluate.compile_requirement``):
    met when any (all) child is met, with every met child's evidence in order; else negated with every
    negated child's evidence; else missing. Every mix of met, negated and missing children, none to
    three, with levels and without."""
    import itertools

    from notechecker.evaluate import NoteFacts, compile_requirement
    from notechecker.model import Operation
    from notechecker.schema.requirements import Requirement

    facts = make_facts({"elements": {"ebl": {"value": "200 mL"}, "indication": {"value": "pain"}},
                        "procedures": [{"kind": "hardware_removal", "levels": ["L4", "L5"]},
                                       {"kind": "decompression", "levels": ["L4"], "assertion": "negated"},
                                       {"kind": "discectomy", "levels": ["L5"], "assertion": "negated"}]})
    view = NoteFacts(facts, Operation(facts))
    children = [Requirement(kind="element", target=("ebl",)), Requirement(kind="element", target=("indication",)),
                Requirement(kind="procedure", target=("hardware_removal",)),
                Requirement(kind="procedure", target=("decompression",)),
                Requirement(kind="procedure", target=("discectomy",)), Requirement(kind="element", target=("nope",))]
    seen = set()
    for n in range(4):
        for kids in itertools.product(children, repeat=n):
            for kind in ("any", "all"):
                for levels in (True, False):
                    outs = [compile_requirement(c, levels=levels)(view) for c in kids]
                    met = [o for o in outs if o.status == "met"]
                    neg = [o for o in outs if o.status == "negated"]
                    got = compile_requirement(Requirement(kind=kind, children=tuple(kids)), levels=levels)(view)
                    if met if kind == "any" else len(met) == len(outs):
                        want = ("met", tuple(e for o in met for e in o.evidence),
                                frozenset().union(*[o.levels for o in met]) if levels else frozenset())
                    elif neg:
                        want = ("negated", tuple(e for o in neg for e in o.evidence), frozenset())
                    else:
                        want = ("missing", (), frozenset())
                    assert tuple(got) == want and type(got.evidence) is tuple, (kind, kids)
                    seen.add(got.status)
    assert seen == {"met", "negated", "missing"}

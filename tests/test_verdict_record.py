"""Issue 20 point 3: the decision record of each code, its vocabulary and its rules, on real notes."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "sample_notes"
PATTERNS = ROOT / "patterns"


def note(prefix: str) -> str:
    return next(NOTES.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def records(pipeline, text, codes=None):
    from notechecker.plain import code_verdicts
    from notechecker.service import assemble

    result = assemble(pipeline.facts(text, "n"), codes)
    return result, {v.code: v for v in code_verdicts(result, text=text)}


def test_units_over_and_under_coded(pipeline):
    """sn12 supports 22840 once: billed x2 is over-coded by one unit; a code supported x2 billed x1 is
    under-coded by one unit, never 'over-coded'."""
    result, recs = records(pipeline, note("sn12"))
    counts = {c: result.suggested.count(c) for c in result.suggested}
    once = next(c for c, n in counts.items() if n == 1)
    _, over = records(pipeline, note("sn12"), [*result.suggested, once])
    v = over[once]
    assert (v.billed_units, v.supported_units) == (2, 1)
    assert v.billing_gap == "over-coded" and v.verdict == "coder review" and "over-coded by 1 unit" in v.reason
    # a note supporting a code twice (two interspaces), billed once
    twice = None
    for p in sorted(NOTES.glob("*.txt")):
        res, _ = records(pipeline, p.read_text(encoding="utf-8"))
        n = {c: res.suggested.count(c) for c in res.suggested}
        twice = next(((p, c) for c, k in n.items() if k >= 2), None)
        if twice:
            break
    assert twice, "a sample note supports some code x2"
    p, code = twice
    res, _ = records(pipeline, p.read_text(encoding="utf-8"))
    billed = list(res.suggested)
    billed.remove(code)
    _, under = records(pipeline, p.read_text(encoding="utf-8"), billed)
    v = under[code]
    assert v.billed_units == v.supported_units - 1
    assert v.billing_gap == "under-coded" and "under-coded by 1 unit" in v.reason and "over-coded" not in v.reason


def test_described_code_needs_documentation_with_items_in_their_own_field(pipeline):
    """A code in the plan whose coding items are not all documented reads 'needs documentation' with the
    items apart from the word; a billed code the note does not describe reads 'not supported'."""
    seen_needs = seen_not = False
    for p in sorted(NOTES.glob("*.txt")):
        text = p.read_text(encoding="utf-8")
        result, recs = records(pipeline, text)
        for v in recs.values():
            assert v.verdict in ("supported", "needs documentation", "modifier needed", "coder review",
                                 "not checked"), (p.stem, v.verdict)  # nothing billed: all described
            if v.verdict == "needs documentation":
                seen_needs = True
                assert v.items and all(i.severity == "error" for i in v.items)
                assert v.reason.startswith("needs documentation: ") and v.items[0].name in v.reason
                assert v.supported and v.verdict == "needs documentation"  # the word alone
    _, recs = records(pipeline, note("sn12"), ["22852", "22513"])
    v = recs["22513"]
    assert v.verdict == "not supported" and not v.suggested and v.billing_gap == "over-coded"
    assert v.reason.startswith("the note does not describe 22513; it supports ") and "22852" in v.supported_code
    seen_not = True
    assert seen_needs and seen_not


def test_record_json_shape(pipeline):
    from notechecker.plain import result_dict
    from notechecker.schema.verdicts import vocabulary

    text = note("sn08")
    result, _ = records(pipeline, text, ["22855-78", "22852"])
    d = result_dict(result, text)
    assert d["schema_version"] == vocabulary().schema_version
    keys = {"code", "descriptor", "verdict", "verdict_key", "severity", "tone", "supported", "billed", "suggested",
            "items", "reason", "also", "units", "billing_gap", "supported_code", "modifiers", "proof",
            "checklist", "coding"}
    by = {v["code"]: v for v in d["verdicts"]}
    for v in d["verdicts"]:
        assert set(v) == keys
        assert v["verdict"] == vocabulary().word(v["verdict_key"])
    assert by["22855"]["modifiers"]["billed"] == ["78"] and by["22855"]["units"] == {"billed": 1, "supported": 1}
    assert by["22852"]["verdict"] == "wrong code" and by["22852"]["supported_code"] == "22855"
    assert by["22855"]["proof"]["text"] == text[by["22855"]["proof"]["start"]:by["22855"]["proof"]["end"]]


def test_one_definition_of_supported():
    from notechecker.plain import SUPPORTING
    from notechecker.schema.verdicts import VERDICT_KEYS, vocabulary

    vocab = vocabulary()
    assert [v.key for v in vocab.specs] == list(VERDICT_KEYS)
    assert SUPPORTING == tuple(v.word for v in vocab.specs if v.supports)
    assert "needs documentation" in SUPPORTING and "not supported" not in SUPPORTING


@pytest.mark.parametrize("edit,expected", [
    (("word: bundled", "word: wrong code"), "named twice"),
    (("severity: warning\n    supports: false\n    tone: warn\n    meaning: the note does not settle",
      "severity: loud\n    supports: false\n    tone: warn\n    meaning: the note does not settle"), "severity"),
    (("  - key: not_checked\n", "  - key: not_looked_at\n"), "not_looked_at"),
    (("  items_lead:", "  items_leader:"), "missing phrase"),
])
def test_vocabulary_is_validated_at_load(tmp_path, edit, expected):
    from notechecker.schema.loader import ChecklistError
    from notechecker.schema.verdicts import load_vocabulary_file

    text = (PATTERNS / "verdicts.yaml").read_text(encoding="utf-8")
    assert edit[0] in text
    bad = tmp_path / "verdicts.yaml"
    bad.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(ChecklistError) as exc:
        load_vocabulary_file(bad, "patterns/verdicts.yaml")
    assert exc.value.code in ("E021", "E022") and "verdicts.yaml" in str(exc.value) and expected in str(exc.value)


def test_no_face_words_a_verdict_of_its_own():
    """The words live in patterns/verdicts.yaml: no face keeps its own map of them."""
    for rel in ("notechecker/web/static/index.html", "notechecker/web/cds_hooks.py", "notechecker/cli/render.py",
                "notechecker/plain.py"):
        src = (ROOT / rel).read_text(encoding="utf-8")
        assert "VERDICT_WORDS" not in src and "WARN_VERDICTS" not in src, rel
        assert '"no primary code"' not in src and "'no primary code'" not in src, rel
    assert "verdict_labels" not in (PATTERNS / "codes" / "messages.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("prefix,code,must,must_not", [
    ("sn18", "22842", [r"screw", r"\bL4\b|\bS1\b"], [r"spacer|device|cage"]),  # was the interbody device line
    ("sn16", "22843", [r"screw", r"\bT10\b"], [r"cage|spacer"]),
    ("sn17", "22853", [r"spacer|cage|device", r"L4-L5"], []),
    ("sn21", "22513", [r"kyphoplasty", r"\bT1[12]\b"], []),
    ("sn21", "22515", [r"kyphoplasty", r"\bT1[12]\b"], []),
])
def test_proof_is_the_sentence_of_the_defining_fact(pipeline, prefix, code, must, must_not):
    """Issue 20: anchors and a vertebra for 22840-22844, device and interspace for 22853, the treated body
    for 22513-22515 (not the title line naming only the technique)."""
    import re

    text = note(prefix)
    _, recs = records(pipeline, text)
    v = recs[code]
    assert v.proof is not None and text[v.proof.start:v.proof.end] == v.proof.text
    for rx in must:
        assert re.search(rx, v.proof.text, re.IGNORECASE), (code, v.proof.text)
    for rx in must_not:
        assert not re.search(rx, v.proof.text, re.IGNORECASE), (code, v.proof.text)


def test_proof_rules_name_real_families_and_items():
    """Every proof rule of patterns/verdicts.yaml names a code family of the code table and checklist
    items that exist (a typo would silently fall back to the coding evidence)."""
    from notechecker.schema.catalogue import load_catalogue
    from notechecker.schema.verdicts import vocabulary

    cat = load_catalogue()
    families = {info.family for info in cat.table.codes.values()}
    rules = vocabulary().proof
    assert {"instrumentation", "interbody_device", "augmentation"} <= set(rules)
    for family, (items, names) in rules.items():
        assert family in families, family
        assert items and all(i in cat.items for i in items), (family, items)
        assert names


def test_coder_review_of_a_described_code_is_not_over_coded(pipeline):
    """sn06: 22850 is what the note describes, under coder review (single-interspace pedicle construct):
    billed as described it is neither over- nor under-coded; billed one unit more it is over-coded."""
    _, recs = records(pipeline, note("sn06"), ["22850"])
    v = recs["22850"]
    assert v.verdict == "coder review" and v.suggested and v.billing_gap == ""
    _, recs = records(pipeline, note("sn06"), ["22850 x2"])
    assert recs["22850"].billing_gap == "over-coded"


def test_a_record_holds_every_field_as_its_constructor_would(pipeline):
    """plain._one makes a record by writing its fields at once (``made``): each record of a check, billed
    or not, has every field of CodeVerdict in order and equals the record CodeVerdict(...) makes of them."""
    import dataclasses

    from notechecker.plain import CodeVerdict

    names = [f.name for f in dataclasses.fields(CodeVerdict)]
    seen = 0
    for prefix, codes in (("sn12", None), ("sn12", ["22612", "22840", "99999"]), ("sn08", None)):
        _, recs = records(pipeline, note(prefix), codes)
        for v in recs.values():
            assert list(vars(v)) == names
            assert CodeVerdict(**vars(v)) == v
            seen += 1
    assert seen >= 4

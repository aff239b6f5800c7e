"""Issue 20 point 5: requests a surgeon can sign. No example sentence states a clinical fact the note
does not state: every one is a template with blanks, shown apart from quoted evidence."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = ROOT / "patterns"
NOTES = ROOT / "sample_notes"


def brands() -> list[str]:
    data = yaml.safe_load((PATTERNS / "targets" / "brands.yaml").read_text(encoding="utf-8"))
    out = []
    for phrases in (data.get("rules") or {}).values():
        for p in phrases:
            if isinstance(p, str):
                out.append(p)
            elif isinstance(p, dict) and isinstance(p.get("literal"), str):
                out.append(p["literal"])
    return out


def all_hints(cat):
    for item in cat.items.values():
        yield item.id, item.fix_hint
        for region, hint in item.fix_hint_by_region.items():
            yield f"{item.id}@{region}", hint


def test_no_hint_states_a_level_count_side_or_brand():
    from notechecker.schema.catalogue import load_catalogue
    from notechecker.schema.checklist import BLANK, HINT_EXAMPLE, example_states_a_fact

    catalogue = load_catalogue()
    names = [b for b in brands() if len(b) >= 3]
    assert len(names) > 20
    n_examples = 0
    for where, hint in all_hints(catalogue):
        assert example_states_a_fact(hint) == "", where
        for m in HINT_EXAMPLE.finditer(hint):
            n_examples += 1
            sentence = m.group("s")
            assert BLANK in sentence, where
            assert not re.search(r"\d|\b[CTLS]\d", sentence), where
            for b in names:
                assert not re.search(rf"(?<![A-Za-z]){re.escape(b)}(?![A-Za-z])", sentence), (where, b)
    assert n_examples > 80


@pytest.mark.parametrize("example,kind", [
    ("Lateral mass screws at ___ and two rods were removed.", "count"),
    ("Two PEEK spacers were placed, one at ___.", "count"),
    ("Findings: loose ___ screws; solid fusion T10-T12.", "level"),
    ("Estimated blood loss: 200 mL.", "blank"),
    ("Pedicle screws at L3 and ___ were removed.", "level"),
])
def test_the_loader_rejects_an_example_that_states_a_fact(tmp_path, example, kind):
    """A checklist whose fix hint asserts a fact does not load: [E022] naming file, item and field."""
    import shutil

    from notechecker.schema.catalogue import build_catalogue
    from notechecker.schema.loader import ChecklistError

    root = tmp_path / "patterns"
    shutil.copytree(PATTERNS, root)
    path = root / "checklists" / "removal.yaml"
    text = path.read_text(encoding="utf-8")
    old = next(ln for ln in text.splitlines() if ln.strip().startswith("fix_hint:") and "RM-02" not in ln
               and "anchors of the removed construct" in ln)
    path.write_text(text.replace(old, old.split("fix_hint:")[0] + "fix_hint: " + repr(
        f"Please document the anchors of the removed construct at each level, e.g. '{example}'").replace(
        "\\'", "''"), 1), encoding="utf-8")
    with pytest.raises(ChecklistError) as exc:
        build_catalogue(root)
    msg = str(exc.value)
    assert exc.value.code == "E022" and "removal.yaml" in msg and "RM-02" in msg and "fix_hint" in msg
    assert (kind in msg) if kind != "blank" else "no blank" in msg


def test_check_shows_requests_apart_from_quoted_evidence(pipeline):
    """The text of check: evidence in curly quotes, requests after 'complete:' with their blanks, never
    quoted; and no request on an anterior plate removal names posterior anchors (issue 20's example)."""
    from notechecker.cli import check_lines
    from notechecker.service import assemble

    n_requests = 0
    for p in sorted(NOTES.glob("*.txt")):
        text = p.read_text(encoding="utf-8")
        result = assemble(pipeline.facts(text, p.stem))
        lines = [ln.strip() for _, ln in check_lines(result, text, detail=True, width=100)]
        for ln in lines:
            if ln.startswith("complete:"):
                n_requests += 1
                assert "___" in ln and "\u201c" not in ln, (p.stem, ln)
            if ln.startswith("\u201c"):  # a quote is the note's own words
                quoted = ln.strip("\u201c\u201d\u2026")
                assert "___" not in quoted and " ".join(quoted.split()[:4]) in " ".join(text.split()), (p.stem, ln)
        if p.stem.startswith("sn08"):
            assert not any("Lateral mass" in ln or "rods were removed" in ln for ln in lines)
    assert n_requests > 20


def _reason_words() -> list[str]:
    """The removal-reason vocabulary (patterns/targets/reasons.yaml): a query must not propose one."""
    data = yaml.safe_load((PATTERNS / "targets" / "reasons.yaml").read_text(encoding="utf-8"))
    out = []
    for phrases in (data.get("rules") or {}).values():
        for p in phrases or ():
            if isinstance(p, str) and re.fullmatch(r"[A-Za-z][A-Za-z -]{3,}", p):
                out.append(p.lower())
    return out


def test_queries_cite_the_note_and_never_lead(pipeline):
    """check --query (AHIMA/ACDIS 2022): per missing error item one query; its indicators are quotes of
    the note itself; a choice offers 'other' and 'clinically undetermined'; no question or choice
    proposes a removal reason or diagnosis from the reason vocabulary."""
    from notechecker.queries import queries, query_text
    from notechecker.service import assemble

    reasons = _reason_words()
    assert len(reasons) > 10
    n = n_choice = 0
    notes = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(NOTES.glob("*.txt"))
             + sorted((ROOT.parent / "shared" / "eval" / "forms" / "notes").glob("*.txt"))]
    notes += [(f"{stem}#head", head_only(text)) for stem, text in notes[:12]]  # the narrative left out
    for stem, text in notes:
        p = Path(stem)
        result = assemble(pipeline.facts(text, p.stem))
        qs = queries(result, text)
        missing = {f.item_id for r in result.results for f in r.findings if f.status != "met" and f.severity == "error"}
        assert {q.item_id for q in qs} <= missing, p.stem
        for q in qs:
            n += 1
            for e in q.indicators:
                assert text[e.start:e.end] == e.text, (p.stem, q.item_id)
            words = " ".join((q.question, *q.choices)).lower()
            for r in reasons:
                assert not re.search(rf"\b{re.escape(r)}\b", words), (p.stem, q.item_id, r)
            if q.choices:
                n_choice += 1
                assert q.choices[-2:] == ("Other (please specify): ___", "Clinically undetermined")
                assert len(q.choices) >= 4
        out = query_text(result, text)
        assert out.count("Query ") == len(qs)
        if qs:
            assert "not meant to imply that any particular answer is desired" in out
    assert n >= 10


def head_only(text: str) -> str:
    """The note up to its indication or description: headings and the procedure list, no narrative."""
    m = re.search(r"^\s*(?:INDICATIONS?|DESCRIPTION|PROCEDURE IN DETAIL|DETAILS)\b", text, re.IGNORECASE | re.MULTILINE)
    return text[:m.start()] if m else text[: len(text) // 3]


def test_a_choice_query_offers_other_and_undetermined():
    """A removal whose approach is not stated (facts built directly): the RM-01 query is a choice of
    approaches plus 'Other (please specify)' and 'Clinically undetermined'; an open question where a
    choice would lead (the anchors of the construct, RM-02)."""
    from notechecker.queries import queries
    from notechecker.service import assemble
    from tests.conftest_checklists import make_facts

    facts = make_facts({"levels": ["L3", "L4", "L5"], "removal_reasons": ["infection"],
                        "constructs": [{"action": "removed", "levels": ["L3", "L4", "L5"],
                                        "kinds": ["pedicle_screw", "rod"]}]})
    qs = {q.item_id: q for q in queries(assemble(facts, ["22852"]))}
    q = qs["RM-01"]
    assert q.codes == ("22852",) and len(q.choices) >= 4
    assert q.choices[-2:] == ("Other (please specify): ___", "Clinically undetermined")
    assert not any("infection" in c for c in q.choices)  # never the reason or a diagnosis
    assert "RM-05" not in qs  # the reason is documented: nothing to ask


def test_check_query_option(tmp_path):
    import json

    from typer.testing import CliRunner

    from notechecker.cli import app

    note = tmp_path / "head.txt"
    note.write_text(head_only(next(NOTES.glob("sn12_*.txt")).read_text(encoding="utf-8")), encoding="utf-8")
    run = CliRunner().invoke(app, ["check", str(note), "--query", "--fail-on", "never"])
    assert run.exit_code == 0, run.output
    assert run.stdout.startswith("Query 1: ") and "To: " in run.stdout and "The note documents:" in run.stdout
    js = CliRunner().invoke(app, ["check", str(note), "--query", "--format", "json", "--fail-on", "never"])
    d = json.loads(js.stdout)
    assert d["queries"] and {"item_id", "codes", "question", "choices", "indicators"} <= d["queries"][0].keys()
    text = note.read_text(encoding="utf-8")
    for q in d["queries"]:
        for e in q["indicators"]:
            assert text[e["start"]:e["end"]] == e["text"]

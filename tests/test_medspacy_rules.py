"""A user's medspaCy rule files (TargetRule, ConTextRule, SectionRule JSON) drop into the pipeline:
read as medspaCy reads them, shown in the facts where medspaCy would show them, off by default,
kept by a saved pipeline, and a bad file is an E04x error naming the file and the rule."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from notechecker.errors import CATALOGUE, PatternError
from notechecker.nlp.medspacy_rules import ENV_VAR, load_rules, read_rule_file, resolve, rules_from_env
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "medspacy_rules"
REMOVAL = ("PROCEDURE: Removal of posterior segmental instrumentation L3-L5.\n\n"
           "DESCRIPTION: The patient was placed prone. All six pedicle screws and both rods were removed "
           "from L3 to L5.\n")


def _medspacy_default(name: str) -> Path:
    import medspacy

    return Path(medspacy.__file__).resolve().parents[1] / "resources" / "en" / name


def _fields(rule, names):
    out = {}
    for n in names:
        v = getattr(rule, n, None)
        out[n] = sorted(v) if isinstance(v, (set, frozenset)) else v
    return out


# ------------------------------------------------------------------ reading as medspaCy reads
def test_medspacys_default_context_rules_load_unchanged():
    """All 102 rules of medspaCy's shipped context_rules.json, field for field as ConTextRule.from_json reads them."""
    from medspacy.context import ConTextRule

    theirs = ConTextRule.from_json(str(_medspacy_default("context_rules.json")))
    ours = read_rule_file("default", "context")
    assert len(ours) == len(theirs) == 102
    names = ("literal", "category", "direction", "pattern", "max_scope", "max_targets", "allowed_types",
             "excluded_types", "metadata")
    assert [_fields(r, names) for r in ours] == [_fields(r, names) for r in theirs]
    assert read_rule_file(_medspacy_default("context_rules.json"), "context") == ours  # the path, the same


def test_medspacys_default_section_rules_and_a_target_file_load_unchanged():
    from medspacy.section_detection import SectionRule
    from medspacy.target_matcher import TargetRule

    names = ("literal", "category", "pattern", "metadata", "max_scope", "parents", "parent_required")
    for path in ("default", FIXTURES / "section_rules.json"):
        real = _medspacy_default("section_patterns.json") if path == "default" else path
        theirs = SectionRule.from_json(str(real))
        ours = read_rule_file(path, "section")
        assert [_fields(r, names) for r in ours] == [_fields(r, names) for r in theirs]
    assert len(read_rule_file("default", "section")) == 140
    names = ("literal", "category", "pattern", "metadata", "attributes")
    theirs = TargetRule.from_json(str(FIXTURES / "target_rules.json"))
    ours = read_rule_file(FIXTURES / "target_rules.json", "target")
    assert [_fields(r, names) for r in ours] == [_fields(r, names) for r in theirs]


def test_files_of_a_kind_combine_in_order():
    rules = load_rules(context_rules=["default", FIXTURES / "context_rules.json"])
    assert len(rules.context) == 102 + 3 and rules.context[-1].literal == "watch for"
    assert rules.files == ("default", str(FIXTURES / "context_rules.json"))
    assert not rules.targets and not rules.sections and rules


# ------------------------------------------------------------------ off by default
def test_off_by_default(pipeline, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert not resolve() and not rules_from_env({})
    assert not pipeline.user_rules
    for name in ("targets", "sections", "context"):
        assert not pipeline.nlp.get_pipe(name).user_rules
    doc = pipeline.nlp("INDICATIONS: Pneumonia was excluded. Allergies: none.\n\n" + REMOVAL)
    assert "user_targets" not in doc.spans
    assert "allergies" not in [s.category for s in doc._.sections]


# ------------------------------------------------------------------ where the rules show
def test_a_target_rule_adds_a_mention_of_its_label_assessed_by_context():
    from notechecker.api import Pipeline

    p = Pipeline(target_rules=FIXTURES / "target_rules.json")
    text = "HISTORY: No evidence of pneumonia. Diabetic.\n\nDESCRIPTION: Hypertension controlled. " + REMOVAL
    facts = p.facts(text, "t")
    got = [(m.label, m.value, m.assertion, m.evidence.text, m.evidence.section) for m in facts.mentions
           if m.label in ("PROBLEM", "FINDING")]
    assert got == [("PROBLEM", "pneumonia", "negated", "pneumonia", "history"),
                   ("PROBLEM", "diabetes", "present", "Diabetic", "history"),
                   ("PROBLEM", "hypertension", "present", "Hypertension", "description")]
    for m in facts.mentions:
        assert text[m.evidence.start:m.evidence.end] == m.evidence.text
    assert [f.to_dict() for f in p.facts_many([("t", text)])] == [facts.to_dict()]  # batches too
    assert "mentions" in facts.to_dict() and any(m["label"] == "PROBLEM" for m in facts.to_dict()["mentions"])
    # the metadata's value names the mention; the spans are in their own group with the rule
    pain = p.facts("INDICATIONS: Back pain.\n\n" + REMOVAL, "p")
    assert [(m.value, m.rule) for m in pain.mentions if m.label == "PROBLEM"] == [("pain", "pain")]
    doc = p.nlp("Pneumonia and HTN.")
    assert [(s.text, s.label_, s._.target_rule.literal) for s in doc.spans["user_targets"]] == \
        [("Pneumonia", "PROBLEM", "pneumonia"), ("HTN", "PROBLEM", "hypertension")]


def test_a_context_rule_changes_the_assertions_of_notecheckers_targets(pipeline):
    from notechecker.api import Pipeline

    excluded = "INDICATIONS: Infection was excluded. The left rod is broken.\n\n" + REMOVAL
    assert pipeline.facts(excluded).removal_reasons == ("hardware_failure", "infection")
    users = Pipeline(context_rules=FIXTURES / "context_rules.json")  # "was excluded": NEGATED_EXISTENCE, BACKWARD
    assert users.facts(excluded).removal_reasons == ("hardware_failure",)
    assert ("infection", "negated") in [(m.value, m.assertion) for m in users.facts(excluded).reasons]
    unlikely = "INDICATIONS: Infection unlikely. The left rod is broken.\n\n" + REMOVAL
    assert pipeline.facts(unlikely).removal_reasons == ("hardware_failure", "infection")
    medspacys = Pipeline(context_rules="default")  # medspaCy's "unlikely": NEGATED_EXISTENCE, BACKWARD
    assert medspacys.facts(unlikely).removal_reasons == ("hardware_failure",)
    doc = medspacys.nlp(unlikely)
    infection = next(s for s in doc.spans["targets"] if s.text == "Infection")
    assert infection._.is_negated and [m.rule.literal for m in infection._.modifiers] == ["unlikely"]


def test_a_section_rule_adds_a_section_of_its_category(pipeline):
    from notechecker.api import Pipeline

    text = "ALLERGIES: Penicillin.\n\nCHIEF COMPLAINT: Back pain.\n\n" + REMOVAL
    assert "allergy" not in [s.name for s in pipeline.facts(text).sections]
    facts = Pipeline(section_rules="default").facts(text)
    names = [(s.name, s.title) for s in facts.sections]
    assert ("allergy", "ALLERGIES:") in names and ("chief_complaint", "CHIEF COMPLAINT:") in names
    assert facts.instruments_removed == pipeline.facts(text).instruments_removed  # the operation still read


def test_a_target_rules_attributes_are_set_on_its_spans(tmp_path):
    from notechecker.api import Pipeline

    path = tmp_path / "attrs.json"
    path.write_text(json.dumps({"target_rules": [
        {"literal": "prior fusion", "category": "PROBLEM", "attributes": {"is_historical": True}}]}))
    p = Pipeline(target_rules=path)
    span = p.nlp("She had a prior fusion at L4-L5.").spans["user_targets"][0]
    assert span.text == "prior fusion" and span._.is_historical is True
    assert [(m.label, m.value) for m in p.facts("She had a prior fusion at L4-L5.").mentions] == [("PROBLEM", "prior fusion")]


# ------------------------------------------------------------------ a saved pipeline keeps them
def test_a_saved_pipeline_keeps_the_users_rules(tmp_path):
    import spacy

    from notechecker.api import Pipeline
    from tests.test_medspacy_parity import USER_FILES

    p = Pipeline(**USER_FILES)
    text = ("MEDICATIONS: aspirin.\nHome medications: none.\nINDICATIONS: Infection unlikely. Pneumonia "
            "was excluded.\n\n" + REMOVAL)
    p.nlp.to_disk(tmp_path / "saved")
    loaded = spacy.load(tmp_path / "saved")
    a, b = p.nlp(text), loaded(text)

    def view(doc):
        return ([(s.start, s.end, s.label_) for s in doc.spans["user_targets"]],
                [(s.category, s.title_start, s.body_end, s.parent.category if s.parent else None) for s in doc._.sections],
                sorted((t.start, t.end, m.category) for t, m in doc._.context_graph.edges))

    assert view(a) == view(b) and view(a)[0] and "home_medications" in [s[0] for s in view(a)[1]]
    again = Pipeline(tmp_path / "saved")
    assert again.facts(text).to_dict() == p.facts(text).to_dict()
    for name in ("targets", "sections", "context"):  # and through bytes
        comp = p.nlp.get_pipe(name)
        copy = loaded.get_pipe(name).from_bytes(comp.to_bytes())
        assert [r.to_dict() for r in copy.user_rules] == [r.to_dict() for r in comp.user_rules] != []


# ------------------------------------------------------------------ bad files
BAD = [
    ("missing", None, "E040", "medspaCy target rule file not found"),
    ("not_json", "{target_rules: [", "E040", "not valid JSON"),
    ("no_key", {"rules": []}, "E041", "expected a JSON object with the key 'target_rules'"),
    ("not_list", {"target_rules": {"literal": "x"}}, "E041", "must be a list of rules"),
    ("not_object", {"target_rules": ["pneumonia"]}, "E042", "rule 1: a rule must be a JSON object"),
    ("unknown_key", {"target_rules": [{"literal": "x", "category": "P", "direction": "FORWARD"}]}, "E042",
     "rule 1 ('x'): keys medspaCy's target rules do not accept: direction"),
    ("no_category", {"target_rules": [{"literal": "x"}]}, "E043", "rule 1 ('x'): missing 'category'"),
    ("bad_regex", {"target_rules": [{"literal": "ok", "category": "P"}, {"literal": "x", "category": "P", "pattern": "(a"}]},
     "E044", "rule 2 ('x'): 'pattern' is not a valid regular expression"),
    ("bad_token_pattern", {"target_rules": [{"literal": "x", "category": "P", "pattern": [{"LOWERCASE": "x"}]}]},
     "E044", "rule 1 ('x'): 'pattern' is not a valid spaCy token pattern"),
    ("bad_pattern_type", {"target_rules": [{"literal": "x", "category": "P", "pattern": 3}]}, "E044",
     "'pattern' must be null, a regular expression string or a list"),
    ("unknown_attribute", {"target_rules": [{"literal": "x", "category": "P", "attributes": {"is_spicy": True}}]},
     "E045", "rule 1 ('x'): 'attributes' names Span extensions that are not registered: is_spicy"),
]
BAD_CONTEXT = [
    ("direction", {"literal": "no", "category": "NEGATED_EXISTENCE", "direction": "FORWARDS"}, "E043", "'direction' must be one of"),
    ("both_types", {"literal": "no", "category": "NEGATED_EXISTENCE", "allowed_types": ["A"], "excluded_types": ["B"]},
     "E043", "'allowed_types' and 'excluded_types' cannot both be given"),
    ("scope", {"literal": "no", "category": "NEGATED_EXISTENCE", "max_scope": 0}, "E043", "'max_scope' must be a positive"),
    ("types", {"literal": "no", "category": "NEGATED_EXISTENCE", "allowed_types": "PROBLEM"}, "E043",
     "'allowed_types' must be a list of strings"),
    ("terminated_by", {"literal": "no", "category": "NEGATED_EXISTENCE", "terminated_by": ["X"]}, "E042",
     "keys medspaCy's context rules do not accept: terminated_by"),
]
BAD_SECTION = [
    ("parent_required", {"literal": "Plan:", "category": "plan", "parent_required": True}, "E043",
     "'parent_required' is true but no 'parents' are given"),
    ("parents", {"literal": "Plan:", "category": "plan", "parents": "assessment"}, "E043", "'parents' must be a list"),
    ("empty_literal", {"literal": " ", "category": "plan"}, "E043", "'literal' must be a non-empty string"),
]


def _write(tmp_path, name, content) -> Path:
    path = tmp_path / f"{name}.json"
    if content is not None:
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def _cases():
    for name, content, code, words in BAD:
        yield name, "target", content, code, words
    for name, rule, code, words in BAD_CONTEXT:
        yield name, "context", {"context_rules": [rule]}, code, words
    for name, rule, code, words in BAD_SECTION:
        yield name, "section", {"section_rules": [rule]}, code, words


@pytest.mark.parametrize("name,kind,content,code,words", list(_cases()), ids=[f"{c[1]}-{c[0]}" for c in _cases()])
def test_a_bad_rule_file_is_a_coded_error_naming_file_and_rule(tmp_path, name, kind, content, code, words):
    from notechecker.api import Pipeline

    path = _write(tmp_path, name, content)
    with pytest.raises(PatternError) as err:
        Pipeline(**{f"{kind}_rules": path})
    assert err.value.code == code and code in CATALOGUE
    assert str(err.value).startswith(f"[{code}] {path}")
    assert words in str(err.value)


def test_the_environment_variable_turns_it_on_for_the_cli_and_a_bad_file_is_no_traceback(tmp_path):
    """notechecker extract with $NOTECHECKER_MEDSPACY_RULES: the user's mentions and sections in the rows;
    a bad file in the folder: exit 2, its code, file and rule on stderr, no traceback."""
    rules, notes = tmp_path / "rules", tmp_path / "notes"
    rules.mkdir()
    notes.mkdir()
    (rules / "target_rules.json").write_bytes((FIXTURES / "target_rules.json").read_bytes())
    (rules / "section_rules.json").write_bytes(_medspacy_default("section_patterns.json").read_bytes())
    (notes / "a.txt").write_text("ALLERGIES: none.\nINDICATIONS: Pneumonia was treated.\n\n" + REMOVAL, encoding="utf-8")
    env = {**os.environ, ENV_VAR: str(rules), "PYTHONPATH": str(ROOT)}
    out = tmp_path / "facts.jsonl"
    proc = subprocess.run([sys.executable, "-m", "notechecker", "extract", str(notes), "-o", str(out)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-1500:]
    row = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert [(m["label"], m["value"]) for m in row["mentions"] if m["label"] == "PROBLEM"] == [("PROBLEM", "pneumonia")]
    assert "allergy" in [s["name"] for s in row["sections"]]

    (rules / "context_rules.json").write_text(json.dumps({"context_rules": [
        {"literal": "no", "category": "NEGATED_EXISTENCE", "direction": "FORWARDS"}]}), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "notechecker", "extract", str(notes), "-o", str(out)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2
    assert "[E043]" in proc.stderr and str(rules / "context_rules.json") in proc.stderr and "rule 1 ('no')" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout

    with pytest.raises(PatternError, match=r"\[E040\].*holds none of"):
        rules_from_env({ENV_VAR: str(notes)})
    with pytest.raises(PatternError, match=r"\[E040\].*not a folder"):
        rules_from_env({ENV_VAR: str(notes / "a.txt")})


def test_the_readme_worked_example_holds(tmp_path, pipeline):
    """The two JSON files of the README's "medspaCy rules" section do what the README says."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## medspaCy rules"):readme.index("## Measuring extraction")]
    targets, context = re.findall(r"```json\n(.*?)```", section, re.S)
    (tmp_path / "target_rules.json").write_text(targets, encoding="utf-8")
    (tmp_path / "context_rules.json").write_text(context, encoding="utf-8")
    from notechecker.api import Pipeline

    text = "INDICATIONS: No evidence of pneumonia. Infection was excluded. The left rod is broken.\n\n" + REMOVAL
    facts = Pipeline(target_rules=tmp_path / "target_rules.json", context_rules=tmp_path / "context_rules.json").facts(text)
    assert [(m.label, m.value, m.assertion) for m in facts.mentions if m.label == "PROBLEM"] == \
        [("PROBLEM", "pneumonia", "negated")]
    assert facts.removal_reasons == ("hardware_failure",)
    assert pipeline.facts(text).removal_reasons == ("hardware_failure", "infection")
    assert rules_from_env({ENV_VAR: str(tmp_path)}).files == (str(tmp_path / "target_rules.json"),
                                                               str(tmp_path / "context_rules.json"))


def test_a_rule_with_a_pattern_needs_no_literal_text(tmp_path):
    """medspaCy uses the literal of a rule with a pattern only as its name: an empty one is accepted."""
    path = _write(tmp_path, "named", {"target_rules": [
        {"literal": "", "category": "PROBLEM", "pattern": [{"LOWER": "htn"}]}]})
    (rule,) = read_rule_file(path, "target")
    assert rule.literal == "" and rule.pattern == [{"LOWER": "htn"}]
    with pytest.raises(PatternError, match=r"\[E043\].*'literal' must be a non-empty string"):
        read_rule_file(_write(tmp_path, "bare", {"target_rules": [{"literal": "", "category": "PROBLEM"}]}), "target")
    with pytest.raises(PatternError, match=r"\[E043\].*missing 'literal'"):
        read_rule_file(_write(tmp_path, "none", {"target_rules": [{"category": "PROBLEM", "pattern": "x"}]}), "target")

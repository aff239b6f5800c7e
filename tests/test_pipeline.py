"""The pipeline on real text: sections, ConText cues, linking, evidence offsets."""
from __future__ import annotations

import pytest

from notechecker.coding import suggest_codes

from tests.conftest import SAMPLES, evidence_spans, sample_text

NOTE_BODY = ("The patient was placed prone. The rods were removed and the six pedicle screws "
             "at L3, L4 and L5 were removed.")


# ------------------------------------------------------------------ sections
@pytest.mark.parametrize("heading,category", [
    ("ESTIMATED BLOOD LOSS: 200 mL.", "ebl"),
    ("Estimated Blood Loss: 200 mL.", "ebl"),
    ("estimated blood loss: 200 mL.", "ebl"),
    ("ESTIMATED BLOOD LOSS\n200 mL.", "ebl"),
    ("Complications\nNone.", "complications"),
    ("PREOPERATIVE DIAGNOSIS: Painful hardware L3-L5.", "pre_op_diagnosis"),
    ("Pre-op Diagnosis: Painful hardware L3-L5.", "pre_op_diagnosis"),
    ("POSTOPERATIVE DIAGNOSES\n1. Painful hardware.", "post_op_diagnosis"),
    ("Indications: Painful prominent hardware.", "indication"),
    ("HISTORY: Painful prominent hardware.", "history"),
    ("PROCEDURES PERFORMED\n1. Removal of hardware.", "procedures"),
    ("Procedure(s): Removal of hardware.", "procedures"),
    ("DESCRIPTION OF PROCEDURE: The patient was placed prone.", "description"),
    ("Operative Findings: The fusion was solid.", "findings"),
    ("SPECIMENS: Cultures x3.", "specimens"),
    ("Implants: none.", "implants"),
    ("DRAINS: Hemovac.", "drains"),
    ("ANESTHESIA: General endotracheal.", "anesthesia"),
    ("SURGEON: Dr. Alan Reyes.", "surgeon"),
    ("Assistant: Dr. Mia Chen.", "assistant"),
    ("Disposition: To PACU in stable condition.", "disposition"),
    ("1. COMPLICATIONS: None.", "complications"),
], ids=lambda v: v.split(":")[0].split("\n")[0].replace(" ", "_") if isinstance(v, str) else v)
def test_section_heading_styles(pipeline, heading, category):
    text = f"{heading}\n\nDESCRIPTION OF PROCEDURE: {NOTE_BODY}\n"
    facts = pipeline.facts(text, "s")
    names = [s.name for s in facts.sections]
    assert category in names, names
    sec = next(s for s in facts.sections if s.name == category)
    assert text[sec.start:sec.end].lstrip("1. ").lower().startswith(heading.lstrip("1. ").split()[0].lower())


def test_heading_words_inside_a_sentence_are_not_headings(pipeline):
    text = "The estimated blood loss was 100 mL and there were no complications during the procedure.\n"
    facts = pipeline.facts(text, "s")
    assert [s.name for s in facts.sections if s.name != "none"] == []
    assert facts.ebl_documented and facts.complications_documented


# ------------------------------------------------------------------- ConText
REMOVAL = ("PROCEDURE: Removal of posterior segmental instrumentation L3-L5.\n\n"
           "DESCRIPTION: The patient was placed prone. All six pedicle screws and both rods were removed from L3 to L5.\n")


@pytest.mark.parametrize("indication,expected", [
    ("The L4 screws are loose with a halo of lucency around them.", {"hardware_failure"}),
    ("She has purulent drainage from the wound and cultures grew MRSA.", {"infection"}),
    ("He has painful prominent hardware over the lumbar spine.", {"pain"}),
    ("We discussed the risks including infection, bleeding and hardware failure.", set()),
    ("If the screws are loose we will revise the construct.", set()),
    ("She had a wound infection in 2019, which resolved with antibiotics.", set()),
    ("There is no evidence of infection.", set()),
    ("Intraoperative cultures were negative.", set()),
    ("Her mother had a spinal infection.", set()),
    ("The fracture has healed.", {"healed_fracture_or_fusion"}),
    ("There is no evidence of infection, but the left rod is broken.", {"hardware_failure"}),
], ids=["failure", "infection", "pain", "consent_risk", "hypothetical", "resolved_history", "negated",
        "negative_result", "family", "healed_fracture", "negated_then_but"])
def test_removal_reason_assertions(pipeline, indication, expected):
    text = f"INDICATIONS: {indication}\n\n{REMOVAL}"
    facts = pipeline.facts(text, "ctx")
    assert set(facts.removal_reasons) == expected


def test_assertion_status_is_recorded_on_each_mention(pipeline):
    text = ("INDICATIONS: There is no evidence of infection. The risks including hardware failure were discussed. "
            "The left rod is broken.\n\n" + REMOVAL)
    facts = pipeline.facts(text, "ctx")
    by_value = {(m.value, m.assertion) for m in facts.reasons}
    assert ("infection", "negated") in by_value
    assert ("hardware_failure", "risk") in by_value
    assert ("hardware_failure", "present") in by_value


def test_no_reason_without_removal(pipeline):
    text = "INDICATIONS: Painful broken rod.\n\nPROCEDURE: Pedicle screws were placed at L4 and L5.\n"
    assert pipeline.facts(text, "x").removal_reasons == ()


# ------------------------------------------------------- linking and segments
def test_removed_and_placed_at_different_levels(pipeline):
    text = ("INDICATIONS: The rods are broken.\n\nDESCRIPTION: The patient was placed prone. The rods were removed from L2 to L4 and new pedicle "
            "screws were placed at L5 and S1.\n")
    facts = pipeline.facts(text, "x")
    removed, placed = facts.construct("removed"), facts.construct("placed")
    assert removed.levels == ("L2", "L3", "L4")
    assert placed.levels == ("L5", "S1")
    assert facts.instruments_removed == ("rod",) and "pedicle_screw" in facts.instruments_placed


@pytest.mark.parametrize("sentence,segmental", [
    ("Pedicle screws at L3, L4 and L5 and both rods were removed.", True),
    ("The four pedicle screws at L4 and L5 and the two rods were removed.", False),
    ("The Harrington rod and its hooks at T4 and L1 were removed.", False),
], ids=["three_anchor_levels", "single_interspace", "harrington"])
def test_segmental_rule(pipeline, sentence, segmental):
    facts = pipeline.facts(f"PROCEDURE: Removal of hardware.\n\nDESCRIPTION: {sentence}\n", "seg")
    assert facts.construct("removed").segmental is segmental


def test_temporary_rod_is_not_placed(pipeline):
    text = ("DESCRIPTION: A temporary rod was placed on the left. Pedicle screws were placed at L4 and L5 "
            "bilaterally.\n")
    facts = pipeline.facts(text, "t")
    assert "rod" not in facts.instruments_placed
    assert facts.instruments_placed == ("pedicle_screw",)


def test_hardware_in_history_is_not_this_operation(pipeline):
    text = ("HISTORY: She underwent L4-5 fusion with pedicle screws in 2015.\n\n"
            "PROCEDURE: L3-4 laminectomy.\n\nDESCRIPTION: A laminectomy was performed at L3-4.\n")
    facts = pipeline.facts(text, "h")
    assert facts.instruments_placed == () and facts.levels == ()


def test_abbreviations_are_detected(pipeline):
    text = "PROCEDURE: Posterior spinal fusion (PSF) with pedicle screws placed at T10 through L2.\n"
    facts = pipeline.facts(text, "a")
    assert facts.abbreviations.get("PSF") == "Posterior spinal fusion"
    assert facts.levels == ("T10", "T11", "T12", "L1", "L2")


# ---------------------------------------------------------- evidence offsets
@pytest.mark.parametrize("note_id", sorted(p.stem for p in SAMPLES.glob("*.txt")))
def test_evidence_offsets_on_every_sample_note(pipeline, note_id):
    text = sample_text(note_id)
    facts = pipeline.facts(text, note_id)
    spans = list(evidence_spans(facts.to_dict()))
    assert spans, "no evidence at all"
    for e in spans:
        assert 0 <= e["start"] <= e["end"] <= len(text)
        assert text[e["start"]:e["end"]] == e["text"]


def test_heading_scan_agrees_with_the_heading_rules(pipeline):
    """The one-scan heading matcher finds exactly what the rules' regexes (sections.yaml) find."""
    import re

    from notechecker.nlp.sections import HEADING_LINE as _HEADING_LINE, heading_regex
    from notechecker.schema.vocab.patterns import load_patterns
    from tests.test_vocab import CORPUS

    sections = load_patterns().sections
    lookup = {" ".join(t.lower().split()): c for c, ts in sections.items() for t in ts}
    rules = {c: re.compile(heading_regex(ts), re.IGNORECASE) for c, ts in sections.items()}
    for path in CORPUS:
        text = path.read_bytes().decode("utf-8")
        by_rules = {(m.start(), m.end()) for rx in rules.values() for m in rx.finditer(text)}
        by_scan = {m.span() for m in _HEADING_LINE.finditer(text) if " ".join(m.group("h").lower().split()) in lookup}
        assert by_scan == by_rules, (path.name, sorted(by_rules ^ by_scan)[:5])


def test_medspacy_section_attributes_still_answer(pipeline):
    """token._.section / span._.section_category come from doc._.sections (computed on demand)."""
    doc = pipeline.nlp("PROCEDURE: Removal of hardware.\n\nCOMPLICATIONS: None.\n")
    cats = [t._.section.category for t in doc]
    assert cats[:6] == ["procedures"] * 6 and cats[-3:] == ["complications"] * 3
    none_span = doc[9:10]
    assert none_span.text == "None" and none_span._.section_category == "complications"
    assert [s.category for s in doc._.sections] == ["procedures", "complications"]


@pytest.mark.parametrize("note_id", sorted(p.stem for p in SAMPLES.glob("*.txt"))[::3])
def test_line_end_style_does_not_change_the_facts(pipeline, note_id):
    """LF, CRLF and lone-CR line ends give the same facts (through the API, not only the reader)."""
    lf = sample_text(note_id).replace("\r\n", "\n")
    base = pipeline.facts(lf, note_id)
    for other in (lf.replace("\n", "\r\n"), lf.replace("\n", "\r")):
        got = pipeline.facts(other, note_id)
        assert [s.name for s in got.sections] == [s.name for s in base.sections]
        for key in ("removal_reasons", "instruments_removed", "instruments_placed", "levels", "approach",
                    "complications_documented", "ebl_documented", "indication_documented", "imaging_documented"):
            assert getattr(got, key) == getattr(base, key), key
        assert suggest_codes(got) == suggest_codes(base)


# medspaCy parity of the rule components: tests/test_medspacy_parity.py


def _eval_notes():
    import json

    from tests.conftest import ROOT

    eval_dir = ROOT.parent / "shared" / "eval"
    for folder in (eval_dir / "dev" / "notes", eval_dir / "dev2" / "notes", ROOT / "sample_notes"):
        for path in sorted(folder.glob("*.txt")):
            yield path.stem, path.read_bytes().decode("utf-8")
    jsonl = eval_dir / "nonspine" / "notes.jsonl"
    if jsonl.is_file():
        for line in jsonl.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                yield row["note_id"], row["text"]


def test_saved_pipeline_loads_in_a_fresh_process_with_the_same_facts(pipeline, tmp_path):
    """nlp.to_disk, then spacy.load and notechecker.load(path) in a new process: same facts on every
    note of ../shared/eval (dev, dev2, nonspine) and sample_notes/."""
    import json
    import subprocess
    import sys

    saved = tmp_path / "pipeline"
    pipeline.nlp.to_disk(saved)
    notes = list(_eval_notes())
    assert len(notes) > 100
    (tmp_path / "notes.json").write_text(json.dumps(notes), encoding="utf-8")
    expected = [pipeline.facts(text, nid).to_dict() for nid, text in notes]
    script = (
        "import json, sys\n"
        "import spacy, notechecker\n"
        "nlp = spacy.load(sys.argv[1])\n"
        "print(json.dumps(nlp.pipe_names))\n"
        "pipeline = notechecker.load(sys.argv[1])\n"
        "notes = json.load(open(sys.argv[2], encoding='utf-8'))\n"
        "print(json.dumps([pipeline.facts(t, n).to_dict() for n, t in notes]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(saved), str(tmp_path / "notes.json")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names_line, facts_line = proc.stdout.strip().splitlines()[-2:]
    assert json.loads(names_line) == pipeline.nlp.pipe_names
    got = json.loads(facts_line)
    assert sum(len(f["sections"]) for f in got) > 1000  # the rules came along: sections were found
    for exp, res in zip(expected, got):
        assert json.loads(json.dumps(exp)) == res, exp["note_id"]


def test_saved_pipeline_keeps_its_rules(pipeline, tmp_path):
    """A pipeline built from a copy of patterns/ with one extra heading keeps it through to_disk."""
    import shutil

    import spacy

    from notechecker.schema.loader import patterns_dir

    patterns = tmp_path / "patterns"
    shutil.copytree(patterns_dir(), patterns)
    path = patterns / "sections.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  ebl:\n", "  ebl:\n    - fluid balance\n", 1),
                    encoding="utf-8")
    from notechecker.api import Pipeline

    custom = Pipeline(patterns)
    text = "FLUID BALANCE: 200 mL.\n\nDESCRIPTION OF PROCEDURE: The rods were removed.\n"
    assert "ebl" in [s.name for s in custom.facts(text, "c").sections]
    custom.nlp.to_disk(tmp_path / "saved")
    nlp = spacy.load(tmp_path / "saved")
    assert [s.category for s in nlp(text)._.sections][0] == "ebl"
    assert [s.category for s in pipeline.nlp(text)._.sections][0] != "ebl"


# ----------------------------------------------------------- hostile tokens
@pytest.mark.parametrize("make", [
    lambda: "=" * 100_000,
    lambda: "\U0001F600" * 20_000,
    lambda: ("PROCEDURE: Removal of hardware. " + "=-*#" * 5_000 + "\U0001F4A5" * 5_000 + " (((((" * 2
             + ")" * 3_000 + " end.\n") * 4,
], ids=["100k_equals", "20k_emoji", "mixed_runs"])
def test_long_runs_of_punctuation_or_emoji_do_not_stall(pipeline, make):
    import time

    text = make()
    t0 = time.process_time()
    facts = pipeline.facts(text, "runs")
    took = time.process_time() - t0
    assert took < 1.0, f"{took:.2f} s CPU"
    doc = pipeline.nlp.make_doc(text)
    assert doc.text == text and sum(len(t.text_with_ws) for t in doc) == len(text)
    for e in evidence_spans(facts.to_dict()):
        assert text[e["start"]:e["end"]] == e["text"]


def test_tokens_of_real_notes_are_spacys():
    """Without pathological runs the tokenizer is spaCy's own, token for token."""
    import spacy

    from notechecker.nlp.tokenizer import NoteTokenizer

    base = spacy.blank("en").tokenizer
    ours = NoteTokenizer(spacy.blank("en").tokenizer)
    few = NoteTokenizer(spacy.blank("en").tokenizer, max_run=8, piece=4)  # runs of 8+ in pieces
    for nid, text in _eval_notes():
        want = [(t.text, t.whitespace_) for t in base(text)]
        assert [(t.text, t.whitespace_) for t in ours(text)] == want, nid
        doc = few(text)
        assert doc.text == text, nid
    for text in ("foo ==========  bar", "foo\n==========\n bar", "  ==========  x", "a  ==========", "=========="):
        assert [(t.text, t.whitespace_) for t in few(text)] == [(t.text, t.whitespace_) for t in base(text)]


def test_narrative_under_an_indications_heading_is_the_operation(pipeline):
    """With no description heading, the narrative after "INDICATIONS:" is still this operation."""
    text = ("PROCEDURE: Anterior cervical discectomy and fusion C6-C7.\n"
            "INDICATIONS: Left C7 radiculopathy refractory to conservative care.\n"
            "The patient was positioned supine. A discectomy was performed at C6-C7. A PEEK cage was placed. "
            "A plate was secured with four screws. No complications.\n")
    facts = pipeline.facts(text, "n")
    assert facts.instruments_placed == ("cage", "plate", "screw")
    assert [s.name for s in facts.sections] == ["procedures", "indication", "description"]
    assert facts.indication_documented and facts.complications_documented


@pytest.mark.parametrize("phrase,kind", [
    ("a PEEK cage and an Atlantis anterior cervical plate were placed", {"cage", "plate"}),
    ("a Superion spacer was placed", {"interspinous_device"}),
    ("a spacer (Capstone) was placed", {"interbody_device"}),
], ids=["brand_names_the_noun_after_it", "brand_before", "brand_in_brackets_after"])
def test_brand_names_the_hardware_beside_it(pipeline, phrase, kind):
    facts = pipeline.facts(f"PROCEDURE: Instrumentation L4-L5.\n\nDESCRIPTION: Prone. Then {phrase} at L4-L5.\n", "b")
    assert set(facts.instruments_placed) == kind


def test_fusion_findings_and_states_are_not_procedures_or_placements(pipeline):
    text = ("PROCEDURE: The patient was placed prone. The rods and the four pedicle screws were removed from L4 to L5. "
            "The fusion was solid. The interbody cages appeared well seated and were left in place.\n")
    facts = pipeline.facts(text, "f")
    assert not any("fusion" in p.kind for p in facts.procedures)
    assert facts.instruments_placed == ()
    assert facts.sections[0].name == "description"  # "PROCEDURE: The patient was placed prone ..." is the narrative


def test_workers_auto_is_one_process_for_small_batches(tmp_path):
    """--workers auto: one process for a small batch, one per core where each gets 500+ notes."""
    from notechecker.batch import AUTO_NOTES_PER_WORKER, auto_workers, run
    from tests.conftest import SAMPLES

    assert auto_workers(84, cpus=2) == 1
    assert auto_workers(None, cpus=8) == 1
    assert auto_workers(2 * AUTO_NOTES_PER_WORKER, cpus=2) == 2
    assert auto_workers(10_000, cpus=2) == 2 and auto_workers(10_000, cpus=4) == 4
    assert auto_workers(1_500, cpus=16) == 3
    auto = run([SAMPLES], tmp_path / "a.csv", workers="auto")
    one = run([SAMPLES], tmp_path / "b.csv", workers=1)
    assert auto.notes == one.notes > 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_no_sentence_is_longer_than_the_cap():
    """A note without periods or line ends still gets sentence starts every MAX_SENTENCE characters."""
    from notechecker.nlp.segmenter import MAX_SENTENCE, boundaries

    text = "the rods and screws were removed without complication and " * 4000
    cuts = [0, *boundaries(text), len(text)]
    assert max(b - a for a, b in zip(cuts, cuts[1:])) <= MAX_SENTENCE + 20
    assert boundaries("the rods were removed. The wound was closed.") == [23]


def test_cost_grows_linearly_with_the_note_length(pipeline):
    """A 400,000-character note costs about 4x a 100,000-character one (quadratic would be 16x)."""
    import time

    from tests.conftest import SAMPLES

    base = "\n\n".join(p.read_bytes().decode("utf-8") for p in sorted(SAMPLES.glob("*.txt")))
    pipeline.facts(base, "warm")

    def cpu(n: int) -> float:
        text = (base * (n // len(base) + 1))[:n]
        t0 = time.process_time()
        pipeline.facts(text, "long")
        return time.process_time() - t0

    small, large = min(cpu(100_000) for _ in range(2)), cpu(400_000)
    assert large <= 8 * small, (small, large)


def test_nlp_initialize_loads_the_packaged_rules(pipeline):
    """spaCy's own nlp.initialize() fills the rule components from patterns/ (no notechecker.build)."""
    import spacy

    from notechecker.nlp.pipeline import COMPONENTS

    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "notechecker.Tokenizer.v1"}}})
    for factory, name, config in COMPONENTS:
        nlp.add_pipe(factory, name=name, config=config)
    assert nlp.get_pipe("targets").rules == []
    nlp.initialize()
    text = sample_text(sorted(p.stem for p in SAMPLES.glob("*.txt"))[0])
    ours, theirs = nlp(text), pipeline.nlp(text)
    assert [(s.category, s.title_start, s.body_end) for s in ours._.sections] == \
        [(s.category, s.title_start, s.body_end) for s in theirs._.sections]
    assert [(s.start, s.end, s.label_) for s in ours.spans["targets"]] == \
        [(s.start, s.end, s.label_) for s in theirs.spans["targets"]]
    assert len(ours._.context_graph.edges) == len(theirs._.context_graph.edges) > 0


def test_priming_the_token_cache_changes_no_token():
    """Chunks primed into spaCy's cache (nlp/tokenizer.py) give spaCy's tokens, attributes and all,
    on real notes read twice (the second time from the cache) and on special cases first in a text."""
    import spacy
    from spacy.attrs import IDX, LOWER, NORM, ORTH, SPACY

    from notechecker.nlp.tokenizer import NoteTokenizer

    base = spacy.blank("en").tokenizer
    ours = NoteTokenizer(spacy.blank("en").tokenizer)
    never = NoteTokenizer(spacy.blank("en").tokenizer, prime_limit=0)
    attrs = [ORTH, NORM, LOWER, SPACY, IDX]
    texts = [text for _, text in _eval_notes()]
    texts += ["Dr. Smith's patient can't walk.  L4-5 (left) 3:00 p.m.\n\nScrews' heads", "\n  lead ws", " x", ""]
    for _ in range(2):
        for text in texts:
            want = base(text)
            for tok in (ours, never):
                doc = tok(text)
                assert [t.text for t in doc] == [t.text for t in want]
                assert (doc.to_array(attrs) == want.to_array(attrs)).all()
                assert [t.norm_ for t in doc] == [t.norm_ for t in want]
    assert ours._primed and not never._primed


def test_priming_stops_at_its_limit():
    import spacy

    from notechecker.nlp.tokenizer import NoteTokenizer

    few = NoteTokenizer(spacy.blank("en").tokenizer, prime_limit=5)
    few("one two three four five six seven")
    assert len(few._primed) == 7  # primed in one go, then no more
    few("eight nine ten")
    assert len(few._primed) == 7 and [t.text for t in few("eight nine")] == ["eight", "nine"]


def test_every_heading_of_the_vocabulary_opens_its_section(pipeline):
    """Each heading of sections.yaml, at a line start in any case and followed by a colon, " - " or the
    line's end, opens its category's section, the heading whole as its title: also a heading holding what
    can end a heading line's words ("pre- and postoperative diagnoses", whose "- " once cut it to "pre")."""
    from notechecker.nlp.sections import heading_key
    from notechecker.schema.vocab.patterns import load_patterns

    lookup = {heading_key(t): c for c, ts in load_patterns().sections.items() for t in ts}  # (the later category)
    nlp = pipeline.nlp
    checked = 0
    for key, category in lookup.items():
        for heading in (key.upper(), key.title(), key):
            for text in (f"Intro line.\n{heading}: body words.\n", f"{heading}\nbody words.\n", f"{heading} - body.\n"):
                doc = nlp.make_doc(text)
                for name in ("sentences", "targets", "sections"):
                    doc = nlp.get_pipe(name)(doc)
                titled = [s for s in doc._.sections if s.category is not None]
                assert titled and titled[0].category == category, (heading, text)
                title = doc[titled[0].title_start:titled[0].title_end].text
                assert heading_key(title).startswith(key), (heading, title)
                checked += 1
    assert checked > 300

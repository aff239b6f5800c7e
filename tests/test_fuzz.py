"""Property tests: extraction never raises and every evidence offset is exact.

Over arbitrary Unicode text and over real sample notes mutated (cut, spliced, case-
changed, line endings changed, noise inserted). Scoring is a pure function of facts.
"""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLES, evidence_spans, sample_text

EXAMPLES = int(os.environ.get("NOTECHECKER_FUZZ_EXAMPLES", "150"))
NOTES = sorted(p.stem for p in SAMPLES.glob("*.txt"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _check_offsets(facts, text):
    d = facts.to_dict()
    json.dumps(d)  # plain values only
    for e in evidence_spans(d):
        assert 0 <= e["start"] <= e["end"] <= len(text)
        assert text[e["start"]:e["end"]] == e["text"]


@FUZZ
@given(st.text(min_size=1, max_size=400))
def test_arbitrary_unicode(pipeline, text):
    _check_offsets(pipeline.facts(text, "fuzz"), text)


SPINE_WORDS = st.sampled_from([
    "L4-5", "L4/L5", "T10 to the pelvis", "S2AI", "pedicle screws", "rods were removed", "no evidence of infection",
    "COMPLICATIONS:", "\n\nESTIMATED BLOOD LOSS\n", "if loose", "(PSF)", "Harrington rod", "\r\n", "\u2013", "\u00a0",
    "risks including infection", "which resolved", "cultures negative", "1.", "Dr.", "EBL: 50 mL.",
])


@FUZZ
@given(note=st.sampled_from(NOTES), cut=st.tuples(st.integers(0, 4000), st.integers(0, 4000)),
       inserts=st.lists(st.tuples(st.integers(0, 4000), st.one_of(SPINE_WORDS, st.text(max_size=12))), max_size=6),
       transform=st.sampled_from(["none", "upper", "lower", "crlf", "cr", "strip_newlines"]))
def test_mutated_real_notes(pipeline, note, cut, inserts, transform):
    text = sample_text(note)
    a, b = sorted(cut)
    text = text[:a] + text[b:] if b - a < len(text) - 20 else text
    for pos, piece in inserts:
        pos = min(pos, len(text))
        text = text[:pos] + piece + text[pos:]
    text = {"none": text, "upper": text.upper(), "lower": text.lower(),
            "crlf": text.replace("\r\n", "\n").replace("\n", "\r\n"), "cr": text.replace("\r\n", "\n").replace("\n", "\r"),
            "strip_newlines": text.replace("\r", " ").replace("\n", " ")}[transform]
    if not text.strip():
        return
    _check_offsets(pipeline.facts(text, note), text)


@settings(max_examples=min(EXAMPLES, 40), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(note=st.sampled_from(NOTES), other=st.sampled_from(NOTES), codes=st.sampled_from(
    [None, "22852", "22852-59, 22840", "22612, 22614", "22855", "22513"]))
def test_scoring_is_a_pure_function_of_the_facts(pipeline, note, other, codes):
    """Scoring and coding read only the facts: the facts rebuilt from JSON (no Doc, no text) give the same
    findings and conclusions as the extracted ones, even after another note was scored in between; and
    scoring changes nothing in the facts it reads. (The old test compared suggest_codes(facts) with
    facts.suggested_cpt, which extraction had set from that very call.)"""
    from notechecker.facts import Facts
    from notechecker.service import assemble

    facts = pipeline.facts(sample_text(note), note)
    before = json.dumps(facts.to_dict(), sort_keys=True)
    first = assemble(facts, codes, strict=False).to_dict()
    assert json.dumps(facts.to_dict(), sort_keys=True) == before  # not mutated by scoring
    assemble(pipeline.facts(sample_text(other), other), codes, strict=False)  # state between two calls
    rebuilt = Facts.from_dict(json.loads(before))
    again = assemble(rebuilt, codes, strict=False).to_dict()
    for key in ("codes", "billed", "suggested", "results", "conclusions", "worst_severity"):
        assert again[key] == first[key], key
    assert first["results"] or not first["codes"]
    assert not hasattr(facts, "suggested_cpt")  # code conclusions live in the result, not in the facts

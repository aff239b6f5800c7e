"""The rule components' shortcuts through spaCy's data (nlp/rules.py, targets.py, context.py): each
gives what spaCy's own way gives."""
from __future__ import annotations

from spacy.tokens import Span

from notechecker.nlp.rules import span_value_key


def test_a_span_value_written_by_its_key_is_what_span_underscore_reads(pipeline):
    doc = pipeline.nlp.make_doc("The broken rod was removed.")
    span = Span(doc, 1, 3, label="REASON")
    marker = object()
    span._.target_rule = marker
    assert doc.user_data[span_value_key("target_rule", span)] is marker  # spaCy keeps it there
    other = Span(doc, 3, 4, label="ACTION")
    doc.user_data[span_value_key("target_rule", other)] = "rule"
    assert other._.target_rule == "rule" and Span(doc, 3, 4)._.target_rule == "rule"


def _known_heading_lines(sectionizer, text: str) -> list[tuple[int, int, str]]:
    """The plain scan: every HEADING_LINE match, those naming a known heading."""
    from notechecker.nlp.sections import HEADING_LINE, heading_key

    return [(m.start(), m.end(), m.group("h")) for m in HEADING_LINE.finditer(text)
            if heading_key(m.group("h")) in sectionizer._by_heading]


def _gated(sectionizer, text: str) -> list[tuple[int, int, str]]:
    from notechecker.nlp.sections import heading_key

    return [(m.start(), m.end(), m.group("h")) for m in sectionizer._heading_lines(text)
            if heading_key(m.group("h")) in sectionizer._by_heading]


def test_the_heading_gate_lets_through_every_line_that_names_a_known_heading(pipeline):
    from tests.corpus_snapshot import corpus

    sectionizer = pipeline.nlp.get_pipe("sections")
    texts = [text for _, text, _ in corpus()]
    texts += [t.replace("\n", "\r\n") for t in texts[:50]] + [t.replace("\n", "\r") for t in texts[:50]]
    texts += ["Plan: rest.", "  1. PROCEDURE(S): fusion\nA) Findings - solid\n\tb.Estimated blood loss 50 mL\n",
              "text\r\n  Pre-op diagnosis:\r\nPost op diagnosis\rIndications 10/21/2026:", "\n\nPLANNED: no\nplan",
              "The plan: none.\nxPlan: none.\n12.plan:\n123. Plan:"]
    found = 0
    for text in texts:
        want = _known_heading_lines(sectionizer, text)
        assert _gated(sectionizer, text) == want, text[:200]
        found += len(want)
    assert found > 3000


def test_the_heading_gate_reads_numbering_and_case_as_the_heading_line_does(pipeline):
    from notechecker.nlp.sections import heading_gate

    gate = heading_gate(["plan", "post op diagnosis", "procedures"])
    text = "x\n  3) PLAN:\n\tc. Post  op\npostal\nxplan\n12.procedures(s)"
    # the line break before each line let through; "postal" too (it starts with "post": the heading
    # line's own match decides), not "xplan"
    assert [m.start() for m in gate.finditer(text)] == [1, 12, 25, 38]
    assert gate.pattern.endswith("p(?:lan|ost|rocedures)")  # one branch per letter, not one per word
    assert heading_gate([]) is None


def test_bracket_pairs_are_what_scispacys_matcher_gives_that_its_filter_keeps(pipeline):
    """scispaCy's own ``( any+ )`` Matcher, brackets dropped as its detector drops them, through its
    filter_matches: the same candidates, in the same order, as bracket_pairs through it."""
    import random

    from scispacy.abbreviation import filter_matches

    from notechecker.nlp.abbreviations import bracket_pairs
    from tests.corpus_snapshot import corpus

    nlp = pipeline.nlp
    matcher = nlp.get_pipe("abbreviations").detector.matcher
    rng = random.Random(11)
    texts = [text for _, text, _ in corpus()]
    texts += [" ".join(rng.choice(["(", ")", "a", "PSF", "spinal fusion", "(PSF)", "x"]) for _ in range(rng.randint(0, 40)))
              for _ in range(500)]
    n = 0
    for text in texts:
        doc = nlp.make_doc(text)
        theirs = [(m, s + 1, e - 1) for m, s, e in matcher(doc)]
        ours = bracket_pairs(doc)
        assert [(a.start, a.end, b.start, b.end) for a, b in filter_matches(ours, doc)] == \
            [(a.start, a.end, b.start, b.end) for a, b in filter_matches(theirs, doc)], text[:200]
        n += len(ours)
    assert n > 100


def test_context_sets_plain_values_by_key_and_calls_the_setter_of_any_other(pipeline):
    """ConText's span attributes: a plain extension (is_negated) written by key reads back through
    span._; an extension with a setter (a user's span_attrs) gets its setter called."""
    from notechecker.nlp.context import ConText, context_rules

    seen = []
    if not Span.has_extension("test_flagged"):
        Span.set_extension("test_flagged", getter=lambda span: None, setter=lambda span, value: seen.append(span.text))
    nlp = pipeline.nlp
    ctx = ConText(nlp, "test_context", span_group="targets",
                  span_attrs={"NEGATED_EXISTENCE": {"is_negated": True, "test_flagged": True}})
    ctx.add(context_rules(pipeline.patterns))
    doc = nlp.make_doc("There was no infection. The screws were loose.")
    for name in ("sentences", "targets", "sections"):
        doc = nlp.get_pipe(name)(doc)
    doc = ctx(doc)
    negated = [s.text for s in doc.spans["targets"] if s._.is_negated]
    assert negated == ["infection"] and seen == ["infection"]
    target = next(s for s in doc.spans["targets"] if s.text == "infection")
    assert [m.category for m in target._.modifiers] == ["NEGATED_EXISTENCE"]
    assert not any(s._.is_negated for s in doc.spans["targets"] if s.text != "infection")

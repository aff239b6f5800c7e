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


"""Sections: medspaCy's Sectionizer, lean for flat operative-note headings.

For notechecker's configuration (no parent sections, no length limits, no line
requirements, no span attributes) it returns the same ``doc._.sections`` as
medspaCy's ``Sectionizer.__call__`` without that method's per-token
``token._.section`` writes (~800 Python assignments a note); ``token._.section`` is
computed on demand instead (notechecker._extensions). Any other configuration runs
medspaCy's own code.
"""
from medspacy.section_detection import Sectionizer
from medspacy.section_detection.section import Section
from spacy.language import Language


class OpNoteSectionizer(Sectionizer):
    def _lean(self) -> bool:
        return not (self._parent_sections or self.max_section_length or self.require_start_line
                    or self.require_end_line or self.assertion_attributes_mapping or self._apply_sentence_boundary)

    def __call__(self, doc):
        if not self._lean():
            return super().__call__(doc)
        matcher = self._Sectionizer__matcher  # medspaCy keeps its matcher private
        matches = sorted(matcher(doc), key=lambda m: m[1])
        sections = []
        if not matches:
            sections.append(Section(None, 0, 0, 0, len(doc)))
        elif matches[0][1] != 0:
            sections.append(Section(None, 0, 0, 0, matches[0][1]))
        for i, (match_id, start, end) in enumerate(matches):
            rule = matcher.rule_map[self.nlp.vocab.strings[match_id]]
            body_end = matches[i + 1][1] if i + 1 < len(matches) else len(doc)
            if rule.max_scope is not None:
                body_end = min(end + rule.max_scope, body_end)
            sections.append(Section(rule.category, start, end, end, body_end, None, rule))
        doc._.sections = sections
        return doc


@Language.factory("notechecker_sectionizer", assigns=["doc._.sections"])
def make_sectionizer(nlp, name, span_group_name: str = "targets"):
    """medspaCy's Sectionizer with no default rules (notechecker adds its own from patterns/)."""
    return OpNoteSectionizer(nlp, name=name, rules=None, span_attrs=None, input_span_type="group",
                             span_group_name=span_group_name)

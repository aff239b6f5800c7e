"""Assemble the medspaCy pipeline on a blank English model.

    tokenizer -> notechecker_sentences -> medspacy_target_matcher -> medspacy_sectionizer
              -> medspacy_context -> notechecker_abbreviations

All vocabularies come from ``patterns/`` (see notechecker.patterns). Targets go to
the span group ``doc.spans["targets"]`` (overlaps kept; medspaCy's ``result_type=
"group"``), so "broken rod" is both a failure reason and a rod.
"""
import re

import spacy
from spacy.language import Language

from ..vocab import Patterns, load_patterns
from . import segmenter  # noqa: F401  (registers notechecker_sentences)
from .abbreviations import make_abbreviations  # noqa: F401  (registers the factory)

TARGET_GROUP = "targets"

#: ConText category -> the Span extension it sets (registered in _extensions).
CONTEXT_ATTRS = {
    "NEGATED_EXISTENCE": {"is_negated": True},
    "POSSIBLE_EXISTENCE": {"is_uncertain": True},
    "HISTORICAL": {"is_historical": True},
    "HYPOTHETICAL": {"is_hypothetical": True},
    "FAMILY": {"is_family": True},
    "CONSENT_RISK": {"is_risk": True},
}

#: Section category -> assertion for every target inside it.
SECTION_ATTRS = {
    "family_history": {"is_family": True},
    "past_history": {"is_historical": True},
}


def _quiet_pyrush() -> None:
    try:
        from loguru import logger

        logger.disable("PyRuSH")
    except ImportError:  # pragma: no cover - loguru comes with medspaCy
        pass


def heading_regex(headings) -> str:
    """A regex for section headings: line start, any case; a colon or the end of the line."""
    alts = "|".join(sorted((re.escape(h).replace(r"\ ", r"\s+") for h in headings), key=len, reverse=True))
    return (r"(?im)^[ \t]*(?:(?:\d{1,2}|[A-Z])[.)][ \t]*)?(?:" + alts + r")(?:[ \t]*\((?:es|s)\))?"
            r"(?:[ \t]*:|[ \t]*-(?=[ \t])|(?=[ \t]*(?:\r?\n|\r|$)))")


def build(patterns: Patterns | None = None) -> Language:
    """A new pipeline from ``patterns`` (default: the packaged vocabularies)."""
    _quiet_pyrush()
    from medspacy.context import ConTextRule
    from medspacy.section_detection import SectionRule
    from medspacy.target_matcher import TargetRule

    from .. import _extensions

    _extensions.register()
    patterns = patterns or load_patterns()
    nlp = spacy.blank("en")
    nlp.add_pipe("notechecker_sentences")

    matcher = nlp.add_pipe("medspacy_target_matcher", config={
        "result_type": "group", "span_group_name": TARGET_GROUP, "prune": False,
    })
    matcher.add([TargetRule(literal=t.literal, category=t.category, pattern=t.pattern,
                            metadata={"value": t.value, "weight": t.weight})
                 for t in patterns.targets])

    sectionizer = nlp.add_pipe("medspacy_sectionizer", config={
        "rules": None, "input_span_type": "group", "span_group_name": TARGET_GROUP,
        "span_attrs": SECTION_ATTRS,
    })
    sectionizer.add([SectionRule(literal=category, category=category, pattern=heading_regex(headings))
                     for category, headings in patterns.sections.items()])

    context = nlp.add_pipe("medspacy_context", config={
        "rules": None, "input_span_type": "group", "span_group_name": TARGET_GROUP,
        "span_attrs": CONTEXT_ATTRS,
    })
    context.add([ConTextRule(literal=c.literal, category=c.category, direction=c.direction,
                             pattern=c.pattern, max_scope=c.max_scope, max_targets=c.max_targets,
                             allowed_types=set(c.allowed_types) if c.allowed_types else None,
                             excluded_types=set(c.excluded_types) if c.excluded_types else None)
                 for c in patterns.context])

    nlp.add_pipe("notechecker_abbreviations")
    return nlp

"""Assemble the medspaCy pipeline on a blank English model.

    tokenizer -> notechecker_sentences -> medspacy_target_matcher -> notechecker_cues
              -> sectionizer (medspaCy's, lean) -> medspacy_context -> notechecker_abbreviations

All vocabularies come from ``patterns/`` (see notechecker.patterns). Targets go to
the span group ``doc.spans["targets"]`` (overlaps kept; medspaCy's ``result_type=
"group"``), so "broken rod" is both a failure reason and a rod.
"""
import os
import re
import sys
import types
import warnings

import spacy
from spacy.language import Language

from .._extensions import note_text

from .._extensions import note_text
from ..vocab import Patterns, load_patterns
from . import segmenter  # noqa: F401  (registers notechecker_sentences)
from .abbreviations import make_abbreviations  # noqa: F401  (registers the factory)

TARGET_GROUP = "targets"
#: Target labels ConText never needs to assess (what was done, brand names): kept in
#: their own span group so ConText compares fewer modifier-target pairs.
CUE_GROUP = "cues"
CUE_LABELS = frozenset({"ACTION", "BRAND"})

#: ConText category -> the Span extension it sets (registered in _extensions).
CONTEXT_ATTRS = {
    "NEGATED_EXISTENCE": {"is_negated": True},
    "POSSIBLE_EXISTENCE": {"is_uncertain": True},
    "HISTORICAL": {"is_historical": True},
    "HYPOTHETICAL": {"is_hypothetical": True},
    "FAMILY": {"is_family": True},
    "CONSENT_RISK": {"is_risk": True},
}


@Language.component("notechecker_cues", assigns=["doc.spans"])
def split_cues(doc):
    """Move action and brand matches out of the targets group into ``doc.spans["cues"]``."""
    targets = doc.spans[TARGET_GROUP]
    keep, cues = [], []
    for span in targets:
        (cues if span.label_ in CUE_LABELS else keep).append(span)
    doc.spans[TARGET_GROUP] = keep
    doc.spans[CUE_GROUP] = cues
    return doc


#: A line that could be a heading: optional numbering, up to 80 characters, then a
#: colon, " - ", or the end of the line. The text before is looked up among the headings.
_HEADING_LINE = re.compile(
    r"(?im)(?:^|(?<=\r))[ \t]*(?:(?:\d{1,2}|[A-Z])[.)][ \t]*)?(?P<h>[a-z][^:\r\n]{0,80}?)(?:[ \t]*\((?:es|s)\))?"
    r"(?:[ \t]*:|[ \t]*-(?=[ \t])|(?=[ \t]*(?:\r?\n|\r|$)))")


def _heading_matcher(vocab):
    """Stands in for the Sectionizer's regex matcher: one scan of the note per Doc.

    medspaCy 1.3.1's RegexMatcher runs every rule's regex over a fresh copy of
    ``doc.text_with_ws``: with one rule per section category that is ~25 scans and
    copies a note. This finds heading-shaped line starts in one scan and looks the
    heading up; the rules' own regexes (:func:`heading_regex`) state the same
    grammar and stay on the rules for anyone reading or exporting them.
    """
    from medspacy.common.regex_matcher import RegexMatcher

    class HeadingMatcher(RegexMatcher):
        headings: dict = {}

        def __call__(self, doc):
            text = note_text(doc)
            matches = []
            for m in _HEADING_LINE.finditer(text):
                match_id = self.headings.get(" ".join(m.group("h").lower().split()))
                if match_id is None:
                    continue
                span = doc.char_span(m.start(), m.end(), alignment_mode="expand")
                if span is not None and len(span):
                    matches.append((match_id, span.start, span.end))
            return matches

    return HeadingMatcher(vocab)


#: Set by notechecker's own processes (CLI, scan workers, server): import medspaCy
#: without the back-ends it imports eagerly but notechecker never adds.
LIGHT_IMPORT_ENV = "NOTECHECKER_LIGHT_MEDSPACY"
#: module -> attributes medspaCy imports from it at import time.
_EAGER_BACKENDS = {"quickumls": ("spacy_component",), "PyRuSH": ("PyRuSHSentencizer",)}


def _import_medspacy() -> None:
    """Import medspaCy; in notechecker's own processes, without quickumls and PyRuSH.

    ``import medspacy`` imports quickumls (nltk, scikit-learn, scipy) and PyRuSH: ~1.7 s
    of a ~2.8 s cold ``notechecker check``, for a UMLS matcher and a sentence splitter
    this pipeline never adds. Stand-ins satisfy those imports and are removed from
    ``sys.modules`` at once, so a later ``import PyRuSH`` gets the real one. Library
    users (no environment flag) get medspaCy exactly as installed.
    """
    if "medspacy" in sys.modules or os.environ.get(LIGHT_IMPORT_ENV) != "1":
        import medspacy  # noqa: F401
        return
    stubs = {}
    for name, attrs in _EAGER_BACKENDS.items():
        if name in sys.modules:
            continue
        stub = types.ModuleType(name)
        for attr in attrs:
            setattr(stub, attr, _Deferred(name, attr))
            stubs[f"{name}.{attr}"] = getattr(stub, attr)
        stubs[name] = stub
    sys.modules.update(stubs)
    try:
        import medspacy  # noqa: F401
    finally:
        for name, module in stubs.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


class _Deferred(types.ModuleType):
    """Stands for ``module.attr`` and imports the real one if it is ever used."""

    def __init__(self, module: str, attr: str):
        super().__init__(f"{module}.{attr}")
        self._where = (module, attr)

    def _real(self):
        import importlib

        return getattr(importlib.import_module(self._where[0]), self._where[1])

    def __call__(self, *args, **kwargs):
        return self._real()(*args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._real(), name)


def _quiet_pyrush() -> None:
    try:
        from loguru import logger

        logger.disable("PyRuSH")
    except ImportError:  # pragma: no cover - loguru comes with medspaCy
        pass


def heading_regex(headings) -> str:
    """A regex for section headings: line start (after \\n or a lone \\r), any case; a colon
    or the end of the line."""
    alts = "|".join(sorted((re.escape(h).replace(r"\ ", r"\s+") for h in headings), key=len, reverse=True))
    return (r"(?im)(?:^|(?<=\r))[ \t]*(?:(?:\d{1,2}|[A-Z])[.)][ \t]*)?(?:" + alts + r")(?:[ \t]*\((?:es|s)\))?"
            r"(?:[ \t]*:|[ \t]*-(?=[ \t])|(?=[ \t]*(?:\r?\n|\r|$)))")


def build(patterns: Patterns | None = None) -> Language:
    """A new pipeline from ``patterns`` (default: the packaged vocabularies)."""
    _import_medspacy()
    _quiet_pyrush()
    # medspaCy's matchers keep an empty token Matcher when every rule is a phrase or a
    # regex; spaCy then warns [W036] on every Doc. Nothing is wrong: silence just that.
    warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)
    from medspacy.context import ConTextRule
    from medspacy.section_detection import SectionRule
    from medspacy.target_matcher import TargetRule

    from . import sections  # noqa: F401  (registers notechecker_sectionizer)

    from .. import _extensions

    _extensions.register()
    patterns = patterns or load_patterns()
    nlp = spacy.blank("en")
    nlp.tokenizer = _extensions.TextKeepingTokenizer(nlp.tokenizer)
    nlp.add_pipe("notechecker_sentences")

    matcher = nlp.add_pipe("medspacy_target_matcher", config={
        "result_type": "group", "span_group_name": TARGET_GROUP, "prune": False,
    })
    matcher.add([TargetRule(literal=t.literal, category=t.category, pattern=t.pattern,
                            metadata={"value": t.value, "weight": t.weight})
                 for t in patterns.targets])

    nlp.add_pipe("notechecker_cues")

    # section assertions (family/past history) are applied in extract (SECTION_ASSERTION)
    sectionizer = nlp.add_pipe("notechecker_sectionizer", name="sectionizer",
                               config={"span_group_name": TARGET_GROUP})
    # private attribute of medspaCy's Sectionizer/MedspacyMatcher: swapped before any rule is added
    headings = _heading_matcher(nlp.vocab)
    sectionizer._Sectionizer__matcher._MedspacyMatcher__regex_matcher = headings
    section_rules = [SectionRule(literal=category, category=category, pattern=heading_regex(titles))
                     for category, titles in patterns.sections.items()]
    sectionizer.add(section_rules)
    headings.headings = {" ".join(t.lower().split()): nlp.vocab.strings[rule._rule_id]
                         for rule in section_rules for t in patterns.sections[rule.category]}

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

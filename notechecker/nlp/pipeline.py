"""Assemble notechecker's spaCy pipeline on a blank English model.

    notechecker.Tokenizer.v1 -> notechecker_sentences -> notechecker_targets
        -> notechecker_sections -> notechecker_context -> notechecker_abbreviations

Every component is a registered spaCy factory (entry points ``spacy_factories`` and
``spacy_tokenizers`` in pyproject.toml) whose rules come from ``patterns/`` through
``initialize`` and travel with the pipeline through ``to_disk``/``from_disk``. So::

    nlp = notechecker.load().nlp
    nlp.to_disk("op-note-pipeline")
    nlp = spacy.load("op-note-pipeline")      # any process, once notechecker is installed

The rule components implement medspaCy's algorithms (TargetMatcher, Sectionizer,
ConText) with medspaCy's extension names; see targets.py, sections.py, context.py.
They import nothing from medspaCy, whose package import pulls in quickumls, nltk
and scipy (about 1.7 s, most of a cold ``notechecker check``).
"""
from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language

from ..schema.loader import patterns_dir
from ..schema.vocab.patterns import Patterns, load_patterns
from . import abbreviations, context, sections, segmenter, targets, tokenizer  # noqa: F401  (register factories)
from .context import CONTEXT_ATTRS  # noqa: F401  (re-exported)

TARGET_GROUP = "targets"
#: Target labels ConText never needs to assess (what was done, brand names): kept in
#: their own span group so ConText compares fewer modifier-target pairs.
CUE_GROUP = "cues"
CUE_LABELS = ("ACTION", "BRAND")

#: (factory, pipe name, config) in order.
COMPONENTS = (
    ("notechecker_sentences", "sentences", {}),
    ("notechecker_targets", "targets", {"span_group": TARGET_GROUP, "cue_group": CUE_GROUP,
                                        "cue_labels": list(CUE_LABELS)}),
    ("notechecker_sections", "sections", {}),
    ("notechecker_context", "context", {"span_group": TARGET_GROUP}),
    ("notechecker_abbreviations", "abbreviations", {}),
)
#: spaCy refuses texts over nlp.max_length (1,000,000 by default, for its parser's and NER's
#: memory; this pipeline has neither). notechecker's own note-length limit is a setting of
#: its readers and service; the pipeline itself takes any length.
MAX_LENGTH = 10**9
#: nlp.meta key: the patterns folder a pipeline was built from, when not the packaged one.
PATTERNS_META = "notechecker_patterns"


def is_saved_pipeline(path) -> bool:
    """Whether ``path`` is a folder written by ``nlp.to_disk`` (it holds a config.cfg)."""
    return (Path(path) / "config.cfg").is_file()


def build(patterns: Patterns | None = None) -> Language:
    """A new pipeline with the rules of ``patterns`` (default: the packaged vocabularies)."""
    patterns = patterns or load_patterns()
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "notechecker.Tokenizer.v1"}}})
    for factory, name, config in COMPONENTS:
        nlp.add_pipe(factory, name=name, config=config)
    nlp.max_length = MAX_LENGTH
    # what nlp.initialize() would do for these components, without its training set-up
    nlp.get_pipe("targets").add(targets.target_rules(patterns))
    nlp.get_pipe("sections").add({c: list(h) for c, h in patterns.sections.items()})
    nlp.get_pipe("context").add(context.context_rules(patterns))
    if patterns.root != patterns_dir().resolve():
        nlp.meta[PATTERNS_META] = str(patterns.root)
    return nlp

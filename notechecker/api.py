"""The Python API: load the pipeline once, extract facts from notes.

Facts are frozen after extraction: code conclusions (and ``suggested_cpt``) live in the
coding result (``service.CheckResult``), never written into the facts.
"""
from __future__ import annotations

import dataclasses
import threading
from typing import Iterable, Iterator

from .facts import Facts
from .nlp.normalize import ORIGINAL_KEY, REWRITES_KEY, restore

_LOCK = threading.Lock()
_PIPELINE = None


class Pipeline:
    """A loaded spaCy pipeline plus the Doc->Facts extractor built from the same patterns.

    ``path`` is a patterns folder (the pipeline is built from it) or a pipeline saved
    with ``nlp.to_disk`` (loaded with ``spacy.load``; its extractor reads the patterns
    folder it was built from, recorded in its meta, else the packaged one).

    ``target_rules``, ``context_rules``, ``section_rules``: a user's medspaCy rule files (a
    path, ``"default"`` for the file medspaCy ships, or a list), added to the components'
    own rules; without them, those of ``$NOTECHECKER_MEDSPACY_RULES`` when a pipeline is
    built (a saved pipeline keeps the rules it was saved with). See
    :mod:`notechecker.nlp.medspacy_rules`.
    """

    def __init__(self, path=None, *, target_rules=None, context_rules=None, section_rules=None):
        from .nlp.extract import Extractor
        from .nlp.medspacy_rules import load_rules, resolve, with_user_mentions
        from .nlp.normalize import load_normalizer
        from .nlp.pipeline import MAX_LENGTH, PATTERNS_META, add_user_rules, build, is_saved_pipeline
        from .schema.vocab.patterns import load_patterns

        if path is not None and is_saved_pipeline(path):
            import spacy

            self.nlp = spacy.load(path)
            self.nlp.max_length = MAX_LENGTH
            self.patterns = load_patterns(self.nlp.meta.get(PATTERNS_META))
            self.user_rules = load_rules(target_rules, context_rules, section_rules)
            add_user_rules(self.nlp, self.user_rules)
        else:
            self.patterns = load_patterns(path)
            self.user_rules = resolve(target_rules, context_rules, section_rules)
            self.nlp = build(self.patterns, self.user_rules)
        self.extractor = Extractor(self.patterns)
        self.normalizer = load_normalizer(self.patterns.root)
        self._with_user_mentions = with_user_mentions  # (held: no import statement run a note, ~5-8 us here)

    def _doc(self, normalized):
        """The Doc of a normalised note, knowing the original and its rewrites."""
        return self._mark(self.nlp(normalized.text), normalized)

    @staticmethod
    def _mark(doc, normalized):
        if normalized.rewrites:
            doc.user_data[ORIGINAL_KEY] = normalized.original
            doc.user_data[REWRITES_KEY] = normalized.rewrites
        return doc

    def _extract(self, doc, note_id: str) -> Facts:
        """The extractor's facts, with a mention per span of a user's target rule."""
        return self._with_user_mentions(self.extractor(doc, note_id), doc)

    def facts(self, text: str, note_id: str = "note", *, low_confidence=()) -> Facts:
        """Facts of one note: read through its form (nlp/normalize.py), evidence quoting the note as written.

        ``low_confidence``: [start, end) ranges of words OCR read with low confidence
        (``Document.low_confidence``), kept on ``Facts.low_confidence``.
        """
        normalized = self.normalizer(text)
        facts = restore(self._extract(self._doc(normalized), note_id), normalized)
        return dataclasses.replace(facts, low_confidence=tuple(low_confidence)) if low_confidence else facts

    def facts_many(self, items: Iterable[tuple[str, str]], batch_size: int = 32) -> Iterator[Facts]:
        """Facts for ``(note_id, text)`` pairs, streamed, with ``nlp.pipe`` batching."""
        items = iter(items)
        ids: list[str] = []
        norms: list = []

        def texts():
            for note_id, text in items:
                ids.append(note_id)
                norms.append(self.normalizer(text))
                yield norms[-1].text

        for i, doc in enumerate(self.nlp.pipe(texts(), batch_size=batch_size)):
            facts = restore(self._extract(self._mark(doc, norms[i]), ids[i]), norms[i])
            ids[i] = norms[i] = None  # type: ignore[call-overload]
            yield facts


def load(patterns_path=None, *, target_rules=None, context_rules=None, section_rules=None) -> Pipeline:
    """The pipeline (built once per process for the default patterns); ``patterns_path``: a
    patterns folder or a pipeline saved with ``load().nlp.to_disk(path)``; ``target_rules``,
    ``context_rules``, ``section_rules``: a user's medspaCy rule files (see :class:`Pipeline`)."""
    global _PIPELINE
    if patterns_path is not None or target_rules is not None or context_rules is not None \
            or section_rules is not None:
        return Pipeline(patterns_path, target_rules=target_rules, context_rules=context_rules,
                        section_rules=section_rules)
    with _LOCK:
        if _PIPELINE is None:
            _PIPELINE = Pipeline()
        return _PIPELINE


def extract(text: str, note_id: str = "note") -> Facts:
    """Facts of one note's text."""
    return load().facts(text, note_id)

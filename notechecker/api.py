"""The Python API: load the pipeline once, extract facts from notes.

Facts are frozen after extraction: code conclusions (and ``suggested_cpt``) live in the
coding result (``service.CheckResult``), never written into the facts.
"""
from __future__ import annotations

import threading
from typing import Iterable, Iterator

from .facts import Facts

_LOCK = threading.Lock()
_PIPELINE = None


class Pipeline:
    """A loaded spaCy pipeline plus the Doc->Facts extractor built from the same patterns."""

    def __init__(self, patterns_path=None):
        from .nlp.extract import Extractor
        from .nlp.pipeline import build
        from .vocab import load_patterns

        self.patterns = load_patterns(patterns_path)
        self.nlp = build(self.patterns)
        self.extractor = Extractor(self.patterns)

    def facts(self, text: str, note_id: str = "note") -> Facts:
        return self.extractor(self.nlp(text), note_id)

    def facts_many(self, items: Iterable[tuple[str, str]], batch_size: int = 32) -> Iterator[Facts]:
        """Facts for ``(note_id, text)`` pairs, streamed, with ``nlp.pipe`` batching."""
        items = iter(items)
        ids: list[str] = []

        def texts():
            for note_id, text in items:
                ids.append(note_id)
                yield text

        for i, doc in enumerate(self.nlp.pipe(texts(), batch_size=batch_size)):
            facts = self.extractor(doc, ids[i])
            ids[i] = None  # type: ignore[call-overload]
            yield facts


def load(patterns_path=None) -> Pipeline:
    """The pipeline (built once per process for the default patterns)."""
    global _PIPELINE
    if patterns_path is not None:
        return Pipeline(patterns_path)
    with _LOCK:
        if _PIPELINE is None:
            _PIPELINE = Pipeline()
        return _PIPELINE


def extract(text: str, note_id: str = "note") -> Facts:
    """Facts of one note's text."""
    return load().facts(text, note_id)

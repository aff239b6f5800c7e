"""``restore``'s quick paths (nlp/normalize/restore.py) against the plain reading of what it does.

``restore`` puts the facts of a normalised note back on the note as written; it skips what cannot move
(an evidence before the first dropped ``"\\r"``), keeps an evidence's text where no line end is inside it,
and copies the facts through their slots and fields. The plain reading here maps every offset of every
evidence and section one by one (widened over the rewrites it cuts into, then moved past the dropped
``"\\r"``), quotes the note as written, and rebuilds every dataclass through its constructor: both must
give equal facts, of the same types (read-only mappings, tuples), on every corpus note and its twins with
Windows, old Mac and mixed line ends, with and without the normaliser's rewrites.
"""
from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right
from types import MappingProxyType

import pytest

from notechecker.facts import Evidence, Facts, Section
from notechecker.nlp.normalize import restore
from tests import rewrites as R
from tests.corpus_snapshot import corpus

TWINS = {"as written": lambda t: t, "crlf": R.line_ends("\r\n"), "cr": R.line_ends("\r"),
         "mixed": R.line_ends("\r", "\r\n", "\n")}


def plain_restore(facts: Facts, normalized) -> Facts:
    """``restore`` read plainly: every object rebuilt, every offset mapped."""
    lines = normalized.lines or ()
    original = normalized.original
    spans = sorted((r.start, r.end) for r in normalized.rewrites if r.normal)

    def widen(start: int, end: int) -> tuple[int, int]:
        for a, b in spans:
            if a < end and b > start:
                start, end = min(start, a), max(end, b)
        return start, end

    def written(p: int) -> int:
        return p + bisect_left(lines, p)

    def walk(v):
        if isinstance(v, Evidence):
            start, end = widen(v.start, v.end)
            start, end = written(start), written(end)
            return Evidence(original[start:end], start, end, v.section)
        if isinstance(v, Section):
            return Section(v.name, v.title, written(v.start), written(v.end))
        if isinstance(v, tuple):
            return tuple(walk(x) for x in v)
        if isinstance(v, MappingProxyType):
            return {k: walk(x) for k, x in v.items()}
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return type(v)(**{f.name: walk(getattr(v, f.name)) for f in dataclasses.fields(v)})
        return v

    fields = {f.name: walk(getattr(facts, f.name)) for f in dataclasses.fields(facts)
              if f.name not in ("rewrites", "low_confidence")}
    rewrites = []
    for r in normalized.rewrites:
        d = r.to_dict()
        if normalized.lines is not None:
            d["start"], d["end"] = written(r.start), written(r.end)
            d["original"] = original[d["start"]:d["end"]]
        rewrites.append(d)
    if normalized.lines is not None:
        fields["text_length"] = len(original)
    return Facts(**fields, rewrites=rewrites, low_confidence=facts.low_confidence)


def _types(v, where: str) -> None:
    """Every sequence in the facts a tuple, every mapping read-only (as Facts.__post_init__ makes them)."""
    assert not isinstance(v, (list, dict)), where
    if isinstance(v, (tuple, MappingProxyType)):
        for i, x in (v.items() if isinstance(v, MappingProxyType) else enumerate(v)):
            _types(x, f"{where}[{i!r}]")
    elif dataclasses.is_dataclass(v) and not isinstance(v, type):
        for f in dataclasses.fields(v):
            _types(getattr(v, f.name), f"{where}.{f.name}")


@pytest.mark.parametrize("twin", sorted(TWINS))
def test_restore_is_the_plain_reading_on_the_corpus(pipeline, twin):
    moved = checked = 0
    for key, text, _ in corpus():
        written = TWINS[twin](text)
        if written is None:
            continue
        normalized = pipeline.normalizer(written)
        facts = pipeline._extract(pipeline._doc(normalized), key)
        got, want = restore(facts, normalized), plain_restore(facts, normalized)
        assert got == want, f"{key} ({twin}): restore differs from the plain reading"
        assert got.to_dict() == want.to_dict(), key
        _types(got, key)
        for e in (x for m in got.mentions for x in (m.evidence,)):
            assert written[e.start:e.end] == e.text, key
        checked += 1
        moved += got is not facts
    assert checked > 600
    if twin != "as written":
        assert moved == checked  # every twin's facts were put back on it
    else:
        assert 0 < moved < checked  # ... the notes as written: those the normaliser rewrote

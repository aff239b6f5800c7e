"""Facts of a normalised note, their evidence put back on the note as written."""
from __future__ import annotations

import bisect
import dataclasses
from operator import is_not
from typing import Any, Mapping

from ...facts import Evidence, Facts
from .model import Normalized


def restore(facts: Facts, normalized: Normalized) -> Facts:
    """``facts`` extracted from ``normalized.text`` with every evidence quoting the original note.

    An evidence span that cuts into a rewritten span is widened to the whole of it (a quote
    never shows half of "see five six"); ``note[e.start:e.end] == e.text`` holds on the note
    as written. ``facts.rewrites`` lists the rewrites.
    """
    if not normalized.rewrites:
        return facts
    original = normalized.original
    spans = [r for r in normalized.rewrites if r.normal]
    starts = [r.start for r in spans]

    def widen(start: int, end: int) -> tuple[int, int]:
        i = bisect.bisect_right(starts, end) - 1
        while i >= 0 and spans[i].end > start:
            if spans[i].start < end:
                start, end = min(start, spans[i].start), max(end, spans[i].end)
            i -= 1
        return start, end

    kinds = _KINDS

    def fix(obj: Any) -> Any:
        kind = kinds.get(obj.__class__) or _kind(obj.__class__)
        if kind is _LEAF:
            return obj
        if kind is _EVIDENCE:
            start, end = widen(obj.start, obj.end) if spans else (obj.start, obj.end)
            text = original[start:end]
            if start == obj.start and end == obj.end and text == obj.text:
                return obj
            return Evidence(text=text, start=start, end=end, section=obj.section)
        if kind is _SEQUENCE:
            new = None
            for i, x in enumerate(obj):
                if kinds.get(x.__class__) is _LEAF:  # a leaf is its own restoration: no call
                    continue
                nx = fix(x)
                if nx is not x:
                    if new is None:
                        new = list(obj)
                    new[i] = nx
            if new is None:
                return obj
            return type(obj)(new) if isinstance(obj, list) else tuple(new)
        if kind is _MAPPING:
            new = {k: fix(v) for k, v in obj.items()}
            return new if any(map(is_not, new.values(), obj.values())) else obj
        changes = {}
        for name in kind:  # a dataclass: its fields' names
            v = getattr(obj, name)
            if kinds.get(v.__class__) is _LEAF:
                continue
            nv = fix(v)
            if nv is not v:
                changes[name] = nv
        return dataclasses.replace(obj, **changes) if changes else obj

    changes: dict[str, Any] = {}
    for name in _walked(facts.__class__):
        v = getattr(facts, name)
        nv = fix(v)
        if nv is not v:
            changes[name] = nv
    return dataclasses.replace(facts, **changes, rewrites=tuple(r.to_dict() for r in normalized.rewrites))


_LEAF, _EVIDENCE, _SEQUENCE, _MAPPING = "leaf", "evidence", "sequence", "mapping"
#: type -> how ``restore`` walks its values (a dataclass: the names of its fields), found once a type
_KINDS: dict[type, Any] = {}


def _walked(t: type) -> tuple[str, ...]:
    """The fields of a ``Facts`` type ``restore`` walks (all but the rewrites and the low-confidence
    spans, which hold no evidence), found once a type."""
    got = _FIELDS.get(t)
    if got is None:
        got = _FIELDS[t] = tuple(f.name for f in dataclasses.fields(t) if f.name not in ("rewrites", "low_confidence"))
    return got


_FIELDS: dict[type, tuple[str, ...]] = {}


def _kind(t: type) -> Any:
    if issubclass(t, Evidence):
        kind: Any = _EVIDENCE
    elif issubclass(t, (list, tuple)):
        kind = _SEQUENCE
    elif issubclass(t, Mapping):
        kind = _MAPPING
    elif dataclasses.is_dataclass(t) and not issubclass(t, Facts):
        kind = tuple(f.name for f in dataclasses.fields(t))
    else:
        kind = _LEAF
    _KINDS[t] = kind
    return kind


def approximate_evidence(facts: Facts, evidence: Evidence) -> bool:
    """Whether ``evidence`` rests on an approximate reading (a sound-alike or a near word)."""
    return any(r["approximate"] and r["start"] < evidence.end and evidence.start < r["end"]
               for r in facts.rewrites)

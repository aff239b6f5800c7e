"""Facts of a normalised note, their evidence put back on the note as written."""
from __future__ import annotations

import dataclasses
import re
from bisect import bisect_left, bisect_right
from operator import is_not
from types import MappingProxyType
from typing import Any, Mapping

from ...facts import Evidence, Facts, Section, make_evidence, make_section, slot_setters
from .model import Normalized


def restore(facts: Facts, normalized: Normalized) -> Facts:
    """``facts`` extracted from ``normalized.text`` with every evidence quoting the original note.

    An evidence span that cuts into a rewritten span is widened to the whole of it (a quote
    never shows half of "see five six"); ``note[e.start:e.end] == e.text`` holds on the note
    as written. ``facts.rewrites`` lists the rewrites. A note whose line ends were read as ``"\\n"``
    (``normalized.lines``, lines.py) has every offset put back on the note as written: evidence,
    sections, rewrites and ``text_length``.
    """
    lines = normalized.lines  # (None: line ends as written)
    if not normalized.rewrites and lines is None:
        return facts
    original = normalized.original
    spans = [r for r in normalized.rewrites if r.normal]
    starts = [r.start for r in spans]

    def widen(start: int, end: int) -> tuple[int, int]:
        i = bisect_right(starts, end) - 1
        while i >= 0 and spans[i].end > start:
            if spans[i].start < end:
                start, end = min(start, spans[i].start), max(end, spans[i].end)
            i -= 1
        return start, end

    kinds = _KINDS

    # line ends read, no rewrite: an evidence before the first "\r" stays; one with as many before its end
    # as before its start holds no line end read, and quotes what it quoted (its text kept, no slice) unless a
    # lone "\r" was read as "\n" in the note (``exact`` false)
    only_lines = lines and not normalized.rewrites
    first = lines[0] if lines else -1
    exact = lines is not None and original.count("\r") == len(lines)

    def ev(obj: Evidence) -> Evidence:
        """``obj`` on the note as written (itself where nothing moves; an evidence several facts share is put
        back for each: equal copies, no memo of them, which cost more than the few it spares)."""
        start, end = obj.start, obj.end
        if only_lines:
            if end <= first and exact:
                return obj
            a, b = bisect_left(lines, start), bisect_left(lines, end)
            if a == b and exact:
                return make_evidence(obj.text, start + a, end + a, obj.section)
            return make_evidence(original[start + a:end + b], start + a, end + b, obj.section)
        if spans:
            start, end = widen(start, end)
        if lines:
            start, end = start + bisect_left(lines, start), end + bisect_left(lines, end)
        text = original[start:end]
        if start == obj.start and end == obj.end and text == obj.text:
            return obj
        return make_evidence(text, start, end, obj.section)

    def fix(obj: Any) -> Any:
        kind = kinds.get(obj.__class__) or _kind(obj.__class__)
        if kind.__class__ is _FUNCTION:  # a dataclass: its placer (_placer)
            return kind(obj, ev, fix)
        if kind is _LEAF:
            return obj
        if kind is _EVIDENCE:
            return ev(obj)
        if kind is _SECTION:
            if not lines:
                return obj
            return make_section(obj.name, obj.title, obj.start + bisect_left(lines, obj.start),
                                obj.end + bisect_left(lines, obj.end))
        if kind is _SEQUENCE:
            new = None
            for i, x in enumerate(obj):
                k = kinds.get(x.__class__)
                if k is _LEAF:  # a leaf is its own restoration: no call
                    continue
                if k is _EVIDENCE:  # (evidence and the facts holding it: their own calls, not fix's dispatch)
                    nx = ev(x)
                elif k.__class__ is _FUNCTION:
                    nx = k(x, ev, fix)
                else:
                    nx = fix(x)
                if nx is not x:
                    if new is None:
                        new = list(obj)
                    new[i] = nx
            if new is None:
                return obj
            return type(obj)(new) if isinstance(obj, list) else tuple(new)
        if kind is _MAPPING:
            new = {}
            for key, v in obj.items():
                k = kinds.get(v.__class__)
                new[key] = v if k is _LEAF else k(v, ev, fix) if k.__class__ is _FUNCTION else fix(v)
            return new if any(map(is_not, new.values(), obj.values())) else obj
        raise AssertionError(kind)

    changes: dict[str, Any] = {}
    for name in _walked(facts.__class__):
        v = getattr(facts, name)
        nv = fix(v)
        if nv is not v:
            changes[name] = nv
    if lines is not None:
        changes["text_length"] = len(original)
        changes["rewrites"] = tuple(MappingProxyType(_written(r, lines, original)) for r in normalized.rewrites)
    else:
        changes["rewrites"] = tuple(MappingProxyType(r.to_dict()) for r in normalized.rewrites)
    return _replaced(facts, changes)


def _replaced(facts: Facts, changes: dict[str, Any]) -> Facts:
    """``dataclasses.replace(facts, **changes)`` for ``changes`` that are what ``Facts.__post_init__`` makes of
    its values (tuples, read-only mappings, the rewrites' mappings fresh: a changed mapping from ``fix`` is made
    read-only here): its fields' values copied (~1 us against ~10 us through ``Facts.__init__``)."""
    new = _new(facts.__class__)
    d = new.__dict__
    d.update(facts.__dict__)
    for name, v in changes.items():
        d[name] = MappingProxyType(v) if isinstance(v, dict) else v
    return new


def _written(rewrite, lines: tuple[int, ...], original: str) -> dict[str, Any]:
    """A rewrite of the note read with "\\n" line ends, on the note as written (an offset ``p`` of the read
    note is ``p + bisect_left(lines, p)`` of the note as written: lines.as_written)."""
    out = rewrite.to_dict()
    start, end = rewrite.start + bisect_left(lines, rewrite.start), rewrite.end + bisect_left(lines, rewrite.end)
    out["start"], out["end"] = start, end
    out["original"] = original[start:end]
    return out


_LEAF, _EVIDENCE, _SECTION, _SEQUENCE, _MAPPING = "leaf", "evidence", "section", "sequence", "mapping"
#: type -> how ``restore`` walks its values (a dataclass: its placer, ``_placer``), found once a type
_KINDS: dict[type, Any] = {}


def _walked(t: type) -> tuple[str, ...]:
    """The fields of a ``Facts`` type ``restore`` walks (all but the rewrites, the low-confidence spans and
    the fields of plain values, which hold no evidence: ``_plain``), found once a type."""
    got = _FIELDS.get(t)
    if got is None:
        got = _FIELDS[t] = tuple(f.name for f in dataclasses.fields(t)
                                 if f.name not in ("rewrites", "low_confidence") and not _plain(f.type))
    return got


_FIELDS: dict[type, tuple[str, ...]] = {}


def _kind(t: type) -> Any:
    if issubclass(t, Evidence):
        kind: Any = _EVIDENCE
    elif issubclass(t, Section):
        kind = _SECTION
    elif issubclass(t, (list, tuple)):
        kind = _SEQUENCE
    elif issubclass(t, Mapping):
        kind = _MAPPING
    elif dataclasses.is_dataclass(t) and not issubclass(t, Facts):
        kind = _placer(t)
    else:
        kind = _LEAF
    _KINDS[t] = kind
    return kind


#: the names a field's annotation may use when the field can hold no evidence (a string, a number, a flag,
#: a sequence or mapping of them)
_PLAIN_NAMES = frozenset({"str", "int", "float", "bool", "None", "NoneType", "Optional", "tuple", "list", "dict",
                          "frozenset", "set", "Mapping", "Sequence"})


def _plain(annotation: Any) -> bool:
    """Whether a dataclass field so annotated holds plain values only (``restore`` need not look in it)."""
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text)) <= _PLAIN_NAMES


def _placer(t: type):
    """``place(obj, ev, fix)``: ``obj`` (of dataclass ``t``) on the note as written, itself where nothing in
    it moved: each field that may hold evidence (``_plain``) put back (an evidence by ``ev``, anything else
    by ``fix``), and a changed one copied through its slots (facts.slot_setters) where ``t`` allows it, else
    by ``dataclasses.replace``. Written once a type as straight-line code (as dataclasses writes ``__init__``):
    no loop over the fields, no dictionary of changes, for the ~50 facts of a spine note."""
    fields = dataclasses.fields(t)
    walked = [f.name for f in fields if not _plain(f.type)]
    names = {"Evidence": Evidence, "T": t, "_new": _new, "replace": dataclasses.replace}
    body = ["def place(obj, ev, fix):"]
    for i, name in enumerate(walked):
        body.append(f"    v{i} = obj.{name}")
        body.append(f"    n{i} = ev(v{i}) if v{i}.__class__ is Evidence else fix(v{i})")
    body.append("    if " + (" and ".join(f"n{i} is v{i}" for i in range(len(walked))) or "True") + ":")
    body.append("        return obj")
    new = {name: f"n{i}" for i, name in enumerate(walked)}
    try:
        setters = slot_setters(t)
    except TypeError:
        body.append("    return replace(obj, " + ", ".join(f"{name}={v}" for name, v in new.items()) + ")")
    else:
        body.append("    new = _new(T)")
        for j, (f, put) in enumerate(zip(fields, setters)):
            names[f"s{j}"] = put
            body.append(f"    s{j}(new, {new.get(f.name) or 'obj.' + f.name})")
        body.append("    return new")
    exec("\n".join(body), names)  # (the names are a dataclass's fields': identifiers)
    return names["place"]


_FUNCTION = type(_placer)
_new = object.__new__


def approximate_evidence(facts: Facts, evidence: Evidence) -> bool:
    """Whether ``evidence`` rests on an approximate reading (a sound-alike or a near word)."""
    return any(r["approximate"] and r["start"] < evidence.end and evidence.start < r["end"]
               for r in facts.rewrites)

"""Shared helpers for the checklist, scoring and coding tests.

``make_facts`` turns a partial ``Facts.to_dict()`` mapping (as written in the
fixture files) into a ``Facts``: missing keys and missing fields of nested
objects get defaults, evidence gets a placeholder span.
"""
from __future__ import annotations

from copy import deepcopy
from pathlib import Path
from typing import Any

import yaml

from notechecker.facts import Facts

FIXTURES = Path(__file__).parent / "fixtures" / "checklists"
PATTERNS = Path(__file__).resolve().parent.parent / "patterns"


def _ev(text: str = "evidence", section: str | None = None) -> dict[str, Any]:
    return {"text": text, "start": 0, "end": len(text), "section": section}


def _fill_ev(d: dict[str, Any], text: str) -> dict[str, Any]:
    ev = d.get("evidence")
    if ev is None:
        d["evidence"] = _ev(text)
    elif isinstance(ev, str):
        d["evidence"] = _ev(ev)
    elif isinstance(ev, dict):
        d["evidence"] = {**_ev(ev.get("text", text)), **ev}
    return d


def make_facts(partial: dict[str, Any] | None = None, note_id: str = "note") -> Facts:
    """A ``Facts`` from a partial ``to_dict()`` mapping, defaults filled in."""
    d = deepcopy(partial or {})
    d.setdefault("note_id", note_id)
    reasons = []
    for m in d.get("reasons", []):
        m = {"label": "REASON", "assertion": "present", "rule": "", **m}
        reasons.append(_fill_ev(m, f"{m['value']} mention"))
    d["reasons"] = reasons
    d["mentions"] = [_fill_ev({"assertion": "present", "rule": "", **m}, m.get("value", "mention"))
                     for m in d.get("mentions", [])]
    d["instruments"] = [_fill_ev({"count": None, "levels": [], "assertion": "present", "brand": None,
                                  "size": None, **i}, f"{i['kind']} {i['action']}")
                        for i in d.get("instruments", [])]
    constructs = []
    for c in d.get("constructs", []):
        c = {"levels": [], "anchor_levels": [], "kinds": [], "approach": None, "segmental": None,
             "pelvic": False, **c}
        ev = c.get("evidence")
        c["evidence"] = [_ev(f"{c['action']} construct")] if ev is None else [
            _ev(e) if isinstance(e, str) else {**_ev(), **e} for e in ev]
        constructs.append(c)
    d["constructs"] = constructs
    d["procedures"] = [_fill_ev({"levels": [], "interspaces": [], "assertion": "present", **p},
                                p["kind"].replace("_", " ")) for p in d.get("procedures", [])]
    elements = {}
    for name, el in (d.get("elements") or {}).items():
        el = {"name": name, "present": True, "value": None, **(el or {})}
        ev = el.get("evidence")
        el["evidence"] = [_ev(name)] if ev is None else [_ev(e) if isinstance(e, str) else {**_ev(), **e}
                                                         for e in ev]
        elements[name] = el
    d["elements"] = elements
    d["approach_evidence"] = [_ev(e) if isinstance(e, str) else e for e in d.get("approach_evidence", [])]
    if d.get("approach") and not d["approach_evidence"]:
        d["approach_evidence"] = [_ev(f"{d['approach']} approach")]
    return Facts.from_dict(d)


def load_fixture_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(family, item id, item cases) for every fixture file."""
    out = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item_id, spec in (data.get("items") or {}).items():
            out.append((path.stem, item_id, spec))
    return out

"""``patterns/sections.yaml``: section categories and their headings."""
from __future__ import annotations

from pathlib import Path

from notechecker.errors import PatternError
from notechecker.schema.vocab.base import read_yaml


def load_sections(path: Path) -> dict[str, tuple[str, ...]]:
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("sections"), dict):
        raise PatternError("E003", f"{path}: expected a mapping with key 'sections'")
    out: dict[str, tuple[str, ...]] = {}
    for category, headings in data["sections"].items():
        if not isinstance(headings, list) or not headings:
            raise PatternError("E004", f"{path}: section '{category}': field 'headings': expected a non-empty list")
        for h in headings:
            if not isinstance(h, str) or not h.strip():
                raise PatternError("E004", f"{path}: section '{category}': heading {h!r} is not a non-empty string")
        out[str(category)] = tuple(h.strip() for h in headings)
    return out

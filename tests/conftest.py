"""Shared fixtures: the pipeline is built once per test session (~2 s)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_notes"


@pytest.fixture(scope="session")
def pipeline():
    from notechecker.api import load

    return load()


@pytest.fixture(scope="session")
def sample_gold() -> dict[str, dict]:
    rows = [json.loads(line) for line in (SAMPLES / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return {Path(r["file"]).stem: r for r in rows}


def sample_text(note_id: str) -> str:
    """A sample note's text exactly as extract reads it (bytes decoded, CRLF kept)."""
    return (SAMPLES / f"{note_id}.txt").read_bytes().decode("utf-8")


def evidence_spans(obj):
    """Every ``{text, start, end, section}`` dict anywhere in a facts or check result dict."""
    if isinstance(obj, dict):
        if {"text", "start", "end", "section"} <= obj.keys() and isinstance(obj.get("start"), int):
            yield obj
        for v in obj.values():
            yield from evidence_spans(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from evidence_spans(v)

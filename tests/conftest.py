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

"""The extraction vocabularies load, validate with located errors, and their speed gates are safe."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from notechecker.errors import PatternError
from notechecker.vocab import ASCII_LOWER, load_patterns, lower_pattern, patterns_dir
from tests.conftest import SAMPLES

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev" / "notes"
CORPUS = sorted(SAMPLES.glob("*.txt")) + (sorted(DEV.glob("*.txt")) if DEV.is_dir() else [])


def test_vocabularies_load():
    p = load_patterns()
    labels = {t.category for t in p.targets}
    assert {"INSTRUMENT", "REASON", "ACTION", "APPROACH", "IMAGING", "PROCEDURE", "BRAND"} <= labels
    assert "complications" in p.sections and "ebl" in p.elements
    assert p.context_kinds["pedicle_screw"]["screws"] == "pedicle_screw"


@pytest.mark.parametrize("name", sorted(n for n, s in load_patterns().elements.items() if s.gate))
def test_element_gate_never_hides_a_match(name):
    """A gate only skips work: wherever a cue matches, one of the gate words is in the note."""
    spec = load_patterns().elements[name]
    for path in CORPUS:
        lowered = path.read_text(encoding="utf-8").translate(ASCII_LOWER)
        for m in spec.matcher.finditer(lowered):
            assert any(g in m.group(0) or g in lowered for g in spec.gate), (path.name, m.group(0))
            assert any(g in lowered[max(0, m.start() - 40):m.end() + 40] for g in spec.gate), (path.name, m.group(0))


def test_lower_pattern_keeps_escapes():
    assert lower_pattern(r"\bDr\.?\s+\S[A-Z]") == r"\bdr\.?\s+\S[a-z]"


def _copy(tmp_path) -> Path:
    dst = tmp_path / "patterns"
    shutil.copytree(patterns_dir(), dst)
    return dst


@pytest.mark.parametrize("file,old,new,expect", [
    ("targets/reasons.yaml", "category: REASON", "category: reason", ["reasons.yaml", "field 'category'"]),
    ("targets/reasons.yaml", "rules:", "rulez:", ["reasons.yaml", "unknown key", "rulez"]),
    ("context.yaml", 'category: NEGATED_EXISTENCE, direction: FORWARD, max_scope: 8}',
     'category: NEGATED, direction: FORWARD, max_scope: 8}', ["context.yaml", "rule", "field 'category'", "NEGATED"]),
    ("context.yaml", '{literal: "however", category: TERMINATE, direction: TERMINATE}',
     '{literal: "however", category: TERMINATE, direction: SIDEWAYS}', ["context.yaml", "however", "field 'direction'"]),
    ("elements.yaml", "  ebl:\n", "  blood:\n", ["elements.yaml", "element 'blood'"]),
    ("elements.yaml", "    sections: [drains]", "    sections: [drainz]", ["elements.yaml", "drains", "unknown section"]),
    ("elements.yaml", "      - '\\bno\\s+drains?\\b'", "      - '\\bno\\s+(drains?\\b'", ["elements.yaml", "drains", "invalid regular expression"]),
], ids=["target_category", "target_unknown_key", "context_category", "context_direction", "element_name",
        "element_section", "element_regex"])
def test_malformed_vocabulary_names_file_entry_and_field(tmp_path, file, old, new, expect):
    root = _copy(tmp_path)
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture drifted: {old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PatternError) as err:
        load_patterns(root)
    msg = str(err.value)
    assert msg.startswith("[E0")
    for part in expect:
        assert part in msg, msg

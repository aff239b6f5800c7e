"""The extraction vocabularies load, validate with located errors, and their speed gates are safe."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from notechecker.errors import PatternError
from notechecker.schema.loader import patterns_dir
from notechecker.schema.vocab.base import ASCII_LOWER, ascii_lower, lower_pattern
from notechecker.schema.vocab.levels import load_level_words
from notechecker.schema.vocab.patterns import load_patterns
from tests.conftest import SAMPLES

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev" / "notes"
CORPUS = sorted(SAMPLES.glob("*.txt")) + (sorted(DEV.glob("*.txt")) if DEV.is_dir() else [])


def test_vocabularies_load():
    p = load_patterns()
    labels = {t.category for t in p.targets}
    assert {"INSTRUMENT", "REASON", "ACTION", "APPROACH", "IMAGING", "PROCEDURE", "BRAND"} <= labels
    assert "complications" in p.sections and "ebl" in p.elements
    assert p.context_kinds["pedicle_screw"]["screws"] == "pedicle_screw"


@pytest.mark.parametrize("name", sorted(n for n, s in load_patterns().elements.items() if s.matcher is not None))
def test_every_cue_match_contains_a_gate_word(name):
    """Cues run only around gate words, so every match must contain one (and be shorter than the window)."""
    from notechecker.nlp.linkers.elements import GATE_WINDOW

    spec = load_patterns().elements[name]
    assert spec.gate, f"element {name} has cues but no gate"
    for path in CORPUS:
        lowered = path.read_text(encoding="utf-8").translate(ASCII_LOWER)
        for m in spec.matcher.finditer(lowered):
            assert any(g in m.group(0) for g in spec.gate), (path.name, m.group(0))
            assert len(m.group(0)) < GATE_WINDOW, (path.name, len(m.group(0)))


def test_gated_search_finds_what_a_full_scan_finds(pipeline):
    """Element evidence is the same whether the cues scan the whole note or only gate windows."""
    from notechecker.nlp.linkers.elements import Elements

    p = load_patterns()
    for path in CORPUS:
        text = path.read_text(encoding="utf-8")
        lowered = text.translate(ASCII_LOWER)
        for spec in p.elements.values():
            full = next((m.span() for m in spec.matcher.finditer(lowered)), None) if spec.matcher else None
            gated = Elements.first_gated_match(lowered, spec)
            assert (gated.span() if gated else None) == full, (path.name, spec.name)


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
    ("linking.yaml", "imaging, plan, other_team]", "imaging, plann, other_team]", ["linking.yaml", "sections.non_operative", "plann"]),
    ("linking.yaml", "    kyphoplasty: percutaneous\n", "    kyphoplasty: sideways\n",
     ["linking.yaml", "procedures.approach", "sideways"]),
    ("linking.yaml", "  interbody: '\\binterbody\\b'", "  interbody: '(\\binterbody'",
     ["linking.yaml", "cues.interbody", "invalid regular expression"]),
    ("linking.yaml", "  interbody: '\\binterbody\\b'", "  interbody_: '\\binterbody\\b'",
     ["[E014]", "linking.yaml", "field 'cues.interbody': missing"]),
    ("elements.yaml", "    sections: [drains]", "    sectionz: [drains]",
     ["[E012]", "elements.yaml", "element 'drains'", "unknown field(s) ['sectionz']"]),
    ("elements.yaml", "    sections: [drains]", "    sections: [drains]\n    min_words: few",
     ["[E012]", "elements.yaml", "element 'drains'", "field 'min_words'"]),
    ("scope.yaml", "narrative_min: 2", "narrative_min: 0", ["[E015]", "scope.yaml", "field 'narrative_min'"]),
    ("scope.yaml", "  start_chars: 400", "  start_chars: lots",
     ["[E015]", "scope.yaml", "field 'not_operative.start_chars'"]),
    ("linking.yaml", "units: [mm, cm, millimeter, millimetre]", "units: [cm]",
     ["linking.yaml", "words.examples", "is not matched"]),
    ("linking.yaml", "passive: [was, were, been, is, are]", "passive: [is]",
     ["linking.yaml", "words.examples.passive_before", "was then"]),
    ("levels.yaml", "between: [L5, S1]", "between: [L4, S1]", ["levels.yaml", "junctions[0]", "adjacent"]),
    ("levels.yaml", "regions: {cervical: C,", "regions: {cervical: X,", ["levels.yaml", "regions.cervical"]),
    ("levels.yaml", "fifth: 5,", "fifth: 15,", ["levels.yaml", "ordinals.fifth"]),
], ids=["target_category", "target_unknown_key", "context_category", "context_direction", "element_name",
        "element_section", "element_regex", "linking_section", "linking_approach", "linking_regex",
        "linking_cue_missing", "element_unknown_field", "element_min_words", "scope_narrative_min",
        "scope_start_chars", "words_units", "words_passive", "level_junction", "level_region", "level_ordinal"])
def test_malformed_vocabulary_names_file_entry_and_field(tmp_path, file, old, new, expect):
    root = _copy(tmp_path)
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture drifted: {old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PatternError) as err:
        load_patterns(root)
        load_level_words(root)  # (levels.yaml is the level scanner's, loaded on its own)
    msg = str(err.value)
    assert msg.startswith("[E0")
    for part in expect:
        assert part in msg, msg


def test_every_pattern_file_is_parsed_by_the_one_loader():
    """Issue 12 point 2: YAML under patterns/ is parsed only in schema/loader.py (libyaml, located errors)."""
    import re as _re

    root = Path(__file__).resolve().parent.parent / "notechecker"
    parse = _re.compile(r"\byaml\.(?:safe_)?load\(")
    offenders = [str(p.relative_to(root)) for p in sorted(root.rglob("*.py"))
                 if parse.search(p.read_text(encoding="utf-8"))]
    assert offenders == ["schema/loader.py"], offenders


def test_the_models_procedure_sets_agree_with_the_linking_vocabulary():
    """model.py's procedure sets name known procedure kinds, and every kind linking.yaml calls a
    fusion done today lends its levels to the hardware placed with it."""
    from notechecker import model
    from notechecker.facts import PROCEDURE_KINDS

    generic = {"fusion", "interbody_fusion"}
    for name in ("CONSTRUCT_LEVEL_PROCEDURES", "REMOVAL_PROCEDURES"):
        unknown = getattr(model, name) - set(PROCEDURE_KINDS) - generic
        assert not unknown, (name, unknown)
    assert load_patterns().linking.fusion_kinds <= model.CONSTRUCT_LEVEL_PROCEDURES


def test_ascii_lower_is_the_ascii_table_on_any_text():
    """ascii_lower (a run of ASCII at a time) is translate(ASCII_LOWER): on the sample notes as they are,
    with typographic characters put in, and on generated texts mixing ASCII with letters whose lower case
    is another length or depends on their neighbours (final sigma, dotted I, Kelvin sign, sharp s)."""
    import random

    rng = random.Random(5)
    odd = ["\u2019", "\u00b0", "\u2013", "\u00b1", "\u00b5", "\u00c9", "\u0130", "\u212a", "\u03a3", "\u00df", "\u00a0",
           "\U0001d400", "\u0661", "\u2028", "\ud800"]
    texts = []
    for p in sorted(SAMPLES.glob("*.txt")):
        text = p.read_text(encoding="utf-8")
        texts.append(text)
        texts.append(text.replace("'", "\u2019").replace(" - ", " \u2013 ").replace("degrees", "\u00b0"))
    pieces = odd + ["A", "Z", "a", "L4-L5", " ", "\n", "SCREWS", "Os", "\u03a3A", "A\u03a3 "]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(5000)]
    assert sum(not t.isascii() for t in texts) > 4000
    for text in texts:
        assert ascii_lower(text) == text.translate(ASCII_LOWER), repr(text[:60])

"""The level scanner's search for where to look (nlp/level_grammar.py: ``starts``, ``by_first``, ``scan``):
the same atoms as the plain scan (the scanner regex tried at every position), on every corpus
note and on generated texts built from the level vocabulary, separators and noise."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import yaml

from notechecker.nlp import level_grammar as g
from notechecker.nlp import regex_literals
from notechecker.schema.vocab.levels import load_level_words


def test_every_corpus_note_gets_the_atoms_of_the_plain_scan():
    from tests.corpus_snapshot import corpus

    n = atoms = 0
    for _, text, _ in corpus():
        got = g.scan(text)
        assert got == g.scan(text, plain=True)
        n, atoms = n + 1, atoms + len(got)
    assert n > 600 and atoms > 1500


def _pieces() -> list[str]:
    words = load_level_words()
    raw = yaml.safe_load((Path(__file__).parents[1] / "patterns" / "levels.yaml").read_text(encoding="utf-8"))
    examples = [ex for key in ("not_levels", "pelvis") for entry in raw[key] for ex in entry["examples"]]
    examples += [ex for entry in raw["junctions"] for ex in entry["examples"]]
    assert len(examples) > 40
    return [*examples, *words.ordinals, *words.regions, *words.pelvis_words, "lumbosacral",
            "cervico-thoracic", "thoraco-lumbar", "junction", "interspace", "disc space", "level",
            "sacrum", "sacral", "ilium", "iliac crest", "renal pelvis", "S1 and S2 normal", "T2 signal",
            "free T4", "T27 driver", "C3 complement", "C1 esterase", "S2AI", "S2 alar iliac", "the",
            "and", "or", "through", "to", "thru", "between", "vertebra", "weighted", "torx", "N0",
            "patient", "screws", "mm", "fifth lumbar", "first dorsal compartment", "1st"]


_CODES = ["L", "l", "T", "t", "C", "c", "S", "s", "\u017f", "K", "\u212a", "I", "\u0131", "\u0130"]
_SEPS = ["", " ", "-", " - ", "\u2013", "\u2014", " \u2013 ", "/", ", ", " and ", "  ", "\n", ".", "%",
         "(", ")", ":", "x", "_"]


def _text(rng: random.Random, pieces: list[str]) -> str:
    out = []
    for _ in range(rng.randint(1, 14)):
        r = rng.random()
        if r < 0.4:
            out.append(rng.choice(_CODES) + rng.choice(["", " ", "-", " -", "\u2013 "]) + str(rng.randint(0, 14)))
        elif r < 0.55:
            out.append(str(rng.randint(0, 13)))
        else:
            w = rng.choice(pieces)
            out.append(w.upper() if rng.random() < 0.2 else w.title() if rng.random() < 0.2 else w)
        out.append(rng.choice(_SEPS))
    return "".join(out)


def test_generated_texts_get_the_atoms_of_the_plain_scan():
    rng = random.Random(25)
    pieces = _pieces()
    found = 0
    for _ in range(20000):
        text = _text(rng, pieces)
        got = g.scan(text)
        assert got == g.scan(text, plain=True), text
        found += bool(got)
    assert found > 10000


def test_ordinary_words_are_not_tried():
    """Words that start like a level word ("the", "left", "sacrum" aside) are not where to look."""
    where = g.starts()
    assert where is not None
    text = " the patient tolerated the procedure well; the left side, then closure in layers."
    assert where.search(text) is None
    # searched in the lower-cased text after one space: a match's start is the offset in the text
    hits = [m.start() for m in where.finditer(" " + "Exposure of L4-5 and the sacrum; T2 weighted".lower())]
    assert hits == [12, 25, 33]


@pytest.mark.parametrize("pattern, prefixes", [
    (r"\bT\d{1,2}\s+torx", {("t", r"\d", r"\d", r"\s"), ("t", r"\d", r"\s", "t"), ("t", r"\d", r"\s", r"\s")}),
    (r"(?<![a-z])(?-i:[CT])\d|sacr(?:um|al)", {("c", r"\d"), ("t", r"\d"), ("s", "a", "c", "r")}),
    (r"S\s?2", {("s", r"\s", "2"), ("s", "2")}),
    (r"pel.is|ab", {("p", "e", "l"), ("a", "b")}),  # "." ends the prefix
])
def test_prefixes_are_read_from_the_regex(pattern, prefixes):
    assert regex_literals.prefixes(re.compile(pattern, re.IGNORECASE)) == prefixes


def test_a_text_that_lower_casing_cannot_stand_for_gets_the_plain_search():
    text = "fusion at \u017f1 and L4-5"  # long s: case-blind it is an "s"
    assert regex_literals.folded(text) is None  # (so scan searches plainly)
    assert g.scan(text) == g.scan(text, plain=True) != []


def test_the_regex_for_a_first_character_matches_as_the_scanner_does():
    """At every place the scanner regex matches (every position tried, corpus notes and generated texts),
    the regex of the alternatives that can start with the character there gives the same match."""
    master, first = g.scanner()[0], g.by_first()
    assert first and all(len(rx.pattern) < len(master.pattern) for rx in first.values())
    from tests.corpus_snapshot import corpus

    rng = random.Random(7)
    pieces = _pieces()
    texts = [text for _, text, _ in corpus()][::4] + [_text(rng, pieces) for _ in range(3000)]
    tried = 0
    for text in texts:
        low = regex_literals.folded(text)
        if low is None:
            continue
        for i in range(len(text)):
            m = master.match(text, i)
            if m is None or low[i] not in first:
                continue
            got = first[low[i]].match(text, i)
            assert got is not None and (got.span(), got.lastgroup, _found(got)) == (
                m.span(), m.lastgroup, _found(m)), i  # (the offset only: corpus text stays out of reports)
            tried += 1
    assert tried > 2000


def _found(m: re.Match) -> dict:
    """The named groups that took part in a match (a regex of fewer alternatives has fewer groups)."""
    return {k: v for k, v in m.groupdict().items() if v is not None}

"""One pass for many words (nlp/multimatch.py): the same occurrences and windows as one str.find scan per word."""
from __future__ import annotations

from pathlib import Path

import random
import re

import pytest

from notechecker.nlp.multimatch import GatedRegexes, MultiMatch, merge
from notechecker.nlp.regex_literals import GatedRegex, folded
from notechecker.schema.vocab.base import ASCII_LOWER
from notechecker.schema.vocab.patterns import load_patterns

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "sample_notes").glob("*.txt"))
EVAL = ROOT.parent / "shared" / "eval"
CORPUS += sorted((EVAL / "dev" / "notes").glob("*.txt")) + sorted((EVAL / "forms" / "notes").glob("*.txt"))


def _by_find(text: str, words) -> list[tuple[int, int, str]]:
    out = []
    for w in words:
        i = text.find(w)
        while i != -1:
            out.append((i, i + len(w), w))
            i = text.find(w, i + 1)
    return sorted(out)


def test_every_occurrence_overlapping_ones_too():
    mm = MultiMatch({"a": ["ana", "nan"], "b": ["an", "ana"]})
    got = sorted(mm.find("banana"))
    assert got == [(1, 3, ("b",)), (1, 4, ("a", "b")), (2, 5, ("a",)), (3, 5, ("b",)), (3, 6, ("a", "b"))]
    assert mm.owners_in("a nan") == {"a", "b"} and mm.owners_in("xyz") == set()
    # by word: the offsets of the occurrences' last characters, ascending
    assert mm.scan("banana") == {"an": [2, 4], "ana": [3, 5], "nan": [4]}
    assert MultiMatch({}, also=["na"]).scan("banana") == {"na": [3, 5]} and MultiMatch({}).scan("na") == {}


def test_windows_of_one_owner():
    mm = MultiMatch({"a": ["ab", "xyz"], "b": ["ab"]}, also=["q"])
    text = "ab....xyz" + "." * 30 + "ab" + "q"
    found = mm.scan(text)
    assert mm.windows("a", found, 2, len(text)) == [(0, 11), (37, 42)]
    assert mm.windows("b", found, 2, len(text)) == [(0, 4), (37, 42)]
    assert mm.windows("b", found, 3, len(text)) == [(0, 5), (36, 42)]
    assert mm.windows("c", found, 2, len(text)) == [] and mm.windows("a", {}, 2, len(text)) == []


def test_no_words_find_nothing_and_bad_words_are_refused():
    assert list(MultiMatch({}).find("anything")) == [] and not MultiMatch({})
    with pytest.raises(ValueError):
        MultiMatch({"x": [""]})


def test_merge_joins_touching_spans():
    assert merge([(10, 20), (0, 5), (5, 8), (19, 30), (40, 41)]) == [(0, 8), (10, 30), (40, 41)]


def test_element_gates_in_one_pass_equal_one_find_scan_per_word():
    """Every element's gate-word occurrences and windows on real notes, one pass against str.find per word."""
    from notechecker.nlp.linkers.elements import GATE_WINDOW

    specs = {n: s for n, s in load_patterns().elements.items() if s.gate}
    assert len(specs) >= 5 and sum(len(s.gate) for s in specs.values()) >= 100
    mm = MultiMatch({n: s.gate for n, s in specs.items()})
    assert len(CORPUS) > 30
    hits = 0
    for path in CORPUS:
        lowered = path.read_text(encoding="utf-8").translate(ASCII_LOWER)
        found = mm.scan(lowered)
        assert found == {w: sorted(e - 1 for _, e, _ in _by_find(lowered, [w])) for w in mm.words if w in lowered}
        for name, spec in specs.items():
            occ = _by_find(lowered, spec.gate)
            hits += len(occ)
            got = sorted((s, e, lowered[s:e]) for s, e, owners in mm.find(lowered) if name in owners)
            assert got == occ, (path.name, name)
            n = len(lowered)
            want = merge([(max(0, s - GATE_WINDOW), min(n, e + GATE_WINDOW)) for s, e, _ in occ])
            assert mm.windows(name, found, GATE_WINDOW, n) == want, (path.name, name)
    assert hits > 1000


def test_windows_are_the_merged_spans_of_every_occurrence_on_generated_texts():
    """MultiMatch.windows (each word's windows joined a window at a time, by bisection, then merged) against
    the plain definition, every occurrence's span merged and cut to the text: one word or several, met
    densely (windows joined over many occurrences) or sparsely, at the text's edges, short and long radii."""
    rng = random.Random(8)
    words = ["he", "she", "in", "drain", "hemovac", "x"]
    mm = MultiMatch({"a": words[:1], "b": words[:3], "c": words, "d": ["zz"]})
    tried = 0
    for _ in range(400):
        n = rng.randrange(1, 400)
        density = rng.choice((0.01, 0.1, 0.5))
        text = "".join(rng.choice(words) if rng.random() < density else rng.choice("ab .\n") for _ in range(n))
        found = mm.scan(text)
        for owner in "abcd":
            for radius in (0, 1, 3, 20, 600):
                spans = [(s, e) for s, e, owners in mm.find(text) if owner in owners]
                want = [(max(0, a), min(len(text), b)) for a, b in
                        merge([(s - radius, e + radius) for s, e in spans])]
                assert mm.windows(owner, found, radius, len(text)) == want, (text, owner, radius)
                tried += bool(spans)
    assert tried > 1000


def _spans(matches) -> list:
    return [(m.span(), m.groups()) for m in matches]


def _same_as_each(many: GatedRegexes, text: str, ranges) -> int:
    """Each regex's matches from one pass equal its own finditer's (and re's) in each range; the count."""
    lowered = folded(text)
    found = many.scan(lowered)
    n = 0
    for rx in many.gated:
        for a, b in ranges:
            want = _spans(rx.regex.finditer(text, a, min(b, len(text))))
            assert _spans(many.finditer(rx, text, lowered, found, a, b)) == want, (rx.regex.pattern[:60], a, b)
            assert _spans(rx.finditer(text, lowered, a, b)) == want
            n += len(want)
    return n


def test_gated_regexes_from_one_pass_on_generated_texts():
    patterns = [r"\b(?:rods?|screws?)\s+(?:(?:was|were)\s+)?fractured\b|\bfractured\s+(?:rods?|screws?)\b",
                r"\bin (?:(?:may|june) )?(?:19|20)\d\d\b", r"aa(?:b|ab)", r"(?<![a-z])ab?c", r"\d+\s*rods?",
                r"(?P<x>screw)s?|rod\b"]
    words = ["rod", "rods", "screw", "fractured", "was", "in", "may", "2019", "a", "aab", "ab", "c", "ROD",
             "Fractured", "\u017fcrew", "x", "12", "-"]
    many = GatedRegexes([GatedRegex(re.compile(p, re.I), plain_first=0) for p in patterns], plain_first=0)
    rnd = random.Random(4)
    hits = 0
    for _ in range(400):
        text = "".join(rnd.choice(words) + rnd.choice([" ", "", "\n", ", ", ". "]) for _ in range(rnd.randint(0, 25)))
        cuts = sorted(rnd.randint(0, len(text) + 3) for _ in range(2))
        hits += _same_as_each(many, text, [(0, len(text)), tuple(cuts)])
    assert hits > 300


def test_gated_regexes_from_one_pass_on_real_notes(pipeline):
    """The scope's cue lists (nlp/scope.py) from one pass over each corpus note, over whole notes, their
    sections and a prefix, as each GatedRegex finds them."""
    from tests.corpus_snapshot import corpus

    scope = pipeline.extractor.scope
    many = GatedRegexes([GatedRegex(g.regex, plain_first=0) for g in scope._many.gated], plain_first=0)
    assert len(many.gated) >= 10
    hits = 0
    for _, text, _ in list(corpus())[::3]:
        lowered = folded(text)
        ranges = [(0, len(text))] + [(m.start(), m.end()) for m in re.finditer(r"[^\n]+(?:\n[^\n]+)*", text)][:12]
        hits += _same_as_each(many, text, ranges)
        found = many.scan(lowered)
        head = text[:300]  # a text that the scanned note begins (scope.py's first characters)
        for rx in many.gated:
            want = _spans(rx.regex.finditer(head))
            assert _spans(many.finditer(rx, head, folded(head), found)) == want
    assert hits > 300


def test_gated_regexes_tried_at_their_alternatives_first_literals(pipeline):
    """A joined cue list without first literals of its own (the scope's spine cues: too many for one product)
    is tried only where one of its alternatives' first literals occurs (regex_alternatives.alternatives_first):
    the same matches as its own finditer on corpus notes, their line blocks and generated texts."""
    from notechecker.nlp.regex_alternatives import alternatives_first
    from tests.corpus_snapshot import corpus

    scope = pipeline.extractor.scope
    gated = [GatedRegex(g.regex, plain_first=0) for g in scope._many.gated]
    many = GatedRegexes(gated, plain_first=0, first_of=alternatives_first)
    many.scan("")
    widened = [rx for rx in gated if rx.fold and not rx.first and many._first[rx]]
    assert gated[0] in widened and len(widened) >= 4  # the spine cues and most organ groups
    hits = 0
    for _, text, _ in list(corpus())[1::3]:
        ranges = [(0, len(text))] + [(m.start(), m.end()) for m in re.finditer(r"[^\n]+(?:\n[^\n]+)*", text)][:12]
        hits += _same_as_each(many, text, ranges)
    assert hits > 300
    joined = [re.compile(p, re.I) for p in (r"(?:\bab+c)|(?:\b(?:xy)?zz\b)|(?:q[rs]t)", r"(?:\bfoo)|(?:bar\w*)")]
    many = GatedRegexes([GatedRegex(rx, plain_first=0) for rx in joined], plain_first=0, first_of=alternatives_first)
    rnd, n = random.Random(9), 0
    for _ in range(300):
        text = "".join(rnd.choice(["ab", "abbc", "XYZZ", "zz", "qrt", "QST", "foo", "bar", "baz", " ", "\n", "x"])
                       for _ in range(rnd.randint(0, 20)))
        cuts = sorted(rnd.randint(0, len(text) + 2) for _ in range(2))
        n += _same_as_each(many, text, [(0, len(text)), tuple(cuts)])
    assert n > 300 and all(many._first[rx] for rx in many.gated)

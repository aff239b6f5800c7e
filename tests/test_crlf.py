"""Notes with Windows (``"\\r\\n"``), old Mac (``"\\r"``) and mixed line ends read as the same notes with
``"\\n"`` (notechecker/nlp/normalize/lines.py), their evidence quoting the note as written.

* Every corpus note (dev, dev2, forms, the non-spine notes, the samples and verdict fixtures): its twins
  with other line ends get the same facts, suggested codes and decision records (the snapshot's
  ``observe``) once every offset is mapped back onto the ``"\\n"`` note and every line end read as
  ``"\\n"``; every span (evidence, sections, rewrites) quotes the twin's own characters, and a
  Windows twin's quote is the ``"\\n"`` note's with ``"\\n"`` written ``"\\r\\n"``.
* The offset map on generated texts of line ends and letters; a note without ``"\\r"`` is read as
  before (no line map, the facts untouched by ``restore``).
"""
from __future__ import annotations

import random
from itertools import accumulate

import pytest

from notechecker.nlp.normalize import Normalized, load_normalizer, restore
from notechecker.nlp.normalize.lines import as_written, read_lines
from tests import rewrites as R
from tests.corpus_snapshot import corpus, observe

TWINS = {"crlf": R.line_ends("\r\n"), "cr": R.line_ends("\r"), "mixed": R.line_ends("\r", "\r\n", "\n")}


def _notes() -> list[tuple[str, str, tuple[str, ...] | None]]:
    return list(corpus())


def _to_lf(twin: str) -> list[int]:
    """Offset of ``twin`` -> offset of the twin read with "\\n" line ends (a "\\r" before "\\n" dropped)."""
    dropped = [0] + [1 if c == "\r" and twin.startswith("\n", i + 1) else 0 for i, c in enumerate(twin)]
    return [i - d for i, d in enumerate(accumulate(dropped))]


def _lf(s: str) -> str:
    return s.replace("\r\n", "\n").replace("\r", "\n")


def _mapped(obj, twin: str, lf: str, to_lf: list[int], name: str, where: str):
    """``obj`` (an observation of ``twin``) with every span checked against ``twin`` and put on ``lf``."""
    if isinstance(obj, dict):
        out = {}
        spans = isinstance(obj.get("start"), int) and isinstance(obj.get("end"), int)
        for k, v in obj.items():
            out[k] = _mapped(v, twin, lf, to_lf, name, f"{where}.{k}")
        if spans:
            start, end = obj["start"], obj["end"]
            quote = obj.get("text", obj.get("original"))
            if quote is not None:
                assert twin[start:end] == quote, f"{where}: the span does not quote the note as written"
                if name == "crlf":
                    assert quote == lf[to_lf[start]:to_lf[end]].replace("\n", "\r\n"), where
            out["start"], out["end"] = to_lf[start], to_lf[end]
        if "text_length" in obj:
            assert obj["text_length"] == len(twin)
            out["text_length"] = len(lf)
        return out
    if isinstance(obj, list):
        return [_mapped(v, twin, lf, to_lf, name, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, str):
        return _lf(obj)
    return obj


@pytest.fixture(scope="module")
def observer(pipeline):
    from notechecker.schema.catalogue import load_catalogue

    catalogue, seen = load_catalogue(), {}

    def of(text, codes, key, remember=False):
        if not remember:
            return observe(text, codes, key, pipeline, catalogue)
        if key not in seen:
            seen[key] = observe(text, codes, key, pipeline, catalogue)
        return seen[key]
    return of


@pytest.mark.parametrize("name", sorted(TWINS))
def test_a_twin_with_other_line_ends_reads_as_the_note_on_every_corpus_note(name, observer):
    notes = _notes()
    assert len(notes) >= 600 or not (R.SHARED_EVAL / "dev").is_dir()
    twinned = 0
    for key, text, codes in notes:
        assert "\r" not in text, key  # (read as text: universal line ends)
        twin = TWINS[name](text)
        if twin is None:
            continue
        twinned += 1
        want = observer(text, codes, key, remember=True)  # (the note's own: once for the three twins)
        got = _mapped(observer(twin, codes, key), twin, text, _to_lf(twin), name, key)
        assert got == want, f"{key}: the {name} twin reads differently"
    assert twinned >= 0.95 * len(notes)


@pytest.mark.parametrize("name", sorted(TWINS))
def test_the_line_ends_rewrite_maps_every_offset_back(name):
    """On generated texts of letters, spaces and line ends: the read text is the text with its line ends
    read as "\\n", and every span of it is a span of the text as written with the same characters so read;
    a span from or up to a "\\n" read from a "\\r\\n" takes its "\\r" with it."""
    rng = random.Random(len(name))
    pool = ["a", "b", " ", "\n", "\n", "\r", "\r\n", "\r\n", "Procedure:", "L4-5"]
    for _ in range(400):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 40)))
        got = read_lines(lambda t: Normalized(t, t, ()), text)
        lined = _lf(text)
        assert got.original is text and got.text == lined
        assert len(got.lines) == text.count("\r\n")
        for p in range(len(lined) + 1):
            for q in range(p, min(len(lined), p + 6) + 1):
                a, b = as_written(got.lines, p), as_written(got.lines, q)
                assert _lf(text[a:b]) == lined[p:q], (text, p, q)
                assert not (text[a:b].endswith("\r") and text.startswith("\n", b)), (text, p, q)
                assert not (text[a:b].startswith("\n") and a and text[a - 1] == "\r"), (text, p, q)


def test_a_note_without_carriage_returns_is_read_as_before(pipeline):
    norm = load_normalizer()
    for key, text, _ in _notes()[::25]:
        n = norm(text)
        assert n.lines is None and len(n.text) == len(text), key
        facts = pipeline._extract(pipeline._doc(n), key)
        assert restore(facts, n) is facts or n.rewrites, key
    lone = norm("Procedure: L4-5 fusion.\rEBL: 50 mL.")
    assert lone.lines == () and lone.text == "Procedure: L4-5 fusion.\nEBL: 50 mL."
    crlf = norm("Procedure: L4-5 fusion.\r\nEBL: 50 mL.\r\n")
    assert crlf.lines == (23, 35) and crlf.text == "Procedure: L4-5 fusion.\nEBL: 50 mL.\n"


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_a_short_evidence_is_proved_by_its_line_whatever_its_line_ends(end):
    """plain.proof widens a too-short quote to its heading line: a line ends at "\\n", "\\r\\n" or a lone "\\r"."""
    from notechecker.facts import Evidence
    from notechecker.plain import proof

    text = end.join(["PROCEDURE:", "Removal of L4-5 pedicle screws and rods.", "EBL: 50 mL", ""])
    at = text.index("L4-5")
    got = proof(text, Evidence("L4-5", at, at + 4))
    assert got.text == "Removal of L4-5 pedicle screws and rods." == text[got.start:got.end]


def test_a_patterns_folder_without_normalize_yaml_reads_line_ends_too():
    from notechecker.nlp.normalize.normalizer import Identity

    n = Identity()("a\r\nb\rc\r\n")
    assert (n.original, n.text, n.lines, n.rewrites) == ("a\r\nb\rc\r\n", "a\nb\nc\n", (1, 5), ())
    plain = Identity()("a\nb")
    assert plain.lines is None and plain.text is plain.original

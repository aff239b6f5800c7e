"""A line-anchored regex tried at line starts only (nlp/linescan.py): exactly ``finditer``'s matches."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from notechecker.nlp.linescan import LineAnchored, line_anchored
from notechecker.nlp.sections import HEADING_LINE

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
CORPUS = sorted((ROOT / "sample_notes").glob("*.txt"))
CORPUS += sorted((EVAL / "dev" / "notes").glob("*.txt")) + sorted((EVAL / "forms" / "notes").glob("*.txt"))


def _matches(it) -> list:
    return [(m.span(), m.groups()) for m in it]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_heading_lines_of_real_notes_are_finditers(ending):
    assert CORPUS
    scan = LineAnchored(HEADING_LINE)
    found = 0
    for path in CORPUS:
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\n", ending)
        want = _matches(HEADING_LINE.finditer(text))
        found += len(want)
        assert _matches(scan.finditer(text)) == want, path.name
    assert found > 10 * len(CORPUS)  # real notes have heading-shaped lines: the comparison compared something


def test_random_text_of_heading_characters():
    scan = LineAnchored(HEADING_LINE)
    rng = random.Random(7)
    alphabet = "ab:\n\r \t-().1A"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert _matches(scan.finditer(text)) == _matches(HEADING_LINE.finditer(text)), repr(text)


def test_look_behind_and_caret_read_the_text_before_the_line():
    rx = re.compile(r"(?m)^(?<![a-z]\n)x+")  # an x-line not after a line ending in a letter
    text = "ab\nxx\n.\nxxx\nxx"
    assert _matches(LineAnchored(rx).finditer(text)) == _matches(rx.finditer(text)) == [((8, 11), ())]


@pytest.mark.parametrize("pattern", [
    r"x+",  # matches anywhere
    r"^x",  # without MULTILINE: only at offset 0 ... anchored, but see below
    r"(?m)^x*",  # may be empty
    r"(?m)(?:^|-)x",  # one branch not at a line start
    r"(?<=a)x",  # a look-behind of a letter, not a line break
])
def test_regexes_that_may_match_elsewhere_are_refused(pattern):
    rx = re.compile(pattern)
    if pattern == r"^x":
        assert line_anchored(rx)  # offset 0 is a line start: allowed and exact
        assert _matches(LineAnchored(rx).finditer("x\nx")) == _matches(rx.finditer("x\nx"))
        return
    assert not line_anchored(rx)
    with pytest.raises(ValueError):
        LineAnchored(rx)


def test_a_look_behind_class_of_line_breaks_and_a_window_are_finditers_and_searches():
    """``(?<=[\\n\\r])`` starts lines too; finditer and search within [pos, endpos) are the regex's, the
    look-behind reading the character before pos, on random texts and windows."""
    rx = re.compile(r"(?:^|(?<=[\n\r]))[ \t]*(?:ab|b)")
    assert line_anchored(rx) and not line_anchored(re.compile(r"(?<=[\na])x"))
    scan = LineAnchored(rx)
    rng = random.Random(3)
    for _ in range(5000):
        text = "".join(rng.choice("ab\n\r \tx") for _ in range(rng.randint(0, 30)))
        a = rng.randint(0, len(text))
        b = rng.randint(a, len(text) + 2)
        assert _matches(scan.finditer(text, a, b)) == _matches(rx.finditer(text, a, b)), (text, a, b)
        assert _matches(filter(None, [scan.search(text, a, b)])) == _matches(filter(None, [rx.search(text, a, b)]))


def test_the_narrative_start_cue_is_searched_at_line_starts_alike(pipeline):
    """Headings.split_narrative searches the narrative-start cue (linking.yaml) at line starts only: the
    cue starts lines, and the searches find what the regex's search finds in every section of corpus notes."""
    from notechecker._extensions import note_text

    hd = pipeline.extractor.headings
    rx, scan = hd.cue["narrative_start"], hd._narrative_start
    assert isinstance(scan, LineAnchored)
    found = 0
    for path in CORPUS:
        norm = pipeline.normalizer(path.read_text(encoding="utf-8"))
        doc = pipeline.nlp(norm.text)
        text = note_text(doc)
        for sec in hd(doc, text):
            for a in (sec.start, sec.start + len(sec.title)):
                want = rx.search(text, a, sec.end)
                found += want is not None
                got = scan.search(text, a, sec.end)
                assert (got and (got.span(), got.group(0))) == (want and (want.span(), want.group(0))), path.name
    assert found > 20

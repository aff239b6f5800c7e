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

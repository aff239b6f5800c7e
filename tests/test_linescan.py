"""A line-anchored regex tried at line starts only (nlp/linescan.py): exactly ``finditer``'s matches."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from notechecker.nlp.linescan import LineAnchored, lead_words, line_anchored
from notechecker.nlp.multimatch import MultiMatch
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


def test_lead_words_are_what_a_match_starts_with_after_the_lines_spaces():
    assert lead_words(re.compile(r"(?im)^[ \t]*(?:team|part)\s+\d")) == {"team", "part"}
    assert lead_words(re.compile(r"(?m)^ *ab+")) == {"ab"}
    assert lead_words(re.compile(r"(?m)(?:^|(?<=\r))[ \t]*Part\b")) == {"Part"}
    for pattern in (r"(?m)^x", r"(?m)^[ \t]+team", r"(?m)^[ \t.]*team", r"(?m)^\s*team", r"(?m)^[ \t]*\w+", r"team"):
        assert lead_words(re.compile(pattern)) is None, pattern


_LED = [r"(?im)^[ \t]*(?:team|part|surgeon)\s+(?P<id>[0-9]{1,2}|[A-D])\s*\((?P<what>[^()\n]{1,60})\)\s*:",
        r"(?im)^[ \t]*(?:team|part)\s+(?P<id>[0-9]{1,2}|[A-D])\b(?P<what>[^:\n]{0,80}):",
        r"(?im)(?:^|(?<=\r))[ \t]*(?:team|teams)\b", r"(?m)^ *part(?<!\n part)"]
_LED_PIECES = ["team", "TEAM", "Team", "part", "teams", "surgeon", " ", "\t", "\n", "\r", "\r\n", "1", "2 ", "(", ")",
               ":", "x", "A", " (Spine): ", "), prone: "]


@pytest.mark.parametrize("pattern", _LED)
def test_lines_led_by_their_words_give_finditers_matches(pattern):
    """LineAnchored.finditer_led, tried at the lines a lead word starts (where a pass over the folded text
    found the words), gives finditer's matches: on corpus notes (their lines rewritten to be led by team
    cues, each kind of line end) and generated texts."""
    rx = re.compile(pattern)
    words = lead_words(rx)
    scan, seen = LineAnchored(rx), 0
    passes = MultiMatch({}, also=words)
    rng = random.Random(3)
    texts = [("\n" + rng.choice(["Team 1 (Spine): ", "  TEAM 2 (Dr. Lang), supine: ", "\tpart 3 (x):\n"])).join(
        p.read_text(encoding="utf-8").split("\n")).replace("\n", ending) for p in CORPUS[:20] for ending in ("\n", "\r")]
    texts += ["".join(rng.choice(_LED_PIECES) for _ in range(rng.randint(0, 30))) for _ in range(4000)]
    for text in texts:
        want = _matches(rx.finditer(text))
        seen += len(want)
        assert _matches(scan.finditer_led(text, passes.scan(text.lower()), words)) == want, repr(text[:200])
    assert seen > 300

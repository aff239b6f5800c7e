"""The linkers' shared view (nlp/linkers/base.py): quote_end's one-line texts read without their boundaries give
what reading every boundary gives, its cut included."""
from __future__ import annotations

import random

from notechecker.nlp.linkers import base
from notechecker.nlp.linkers.base import quote_end
from notechecker.nlp.segmenter import boundaries

from tests.conftest import SAMPLES, nonspine_texts

#: Pieces of one-line texts (words, marks not before a space, quotes, brackets, numbers) and of the white space
#: after them (blank lines of every kind, spaces, tabs, Unicode white space), with pieces that make a boundary.
_WORDS = ("Lumbar stenosis", "L4-5", "C5-C6.", "Dr.Smith", "e.g.", "approx", "x" * 40, "(left)", '"a"', "1.", "2)",
          "?", "!", "...", ".)", "- ", "* ", "\u2022", "\u00a0", " ", "  ", "\t", "PLAN", "a", "10/21/2026", "'b'")
_SPACE = ("\n", "\n\n", "\r\n", "\r", " ", "\t", "\n \n", "\r\r", "\n\t\n", "\x0c", "\u2028", "\x85", "\u00a0")
_BREAKING = (". A", "? 2", ':', ". \"Q", "!\t1", "\nB", "\n1. x", "FINDINGS: x")


def _plain_quote_end(text: str, start: int, limit: int, longest: int = 300) -> tuple[int, int | None]:
    """quote_end as first written: every boundary of the quote read."""
    stop = min(limit, start + longest)
    chunk = text[start:stop]
    if len(chunk.split(None, 2)) == 3:
        for cut in boundaries(chunk):
            if len(chunk[:cut].split()) >= 3:
                return start + len(chunk[:cut].rstrip()), cut
    if stop < limit and stop < len(text) and text[stop - 1:stop + 1].strip() and " " in chunk:
        stop = text.rfind(" ", start, stop)
    return start + len(text[start:stop].rstrip()), None


def _texts() -> list[str]:
    rnd = random.Random(2511)
    made = []
    for _ in range(3000):
        words = "".join(rnd.choice(_WORDS) for _ in range(rnd.randint(1, 14)))
        if rnd.random() < 0.15:
            words += rnd.choice(_BREAKING)
        made.append(words + "".join(rnd.choice(_SPACE) for _ in range(rnd.randint(0, 5)))
                    + ("" if rnd.random() < 0.5 else rnd.choice(("Next", "  next", "EBL: 5", "-"))))
    notes = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))] + nonspine_texts(40)
    return made + notes


def test_a_one_line_quote_read_without_its_boundaries_ends_and_cuts_as_read_with_them(monkeypatch):
    """quote_end's one-line texts (no line break, no colon, no mark before a space or tab) read only the white
    space after their words: the same end and cut as reading the quote's every boundary, on generated texts
    (quotes of the whole text and of each start, with every kind of blank line after the words) and sample
    notes' lines; and the shortcut is taken, with and without a cut."""
    taken: list[str] = []
    read = base.boundaries
    monkeypatch.setattr(base, "boundaries", lambda t: taken.append(t) or read(t))
    rnd, fast, fast_cut = random.Random(7), 0, 0
    for text in _texts():
        starts = [0] + [rnd.randrange(0, len(text) + 1) for _ in range(6 if len(text) < 400 else 60)]
        for a in starts:
            for limit in (len(text), min(len(text), a + rnd.randint(0, 320))):
                taken.clear()
                got = quote_end(text, a, limit)
                assert got == _plain_quote_end(text, a, limit), (text[a:limit], a, limit)
                chunk = text[a:min(limit, a + 300)]
                if len(chunk.split(None, 2)) == 3 and not any(t == chunk for t in taken):
                    fast += 1
                    fast_cut += got[1] is not None
    assert fast > 3_000 and fast_cut > 200, (fast, fast_cut)

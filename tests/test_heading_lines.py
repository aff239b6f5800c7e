"""Unknown headings (nlp/linkers/headings.py): the heading-shaped lines tried only where their words may
hold a heading word give the same headings as trying every line."""
from __future__ import annotations

import random
import re
from pathlib import Path

from notechecker.nlp.linkers.headings import _HEADING_LINES, Headings
from notechecker.nlp.regex_literals import PLAIN_FIRST
from notechecker.schema.vocab.patterns import load_patterns

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
CORPUS = sorted((ROOT / "sample_notes").glob("*.txt")) + sorted((EVAL / "dev" / "notes").glob("*.txt")) \
    + sorted((EVAL / "forms" / "notes").glob("*.txt"))

CRAFTED = [
    "INDICATIONS: pain.\n1. Narrative of procedure:\nThe patient was placed prone.\n",
    "Plan\r\n   A) Technique details: standard\r\n\t\t  2) reason for surgery - failed care\rEBL: 10 mL\r",
    "x" * 200 + " indication:\n" + " " * 120 + "Detailed description of operation:\n  b. late entry 10/21/2026:",
    "PROCEDURE IN DETAIL\nNARRATIVE\nthe technique was standard: the narrative follows; " + "word " * 40 + "descri:\n",
]


def _named(hd: Headings, matches) -> list:
    out = []
    for m in matches:
        head = m.group("h").strip()
        category = next((c for c, rx in hd.L.heading_words if rx.search(head.lower())), None)
        if category is not None:
            out.append((m.span(), category))
    return out


def test_lines_with_heading_words_are_the_lines_that_name_one():
    hd = Headings(load_patterns())
    for _ in range(PLAIN_FIRST + 1):  # past the first notes, when the words are read
        list(hd._heading_lines("Narrative:\n"))
    assert hd._word_lines is not None
    texts = [p.read_text(encoding="utf-8") for p in CORPUS] + CRAFTED
    assert len(texts) > 60
    named = 0
    for text in texts:
        want = _named(hd, _HEADING_LINES.finditer(text))
        named += len(want)
        assert _named(hd, hd._heading_lines(text)) == want, text[:80]
    assert named > 40


def test_section_titles_and_ends_from_token_offsets_are_the_spans_text(pipeline):
    """Headings.__call__ reads a section's title and end from two tokens' offsets: the same characters
    as the title span's text and the body's last token's end, on corpus notes."""
    from notechecker._extensions import note_text
    from notechecker.nlp.linkers.headings import _end_char
    from notechecker.nlp.segmenter import token_starts
    from tests.corpus_snapshot import corpus

    checked = 0
    for _, raw, _ in list(corpus())[::6]:
        norm = pipeline.normalizer(raw)
        doc = pipeline._mark(pipeline.nlp(norm.text), norm)
        text, n, tokens = note_text(doc), len(doc), token_starts(doc)
        for s in doc._.sections:
            a, b = min(s.title_start, n), min(s.title_end, n)
            if b > a:
                assert text[doc[a].idx:_end_char(tokens, b)] == doc[s.title_start:s.title_end].text
                checked += 1
            if s.body_end > 0:
                assert _end_char(tokens, s.body_end) == doc[:s.body_end].end_char
            assert max(0, min(s.body_end, n) - min(s.body_start, n)) == len(doc[s.body_start:s.body_end])
    assert checked > 100


def test_the_lines_the_sectionizer_found_known_are_not_read_again(pipeline):
    """The sectionizer records the lines where it found a heading it knows (sections.HEADING_LINES): each
    is HEADING_LINE's match at that line, its words a known heading; Headings leaves those lines out of its
    search for unknown headings, and its sections are the ones it finds reading every line, on corpus notes
    and crafted texts."""
    from notechecker._extensions import note_text
    from notechecker.nlp.sections import HEADING_LINE, HEADING_LINES, heading_key
    from tests.corpus_snapshot import corpus

    hd = pipeline.extractor.headings
    for _ in range(PLAIN_FIRST + 1):  # past the first notes, when the words are read
        list(hd._heading_lines("Narrative:\n"))
    skipped = 0
    texts = [raw for _, raw, _ in corpus()] + CRAFTED
    for raw in texts:
        norm = pipeline.normalizer(raw)
        doc = pipeline._mark(pipeline.nlp(norm.text), norm)
        text, known = note_text(doc), doc.user_data[HEADING_LINES]
        for at, key in known.items():
            m = HEADING_LINE.match(text, at)
            assert m is not None and heading_key(m.group("h")) == key and key in hd.known_headings
            assert at == 0 or text[at - 1] in "\r\n"
        with_record = hd(doc, text)
        skipped += len(known)
        del doc.user_data[HEADING_LINES]
        assert hd(doc, text) == with_record, raw[:80]
    assert skipped > 1000


def test_a_heading_line_read_a_run_at_a_time_is_heading_line_s_match():
    """sections.heading_line_at (the words of a heading line read a run at a time) gives HEADING_LINE.match's
    match, groups and all, at every line start of the corpus notes and of generated lines: numbering, tabs,
    hyphens, parentheses, dates, colons, words longer than HEADING_LINE allows, line ends of every kind."""
    from notechecker.nlp.sections import HEADING_LINE, heading_line_at
    from tests.corpus_snapshot import corpus

    def same(text: str, pos: int) -> bool:
        a, b = HEADING_LINE.match(text, pos), heading_line_at(text, pos)
        return (a is None and b is None) or (a is not None and b is not None and a.span() == b.span()
                                              and a.groupdict() == b.groupdict() and a.span("h") == b.span("h"))

    starts = 0
    for _, text, _ in corpus():
        for pos in [0] + [i + 1 for i, c in enumerate(text) if c in "\n\r"]:
            assert same(text, pos), text[pos:pos + 100]
            starts += 1
    assert starts > 10_000
    rng = random.Random(3)
    parts = ["Procedure", "pre-op", "diagnosis", "a", "B", "(s)", "(es)", "(Dr. Lee)", "(", ")", " ", "  ", "\t", "-",
             " - ", ":", " :", "10/21/2026", " 10/21/2026 14:05", " on 1/2/03", "x" * 30, "1.", "2)", "A.", "\n", "\r\n",
             "\r", "é", "#", "/"]
    found = 0
    for _ in range(40_000):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(1, 12)))
        for pos in (0, rng.randrange(len(text) + 1)):
            assert same(text, pos), repr(text)
        found += HEADING_LINE.match(text) is not None
    assert found > 5_000


def test_a_long_line_is_read_as_heading_line_reads_it():
    """sections.heading_line_at asks HEADING_LINE at once at a line without a colon or line end in its first
    _LONG_LINE characters: the same match, groups and all, on generated long lines (with and without a
    heading's tail, a colon or a line end just before, at or after that length)."""
    from notechecker.nlp.sections import _LONG_LINE, HEADING_LINE, heading_line_at

    rng = random.Random(25)
    parts = ["Procedure", "pre-op", "the rod was placed", " ", "  ", "\t", "-", " - ", "(s)", "(Dr. Lee)", "10/21/2026",
             "x" * 40, "1.", "é", "/", ","]
    long_lines = matched = 0
    for _ in range(6_000):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(10, 40)))
        cut = rng.randint(_LONG_LINE - 3, _LONG_LINE + 3)
        text = text[:cut] + rng.choice(["", ":", "\n", "\r\n", " :"]) + text[cut:]
        for pos in (0, rng.randrange(len(text) + 1)):
            a, b = HEADING_LINE.match(text, pos), heading_line_at(text, pos)
            assert (a is None and b is None) or (a is not None and b is not None and a.span() == b.span()
                                                 and a.groupdict() == b.groupdict()), repr(text)
            if len(text) - pos > _LONG_LINE and not any(c in text[pos:pos + _LONG_LINE] for c in ":\r\n"):
                long_lines += 1
                matched += a is not None
    assert long_lines > 2_000 and matched > 100


TEAM_NOTES = [
    "OPERATIVE REPORT\nTeam 1 (Spine): K. Mensah, MD\nTeam 2 (Orthopaedic Trauma): R. Lang, MD\n\n"
    "TEAM 2 (Dr. Lang), supine, first: The tibia was fixed.\n\nTEAM 1 (Dr. Mensah), prone: Midline incision L1 to L3.\n",
    "Part A (Access surgeon): J. Roe\r\n  part a, exposure: the spine was exposed.\r\n\tPart B (spine): fusion L4-5:\r\n",
    "Surgeon 1 (Neurosurgery): A\nsurgeon 1 - prone\n team 1 done: closed.\nteam 3 (plastics): flap\nTeam 3: flap closure.\n",
]


def test_team_paragraphs_from_a_shared_pass_are_the_cues_own(pipeline):
    """Headings.team_paragraphs tries the team cues only at lines their lead words start, found in the shared
    pass over the note (Headings.words): the same paragraphs as the cues searched over the whole note, on
    corpus notes and multi-team texts (several line ends)."""
    from notechecker.nlp.multimatch import MultiMatch
    from notechecker.nlp.regex_literals import folded
    from tests.corpus_snapshot import corpus

    hd = pipeline.extractor.headings
    for _ in range(PLAIN_FIRST + 1):  # past the first notes, when the words are read
        list(hd._heading_lines("Narrative:\n"))
    assert hd.words is not None and {"team", "part", "surgeon"} <= hd.words
    shared = MultiMatch({}, also=hd.words)
    found = 0
    for text in [raw for _, raw, _ in corpus()] + TEAM_NOTES + [t.replace("\n", "\r") for t in TEAM_NOTES]:
        plain = hd.team_paragraphs(text)
        low = folded(text)  # (the shared pass reads a note folded: an ASCII one)
        assert hd.team_paragraphs(text, shared.scan(low) if low is not None else None) == plain, text[:80]
        found += len(plain)
    assert found >= 8


_LINE_PIECES = ["Narrative", " of procedure", "x" * 30, " ", "  ", "\t", ":", " - ", "-", "(", ")", " (s)", " (Dr. Lee)",
                " dated ", " on ", " 10/21/2026", " 2026-10-21 14:05", "1.", "A) ", "\n", "\r", "\r\n", " word", "DETAILS",
                " the patient was placed prone and the spine exposed", ",", "."]


def test_lines_a_heading_cannot_end_on_are_not_matched():
    """_may_head rules a line out only where HEADING_LINE finds no match at its start: every line start of
    corpus notes (three kinds of line end) and of generated texts of heading pieces."""
    from notechecker.nlp.linkers.headings import _LINE_LEAD, _may_head
    from notechecker.nlp.sections import HEADING_LINE

    rng = random.Random(9)
    texts = [p.read_text(encoding="utf-8").replace("\n", ending) for p in CORPUS for ending in ("\n", "\r\n", "\r")]
    texts += ["".join(rng.choice(_LINE_PIECES) for _ in range(rng.randint(1, 25))) for _ in range(6000)]
    # at the edge: the longest words, then a stamp's "dated" (five characters besides spaces) past their reach
    edges = ["  1) N" + "a" * 80 + "  dated" + " " * pad + "10/21/2026:\n" for pad in range(1, 14)]
    edges += ["N" + "a" * 80 + " " * pad + "on  2026-10-21 :" for pad in range(1, 14)]
    for text in edges:
        assert HEADING_LINE.match(text, 0) is not None and _may_head(text, 0, _LINE_LEAD.match(text, 0).end())
    ruled_out = tried = 0
    for text in texts:
        for line in [0] + [m.end() for m in re.finditer(r"\r\n?|\n", text)]:
            tried += 1
            if not _may_head(text, line, _LINE_LEAD.match(text, line).end()):
                ruled_out += 1
                assert HEADING_LINE.match(text, line) is None, repr(text[line:line + 120])
    assert ruled_out > 500 and tried > 10_000

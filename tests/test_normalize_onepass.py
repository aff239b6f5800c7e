"""The normaliser's one look at a note (nlp/normalize/): gates found from its marks, its words (runs of
letters and digits) and one scan of its digits, and regexes whose look-behind follows their first
character class, read every note exactly as a full run of each pass."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from notechecker.nlp.normalize import load_normalizer
from notechecker.nlp.normalize.passes import Passes
from notechecker.nlp.normalize.words import matches_at

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
NOTES = sorted((ROOT / "sample_notes").glob("*.txt")) + sorted((EVAL / "dev" / "notes").glob("*.txt"))

# spoken, OCR'd, templated and other forms, some across white space, masks or letters outside ASCII
BITS = ["L five", "see five six", "el 5", "ell 4-5", "C 5", "T eleven", "tea ten", "S one", "L4 five", "L  five",
        "L ___ five", "L *** five", "\u017fix", "L \u017fix", "el \u017fix", "\u0131l", "sea 6", "L five ess one",
        "L5-Sl", "C1O", "C5-CS", "f1ve", "p1ate", "1O mm", "2l cc", "O.5 mL", "L45  ", "C56", "D7-D9", "SEE FIVE SIX",
        "Procedure colon fusion", "hard wear", "X ray", "[x] fusion [ ] none", "Cee 5", "el\n5", "C\tfive",
        "\u0130l five", "L\u00a0five", "el\u20035", "L5", "T12", "S1", "C 2l",
        "not appli-\ncable", "Implant: not appli-\ncable", "Drains: N/A", "EBL: ***", "Label: ___", "extra va\u017fation",
        "image inten\u017fifier", "hard\nwear", "HARD WEAR", "x-ray", "M.R.I.", "ab1c0d", "p1ate1O", "f1ve."]


def _texts(n: int = 600) -> list[str]:
    base = [p.read_text(encoding="utf-8") for p in NOTES]
    assert len(base) > 30
    rng = random.Random(25)
    out = []
    for _ in range(n):
        t = rng.choice(base)
        for _ in range(rng.randint(1, 6)):
            p = rng.randrange(len(t) + 1)
            t = t[:p] + rng.choice([" ", "\n", ""]) + rng.choice(BITS) + rng.choice([" ", ".", ",", "\n", ""]) + t[p:]
        out.append(t)
    return out


def _read(n, texts):
    return [(r.text, r.rewrites) for r in map(n, texts)]


def test_spoken_gate_changes_nothing(monkeypatch):
    n = load_normalizer()
    texts = _texts()
    gated = _read(n, texts)
    assert sum(1 for _, rw in gated for r in rw if r.kind == "spoken") > 300
    monkeypatch.setattr(Passes, "_spoken_may", lambda self, text, hits: (True, True))  # every note scanned
    assert _read(n, texts) == gated


def test_template_and_phrase_gates_change_nothing(monkeypatch):
    from notechecker.nlp.normalize.normalizer import Normalizer

    n = load_normalizer()
    texts = _texts()
    gated = _read(n, texts)
    kinds = [r.kind for _, rw in gated for r in rw]
    assert kinds.count("template") > 100 and kinds.count("checkbox") > 20 and kinds.count("phrase") > 100
    every_part = {"fields": [], "masks": [], "boxes": []}
    real = Passes._templates
    monkeypatch.setattr(Passes, "_templates", lambda self, text, hits=None: real(self, text, every_part))
    monkeypatch.setattr(Normalizer, "_phrase_may", lambda self, *args: True)
    assert _read(n, texts) == gated


END_WORDS = ["1oss", "Remova1", "0PERATIVE", "x 1abc1 y", "ab1", "abc1.", "(1abc)", "1ab", "abc11", "11abc",
             "a1b1c1d", "-1loss-", "1loss1", "\u00e91loss", "1loss\u00e9", "b1ood 1oss", "S1", "1cm", "EST1MATED"]


def test_digit_words_are_found_where_a_full_scan_finds_them():
    """One scan for a digit beside a letter finds what a full scan of ``_digit_word`` and of the
    whole-word form (a digit first or last, three letters at least beside it) find."""
    n = load_normalizer()
    digits = re.escape("".join(sorted(n._word_letters)))
    ends_rx = re.compile(rf"(?<![A-Za-z0-9])(?:[{digits}][A-Za-z]{{3,}}|[A-Za-z]{{3,}}[{digits}])(?![A-Za-z0-9])")
    found = ends = 0
    texts = _texts(300) + END_WORDS + [" ".join(END_WORDS)]
    for t in texts:
        words, end_words = n._digit_words(t)
        want = [m.span() for m in n._digit_word.finditer(t)]
        assert [m.span() for m in words] == want
        assert end_words == [m.span() for m in ends_rx.finditer(t)]
        found += len(want)
        ends += len(end_words)
    assert found > 20 and ends > 10


def test_approximate_words_are_the_runs_a_full_scan_finds():
    """The words the approximate pass looks up (runs of ASCII letters, split out in C) are the unknown
    words ``_word_rx`` finds, letters outside ASCII and digits beside them included."""
    n = load_normalizer()
    texts = _texts(300) + ["1abcdefg x abcdefg1 abcdefgh_ijklmno", "caf\u00e9ssss abc\u0131defgh \u0130stanbul",
                           "\ud800abcdefgh ab-cdefghij \u212aelvinsss"]
    for t in texts:
        lower = t.lower()
        assert n._words_to_read(lower) == set(n._word_rx.findall(lower)) - n._known
    assert n._words_to_read("the pedicle screws were plaeced") == {"plaeced"}


def test_spoken_gate_skips_notes_without_spoken_words():
    n = load_normalizer()
    text = NOTES[0].read_text(encoding="utf-8")
    assert _may(n, "The screw was placed at L5 and S1 with care.") == (False, False)
    assert _may(n, "placed at L five") == (True, False)
    assert _may(n, "placed at el 5") == (False, True)
    assert _may(n, "L \u017fix") == (True, True)  # matched case-blind: not gated
    assert isinstance(n._spoken_may(text, None), tuple)


def _may(n, text):
    return tuple(map(bool, n._spoken_may(text, None)))


def test_a_long_s_number_word_is_not_read_and_does_not_fail():
    n = load_normalizer()
    r = n("Fusion at L \u017fix and L five ess one.")
    assert r.text.startswith("Fusion at L \u017fix and ") and any(x.normal == "L5-S1" for x in r.rewrites)


@pytest.mark.parametrize("attr,before", [
    ("_glued_pair", r"(?<![A-Za-z0-9])(?P<l>[CTLS])(?P<sp>\s?)(?P<a>\d)(?P<b>\d)(?![A-Za-z0-9])(?!\.\d)(?!\s?%)"),
    ("_digit_word", r"(?<![A-Za-z0-9])[A-Za-z]+[{digits}][A-Za-z{digits}]*[A-Za-z](?![A-Za-z0-9])"),
    ("_word_rx", r"(?<![A-Za-z0-9])[A-Za-z]{{{min},}}(?![A-Za-z0-9])"),
    ("_WRAP", r"(?<=[a-z,])\n(?=[a-z]+[ ,.])"),
])
def test_a_look_behind_moved_after_the_first_class_matches_the_same(attr, before):
    """Each scan against the form with its look-behind first (slower: no skipping ahead)."""
    n = load_normalizer()
    conf = re.escape("".join(sorted(set(n._level_digits))))
    digits = re.escape("".join(sorted(n._word_letters)))
    from notechecker.nlp.normalize.model import NormalizeModel
    from notechecker.schema.vocab.base import read_yaml

    min_letters = NormalizeModel.model_validate(read_yaml(n.path)).approximate.min_letters
    old = re.compile(before.format(conf=conf, digits=digits, min=min_letters))
    new = getattr(n, attr)
    assert new.pattern != old.pattern
    texts = _texts(300) + [p.read_text(encoding="utf-8") for p in NOTES]
    found = 0
    for t in texts:
        for x in (t, t.lower()):
            a = [(m.span(), m.groups()) for m in old.finditer(x)]
            assert [(m.span(), m.groups()) for m in new.finditer(x)] == a
            found += len(a)
    assert found > 50


def test_ocr_number_runs_read_as_before():
    """A run of digits and confusable letters is read only when it holds one of each (as the look-aheads did)."""
    n = load_normalizer()
    nconf = re.escape("".join(sorted(set(n._number_digits))))
    old = re.compile(rf"(?<![A-Za-z0-9])(?=[0-9{nconf}]*[0-9])(?=[0-9{nconf}]*[{nconf}])[0-9{nconf}]+(?![A-Za-z0-9])")
    found = 0
    for t in _texts(300) + ["1O0 lO1 x1O 1Ox O1O1 l 1 IIO1 10mm 1Omm a-1O-b 1O/O2/2O24 (Ol) 0|1"]:
        want = [m.span() for m in old.finditer(t)]
        assert n._number_runs(t) == want  # found from a digit beside a confusable letter
        found += len(want)
    assert found > 20


def test_phrases_tried_where_their_first_words_are_match_a_full_scan():
    """The phrase pass tries its regex only at the first words of the phrases whose runs are all in the
    note; it finds what a scan of every position finds (across white space, in capitals, in the plural,
    letters outside ASCII), and a note its gate closes holds no phrase."""
    n = load_normalizer()
    found = 0
    for t in _texts(300) + ["HARD\tWEAR and X  rays", "hard \u017f wear, Image\nintensifiers", "\u0130 x ray",
                            "M.R.I.s and C.T. x\nray", "xray hardwear m.r.i", "hard-wear peakcage"]:
        hits = n._hits(t)
        full = [(m.span(), m.group()) for m in n._phrase_rx.finditer(t)]
        if "inexact" not in hits:
            assert [(m.span(), m.group()) for m in matches_at(n._phrase_rx, t, n._phrase_spots(t, hits))] == full
        assert n._phrases_pass(t, hits) == n._phrases_pass(t)
        if not n._phrase_may(hits):
            assert full == []
        found += len(full)
    assert found > 50


def test_fields_tried_before_their_colons_are_every_field(monkeypatch):
    """Template fields are tried only in the label's widest width before a colon the field's tail holds at, and
    the spaces and tabs before that (passes._fields): the field regex's every match over the whole note, and
    notes read alike where it is tried everywhere."""
    n = load_normalizer()
    assert n._label_width is not None  # (else every position is tried)
    w = n._label_width
    texts = _texts() + ["Implant:  ***  Drains: N/A\nEBL: ___", "Complications: not\napplicable", "x: ***|",
                        "A" * w + ": N/A", "A" * (w + 1) + ": N/A", " \t " * 30 + "B" * w + ":***\n",
                        "a: b: c:  ___  d: N/A|e: ***|", "x  " + "Co-surgeon " * 5 + ": N/A", ":N/A ::***",
                        "\u0130 *** [ ] \u017f: N/A", "Ne\u212a: n/a  S\u017fx: NOT APPLICABLE"]
    found = 0
    for t in texts:
        want = [m.span() for m in n._field.finditer(t)]
        assert [m.span() for m in n._fields(t)] == want
        found += len(want)
    assert found > 20
    fields = _read(n, texts)
    assert sum(1 for _, rw in fields for r in rw if r.kind == "template") > 100
    monkeypatch.setattr(n, "_label_width", None)
    monkeypatch.setattr(n, "_field_colon", re.compile(""))  # tried at every position of every note
    assert _read(n, texts) == fields


def test_ocr_levels_are_the_former_scans_levels_with_a_confusable():
    """The OCR level scan skips levels written in digits ("L4", "T12") that its pass skipped after the scan."""
    n = load_normalizer()
    conf = re.escape("".join(sorted(set(n._level_digits))))
    old = re.compile(rf"(?<![A-Za-z0-9])([CTLS])([0-9{conf}]{{1,2}})(?![A-Za-z0-9])(?!\s?\d)")
    found = 0
    for t in _texts(300) + ["L1| S|1 Tl1 T1O Ll L1|5 CO C1O5 L4 T12 L1o S1 O", "x L1|"]:
        want = [(m.span(), m.groups()) for m in old.finditer(t) if not m.group(2).isdigit()]
        assert [(m.span(), m.groups()) for m in n._ocr_level.finditer(t) if not m.group(2).isdigit()] == want
        found += len(want)
    assert found > 20


def test_cs_for_c5_tried_at_each_cs_matches_a_full_scan():
    n = load_normalizer()
    texts = _texts(200) + ["CS-C6 and C4-CS, C3 to CS; CSF leak; ACS-C6 CS - C7 C4/CS", "CSCS-C6"]
    found = 0
    for t in texts:
        got = [f[:2] for f in n._ocr(t) if f[2] == "C5" and t[f[0]:f[1]] == "CS"]
        want = [m.span() for m in n._s_for_5.finditer(t)]
        assert got == want
        found += len(want)
    assert found >= 4


def test_glued_pairs_tried_after_their_letter_match_a_full_scan():
    """A glued pair ("L45", "C 56") is tried where a digit follows a level letter (and a space), and found
    as a scan of every position finds it (Unicode digits and spaces too)."""
    n = load_normalizer()
    found = 0
    for t in _texts(300) + ["L45 C 56 T\u00a012 L\u0664\u0665 S12% CL45 L456 L4 5 L 45.5"]:
        want = [(m.span(), m.groups()) for m in n._glued_pair.finditer(t)]
        assert [(m.span(), m.groups()) for m in matches_at(n._glued_pair, t, n._glued_spots(t))] == want
        found += len(want)
    assert found > 50


def test_template_regexes_tried_where_their_literals_are_match_a_full_scan():
    """The placeholder and box regexes (case-blind: no skipping ahead in the regex engine) are tried only where
    their literals are ("*", "_", "["); they find what a scan of every position finds."""
    n = load_normalizer()
    texts = _texts(300) + ["Implant:  ***  Drains: N/A\nEBL: ___", "[x] L1 [ ] L2 [X] S1 [\u2713] T1 [ x ]", "x: ***|",
                           "a ** b __ c [] d [  ] e : n/a", "\u0130 *** [ ] \u017f: N/A"]
    found = 0
    for attr in ("_placeholder", "_unchecked", "_checked"):
        gated = getattr(n, attr)
        for _ in range(20):  # past the searches a GatedRegex answers with the plain regex
            list(gated.finditer("x"))
        assert gated.first  # the literals it is tried at
        for t in texts:
            want = [(m.span(), m.group()) for m in gated.regex.finditer(t)]
            assert [(m.span(), m.group()) for m in gated.finditer(t)] == want
            found += len(want)
    assert found > 100


def _is_each_passs_scan(n, t: str, scan) -> list:
    """Assert the one digit scan of ``t`` gives each pass's digits as its own scan finds them; the OCR'd
    levels with a confusion (none where the scan says no OCR'd level can be)."""
    assert scan.numbers == [m.start() for m in n._number_pair.finditer(t)]
    assert scan.words == [m.start() for m in n._digit_near.finditer(t)]
    assert scan.glued == [m.start() for m in n._glued_digit.finditer(t)]
    assert scan.lettered == [m.start() for m in re.finditer(r"(?<=[A-Za-z]{2})[0-9]", t)]
    levels = [m for m in n._ocr_level.finditer(t)
              if any(c.isdigit() for c in m.group(2)) and not m.group(2).isdigit() or m.group(2) == "l"]
    assert scan.levels or not levels
    return levels


def test_one_digit_scan_finds_what_each_passs_scan_finds():
    """The digits the number, digit-word and glued-pair scans start from, found by one scan (spots.py), are
    theirs; a note where no OCR'd level can be has no match of the OCR level scan with a confusion."""
    n = load_normalizer()
    texts = _texts(300) + ["L1| S|1 Tl1 T1O Ll L1|5 CO C1O5 L4 T12 L1o S1 O", "x L1|", "1O0 lO1 x1O 1Ox O1O1 Sl",
                           "L45 C 56 T\t12 CL45 L456 L4 5 L 45.5", "EST1MATED 1oss Remova1 i1iac 0PERATIVE Ll"]
    counts = [0, 0, 0, 0]
    for t in texts:
        scan = n._digit_scan(t)
        if scan is None:
            assert not t.isascii()
            continue
        levels = _is_each_passs_scan(n, t, scan)
        for i, x in enumerate((scan.numbers, scan.words, scan.glued, levels)):
            counts[i] += len(x)
    assert all(c > 10 for c in counts)
    assert n._digit_scan("L\u0664\u0665 caf\u00e9") is None  # not ASCII: each pass scans itself


#: characters outside ASCII that are no letter, digit or space: typographic quotes and dashes, signs
INERT = ["\u2019", "\u201c", "\u201d", "\u2013", "\u2014", "\u00b0", "\u00b1", "\u00d7", "\u2022", "\u2026", "\u00a7"]


def _with_inert(texts: list[str], seed: int = 31) -> list[str]:
    """``texts`` with characters of INERT put in, most beside a digit or a level letter."""
    rng = random.Random(seed)
    out = []
    for t in texts:
        spots = [m.start() + rng.randint(0, 1) for m in re.finditer(r"[0-9CTLSlO|]", t)] or [0]
        for _ in range(rng.randint(1, 8)):
            p = rng.choice(spots) if rng.random() < 0.8 else rng.randrange(len(t) + 1)
            t = t[:p] + rng.choice(INERT) + t[p:]
        out.append(t.replace("'", "\u2019"))
    return out


def test_one_digit_scan_on_a_note_with_typographic_characters_finds_what_each_pass_finds(monkeypatch):
    """A note whose characters outside ASCII are no letter, digit or space (typographic quotes, dashes, a
    degree sign) gets the one digit scan: each pass's digits as its own scan finds them, and the same
    normalised note as when every pass scans it itself; a letter, digit or space outside ASCII keeps the
    passes' own scans."""
    from notechecker.nlp.normalize import spots

    n = load_normalizer()
    texts = _with_inert(_texts(200) + ["L1| S|1 Tl1 T1O Ll L1|5 CO C1O5 L4 T12 L1o S1 O", "1O0 lO1 x1O 1Ox O1O1 Sl",
                                       "L45 C 56 T\t12 CL45 L456 L4 5 L 45.5", "EST1MATED 1oss Remova1 i1iac 0PERATIVE"])
    scanned = typographic = 0
    for t in texts:
        scan = n._digit_scan(t)
        assert not t.isascii()
        if any(ord(c) > 127 and c not in INERT for c in t):  # (BITS' letters and spaces outside ASCII)
            assert scan is None
            continue
        assert scan is not None, t[:60]
        typographic += 1
        _is_each_passs_scan(n, t, scan)
        scanned += len(scan.numbers) + len(scan.words) + len(scan.glued)
    assert scanned > 200 and typographic > 100
    got = _read(n, texts)
    monkeypatch.setattr(spots, "_inert", lambda text: False)  # every pass scans a note outside ASCII itself
    assert _read(n, texts) == got
    for other in ("L\u0664\u0665", "caf\u00e9 L5", "L\u00a05", "C\u00b2", "x\u2003y 1O", "a_\u00b0"):
        assert n._digit_scan(other) is None, other


def test_spoken_gate_reads_the_runs_of_the_note():
    """Spelled levels need a number word and a level letter or letter word, whole; spoken letters before
    digits a letter word alone or with its digits glued on ("el5"); anything else is not looked at."""
    n = load_normalizer()
    assert _may(n, "the bone was done at L4 and one level") == (False, False)
    assert _may(n, "at el5 and") == (False, True)
    assert _may(n, "at see  12.") == (False, True)
    assert _may(n, "at S\tone.") == (True, False)
    assert _may(n, "C-arm then one screw") == (False, False)  # "c" is a run, not before "one"
    assert _may(n, "hello L\u00a0five") == (True, False)
    for t in _texts(300):
        words, digits = n._spoken_may(t, n._hits(t))
        assert words or not list(n._spoken_words.finditer(t))
        assert digits or not list(n._spoken_digits.finditer(t))


def test_dictation_gate_closes_only_on_notes_without_a_dictated_mark():
    """The dictated-punctuation regexes (tried at every position) run only where a mark follows the words
    of a section heading; where the gate is closed, a full scan finds nothing."""
    n = load_normalizer()
    extra = ["Procedure colon fusion", "same. Procedure colon ACDF", "the sigmoid colon was", "Postoperative\n"
             "diagnosis colon same", "x.  Findings   colon  none", "FINDINGS COLON none", "Findings colonic",
             "colon", " colon", "Procedure\tcolon", "pre-Procedure colon x"]
    found = closed = 0
    for t in _texts(300) + extra + [p.read_text(encoding="utf-8") for p in NOTES]:
        hits = n._hits(t)
        full = list(n._dictated.finditer(t)) + list(n._dictated_mid.finditer(t))
        if not n._dictation_may(t, hits):
            closed += 1
            assert full == []
        found += len(full)
    assert found >= 8 and closed > 100


def test_words_read_as_written_are_not_looked_up_again():
    n = load_normalizer()
    text = "The petticle screws and the plaeced rods were fine."
    first = n(text)
    assert "fine" in n._as_written or "fine" in n._known
    assert "petticle" not in n._as_written and n(text) == first
    assert any(r.normal == "pedicle" for r in first.rewrites)


@pytest.mark.parametrize("text,phrases", [
    ("The metal-\nwork was removed.", []),  # a phrase made by a rewrite: the note as written holds none
    ("Metalworking tools. The metal-\nwork was removed.", ["hardware"]),
    ("Ms. *** had the metal-\nwork removed; x ray done", ["hardware", "X-ray"]),
    ("Ms. *** had metalwork removed", ["hardware"]),
    ("Ms. *** had no implants", []),
])
def test_phrases_in_a_rewritten_note_are_read_as_before(text, phrases):
    """After a pass rewrote the note, the phrase pass runs where the note as written holds every word of
    some phrase, and reads the rewritten note (a phrase a join made is read only then)."""
    n = load_normalizer()
    assert [r.normal for r in n(text).rewrites if r.kind == "phrase"] == phrases


def test_deletes_are_every_word_with_up_to_n_letters_deleted():
    from notechecker.nlp.normalize.words import deletes

    def one_at_a_time(word, n):
        out, frontier = {word}, {word}
        for _ in range(n):
            frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
            out |= frontier
        return out

    rng = random.Random(3)
    for _ in range(500):
        w = "".join(rng.choice("abcdel") for _ in range(rng.randint(0, 11)))
        for n in range(4):
            assert deletes(w, n) == one_at_a_time(w, n)
    assert deletes("abc", 2) == {"abc", "bc", "ac", "ab", "a", "b", "c"}


def test_hyphens_and_page_markers_tried_where_they_can_be_match_a_full_scan():
    n = load_normalizer()
    extra = ["pedi-\ncle", "pedi- \r\ncle x-\nab a-\nbc 12-\ncd", "instrumenta-\n  tion", "ab-\n\ncd", "Ab-\nCd",
             "text   Page 2 of 3\nmore", "Pg 1/1", "   page 4\n", "PAGE 10 OF 12", "pagers 1 of 2", "\u00e9pedi-\ncle"]
    found = pages = 0
    for t in _texts(300) + extra:
        want = [(m.span(), m.groups()) for m in n._HYPHEN.finditer(t)]
        assert [(f[0], f[1]) for f in n._hyphens(t)] == [s for s, _ in want]
        found += len(want)
        for gated, plain in zip(n._marker_gates, n._markers):
            hit = plain.search(t)
            got = gated.search(t)
            assert (got and (got.span(), got.group())) == (hit and (hit.span(), hit.group()))
            pages += hit is not None
    assert found >= 6 and pages >= 4


def _nearest_plain(n, word):
    """What ``_nearest`` reads ``word`` as, every vocabulary word sharing a deletion with it looked at."""
    n._approx_cache.clear()
    n._may_confuse = lambda w: True  # (an instance attribute over the method: the plain look-up)
    try:
        return n._nearest(word)
    finally:
        del n._may_confuse
        n._approx_cache.clear()


def test_words_no_vocabulary_word_may_be_confused_with_are_read_as_by_the_plain_look_up():
    """``_may_confuse`` (a word's letters each written as one of its group of confusable letters, and the
    word with doubled letters written once) leaves out no word ``_nearest`` would read: on every word of
    the corpus notes and on misreadings of every vocabulary word (a confusable letter or two swapped, a
    letter doubled, dropped or added), each read as the plain look-up reads it."""
    from notechecker.nlp.normalize.spots import runs_of
    from tests.corpus_snapshot import corpus

    n = load_normalizer()
    words = {w for _, text, _ in corpus() for w in runs_of(text.lower()) if w.isalpha() and len(w) >= 6}
    rng = random.Random(7)
    alike = {c: [b for pair in n._confusable if c in pair for b in pair if b != c] for c in "abcdefghijklmnopqrstuvwxyz"}
    for v in sorted(n._vocab):
        for i, c in enumerate(v):
            words.update(v[:i] + b + v[i + 1:] for b in alike[c])  # one letter swapped
            words.update((v[:i] + c + v[i:], v[:i] + v[i + 1:], v[:i] + rng.choice("aeilnort") + v[i:]))
            j = rng.randrange(len(v))
            if alike[c] and alike[v[j]] and i != j:  # two swapped
                w = list(v)
                w[i], w[j] = rng.choice(alike[c]), rng.choice(alike[v[j]])
                words.add("".join(w))
    words = {w for w in words if w.isalpha() and len(w) >= n._min_letters}
    assert len(words) > 10_000
    read = 0
    for w in sorted(words):
        n._approx_cache.clear()
        got = n._nearest(w)
        assert got == _nearest_plain(n, w), w
        read += got is not None
    assert read > 500  # misreadings read as their vocabulary word among them
    assert sum(map(n._may_confuse, words)) < len(words) / 2  # ... and most words never looked up


def test_alike_table_writes_each_group_of_confusable_letters_as_one_letter():
    from notechecker.nlp.normalize.words import alike_table, once

    table = alike_table([("i", "l"), ("l", "t"), ("a", "o"), ("j", "i"), ("x", "y"), ("y", "t")])
    assert "iltjxy ao b".translate(table) == "iiiiii aa b"
    assert alike_table([]) == {}
    assert once("pedicclle") == "pedicle" and once("aaa") == "a" and once("") == ""


def test_once_writes_every_run_of_one_character_once_as_the_plain_substitution_does():
    """words.once (each character the same character follows deleted) equals replacing every run ``(.)\\1+``
    by its character, on every word of the corpus notes and on generated strings (line ends, which ``.``
    does not match, other scripts, runs of every length)."""
    import random
    import re

    from notechecker.nlp.normalize.words import once
    from tests.corpus_snapshot import corpus

    plain = re.compile(r"(.)\1+")
    words = {w for _, text, _ in corpus() for w in text.split()}
    rng = random.Random(9)
    pool = "aabclltt..--  \n\n\r\té\u00e9ß1100"
    words |= {"".join(rng.choice(pool) for _ in range(rng.randint(0, 14))) for _ in range(50_000)}
    assert sum(plain.search(w) is not None for w in words) > 10_000
    for w in words:
        assert once(w) == plain.sub(r"\1", w), repr(w)

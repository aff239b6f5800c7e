"""Sentence starts of the segmenter (nlp/segmenter.py), rule by rule, on short op-note texts."""
from __future__ import annotations

import pytest

from notechecker.nlp.segmenter import MAX_SENTENCE, boundaries


@pytest.mark.parametrize("text, starts", [
    ("Seen by Dr. Smith today. He agreed.", [25]),          # a known abbreviation ends no sentence
    ("Seen by J. Smith today.", []),                          # nor does a single initial
    ("Use e.g. The rod.", []),                                # nor an abbreviation with periods in it
    ("Seen by Dr\n. Smith today.", [11]),                    # the word before a line end before the period
    ("1. Anterior fusion.\n2. Posterior fusion.", [20]),     # a list number is no sentence end
    ("12 . Next step. Then more.", [16]),                     # ... spaced from its period too
    ("Done!!! Next one.", [8]),                               # after the whole run of marks
    ("Closed.\nNext line", [8]),                              # a line after a final period
    ("one two three four five six\nnext line here", [28]),   # a line after a short line
    ("one two three four five six seven\nnext line here", []),  # but not after a line of 7 words
    ("COMPLICATIONS: None.", [15]),                           # after a heading with a colon
    ("Fused at L4-5. Then closed.", [15]),                    # a period after a digit, a bracket or a sign
    ("As noted (see above). Then closed.", [22]),             # ... has no word before it: it ends one
    ("Placed 10%. Then closed.", [12]),
    ("Gave 5 mg. Then closed.", []),                          # a unit after a number is a known abbreviation
])
def test_sentence_starts(text, starts):
    assert boundaries(text) == starts


def test_a_long_stretch_is_cut_at_the_first_space_after_the_cap():
    assert boundaries("a" * (MAX_SENTENCE + 1000)) == [MAX_SENTENCE]  # no space: at the cap
    text = "word " * 1100 + "End. More."
    assert boundaries(text) == [MAX_SENTENCE + 5, text.index("More")]
    short_enough = "word " * 900 + "End. " + "More " * 900
    assert boundaries(short_enough) == [short_enough.index("End. ") + 5]  # no stretch over the cap: no cut


def test_the_shortcuts_give_the_general_scans_starts(monkeypatch):
    """The scans for texts without "\\r" or without "?"/"!", and the letters-before-a-period shortcut,
    give the starts the general scans give: on every corpus note, the same with CRLF line ends and
    with a "?", and on generated texts."""
    import random

    from notechecker.nlp import segmenter
    from tests.corpus_snapshot import corpus

    texts = [text for _, text, _ in corpus()]
    texts += [t.replace("\n", "\r\n") for t in texts[::7]] + [t.replace(". ", "? ", 3) for t in texts[::5]]
    rnd = random.Random(7)
    words = ["Dr", "dr", "e.g", "approx", "J", "Anterior", "fusionxx", "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9x",
             "12", "1", ".", "..", "?", "!", " ", "  ", "\n", "\n\n", "\r\n", "\r", ":", "COMPLICATIONS:", ")", "- "]
    texts += ["".join(rnd.choice(words) for _ in range(rnd.randint(1, 40))) for _ in range(3000)]
    fast = [boundaries(t) for t in texts]
    monkeypatch.setattr(segmenter, "_BLANK_LINE_LF", segmenter._BLANK_LINE)
    monkeypatch.setattr(segmenter, "_LINE_START_LF", segmenter._LINE_START)
    monkeypatch.setattr(segmenter, "_SENT_END_PERIOD", segmenter._SENT_END)
    monkeypatch.setattr(segmenter, "_PAST_ABBREVIATION", 10**9)
    assert sum(map(len, fast)) > 10_000
    for text, got in zip(texts, fast):
        assert got == boundaries(text), repr(text[:200])


def test_a_text_of_one_line_skips_only_scans_that_find_nothing_in_it():
    """boundaries() leaves out the line-structure scans where a text holds no line break: on one-line
    texts (corpus notes' lines, generated ones) those scans find nothing."""
    import random

    from notechecker.nlp import segmenter
    from tests.corpus_snapshot import corpus

    lines = [ln for _, text, _ in corpus() for ln in text.splitlines() if ln.strip()][::3]
    rnd = random.Random(5)
    words = ["Dr.", "COMPLICATIONS:", "1.", "-", " ", "\t", "", "PLAN: none", "\u2028", "\x0b", "\x0c", "x"]
    lines += ["".join(rnd.choice(words) for _ in range(rnd.randint(1, 30))) for _ in range(2000)]
    one_line = [ln for ln in lines if "\n" not in ln and "\r" not in ln]
    assert len(one_line) > 4000
    for rx in (segmenter._BLANK_LINE, segmenter._LINE_START, segmenter._HEADING_COLON_AFTER_BREAK):
        assert not any(rx.search(ln) for ln in one_line), rx.pattern


def test_the_segmenters_record_gives_what_the_doc_gives(pipeline):
    """segmenter.Sentences (the sentences the segmenter set, kept in doc.user_data for ConText, the sectionizer and
    the extractor): its starts are those of ``doc.sents``, its offsets their characters, its IDX the tokens', on
    every corpus note and on generated texts (runs of spaces, tabs and line ends, trailing spaces, a text of white
    space); ConText reading it gives the graph it gives reading the token array; a Doc retokenized or with a
    ``sents`` hook is read from its tokens again."""
    import random

    from notechecker.nlp.extract import sentence_offsets
    from notechecker.nlp.segmenter import SENTENCES_KEY, Sentences
    from tests.corpus_snapshot import corpus

    nlp = pipeline.nlp
    rng = random.Random(8)
    pieces = ["Rod", "placed.", "Dr.", "L4-5", "EBL:", "1.", " ", "  ", "\t", "\n", "\n\n", " \n ", "None", "?"]
    generated = ["".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(1, 40)))
                 for _ in range(300)]
    texts = [text for _, text, _ in corpus()] + generated + ["  \n", "x", "End. ", "One. Two.\n\nThree "]
    context = nlp.get_pipe("context")
    seen = 0
    for text in texts:
        doc = nlp(text)
        record = Sentences.of(doc)
        sents = list(doc.sents)
        assert record is not None and record.starts == [s.start for s in sents]
        assert record.offsets(doc) == ([s.start_char for s in sents], [s.end_char for s in sents])
        assert record.idx.tolist() == [t.idx for t in doc]  # (the sectionizer's IDX)
        seen += len(sents)
        if len(seen_graph := doc._.context_graph.edges):
            plain = nlp(text)
            del plain.user_data[SENTENCES_KEY]
            context(plain)  # (again, without the record: the same edges)
            assert [(t.start, t.end, m.modifier_span, m.category) for t, m in plain._.context_graph.edges] == [
                (t.start, t.end, m.modifier_span, m.category) for t, m in seen_graph]
    assert seen > 20000

    merged = nlp("The rod was placed at L4-L5.  Then the wound was closed. ")
    with merged.retokenize() as retokenizer:
        retokenizer.merge(merged[1:3])
    assert Sentences.of(merged) is None
    assert sentence_offsets(merged) == ([s.start_char for s in merged.sents], [s.end_char for s in merged.sents])
    hooked = nlp("The rod was placed. Then the wound was closed.")
    hooked.user_hooks["sents"] = lambda doc: iter([doc[:]])
    assert Sentences.of(hooked) is None and sentence_offsets(hooked) == ([0], [len(hooked.text)])
    assert Sentences.of(nlp.make_doc("no pipeline ran")) is None

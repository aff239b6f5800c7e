"""The extractor's reading of a note (nlp/extract.py ``Extractor.read``, nlp/linkers/base.py ``ByLabel``):
a label's hits are read the first time a linker asks for them, and are the hits spaCy's own span API
gives (``span.label_``, ``span._.target_rule``, the longest per label where they overlap); the hardware
count and the level joiner's shortcuts give what the general loops give."""
from __future__ import annotations

import dataclasses
from collections import defaultdict

import pytest

from notechecker.model import ASSERTION_ORDER
from notechecker.nlp import level_grammar as g
from notechecker.nlp import levels as lv
from notechecker.nlp.linkers.base import ByLabel, Hit, norm
from notechecker.nlp.pipeline import CUE_GROUP, TARGET_GROUP
from notechecker.nlp.regex_literals import folded

from tests.conftest import SAMPLES, nonspine_texts


def test_a_label_is_built_once_when_first_asked_and_absent_when_empty():
    built: list[str] = []

    def build(label: str) -> list[str]:
        built.append(label)
        return [] if label == "EMPTY" else [label.lower()]

    m = ByLabel({"A": None, "EMPTY": None, "B": None}, build)
    assert built == []
    assert m.get("B") == ["b"] and m.get("B", []) == ["b"]
    assert built == ["B"]
    assert m.get("EMPTY", []) == [] and m.get("EMPTY") is None and "EMPTY" not in m
    with pytest.raises(KeyError):
        m["EMPTY"]
    assert m.get("UNKNOWN", ()) == () and "UNKNOWN" not in built  # a label without spans is never built
    assert list(m) == ["A", "B"] and len(m) == 2 and dict(m.items()) == {"A": ["a"], "B": ["b"]}
    assert built == ["B", "EMPTY", "A"]  # each label once


def _reference_hits(extractor, doc, text, v) -> dict[str, list[tuple]]:
    """The hits of every label, read eagerly through spaCy's public span API."""
    graph = doc._.context_graph
    found: dict[tuple[int, int], set] = defaultdict(set)
    from notechecker.schema.vocab.context import CONTEXT_CATEGORIES

    for target, modifier in (graph.edges if graph is not None else ()):
        if CONTEXT_CATEGORIES.get(modifier.category):
            found[(target.start, target.end)].add(CONTEXT_CATEGORIES[modifier.category])
    out: dict[str, list] = defaultdict(list)
    for span in (*doc.spans[TARGET_GROUP], *doc.spans.get(CUE_GROUP, ())):
        label, rule = span.label_, span._.target_rule
        if rule is not None and rule.category == label and rule.metadata:
            value, weight = rule.metadata["value"], rule.metadata.get("weight", 2)
        elif (label, norm(span.text)) in extractor.values:
            value, weight = extractor.values[(label, norm(span.text))]
        else:
            continue
        section = v.section_at(span.start_char)
        said = set(found.get((span.start, span.end), ()))
        if section in extractor.L.section_assertion:
            said.add(extractor.L.section_assertion[section])
        assertion = next((a for a in ASSERTION_ORDER if a in said), "present")
        out[label].append((span.start_char, span.end_char, span.start, span.end, value, weight, assertion,
                           norm(span.text), section, v.sent_at(span.start_char)))
    for label, hits in out.items():
        hits.sort(key=lambda h: (h[0], h[0] - h[1]))
        kept: list[tuple] = []
        for h in hits:
            if kept and h[0] < kept[-1][1]:
                if h[1] - h[0] > kept[-1][1] - kept[-1][0]:
                    kept[-1] = h
                continue
            kept.append(h)
        out[label] = kept
    return out


def test_the_hits_read_when_asked_are_those_of_spacys_span_api(pipeline):
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))[:12]] + nonspine_texts(6)
    labels_seen = set()
    for text in texts:
        doc = pipeline._doc(pipeline.normalizer(text))
        v = pipeline.extractor.read(doc)
        want = _reference_hits(pipeline.extractor, doc, v.text, v)
        assert set(v.hits_by_label) == set(want)
        for label, hits in want.items():
            got = v.hits_by_label[label]
            assert [(h.start, h.end, h.tok_start, h.tok_end, h.value, h.weight, h.assertion, h.literal, h.section,
                     h.sent) for h in got] == hits
            assert all(h.label == label for h in got)
            # made by setting its slots: every field set, equal to the dataclass made by its __init__
            assert all(Hit(**{f.name: getattr(h, f.name) for f in dataclasses.fields(Hit)}) == h and h.ev is None
                       for h in got)
            by_sent = v.by_sent[label]
            assert sorted((s, h.start) for s, hs in by_sent.items() for h in hs) == sorted((h.sent, h.start) for h in got)
            labels_seen.add(label)
    assert {"INSTRUMENT", "ACTION", "PROCEDURE", "APPROACH"} <= labels_seen


def test_evidence_is_made_as_the_dataclass_makes_it(pipeline):
    """NoteView's evidence (slots set directly) is what Evidence(...) gives: equal, hashed, shown, pickled,
    frozen and replaced alike; a class that checks anything when made, or a field the setters leave out, is
    refused (facts.slot_setters: made with its own __init__ then). A hit's evidence is made once."""
    import dataclasses
    import pickle

    from notechecker.facts import Evidence, slot_setters

    text = (SAMPLES / "sn01_removal_infection_headed.txt").read_text(encoding="utf-8")
    v = pipeline.extractor.read(pipeline._doc(pipeline.normalizer(text)))
    hits = [h for label in ("INSTRUMENT", "APPROACH") for h in v.hits(label)]
    assert hits
    made = [(v.hit_ev(h), Evidence(v.text[h.start:h.end], h.start, h.end, h.section)) for h in hits]
    made += [(v.ev(a, b), Evidence(v.text[a:b], a, b, v.section_at(a))) for a, b in [(0, 0), (0, 9), (40, 120)]]
    for e, want in made:
        assert type(e) is Evidence and e == want and hash(e) == hash(want) and repr(e) == repr(want)
        assert pickle.loads(pickle.dumps(e)) == want and e.to_dict() == want.to_dict()
        assert dataclasses.replace(e, end=9) == dataclasses.replace(want, end=9)
        with pytest.raises(dataclasses.FrozenInstanceError):
            e.start = 0
    assert all(v.hit_ev(h) is e for h, (e, _) in zip(hits, made))

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        text: str
        start: int
        end: int
        section: str | None = None

        def __post_init__(self):
            assert self.start <= self.end

    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        text: str

    with pytest.raises(TypeError):
        slot_setters(Checked)
    with pytest.raises(TypeError):
        slot_setters(Unslotted)
    with pytest.raises(TypeError):
        slot_setters(Evidence, ("text", "start", "end"))  # (section left out)
    assert len(slot_setters(Evidence)) == 4


def test_mentions_are_made_as_the_dataclass_makes_them(pipeline):
    """The facts' mentions (extract._mentions: slots set directly) are what Mention(...) gives, on spine and
    non-spine notes: equal, hashed, shown and pickled alike, frozen, in the same order."""
    import pickle

    from notechecker.facts import Mention
    from notechecker.nlp.extract import _mentions

    labels = ("IMAGING", "APPROACH", "BRAND")
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))[:8]] + nonspine_texts(4)
    seen = 0
    for text in texts:
        v = pipeline.extractor.read(pipeline._doc(pipeline.normalizer(text)))
        want = tuple(Mention(label, h.value, h.assertion, v.hit_ev(h), h.literal) for label in labels
                     for h in v.hits(label))
        got = _mentions(v, labels)
        assert got == want and [hash(m) for m in got] == [hash(m) for m in want]
        assert [repr(m) for m in got] == [repr(m) for m in want] and pickle.loads(pickle.dumps(got)) == want
        for m in got:
            with pytest.raises(dataclasses.FrozenInstanceError):
                m.value = "x"
        seen += len(got)
    assert seen > 30


def test_a_non_spine_note_reads_only_the_labels_its_facts_ask_for(pipeline, monkeypatch):
    """Its mentions (imaging, approach, brands) and its elements; never the hardware's action cues."""
    asked: list[str] = []
    original = type(pipeline.extractor)._hits

    def spy(self, *args):
        asked.append(args[-1])
        return original(self, *args)

    monkeypatch.setattr(type(pipeline.extractor), "_hits", spy)
    spine = (SAMPLES / "sn01_removal_infection_headed.txt").read_text(encoding="utf-8")
    facts = pipeline.facts(spine)
    assert facts.scope.is_spine and {"INSTRUMENT", "ACTION"} <= set(asked)
    with_actions = 0
    for text in nonspine_texts(12):
        asked.clear()
        doc = pipeline._doc(pipeline.normalizer(text))
        assert not pipeline.extractor(doc, "n").scope.is_spine
        assert set(asked) <= {"IMAGING", "APPROACH", "BRAND"}, asked
        with_actions += any(s.label_ == "ACTION" for s in doc.spans.get(CUE_GROUP, ()))
    assert with_actions  # notes whose action cues were never read


def _count_every_position(hardware, text, h):
    """Hardware.count as it read before: every position of the window tried, right to left."""
    window = text[max(0, h.start - 60):h.start]
    for start in range(len(window) - 1, -1, -1):
        if start == 0 or window[start - 1] in " \t\n\r(":
            found = hardware.words.count_before.match(window, max(0, start - 1))
            if found and not hardware.cue["size_after"].match(window, found.end("n")):
                return found.group("n")
    return None


def test_the_count_is_the_one_every_position_finds(pipeline):
    hardware = pipeline.extractor.hardware
    words = ["two", "both", "all eight", "4", "a pair of", "12", "(2)", "one", "three"]
    mods = ["", " 5.5-mm", " titanium", " 6.5 x 45 mm", " new", " mm", " x", ","]
    seen = 0
    for i, w in enumerate(words):
        for j, mod in enumerate(mods):
            # and a second number nearer the hardware ("both rods and all eight screws")
            for pad in ("", "and ", "then\t", "(", "placed ", "x" * 70 + " ", f"{words[i - 3]} caps and ",
                        f"the {words[j]}{mods[i % len(mods)]} screws, "):
                text = f"{pad}{w}{mod} rods"
                h = type("H", (), {"start": text.rindex("rods"), "end": len(text), "value": "rod", "literal": "rods"})
                m = _count_every_position(hardware, text, h)
                got = hardware.count(text, h)
                if m is None:
                    assert got is None, text
                else:
                    seen += 1
                    n = m.lower()
                    assert got == (int(n) if n.isdigit() else hardware.words.numbers.get(" ".join(n.split()))), text
    assert seen > 100


def test_a_lone_atom_joins_as_combine_joins_it():
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]
    texts += ["S2AI and iliac screws", "the pelvis", "L4-5", "fourth and fifth lumbar", "C3-4, 4-5, and 5-6"]
    atoms = [(t, a) for t in texts for a in g.scan(t) if a is not None]
    assert len(atoms) > 200 and any(a[2] == frozenset((g.IL,)) for _, a in atoms)
    for t, a in atoms:  # (find_levels makes a lone atom's mention of the atom itself)
        assert lv._to_mention(t, a, 3) == lv._to_mention(t, g.combine([a], []), 3)


def test_span_groups_changed_after_the_pipeline_are_read_through_spacys_span_api(pipeline):
    """A target group replaced after the pipeline (its record no longer holds): the hits are those of the
    group the Doc now holds, as spaCy's span API reads it."""
    from spacy.tokens import Span

    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))[:6]]
    for text in texts:
        doc = pipeline._doc(pipeline.normalizer(text))
        before = pipeline.extractor.read(doc)
        labels = set(before.hits_by_label)
        kept = [s for s in doc.spans[TARGET_GROUP] if s.label_ != "INSTRUMENT"]
        doc.spans[TARGET_GROUP] = kept
        cue = next(s for s in doc.spans[CUE_GROUP] if s.label_ == "ACTION")
        doc.spans[CUE_GROUP].append(Span(doc, cue.start, cue.end, label="ACTION"))  # one span more
        v = pipeline.extractor.read(doc)
        want = _reference_hits(pipeline.extractor, doc, v.text, v)
        assert "INSTRUMENT" in labels and "INSTRUMENT" not in v.hits_by_label
        assert set(v.hits_by_label) == set(want) == labels - {"INSTRUMENT"}
        for label, hits in want.items():
            assert [(h.start, h.end, h.tok_start, h.tok_end, h.value, h.weight, h.assertion, h.literal, h.section,
                     h.sent) for h in v.hits_by_label[label]] == hits


def test_sentence_offsets_are_those_of_doc_sents(pipeline):
    """extract.sentence_offsets reads the token arrays: each sentence's start_char and end_char as
    ``doc.sents`` gives them, on the corpus notes, short texts (runs of spaces, tabs, trailing spaces), a
    Doc with merged tokens, and sentence starts set by hand (token 0 marked as no start, a one-token Doc)."""
    from notechecker.nlp.extract import sentence_offsets
    from tests.corpus_snapshot import corpus

    nlp = pipeline.nlp
    docs = [nlp(text) for _, text, _ in corpus()] + [nlp(t) for t in (
        "x", "One. Two.\n\nThree ", "  \n", "Rod placed.  Two spaces.\tA tab. \n Then  more. ", "End. ")]
    merged = nlp("The rod was placed at L4-L5.  Then the wound was closed. ")
    with merged.retokenize() as retokenizer:  # a merged token: the idx and spaces of the tokens after it
        retokenizer.merge(merged[1:3])
    docs.append(merged)
    odd = nlp.make_doc("The rod was placed. Then the wound was closed.")
    for token in odd:
        token.is_sent_start = token.i in (2, 5)
    docs.append(odd)
    seen = 0
    for doc in docs:
        sents = list(doc.sents)
        assert sentence_offsets(doc) == ([s.start_char for s in sents], [s.end_char for s in sents])
        seen += len(sents)
    assert seen > 20000 and len(list(odd.sents)) == 3
    assert sentence_offsets(nlp.make_doc("")) == ([], [])


def test_one_pass_for_headings_scope_and_elements_gives_what_their_own_passes_give(pipeline, monkeypatch):
    """``Extractor._words_pass``: one Aho-Corasick pass over a note for the heading words, the scope's cue
    literals and the elements' words; each reads its own words from it, with the facts their own passes give
    (spine and non-spine notes, ASCII or written with other characters: a degree sign, typographic quotes and
    dashes, accented capitals beside the words; sections, scope and elements all hang on it)."""
    extractor = pipeline.extractor
    spine = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]
    texts = spine + nonspine_texts(24)

    def written_otherwise(text: str) -> str:
        text = text.replace("'", "\u2019").replace('"', "\u201c").replace(" - ", " \u2013 ")
        text = text.replace(" degrees", "\u00b0").replace("Procedure", "\u00c9Procedure").replace("screw", "screw\u00b5")
        return text + "\nCAF\u00c9 \u00c9L\u00c9VATION 5\u00d73 \u2022 \u0394 \u0436\u00a0Complications: none.\n"
    texts += [written_otherwise(t) for t in spine[:12] + nonspine_texts(6)]
    for text in texts[:20]:  # past the first notes, which the three read without their words
        pipeline.facts(text)
    parts = (extractor.headings.words, extractor.scope.words, extractor.elements.words)
    assert all(parts)
    shared = []
    for text in texts:
        doc = pipeline._doc(pipeline.normalizer(text))
        shared.append(extractor._words_pass(doc.text) is not None)
        assert extractor._one_pass is not None and all(p <= extractor._one_pass.words for p in parts)
        got = extractor(doc, "n")
        with monkeypatch.context() as m:
            m.setattr(extractor, "_words_pass", lambda text: None)
            own = extractor(pipeline._doc(pipeline.normalizer(text)), "n")
        assert got == own
    assert all(shared)
    assert extractor._words_pass("Caf\u00e9 NO note") == {"no": [6, 9]}  # (last characters)
    # a character that lower-cases into ASCII (the Kelvin sign) or changes length (a dotted capital I): each
    # reads the note its own way
    assert extractor._words_pass("5 \u212a note") is None and extractor._words_pass("\u0130 note") is None


def test_the_words_pass_of_an_ascii_note_is_its_lower_casings(pipeline):
    """An ASCII note's words pass reads the note's folding (regex_literals.folded, made once for the passes
    that read it): the occurrences a pass over ``text.lower()`` finds, on real notes and on a note whose
    folding another pass made first."""
    extractor = pipeline.extractor
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))] + nonspine_texts(12)
    for text in texts[:20]:
        pipeline.facts(text)
    assert extractor._one_pass is not None
    for text in texts:
        text = pipeline.normalizer(text).text
        assert text.isascii()
        want = extractor._one_pass.scan(text.lower())
        assert want and extractor._words_pass(text) == want
        folded(text)  # (its folding made and kept by another pass first)
        assert extractor._words_pass(text) == want


def test_a_doc_extension_is_read_as_doc_underscore_reads_it(pipeline):
    """extract.doc_extension reads the value spaCy keeps for an extension declared with a default alone, and
    asks doc._ for any other (a getter; a mutable default, which spaCy copies into the Doc when first read)."""
    from spacy.tokens import Doc

    from notechecker._extensions import DOC_EXTENSIONS
    from notechecker.nlp.extract import doc_extension

    text = (SAMPLES / "sn01_removal_infection_headed.txt").read_text(encoding="utf-8")
    doc = pipeline._doc(pipeline.normalizer(text))
    blank = pipeline.nlp.make_doc("No abbreviations here.")
    assert doc._.context_graph is not None
    for name in DOC_EXTENSIONS:
        assert doc_extension(doc, name) is getattr(doc._, name)
        assert doc_extension(blank, name) is getattr(blank._, name) is None
    doc._.abbreviation_map = {"TLIF": "transforaminal lumbar interbody fusion"}
    assert doc_extension(doc, "abbreviation_map") is doc._.abbreviation_map
    Doc.set_extension("nc_test_computed", getter=lambda d: len(d), force=True)
    Doc.set_extension("nc_test_mutable", default=[], force=True)
    try:
        assert doc_extension(doc, "nc_test_computed") == len(doc)
        found = doc_extension(doc, "nc_test_mutable")
        assert found == [] and found is doc._.nc_test_mutable  # (the copy spaCy keeps once read)
    finally:
        Doc.remove_extension("nc_test_computed")
        Doc.remove_extension("nc_test_mutable")

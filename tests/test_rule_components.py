"""The rule components' shortcuts through spaCy's data (nlp/rules.py, targets.py, context.py): each
gives what spaCy's own way gives."""
from __future__ import annotations

from spacy.tokens import Span

from notechecker.nlp.context import CONTEXT_ATTRS
from notechecker.nlp.rules import span_value_key


def test_a_span_value_written_by_its_key_is_what_span_underscore_reads(pipeline):
    doc = pipeline.nlp.make_doc("The broken rod was removed.")
    span = Span(doc, 1, 3, label="REASON")
    marker = object()
    span._.target_rule = marker
    assert doc.user_data[span_value_key("target_rule", span)] is marker  # spaCy keeps it there
    other = Span(doc, 3, 4, label="ACTION")
    doc.user_data[span_value_key("target_rule", other)] = "rule"
    assert other._.target_rule == "rule" and Span(doc, 3, 4)._.target_rule == "rule"


def _known_heading_lines(sectionizer, text: str) -> list[tuple[int, int, str]]:
    """The plain scan: every HEADING_LINE match, those naming a known heading."""
    from notechecker.nlp.sections import HEADING_LINE, heading_key

    return [(m.start(), m.end(), m.group("h")) for m in HEADING_LINE.finditer(text)
            if heading_key(m.group("h")) in sectionizer._by_heading]


def _gated(sectionizer, text: str) -> list[tuple[int, int, str]]:
    from notechecker.nlp.sections import heading_key

    return [(m.start(), m.end(), m.group("h")) for m in sectionizer._heading_lines(text)
            if heading_key(m.group("h")) in sectionizer._by_heading]


def test_the_heading_gate_lets_through_every_line_that_names_a_known_heading(pipeline):
    from tests.corpus_snapshot import corpus

    sectionizer = pipeline.nlp.get_pipe("sections")
    texts = [text for _, text, _ in corpus()]
    texts += [t.replace("\n", "\r\n") for t in texts[:50]] + [t.replace("\n", "\r") for t in texts[:50]]
    texts += ["Plan: rest.", "  1. PROCEDURE(S): fusion\nA) Findings - solid\n\tb.Estimated blood loss 50 mL\n",
              "text\r\n  Pre-op diagnosis:\r\nPost op diagnosis\rIndications 10/21/2026:", "\n\nPLANNED: no\nplan",
              "The plan: none.\nxPlan: none.\n12.plan:\n123. Plan:"]
    found = 0
    for text in texts:
        want = _known_heading_lines(sectionizer, text)
        assert _gated(sectionizer, text) == want, text[:200]
        found += len(want)
    assert found > 3000


def test_the_heading_gate_reads_numbering_and_case_as_the_heading_line_does(pipeline):
    from notechecker.nlp.sections import heading_gate

    gate = heading_gate(["plan", "post op diagnosis", "procedures"])
    text = "x\n  3) PLAN:\n\tc. Post  op\npostal\nxplan\n12.procedures(s)"
    # the line break before each line let through; "postal" too (it starts with "post": the heading
    # line's own match decides), not "xplan"
    assert [m.start() for m in gate.finditer(text)] == [1, 12, 25, 38]
    assert gate.pattern.endswith("p(?:lan|ost|rocedures)")  # one branch per letter, not one per word
    assert heading_gate([]) is None


def test_bracket_pairs_are_what_scispacys_matcher_gives_that_its_filter_keeps(pipeline):
    """scispaCy's own ``( any+ )`` Matcher, brackets dropped as its detector drops them, through its
    filter_matches: the same candidates, in the same order, as bracket_pairs through it."""
    import random

    from scispacy.abbreviation import filter_matches

    from notechecker.nlp.abbreviations import bracket_pairs
    from tests.corpus_snapshot import corpus

    nlp = pipeline.nlp
    matcher = nlp.get_pipe("abbreviations").detector.matcher
    rng = random.Random(11)
    texts = [text for _, text, _ in corpus()]
    texts += [" ".join(rng.choice(["(", ")", "a", "PSF", "spinal fusion", "(PSF)", "x"]) for _ in range(rng.randint(0, 40)))
              for _ in range(500)]
    n = 0
    for text in texts:
        doc = nlp.make_doc(text)
        theirs = [(m, s + 1, e - 1) for m, s, e in matcher(doc)]
        ours = bracket_pairs(doc)
        assert [(a.start, a.end, b.start, b.end) for a, b in filter_matches(ours, doc)] == \
            [(a.start, a.end, b.start, b.end) for a, b in filter_matches(theirs, doc)], text[:200]
        n += len(ours)
    assert n > 100


def test_context_sets_plain_values_by_key_and_calls_the_setter_of_any_other(pipeline):
    """ConText's span attributes: a plain extension (is_negated) written by key reads back through
    span._; an extension with a setter (a user's span_attrs) gets its setter called."""
    from notechecker.nlp.context import ConText, context_rules

    seen = []
    if not Span.has_extension("test_flagged"):
        Span.set_extension("test_flagged", getter=lambda span: None, setter=lambda span, value: seen.append(span.text))
    nlp = pipeline.nlp
    ctx = ConText(nlp, "test_context", span_group="targets",
                  span_attrs={"NEGATED_EXISTENCE": {"is_negated": True, "test_flagged": True}})
    ctx.add(context_rules(pipeline.patterns))
    doc = nlp.make_doc("There was no infection. The screws were loose.")
    for name in ("sentences", "targets", "sections"):
        doc = nlp.get_pipe(name)(doc)
    doc = ctx(doc)
    negated = [s.text for s in doc.spans["targets"] if s._.is_negated]
    assert negated == ["infection"] and seen == ["infection"]
    target = next(s for s in doc.spans["targets"] if s.text == "infection")
    assert [m.category for m in target._.modifiers] == ["NEGATED_EXISTENCE"]
    assert not any(s._.is_negated for s in doc.spans["targets"] if s.text != "infection")


def _texts(n_nonspine: int = 60) -> list[str]:
    from tests.conftest import nonspine_texts
    from tests.corpus_snapshot import corpus

    return [text for _, text, _ in corpus()] + nonspine_texts(n_nonspine)


def test_the_target_record_holds_the_span_groups_as_spacys_span_api_reads_them(pipeline):
    """rules.TargetSpans: the rows the target component keeps beside each span group are the group's
    spans (start, end, characters, label) in its order, grouped by label in the order labels are first met."""
    from notechecker.nlp.rules import TargetSpans

    nlp, rows = pipeline.nlp, 0
    for text in _texts():
        doc = nlp(pipeline.normalizer(text).text)
        for name in ("targets", "cues"):
            record = TargetSpans.of(doc, name)
            assert record is not None and record.group is None  # (nothing has read the group)
            group = doc.spans[name]  # (made here, from the rows)
            assert record.group is group and TargetSpans.of(doc, name) is record
            plain = TargetSpans.read(doc.spans[name])
            assert record.rows == plain.rows == [(s.start, s.end, s.start_char, s.end_char, s.label_)
                                                 for s in doc.spans[name]]
            ours, theirs = {}, {}
            record.by_label(ours)
            plain.by_label(theirs)
            assert list(ours.items()) == list(theirs.items())
            assert list(ours) == list(dict.fromkeys(s.label_ for s in doc.spans[name]))
            assert all(row[4] == label for label, found in ours.items() for row in found)
            rows += len(record.rows)
    assert rows > 15000


def test_a_span_group_replaced_or_resized_after_the_target_component_has_no_record(pipeline):
    from notechecker.nlp.rules import TargetSpans

    doc = pipeline.nlp("Two pedicle screws and a rod were removed. No infection. Medtronic rod.")
    targets, cues = doc.spans["targets"], doc.spans["cues"]
    assert len(targets) > 2 and len(cues) and TargetSpans.of(doc, "targets") is not None
    doc.spans["targets"] = list(targets)[1:]  # replaced
    assert TargetSpans.of(doc, "targets") is None
    cues.append(Span(doc, 0, 1, label="ACTION"))  # the same group, one span more
    assert TargetSpans.of(doc, "cues") is None
    del doc.spans["targets"]
    assert TargetSpans.of(doc, "targets") is None
    assert TargetSpans.of(pipeline.nlp.make_doc("no pipeline ran"), "targets") is None


def test_the_target_groups_are_made_when_first_read_as_the_component_made_them_at_once(pipeline):
    """rules.UnmadeGroups: the target and cue groups' Spans are made when something first reads them (a key,
    the values, the Doc's bytes or a copy of it, ConText's graph), the groups spaCy's API gives; the rows' characters
    (segmenter.token_starts, with the segmenter's token array or without it) are the Spans' own."""
    from spacy.tokens import Doc

    from notechecker.nlp.rules import TargetSpans, UnmadeGroups

    nlp = pipeline.nlp
    text = "Two pedicle screws and a rod were removed.\nNo infection.  Medtronic rod was placed at L4-L5."

    def seen(groups) -> dict:
        return {name: [(s.start, s.end, s.start_char, s.end_char, s.label_, s._.target_rule) for s in group]
                for name, group in groups.items()}

    doc = nlp(text)
    data = doc.spans.data
    assert isinstance(data, UnmadeGroups) and data.unmade("targets") and data.unmade("cues")
    assert "targets" in doc.spans and list(doc.spans) == ["targets", "cues"] and len(doc.spans) == 2
    assert data.unmade("targets") and doc.spans.get("user_targets") is None  # (names alone make nothing)
    want = seen(doc.spans)
    assert data.unmade("targets") is None and all(len(v) for v in want.values())
    assert want == {name: [(*TargetSpans.of(doc, name).rows[i], r) for i, (*_, r) in enumerate(rows)]
                    for name, rows in want.items()}
    assert doc._.context_graph.targets is doc.spans["targets"]
    copied = nlp.get_pipe("targets")(nlp.make_doc(text)).copy()  # (ConText's graph holds Spans: no deep copy)
    for made in (Doc(nlp.vocab).from_bytes(nlp(text).to_bytes(exclude=["user_data"])), copied):
        assert not isinstance(made.spans.data, UnmadeGroups)
        assert {k: [row[:5] for row in v] for k, v in seen(made.spans).items()} == {
            k: [row[:5] for row in v] for k, v in want.items()}
    graph_first = nlp(text)
    assert [s.start for s in graph_first._.context_graph.targets] == [s[0] for s in want["targets"]]
    assert graph_first._.context_graph.targets is graph_first.spans["targets"]
    alone = nlp.get_pipe("targets")(nlp.make_doc(text))  # (no segmenter: token_starts reads the tokens itself)
    assert seen(alone.spans) == want


def _context_facts(doc) -> tuple:
    graph = doc._.context_graph
    edges = [(t.start, t.end, t.label_, m.category, m.modifier_span, m.scope_span) for t, m in graph.edges]
    values = [(s.start, s.end, s.label_, [m.modifier_span for m in s._.modifiers],
               [getattr(s._, a) for d in CONTEXT_ATTRS.values() for a in d]) for s in doc.spans["targets"]]
    mods = [(m.modifier_span, m.scope_span, [(t.start, t.end) for t in m.targets]) for m in graph.modifiers]
    return edges, values, mods, len(graph.targets)


def test_context_reads_the_target_record_as_it_reads_the_span_group(pipeline):
    """ConText over the target component's record (targets' Spans built only for the modifiers that
    take them) gives what it gives over the span group itself (the record removed)."""
    from notechecker.nlp.rules import TARGET_SPANS

    nlp, edges = pipeline.nlp, 0
    for text in _texts():
        docs = []
        for drop in (False, True):
            doc = nlp.make_doc(pipeline.normalizer(text).text)
            for name in ("sentences", "targets", "sections"):
                doc = nlp.get_pipe(name)(doc)
            if drop:
                del doc.user_data[(TARGET_SPANS, "targets")]
            docs.append(nlp.get_pipe("context")(doc))
        fast, plain = (_context_facts(d) for d in docs)
        assert fast == plain, text[:200]
        edges += len(fast[0])
        # one Span object per target, whatever number of modifiers take it
        graph = docs[0]._.context_graph
        assert len({(t.start, t.end, t.label): id(t) for t, _ in graph.edges}) == len({id(t) for t, _ in graph.edges})
    assert edges > 700


def test_short_form_occurrences_are_those_scispacys_global_matcher_finds(pipeline):
    """abbreviations.find_matches_for gives what scispaCy's AbbreviationDetector.find_matches_for
    gives (its global Matcher), definitions and every occurrence of their short forms, in its order,
    on the corpus notes with a definition and on generated texts (short forms of one and of several
    tokens, defined twice, used before and after their definition)."""
    import random

    from scispacy.abbreviation import filter_matches

    from notechecker.nlp.abbreviations import bracket_pairs, find_matches_for
    from tests.corpus_snapshot import corpus

    nlp = pipeline.nlp
    detector = nlp.get_pipe("abbreviations").detector
    rng = random.Random(3)
    defs = ["posterior spinal fusion (PSF)", "anterior lumbar interbody fusion (ALIF)", "estimated blood loss (EBL)",
            "lateral mass screws (LMS)", "transforaminal lumbar interbody fusion (TLIF-2)", "deep vein thrombosis (D V T)",
            "spinal cord stimulator (SCS)", "S2 alar iliac (S2AI)"]
    uses = ["PSF", "ALIF", "EBL", "TLIF-2", "D V T", "SCS", "S2AI", "psf", "the", "was", "placed", "(", ")", ".", "\n"]
    texts = [text for _, text, _ in corpus()]
    texts += [" ".join(rng.choice(defs + uses * 3) for _ in range(rng.randint(3, 60))) for _ in range(400)]
    pairs = defined = 0
    for text in texts:
        doc = nlp.make_doc(text)
        filtered = filter_matches(bracket_pairs(doc), doc)
        if not filtered:
            continue
        theirs = [(str(long), long.start, [(s.start, s.end) for s in shorts])
                  for long, shorts in detector.find_matches_for(filtered, doc)]
        ours = [(str(long), long.start, [(s.start, s.end) for s in shorts]) for long, shorts in find_matches_for(filtered, doc)]
        assert ours == theirs, text[:200]
        pairs += 1
        defined += sum(len(s) > 1 for _, _, s in ours)
    assert pairs > 300 and defined > 200
    assert not detector.global_matcher  # scispaCy's matcher was left empty, as it leaves it


def test_a_candidate_told_without_a_long_form_is_one_scispacy_finds_none_for(pipeline):
    """abbreviations.no_long_form: where it says scispaCy's find_abbreviation finds no long form, it finds none
    (corpus notes and generated texts: words glued to digits, hyphens, upper and lower case, text outside ASCII),
    and it says so for most candidates that have none (the reason it is there: 46 of 47 in the forms notes)."""
    import random

    from scispacy.abbreviation import filter_matches, find_abbreviation

    from notechecker.nlp.abbreviations import bracket_pairs, no_long_form
    from tests.corpus_snapshot import corpus

    nlp, rng = pipeline.nlp, random.Random(5)
    words = ["posterior", "spinal", "fusion", "10mg", "X-ray", "Mobi-C", "fellow", "resident", "\u00d6dem", "s", "L4-5",
             "ES", "PSF", "mg", "the", "of", "(", ")", "(PSF)", "(MG)", "(XR)", "(fellow)", "(s)", "(\u00d6D)", "(ES)",
             "(Spine)", "\n", ".", "Expedium", "(Xia)", "(acute)"]
    texts = [text for _, text, _ in corpus()] + [" ".join(rng.choice(words) for _ in range(rng.randint(3, 40)))
                                                  for _ in range(600)]
    told = none = 0
    for text in texts:
        doc = nlp.make_doc(text)
        for long, short in filter_matches(bracket_pairs(doc), doc):
            found = find_abbreviation(long, short)[1] is None
            says = no_long_form(text, long, short)
            assert found or not says, (str(long), str(short))
            none += found
            told += says
    assert none > 300 and told > none / 2  # (a short form of one letter is never told: it has no second)


def test_context_by_sentence_gives_each_modifier_the_targets_the_per_target_reading_gives(pipeline):
    """ConText._by_sentence (the target component's rows, sentence by sentence) and ConText._each_target
    (target by target) give every modifier the same targets in the same order, on generated sentences,
    modifiers and targets, some of them reaching over sentence ends, some empty."""
    import random

    from notechecker.nlp.context import ConText, Modifier
    from notechecker.nlp.rules import ConTextRule

    rng = random.Random(7)
    doc = pipeline.nlp.make_doc(" ".join(["word"] * 120))
    rules = [ConTextRule("x", "NEGATED_EXISTENCE", d, max_scope=s, allowed_types=a)
             for d in ("FORWARD", "BACKWARD", "BIDIRECTIONAL") for s in (None, 3) for a in (None, {"HARDWARE"})]
    compared = 0
    for _ in range(300):
        starts = sorted({0, *rng.sample(range(1, 120), rng.randint(0, 12))})
        bounds = [*starts, 120]
        rows = []
        for _ in range(rng.randint(0, 25)):
            t0 = rng.randrange(119)
            rows.append((t0, min(120, t0 + rng.choice((0, 1, 1, 2, 3, 9))), 0, 0, rng.choice(("HARDWARE", "reason"))))
        rows.sort(key=lambda r: (r[0], r[1]))
        targets = [Span(doc, r[0], r[1], label=r[4]) for r in rows]
        at = {k: rng.randrange(bounds[k], bounds[k + 1]) for k in rng.sample(range(len(starts)), min(3, len(starts)))}
        made = [{k: [Modifier(rule, a, a + 1, bounds[k], bounds[k + 1]) for rule in rules] for k, a in at.items()}
                for _ in range(2)]
        ConText._by_sentence(doc, rows, made[0], bounds)
        ConText._each_target(targets, made[1], starts, bounds)
        for k in made[0]:
            for m0, m1 in zip(made[0][k], made[1][k]):
                assert [(t.start, t.end) for t in m0._targets] == [(t.start, t.end) for t in m1._targets]
                compared += len(m0._targets)
    assert compared > 2000


def test_a_doc_value_written_by_key_is_what_doc_underscore_reads_and_a_setter_is_called(pipeline):
    """_extensions.set_doc_value: an extension without a setter is written where spaCy's doc._ writes it (read back
    through doc._, as spaCy's own write would be); one with a setter has its setter called."""
    from spacy.tokens import Doc

    from notechecker._extensions import set_doc_value

    doc, ref = pipeline.nlp.make_doc("The broken rod was removed."), pipeline.nlp.make_doc("The broken rod was removed.")
    marker = object()
    for name in ("sections", "context_graph", "abbreviation_map"):
        set_doc_value(doc, name, marker)
        setattr(ref._, name, marker)
        assert getattr(doc._, name) is marker and doc.user_data == {**ref.user_data, **doc.user_data}
    set_doc_value(doc, "abbreviations", [])  # scispaCy's, with a shared mutable default
    assert doc._.abbreviations == [] and doc._.abbreviations is doc._.abbreviations
    seen = []
    if not Doc.has_extension("test_doc_flag"):
        Doc.set_extension("test_doc_flag", getter=lambda d: None, setter=lambda d, value: seen.append(value))
    set_doc_value(doc, "test_doc_flag", 7)
    assert seen == [7] and ("._.", "test_doc_flag", None, None) not in doc.user_data


def test_pruned_matches_come_out_in_order_of_position_as_medspacys_prune_gives_them():
    """prune_overlapping_matches' result is sorted by (start, end) (the sectionizer takes it as it comes) and
    is medspaCy's own result, on 3,000 generated lists of matches (overlapping, nested, equal, empty)."""
    import random

    from medspacy.common.util import prune_overlapping_matches as medspacys

    from notechecker.nlp.rules import prune_overlapping_matches

    rng = random.Random(7)
    for _ in range(3000):
        matches = []
        for _ in range(rng.randint(0, 14)):
            start = rng.randint(0, 30)
            matches.append((rng.randint(1, 5), start, start + rng.randint(0, 6)))
        pruned = prune_overlapping_matches(list(matches))
        assert pruned == sorted(pruned, key=lambda m: (m[1], m[2]))
        assert pruned == medspacys(list(matches))

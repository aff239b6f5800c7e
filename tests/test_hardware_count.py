"""Hardware.count reads a window lower-cased with the count regex made case-sensitive (quicker) where the
lower-cased window stands for it; it must count what the case-blind regex on the window counts: the
reference below is the count as it read before, on every hardware hit of the corpus notes and on
generated windows (upper case, letters that case-blind matching equates with ASCII ones, other scripts)."""
from __future__ import annotations

import random

from notechecker.nlp.linkers import hardware as hw
from notechecker.nlp.regex_literals import ASCII_FOLDS


def _reference(hardware, text, h):
    window = text[max(0, h.start - 60):h.start]
    m = None
    leftmost = hardware.words.count_before.search(window)
    if leftmost is not None:
        lo = leftmost.start()
        count_before, size_after = hardware.words.count_before.match, hardware.cue["size_after"].match
        for at in [*reversed([b.start() for b in hw._WORD_BEFORE.finditer(window, lo, len(window) - 1)]),
                   *((0,) if lo == 0 else ())]:
            found = count_before(window, at)
            if found and not size_after(window, found.end("n")):
                m = found
                break
    if not m:
        if h.value in hw.DEVICE_KINDS and not h.literal.endswith("s") and hardware.words.article_before.search(window):
            return 1
        return None
    n = m.group("n").lower()
    return int(n) if n.isdigit() else hardware.words.numbers.get(" ".join(n.split()))


def test_every_hardware_hit_of_the_corpus_gets_the_reference_count(pipeline, monkeypatch):
    from tests.corpus_snapshot import corpus

    hardware = pipeline.extractor.hardware
    asked = []
    count = hw.Hardware.count

    def spy(self, text, h):
        got = count(self, text, h)
        asked.append(got == _reference(self, text, h))
        return got
    monkeypatch.setattr(hw.Hardware, "count", spy)
    for _, text, _ in corpus():
        pipeline.facts(text)
    assert len(asked) > 700 and all(asked), asked.index(False) if not all(asked) else None
    assert hardware._count_starts is not None  # (counted first with the search, then from its two starts)
    assert hardware.count("two rods", type("H", (), {"start": 4, "end": 8, "value": "rod", "literal": "rods"})) == 2


def test_generated_windows_get_the_reference_count(pipeline):
    hardware = pipeline.extractor.hardware
    rng = random.Random(7)
    numbers = ["two", "Two", "TWO", "both", "BOTH", "all eight", "a pair of", "Pair  Of", "12", "4", "one",
               "ſingle", "ſix", "\u212aen", "tw\u0131", "f\u0130ve", "δύο", "ΣΣ", "５"]
    mods = ["", " 5.5-mm", " 5.5-MM", " titanium", " 6.5 x 45 mm", " 6.5 X 45 MM", " new", " ΝΈΑ", " x", ",",
            " ſcrew", " Straße", " \u212a-wire"]
    pads = ["", "and ", "then\t", "(", "Placed ", "x" * 70 + " ", "ΣΑΣ ", "İ ", "caps and "]
    counted = folds = 0
    for _ in range(6000):
        text = "".join(rng.choice(pads) + rng.choice(numbers) + rng.choice(mods) + " " for _ in range(rng.randint(1, 3)))
        text += rng.choice(["rods", "cage", "screw", "Rods"])
        word = text.rsplit(" ", 1)[1]
        h = type("H", (), {"start": len(text) - len(word), "end": len(text), "value": "cage" if word == "cage" else "rod",
                           "literal": word})
        want = _reference(hardware, text, h)
        assert hardware.count(text, h) == want, text
        counted += want is not None
        folds += any(c in ASCII_FOLDS for c in text[-60:])
    assert counted > 2000 and folds > 500


def test_only_a_case_blind_regex_of_lower_case_ascii_is_read_on_the_folded_text(pipeline):
    import re

    assert hw._on_folded(pipeline.extractor.hardware.words.count_before) is not None  # (the count's own)
    assert hw._on_folded(re.compile(r"\btwo\s+rods?$", re.IGNORECASE)).flags & re.IGNORECASE == 0
    for kept in (re.compile("two"), re.compile(r"\Stwo", re.I), re.compile("Two", re.I), re.compile("δύο", re.I)):
        assert hw._on_folded(kept) is None, kept.pattern


def test_an_instrument_built_by_its_slots_setters_is_the_dataclass_it_claims():
    """Hardware builds its instruments by their slots' setters: equal, hashed, shown and frozen like
    ``Instrument(...)``, every field where the dataclass puts it."""
    from dataclasses import fields, replace

    import pytest

    from notechecker.facts import Evidence, Instrument

    args = ("pedicle_screw", "placed", 4, ("L4", "L5"), Evidence("screws", 3, 9, "procedures"), "present",
            "Solera", "5.5 mm", ("L4",))
    fast, slow = hw._instrument(*args), Instrument(*args)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert [getattr(fast, f.name) for f in fields(Instrument)] == list(args)
    assert replace(fast, kind="screw").kind == "screw"
    with pytest.raises(AttributeError):
        fast.kind = "rod"  # type: ignore[misc]


def test_where_the_count_regex_starts_is_read_from_its_two_starts(pipeline):
    """Hardware.count finds where the count regex's search starts from its rest matched at the window's start,
    else searched after a space or parenthesis (_start_split): the same start as the search on generated
    windows (counts at the start, after "(", a tab or a newline, none at all); other regexes are not split."""
    import re

    folded_rx = hw._on_folded(pipeline.extractor.hardware.words.count_before)
    at_start, after = hw._start_split(folded_rx)
    rng = random.Random(11)
    pieces = ["two", "both", "12", "4", "a pair of", "pair\n of", " ", "\t", "\n", "(", ")", "rods", "5.5-mm",
              "x", "titanium", ",", "new", "screws", "45", "ten", "often", "one-two"]
    starts = 0
    for _ in range(20000):
        window = "".join(rng.choice(pieces) + rng.choice(["", " ", "  "]) for _ in range(rng.randint(0, 8)))[-60:]
        want = folded_rx.search(window)
        got = 0 if at_start(window) is not None else (lambda f: None if f is None else f.start())(after(window))
        assert got == (None if want is None else want.start()), repr(window)
        starts += got == 0
    assert starts > 500
    assert hw._start_split(re.compile(r"(?:^|[\s(])two", re.M)) is None and hw._start_split(re.compile(r"\btwo")) is None


def test_hardware_named_without_a_kind_is_not_counted_and_no_fact_reads_its_count(pipeline, monkeypatch):
    """Hardware.__call__ counts (and sizes) only the kinds of ``COUNTED_KINDS``: the facts' instruments. Counting
    every kind must give every corpus note the same facts (nothing reads the count of hardware named without
    a kind, "the hardware"), and the corpus must hold such hardware acted on."""
    from tests.corpus_snapshot import corpus

    from notechecker.facts import INSTRUMENT_KINDS

    assert hw.COUNTED_KINDS == frozenset(INSTRUMENT_KINDS)
    texts = [text for _, text, _ in corpus()]
    facts = [pipeline.facts(text).to_dict() for text in texts]
    uncounted = []
    call = hw.Hardware.__call__

    def spy(self, v):
        found = call(self, v)
        uncounted.extend(i for i in found[0] if i.kind not in INSTRUMENT_KINDS)
        return found
    monkeypatch.setattr(hw.Hardware, "__call__", spy)
    monkeypatch.setattr(hw, "COUNTED_KINDS", frozenset(INSTRUMENT_KINDS) | {"hardware"})
    assert [pipeline.facts(text).to_dict() for text in texts] == facts
    assert len(uncounted) > 50 and {i.kind for i in uncounted} == {"hardware"}

"""Hardware and what was done to it: each hardware mention takes the nearest action cue of its clause.

Inside a sentence each hardware mention takes the nearest action cue ("removed", "placed",
"reinserted", "left in place" ...) and the level mentions nearest to that cue, so "the rods were
removed from L2 to L4 and new screws were placed at L5 and S1" gives two constructs. Hardware named
without an action of its own describes the construct as it stands (``described``): its levels tell a
removal's extent when the removal names none. Implant-log rows are read row by row.
"""
from __future__ import annotations

import bisect
import itertools
import operator
import re
from collections import defaultdict

from ...facts import INSTRUMENT_KINDS, Instrument, slot_setters
from ...model import SPINE_HARDWARE
from .. import levels as lv
from ..implant_log import LogRow
from ..regex_literals import GatedRegex, folded
from ...model import NOT_THIS_OPERATION
from .base import Hit, Linker, NoteView

#: Where a word starts after it (Hardware.count): a space or an opening parenthesis.
_WORD_BEFORE = re.compile("[ \t\n\r(]")
#: Devices a log row's site cell places at a level (a cage "L4-L5"); other hardware's site is not a span.
DEVICE_KINDS = frozenset({"cage", "interbody_device", "interspinous_device", "artificial_disc"})
#: The kinds whose count and size are read: the instruments of the facts (``Facts.instruments`` keeps these
#: kinds alone; a construct reads the count of its screws). Hardware named without a kind ("the hardware was
#: removed") groups into a construct by its action and levels alone: its count and size are never read, and
#: are not looked for (an Instrument of kind "hardware" has neither).
COUNTED_KINDS = frozenset(INSTRUMENT_KINDS)


def _on_folded(regex: re.Pattern) -> re.Pattern | None:
    """``regex`` as it reads a text lower-cased (``folded``): a case-blind regex of lower-case ASCII alone
    matches there letter by letter what it matches case-blind in the text, without the case-blind steps
    (an alternative's first letter is then a quick check); None for any other regex."""
    p = regex.pattern
    bare = p.replace("(?P<", "(?<").replace("(?P=", "(?=")  # (the group syntax's own capital)
    if not regex.flags & re.IGNORECASE or not p.isascii() or bare != bare.lower():
        return None
    return re.compile(p, regex.flags & ~re.IGNORECASE)


_NEW = object.__new__
_I_SET = slot_setters(Instrument)
_START, _END = operator.attrgetter("start"), operator.attrgetter("end")


def _instrument(kind, action, count, levels, evidence, assertion, brand, size, anchors) -> Instrument:
    """``Instrument(...)`` (every field, in order) built by its slots' setters: the same frozen object at
    less than half the dataclass ``__init__``'s cost (which sets each field through ``object.__setattr__``)."""
    i = _NEW(Instrument)
    s0, s1, s2, s3, s4, s5, s6, s7, s8 = _I_SET
    s0(i, kind)
    s1(i, action)
    s2(i, count)
    s3(i, levels)
    s4(i, evidence)
    s5(i, assertion)
    s6(i, brand)
    s7(i, size)
    s8(i, anchors)
    return i


#: How the count regex starts: at the window's start, or after a space or an opening parenthesis.
_COUNT_START = r"(?:^|[\s(])"
#: Counts made with the count regex's own search before its two starts are compiled (_start_split, ~1 ms):
#: a one-note check (~9 hardware mentions a spine note) never compiles them, a scan does within its first notes.
_PLAIN_COUNTS = 64


def _start_split(regex: re.Pattern) -> tuple | None:
    """For a regex that starts with _COUNT_START (and no multi-line ``^``): its rest matched at a text's start,
    and the rest searched after a space or parenthesis, a character class the search skips to at once (the
    alternation with ``^`` is tried at every character); together they say where ``regex.search`` starts
    (see Hardware.count). None for any other regex."""
    p = regex.pattern
    if not p.startswith(_COUNT_START) or regex.flags & re.MULTILINE:
        return None
    rest = p[len(_COUNT_START):]
    return re.compile(rest, regex.flags).match, re.compile(r"[\s(]" + rest, regex.flags).search


def nearest_action(h, actions: list, of_clause) -> Hit | None:
    """Of the actions for which ``of_clause`` holds, the nearest to hit ``h`` (middle to middle; of two as
    near, one after it before one before it, then the first listed): what ``min`` of those actions by that key
    gives, with ``of_clause`` asked only of the nearer actions until it holds."""
    if len(actions) < 2:
        return actions[0] if actions and of_clause(actions[0]) else None
    middle = (h.start + h.end) / 2
    # (sorted is stable: of actions with one key, the first listed comes first, as min finds it)
    for a in sorted(actions, key=lambda a: (abs((a.start + a.end) / 2 - middle), a.start < h.start)):
        if of_clause(a):
            return a
    return None


class Hardware(Linker):
    def __init__(self, patterns):
        super().__init__(patterns)
        self.words = patterns.linking.words
        self._pedicle = GatedRegex(self.words.pedicle)  # searched in the whole note: where its words occur
        self._count_folded: re.Pattern | None | bool = False  # (compiled when first counted: see count)
        self._count_starts: tuple | None = None  # (_start_split of the folded count regex: see count)
        self._plain_counts = _PLAIN_COUNTS

    def __call__(self, v: NoteView):
        """(instruments, whether hardware already there is described, kind -> levels of hardware
        described but not acted on, kind -> the vertebrae such a description names one by one)."""
        text, hits_by_label, by_sent, levels_by_sent = v.text, v.hits_by_label, v.by_sent, v.levels_by_sent
        inst_hits = list(hits_by_label.get("INSTRUMENT", ()))
        inst_in_sent: dict[int, list[Hit]] = defaultdict(list)  # (linear: compare within a sentence)
        for h in inst_hits:
            inst_in_sent[h.sent].append(h)
        # brands that imply a kind ("the Coflex was removed") act as hardware mentions too; a brand
        # naming the hardware word beside it ("Zero-P VA cage") is that word's, not a second item
        for b in hits_by_label.get("BRAND", []):
            if b.value not in ("system",) and not any(h.start <= b.start < h.end or b.start <= h.start < b.end
                                                      or 0 <= h.tok_start - b.tok_end <= 2
                                                      for h in inst_in_sent[b.sent]):
                inst_hits.append(b)
                inst_in_sent[b.sent].append(b)
        inst_hits.sort(key=_START)
        # an action cue overlapped by a hardware mention is no action (any x: x.start < a.end < ...)
        inst_starts = list(map(_START, inst_hits))
        inst_max_end = list(itertools.accumulate(map(_END, inst_hits), max))

        def under_hardware(a: Hit) -> bool:
            i = bisect.bisect_left(inst_starts, a.end)
            return i > 0 and inst_max_end[i - 1] > a.start
        # the kinds of hardware the note is about ("No anterior plate." names none)
        kinds_in_note = {h.value for h in inst_hits if h.assertion not in NOT_THIS_OPERATION}
        context_kinds = self.patterns.context_kinds
        # (the note searched for pedicles only where that adds a kind whose phrases mean something)
        if "pedicle_screw" in context_kinds and "pedicle_screw" not in kinds_in_note and self._pedicle.search(text):
            kinds_in_note.add("pedicle_screw")
        meaning: dict[str, str] = {}
        for kind, phrases in context_kinds.items():
            if kind in kinds_in_note:
                meaning.update(phrases)
        brands_by_sent: dict[int, list[Hit]] = by_sent.get("BRAND", {})
        actions_by_sent: dict[int, list[Hit]] = by_sent.get("ACTION", {})
        objects_by_sent: dict[int, list[Hit]] = by_sent.get("INSTRUMENT", {})
        procs_by_sent: dict[int, list[Hit]] = by_sent.get("PROCEDURE", {})

        out: list[Instrument] = []
        prior_hardware = False
        described: dict[str, set[str]] = defaultdict(set)
        described_anchors: dict[str, set[str]] = defaultdict(set)

        def describe(kind: str, sent: int) -> None:
            for m in levels_by_sent.get(sent, []):
                described[kind].update(m.vertebrae)
                if m.kind in ("vertebra", "list", "pelvis"):
                    described_anchors[kind].update(m.vertebrae)

        # what a hit reads from its sentence, the same for every hit of it: read once a sentence
        sentence_parts: dict[int, tuple] = {}

        def parts(sent: int) -> tuple:
            found = sentence_parts.get(sent)
            if found is None:
                actions = [a for a in actions_by_sent.get(sent, ()) if not under_hardware(a)]
                found = sentence_parts[sent] = (
                    actions, [a for a in actions if a.value not in ("temporary", "prior")],
                    [t for t in objects_by_sent.get(sent, ()) if t.value == "not_hardware"],
                    [p for p in procs_by_sent.get(sent, ()) if p.value in own_level_kinds])
            return found
        clause_break, own_level_kinds = self.cue["clause_break"].search, self.L.own_level_kinds
        non_operative, time_after, gap = self.L.non_operative, self.words.time_after.match, self.gap
        size = self.words.size.search
        for h in inst_hits:
            if h.value == "not_hardware" or h.assertion in NOT_THIS_OPERATION:
                continue
            if h.section in non_operative or not actions_by_sent.get(h.sent):
                # hardware described, not acted on ("Luque rods with sublaminar wires from T4-L1"):
                # its levels tell a removed construct's extent when the removal names none
                describe(h.value, h.sent)
            if h.section in non_operative:
                continue
            actions, verbs_all, not_hardware, procs = parts(h.sent)
            descriptor = act = None  # (a sentence without actions has neither)
            if actions:
                # a descriptor right before the hardware: "temporary rod", "previously placed screws"
                before = [a for a in actions if a.end <= h.start and h.tok_start - a.tok_end <= 3]
                # ("temporary fixation screw": a descriptor may stand before another cue)
                # ("prior to placing the plate" is a time, not a descriptor)
                descriptor = next((a.value for a in reversed(before) if a.value in ("temporary", "prior")
                                   and not time_after(text, a.end)), None) if before else None
            if verbs_all:
                # the nearest action of its own clause: no clause break, and no object that is not hardware,
                # between the two (the actions tried nearest first: one clause break search for most hits)
                act = nearest_action(h, verbs_all, lambda a: not clause_break(
                    text, min(a.end, h.end), max(a.start, h.start)) and not (not_hardware and any(
                        min(a.end, h.end) <= t.start < max(a.start, h.start) for t in not_hardware)))
            if act is not None:
                action = act.value
            else:
                action = "placed" if h.section == "procedures" else "mentioned"
            if action == "placed" and act is not None and (h.assertion == "historical" or (
                    self.cue["placement_state"].match(act.literal)
                    and self.cue["hardware_described"].search(self.clause_text(text, h)))):
                # "There were pedicle screws at L4 and L5 connected by two rods", "she had screws placed
                # in 2015": the old construct
                action = "mentioned"
                describe(h.value, h.sent)
            if action == "removed" and any(
                    a.value == "removed" and a.end <= h.start
                    and (self.words.source_after.match(text, a.end, h.start) or (a is act and a.literal.endswith(" off")))
                    for a in verbs_all):
                # "the caps were removed from the existing screws", "slid off the rod": where it came from
                action = "mentioned"
            if action == "mentioned" and descriptor is None and actions_by_sent.get(h.sent):
                # hardware named beside actions that are not its own ("the construct was exposed; it
                # consisted of pedicle screws at T10, T11, L1 and L2"): the construct as it stands
                describe(h.value, h.sent)
            if descriptor == "temporary":
                action = "temporary"
            elif descriptor == "prior":
                prior_hardware = True
                if action == "placed":
                    action = "retained"
            kind = h.value
            # a device brand next to a generic word names the kind: "Superion spacer", "Capstone spacer"
            # ("cage" only where the note says cage: "Capstone cage" stays a cage)
            for b in brands_by_sent.get(h.sent, []):
                if b.value in SPINE_HARDWARE and b is not h and h.value != "cage" and (
                        0 <= h.tok_start - b.tok_end <= 2  # "Atlantis plate", "Superion interspinous spacer"
                        or (0 <= b.start - h.end <= 3 and "(" in text[h.end:b.start])):  # "spacer (Capstone)"
                    kind = b.value
                    break
            if h.literal in meaning and h.section != "implants" and kind != "not_hardware":
                kind = meaning[h.literal]
            # levels: the level mentions of this sentence nearest to this hardware's action cue
            lvls: list[str] = []
            named: list[str] = []
            sent_levels = self.clause_levels(text, h, levels_by_sent.get(h.sent, []))
            for m in sent_levels:
                if procs:
                    to_hit = gap(m, h)
                    if any(gap(m, p) < to_hit for p in procs if not (p.start < h.end and h.start < p.end)):
                        continue  # "laminectomy at T12 ... with pedicle screws": T12 is the laminectomy's
                if act is not None:
                    cue = self.level_cue(m, verbs_all)
                    if cue is not None and (cue.value != action or (procs and any(
                            cue.end <= p.start and p.end <= m.start for p in procs))):
                        continue
                lvls.extend(m.vertebrae)
                if m.kind in ("vertebra", "list", "pelvis"):
                    named.extend(m.vertebrae)
            if kind in COUNTED_KINDS:
                count = self.count(text, h)
                size_m = size(text, max(0, h.start - 30), h.start)
            else:  # (hardware named without a kind, "the hardware": no instrument of the facts, see COUNTED_KINDS)
                count = size_m = None
            brands = brands_by_sent.get(h.sent)
            out.append(_instrument(kind, action, count, tuple(lv.sort_levels(lvls)) if lvls else (), v.hit_ev(h),
                                   h.assertion, brands[0].literal if brands else None,
                                   size_m.group(0) if size_m else None,
                                   tuple(lv.sort_levels(named)) if named else ()))
        return out, prior_hardware, described, described_anchors

    def count(self, text: str, h: Hit) -> int | None:
        window = text[max(0, h.start - 60):h.start]
        # the number nearest the hardware: "both rods and all eight screws" counts eight screws; tried
        # where a word starts (the window's start, or after a space or parenthesis), right to left, from
        # the first place a count matches at all (none: no count); read on the window lower-cased where
        # that stands for it (a case-blind regex), else on the window itself
        on_folded = self._count_folded
        if on_folded is False:  # (compiled here, not when the pipeline loads: a cold check of a note without
            on_folded = self._count_folded = _on_folded(self.words.count_before)  # hardware never needs it)
        if self._plain_counts:  # (split after the first counts: ~1 ms a one-note check never pays)
            self._plain_counts -= 1
            if not self._plain_counts and on_folded is not None:
                self._count_starts = _start_split(on_folded)
        low = folded(window) if on_folded is not None else None
        count_before, probe = (self.words.count_before, window) if low is None else (on_folded, low)
        m = None
        starts = self._count_starts if low is not None else None
        if starts is None:
            leftmost = count_before.search(probe)
            lo = None if leftmost is None else leftmost.start()
        elif starts[0](probe) is not None:  # (where count_before.search(probe) starts: see _start_split)
            lo = 0
        else:
            after = starts[1](probe)
            lo = None if after is None else after.start()
        if lo is not None:
            count_at, size_after = count_before.match, self.cue["size_after"].match
            for at in [*reversed([b.start() for b in _WORD_BEFORE.finditer(window, lo, len(window) - 1)]),
                       *((0,) if lo == 0 else ())]:
                found = count_at(probe, at)
                if found and not size_after(window, found.end("n")):
                    m = found
                    break
        if not m:
            # "A 7 mm PEEK cage was placed": a device named in the singular after an article is one device
            if h.value in DEVICE_KINDS and not h.literal.endswith("s") and self.words.article_before.search(window):
                return 1
            return None
        n = m.group("n").lower()
        if n.isdigit():
            return int(n)
        return self.words.numbers.get(" ".join(n.split()))

    @staticmethod
    def from_log(text, rows: list[LogRow], hits_by_label, ev) -> list[Instrument]:
        """One instrument per implant-log row that names spine hardware: placed (implanted, or no
        status) or removed (explanted); a wasted row is neither. Its evidence is the row."""
        out = []
        for row in rows:
            if row.status == "unused":
                continue
            cell = row.description

            def inside(h) -> bool:
                return cell.start <= h.start and h.end <= cell.end and h.value != "not_hardware"
            named = [h for h in hits_by_label.get("INSTRUMENT", []) if inside(h)]
            named = named or [h for h in hits_by_label.get("BRAND", []) if inside(h) and h.value in SPINE_HARDWARE]
            if not named:
                continue
            hit = max(named, key=lambda h: h.end - h.start)
            levels: tuple[str, ...] = ()
            if row.site is not None and hit.value in DEVICE_KINDS:
                levels = tuple(x for m in lv.find_levels(row.site.text) for x in m.vertebrae)
            brand = next((b.literal for b in hits_by_label.get("BRAND", []) if inside(b)), None)
            out.append(Instrument(kind=hit.value, action="removed" if row.status == "removed" else "placed",
                                  count=row.quantity, levels=tuple(lv.sort_levels(levels)),
                                  evidence=ev(row.start, row.end), brand=brand))
        return out


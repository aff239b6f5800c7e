"""Reasons hardware comes out (infection, failure, pain, healed fracture or fusion) with assertions.

Where the note states why the hardware comes out (linking.yaml ``removal_purpose``: "Removal for
dysphagia.", "Because of the fractured plate ..., removal was recommended"), a symptom or a prominence
told elsewhere (pain, other) is what that statement explains, not a reason of its own; it stays evidence.
A state of the hardware (infection, failure, a healed fracture) is a reason wherever the note asserts it.
"""
from __future__ import annotations

from ...facts import Mention
from ...model import DOCUMENTED
from .base import Linker, NoteView


class Reasons(Linker):
    def __call__(self, v: NoteView) -> list[Mention]:
        """Reasons for removal with their assertions: a weak cue counts only beside hardware, and a
        weight-0 one never in the operative narrative."""
        hits_by_label, by_sent = v.hits_by_label, v.by_sent
        out: list[Mention] = []
        hits = hits_by_label.get("REASON")
        if not hits:  # (no reason named: the hardware's sentences are not read)
            return out
        inst_by_sent, brand_sents = by_sent.get("INSTRUMENT", {}), by_sent.get("BRAND", {})

        def beside_hardware(sent: int) -> bool:  # (asked of a weak cue's sentence alone: few a note)
            return sent in brand_sents or any(h.value != "not_hardware" for h in inst_by_sent.get(sent, ()))
        for h in hits:
            if h.section in ("family_history",):
                continue
            if h.weight == 0 and h.section in self.L.operative_narrative:
                continue
            if h.weight == 1 and not beside_hardware(h.sent):
                continue
            out.append(Mention("REASON", h.value, h.assertion, v.hit_ev(h), h.literal))
        return out

    #: Reasons a stated purpose explains when they are told outside it: symptoms and prominence.
    EXPLAINED = frozenset({"pain", "other"})

    def stated(self, v: NoteView, reasons: list[Mention]) -> list[str]:
        """The removal reasons: every asserted one, except a symptom (pain, other) told only outside the
        sentence that states the removal's purpose, where the note has such a sentence with a reason."""
        asserted = [m for m in reasons if m.assertion in DOCUMENTED]
        rx = self.cue["removal_purpose"]
        purposes: dict[int, bool] = {}

        def states(m: Mention) -> bool:
            i = v.sent_at(m.evidence.start)
            if i not in purposes:
                purposes[i] = rx.search(v.sent_ev(i).text) is not None
            return purposes[i]

        stated = {m.value for m in asserted if states(m)}
        if not stated:
            return sorted({m.value for m in asserted})
        return sorted(stated | {m.value for m in asserted if m.value not in self.EXPLAINED})

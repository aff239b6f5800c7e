"""Reasons hardware comes out (infection, failure, pain, healed fracture or fusion) with assertions."""
from __future__ import annotations

from ...facts import Mention
from .base import Linker, NoteView


class Reasons(Linker):
    def __call__(self, v: NoteView) -> list[Mention]:
        """Reasons for removal with their assertions: a weak cue counts only beside hardware, and a
        weight-0 one never in the operative narrative."""
        hits_by_label, by_sent, ev = v.hits_by_label, v.by_sent, v.ev
        out = []
        inst_sents = {i for i, hs in by_sent.get("INSTRUMENT", {}).items() if any(h.value != "not_hardware" for h in hs)}
        inst_sents |= set(by_sent.get("BRAND", {}))
        for h in hits_by_label.get("REASON", []):
            if h.section in ("family_history",):
                continue
            if h.weight == 0 and h.section in self.L.operative_narrative:
                continue
            if h.weight == 1 and h.sent not in inst_sents:
                continue
            out.append(Mention("REASON", h.value, h.assertion, ev(h.start, h.end), h.literal))
        return out


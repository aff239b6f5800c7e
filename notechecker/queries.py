"""Compliant documentation queries (``check --query``): one per missing error item of the codes the
note describes, for a coder to send the surgeon.

Each query cites the note's own indicators (quotes of what the note documents about the code: its
proof and the evidence of its other documented items, never a sentence the checker wrote), asks
without leading (an open question, or clinically reasonable choices plus "other" and "clinically
undetermined"), and says that no answer is expected. Wording: ``patterns/queries.yaml``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .plain import code_verdicts, proof
from .schema.queries import query_templates

MAX_INDICATORS = 3
MAX_QUOTE = 240


@dataclass(frozen=True)
class Query:
    item_id: str
    item: str
    codes: tuple[str, ...]
    question: str
    choices: tuple[str, ...]  # empty for an open question; else ends with other and clinically undetermined
    indicators: tuple[Any, ...] = field(default=())  # Evidence quoted from the note

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "item": self.item, "codes": list(self.codes), "question": self.question,
                "choices": list(self.choices), "indicators": [e.to_dict() for e in self.indicators]}


def _squash(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE - 1].rstrip() + "\u2026"


def queries(result, text: str | None = None, catalogue=None) -> list[Query]:
    """One query per unmet error-severity checklist item of the codes the note describes (verdicts
    needs documentation, coder review, modifier needed, supported), most codes first, in item order."""
    if catalogue is None:
        from .schema.catalogue import load_catalogue

        catalogue = load_catalogue()
    tpl = query_templates(catalogue.directory)
    by_item: dict[str, dict[str, Any]] = {}
    for v in code_verdicts(result, catalogue, text):
        if v.checklist is None or not (v.supported or v.key == "coder_review"):
            continue
        met = [f for f in v.checklist.findings if f.status == "met" and not f.item_id.startswith("OP-")]
        for f in v.checklist.findings:
            if f.status == "met" or f.severity != "error":
                continue
            slot = by_item.setdefault(f.item_id, {"finding": f, "codes": [], "evidence": []})
            slot["codes"].append(v.code)
            ev = list(f.evidence) + ([v.proof] if v.proof is not None else []) + [e for m in met for e in m.evidence]
            slot["evidence"].extend(ev)
    out = []
    for item_id, slot in sorted(by_item.items(), key=lambda kv: kv[0]):
        f = slot["finding"]
        item = catalogue.item(item_id)
        spec = tpl.items.get(item_id)
        question = spec.question if spec else tpl.default.format(item=f.item_name, description=item.description.rstrip(".").lower()
                                                                 if item.description else f.item_name)
        choices = tuple(spec.choices) + (tpl.frame["other"], tpl.frame["undetermined"]) if spec and spec.choices else ()
        quotes, seen = [], set()
        for e in slot["evidence"]:
            q = proof(text, e) if text is not None else e
            key = " ".join(q.text.split()).lower()
            if key and key not in seen:
                seen.add(key)
                quotes.append(q)
            if len(quotes) == MAX_INDICATORS:
                break
        out.append(Query(item_id=item_id, item=f.item_name, codes=tuple(dict.fromkeys(slot["codes"])),
                         question=question, choices=choices, indicators=tuple(quotes)))
    return out


_NEXT_HEADING = re.compile(r"\s+(?:[A-Z][A-Za-z]+\s?){1,3}:.*$|\s*\*+\s*$")


def _heading_value(value: str | None) -> str:
    """A heading's value on its own: its first line, without a next heading run into it
    ('Priya Raman MD Resident:' -> 'Priya Raman MD')."""
    line = next((ln.strip() for ln in (value or "").splitlines() if ln.strip()), "")
    return _NEXT_HEADING.sub("", line).strip(" ;,")


def query_text(result, text: str | None = None, catalogue=None) -> str:
    """The queries of one note as plain text, ready to send ('' when nothing is missing)."""
    if catalogue is None:
        from .schema.catalogue import load_catalogue

        catalogue = load_catalogue()
    tpl = query_templates(catalogue.directory).frame
    surgeon = _heading_value(result.facts.element("surgeons").value) or tpl["surgeon_unknown"]
    date = _heading_value(result.facts.element("operation_date").value)
    blocks = []
    for n, q in enumerate(queries(result, text, catalogue), 1):
        lines = [tpl["heading"].format(n=n, code_list=", ".join(q.codes), item=q.item, item_id=q.item_id),
                 tpl["to"].format(surgeon=" ".join(surgeon.split())),
                 tpl["regarding"].format(date=f" of {' '.join(date.split())}" if date else ""),
                 tpl["indicators"] if q.indicators else tpl["no_indicators"]]
        lines += ["  " + tpl["indicator"].format(quote=_squash(e.text)) for e in q.indicators]
        lines.append(q.question)
        if q.choices:
            lines.append(tpl["choose"])
            lines += [f"  [ ] {c}" for c in q.choices]
        else:
            lines.append(tpl["open"])
        lines.append(" ".join(tpl["closing"].split()))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)

"""Plain words for a check's conclusions: one verdict per code, shared by every face.

``check`` (text), the scan tables, the report and the web page all read a code's
conclusion from :func:`code_verdicts`, so a code never reads "supported" in one
place and "wrong code" in another. This module is the one adapter between the
coding layer's verdict tokens (``coding.validate`` via ``service.CheckResult``) and
what people read; the label map lives here, in the renderer layer.

It also widens evidence that is too short to serve as proof (one word, a broken
heading) to the sentence or heading line around it (:func:`proof`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from .facts import Evidence

#: Plain words for the coding layer's verdict tokens (what the report shows instead of ``modifier_needed``).
VERDICT_WORDS = {
    "supported": "supported",
    "wrong_code": "wrong code",
    "unbundle": "bundled",
    "missing_primary": "no primary code",
    "modifier_needed": "modifier needed",
    "coder_review": "coder review",
    "not_supported": "not supported",
    "outside_scope": "not checked",
}
#: The one verdict per code, most serious first (each a plain word).
VERDICTS = ("out of scope", "wrong code", "bundled", "no primary code", "not supported", "coder review",
            "needs documentation", "modifier needed", "not checked", "supported", "supported, not billed")
#: Verdicts under which the note supports the code as coded (documentation gaps aside).
SUPPORTING = ("supported", "modifier needed", "needs documentation", "supported, not billed")
#: Severity of each verdict, for colour and ``--fail-on``.
SEVERITY = {"out of scope": "error", "wrong code": "error", "bundled": "error", "no primary code": "error",
            "not supported": "error", "coder review": "warning", "needs documentation": "error",
            "modifier needed": "warning", "not checked": "info", "supported": None,
            "supported, not billed": "warning"}
OVER_CODED = "over-coded"  # billed, but the note does not support it
UNDER_CODED = "under-coded"  # the note supports it, but it is not billed


def verdict_word(token: str | None) -> str:
    """``modifier_needed`` -> ``modifier needed`` (unknown tokens with underscores made spaces)."""
    if not token:
        return ""
    return VERDICT_WORDS.get(token, token.replace("_", " "))


@dataclass(frozen=True)
class CodeVerdict:
    """What the note says about one code, once: the verdict, why, and the code it supports instead."""

    code: str
    verdict: str  # one of VERDICTS
    reason: str
    billed: bool
    suggested: bool
    supported: bool  # the note supports the code as coded
    supported_code: str = ""  # the code(s) the note supports instead, when this one is wrong
    also: tuple[str, ...] = ()  # further coding messages about the code (modifiers, units)
    token: str = ""  # the coding layer's most serious verdict token for the code ('' when none)
    billing_gap: str = ""  # OVER_CODED, UNDER_CODED or ''
    descriptor: str = ""

    @property
    def severity(self) -> str | None:
        return SEVERITY.get(self.verdict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "verdict": self.verdict, "reason": self.reason, "billed": self.billed,
                "suggested": self.suggested, "supported": self.supported, "supported_code": self.supported_code,
                "also": list(self.also), "verdict_token": self.token, "billing_gap": self.billing_gap,
                "descriptor": self.descriptor}


def short_descriptor(descriptor: str, limit: int = 48) -> str:
    """A code's paraphrase without its parenthesised examples, cut to ``limit`` characters."""
    text = descriptor.split(" (")[0].strip() or descriptor
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _descriptor(code: str, catalogue) -> str:
    info = catalogue.table.codes.get(code) if catalogue is not None else None
    return info.descriptor if info else ""


def _join(items: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(i for i in items if i))


def out_of_scope(result) -> bool:
    scope = getattr(result.facts, "scope", None)
    return scope is not None and not scope.is_spine


def scope_line(result, text: str | None = None) -> str:
    """'Out of scope: not a spine operation (evidence: ...)' or '' for a spine operation."""
    scope = result.facts.scope
    if scope.is_spine:
        return ""
    what = "not an operative note" if scope.kind == "not_operative" else "not a spine operation"
    quotes = dict.fromkeys(proof(text, e).text if text is not None else e.text for e in scope.evidence)
    ev = "; ".join(f"\u201c{_squash(q, 70)}\u201d" for q in list(quotes)[:2])
    reason = scope.reason
    for said in ("not a spine operation: ", "not an operative note: "):  # the head says it already
        reason = reason[len(said):] if reason.startswith(said) else reason
    detail = "; ".join(x for x in (reason, f"evidence: {ev}" if ev else "") if x)
    head = "Out of scope: not a spine operation" + (f", {what}" if scope.kind == "not_operative" else "")
    return head + (f" ({detail})" if detail else "")


def code_verdicts(result, catalogue=None) -> list[CodeVerdict]:
    """One :class:`CodeVerdict` per checked code (in ``result.results`` order), then one per code the
    note supports that is not billed (under-coding, only when codes were billed)."""
    if catalogue is None:
        from .checklists import load_catalogue

        catalogue = load_catalogue()
    billed_given = bool(result.billed)
    spine = not out_of_scope(result)
    out: list[CodeVerdict] = []
    listed = set()
    for r in result.results:
        listed.add(r.code)
        out.append(_one(r, spine, billed_given, catalogue, planned=r.code in result.suggested))
    if billed_given and spine:
        billed = {b.split("-")[0] for b in result.billed}
        units: dict[str, int] = {}
        for code in result.suggested:
            units[code] = units.get(code, 0) + 1
        for code, n in units.items():
            if code in billed or code in listed:
                continue
            listed.add(code)
            said = [c.message for c in result.conclusions if c.codes == (code,) and c.verdict == "coder_review"]
            reason = said[0] if said else f"The note supports {code} x{n}, which is not billed."
            out.append(CodeVerdict(code=code, verdict="supported, not billed", reason=reason, billed=False,
                                   suggested=True, supported=True, token="coder_review" if said else "",
                                   billing_gap=UNDER_CODED, descriptor=_descriptor(code, catalogue)))
    return out


def _one(r, spine: bool, billed_given: bool, catalogue, planned: bool = True) -> CodeVerdict:
    """``planned``: the coding model itself codes ``r.code`` from the note (it is in ``result.suggested``)."""
    conclusions = [c for c in r.conclusions if r.code in c.codes]
    by_token: dict[str, list] = {}
    for c in conclusions:
        by_token.setdefault(c.verdict, []).append(c)
    desc = _descriptor(r.code, catalogue)
    s = r.summary
    errors = [f for f in r.findings if f.status != "met" and f.severity == "error"]
    coding_errors = [f for f in errors if f.tier == "coding"]

    def msgs(token: str) -> str:
        return " ".join(dict.fromkeys(c.message for c in by_token.get(token, ())))

    supported_code = ""
    if not spine:
        verdict, reason = "out of scope", "the note is not a spine operation, so it supports no spine code"
    elif "wrong_code" in by_token:
        verdict, reason = "wrong code", msgs("wrong_code")
        supported_code = _join(x for c in by_token["wrong_code"] for x in dict.fromkeys(c.suggested))
    elif "unbundle" in by_token:
        verdict, reason = "bundled", msgs("unbundle")
    elif "missing_primary" in by_token:
        verdict, reason = "no primary code", msgs("missing_primary")
    elif "not_supported" in by_token:
        verdict, reason = "not supported", msgs("not_supported")
    elif "coder_review" in by_token and planned:  # the model codes it but the note does not settle it
        verdict, reason = "coder review", msgs("coder_review")
    elif "coder_review" in by_token and any(not c.modifiers for c in by_token["coder_review"]) and not coding_errors:
        # billed, and the note does not describe it: its checklist passing does not make it so
        verdict, reason = "not supported", msgs("coder_review")
    elif s.supported is False or coding_errors:
        verdict = "not supported"
        reason = "not documented: " + _join(f"{f.item_id} {f.item_name}" for f in coding_errors)
    elif "outside_scope" in by_token or s.supported is None:
        verdict = "not checked"
        reason = msgs("outside_scope") or "no checklist covers this code"
    elif errors:
        verdict = "needs documentation"
        reason = "add: " + _join(f"{f.item_id} {f.item_name}" for f in errors)
    elif "modifier_needed" in by_token:
        verdict, reason = "modifier needed", msgs("modifier_needed")
    else:
        verdict = "supported"
        reason = msgs("supported") or f"{s.met} of {s.evaluated} checklist items documented"
    shown = {"wrong_code", "unbundle", "missing_primary", "not_supported", "coder_review", "outside_scope",
             "modifier_needed"}
    primary_msgs = set(reason.split("  "))
    also = tuple(dict.fromkeys(c.message for c in conclusions if c.verdict in shown and c.message not in reason
                               and c.message not in primary_msgs))
    supported = verdict in SUPPORTING
    gap = OVER_CODED if (billed_given and r.billed and not supported and verdict != "not checked") else ""
    token = next((t for t in ("wrong_code", "unbundle", "missing_primary", "not_supported", "modifier_needed", "coder_review",
                              "outside_scope", "supported") if t in by_token), "")
    return CodeVerdict(code=r.code, verdict=verdict, reason=reason, billed=r.billed, suggested=r.suggested,
                       supported=supported, supported_code=supported_code, also=also, token=token,
                       billing_gap=gap, descriptor=desc)


# --------------------------------------------------------------------------- evidence as proof
MIN_PROOF_WORDS = 3
MAX_PROOF_CHARS = 220
MAX_LINE_CHARS = 100  # a line longer than this is quoted by its sentence
# a sentence ends after a lower-case word or a number ("Dr." and "A." do not end one)
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)]{2})[.!?;](?=\s)|\n\s*\n")


def _squash(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _too_short(ev: Evidence) -> bool:
    words = [w for w in re.findall(r"[A-Za-z0-9]+", ev.text) if len(w) >= 4 or w.isdigit()]
    if len(words) < MIN_PROOF_WORDS:
        return True
    # a heading cut after a lone initial or mid-word ("SURGEON: N")
    return bool(re.search(r":\s*[A-Za-z]\.?$", ev.text.strip()))


def proof(text: str | None, ev: Evidence) -> Evidence:
    """``ev`` itself, or, when it is too short to prove anything (under three words of four letters or
    more, or a heading
    cut after one letter), the heading line or sentence around it, still with
    ``text[start:end] == quote``. Without the note text ``ev`` is returned as is."""
    if text is None or not _too_short(ev) or not (0 <= ev.start <= ev.end <= len(text)):
        return ev
    if text[ev.start:ev.end] != ev.text:
        return ev
    line_start = text.rfind("\n", 0, ev.start) + 1
    line_end = text.find("\n", ev.end)
    line_end = len(text) if line_end < 0 else line_end
    start, end = line_start, line_end
    one_line = "\n" not in text[ev.start:ev.end]
    if one_line and end - start > MAX_LINE_CHARS:  # a long line: the sentence around the match
        before = [m.end() for m in _SENTENCE_END.finditer(text, line_start, ev.start)]
        start = before[-1] if before else line_start
        after = _SENTENCE_END.search(text, ev.end, line_end)
        end = after.end() if after else line_end
    if end - start > MAX_PROOF_CHARS:  # still long: a window around the match, on word boundaries
        start = max(start, ev.start - MAX_PROOF_CHARS // 2)
        end = min(end, max(ev.end, start + MAX_PROOF_CHARS))
        while start > line_start and not text[start - 1].isspace():
            start -= 1
        while end < line_end and not text[end].isspace():
            end += 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start <= len(ev.text.strip()):
        return ev
    return Evidence(text=text[start:end], start=start, end=end, section=ev.section)


def result_dict(result, text: str | None = None, catalogue=None) -> dict[str, Any]:
    """``result.to_dict()`` plus what every face shows: ``verdicts`` (one per code, plain words, with the
    supported-instead code and the reason; under-coded codes too) and ``scope_message`` ('' for a spine
    operation). The JSON of ``check`` and of the web API."""
    d = result.to_dict()
    d["verdicts"] = [v.to_dict() for v in code_verdicts(result, catalogue)]
    d["scope_message"] = scope_line(result, text)
    return d

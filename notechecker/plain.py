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

import functools
import re
from dataclasses import dataclass
from typing import Any, Iterable

from .coding.common import made
from .facts import Evidence
from .schema.catalogue import load_catalogue
from .schema.verdicts import CONCLUSION_KINDS, PROBLEM_KINDS, Vocabulary, vocabulary as _vocabulary

#: Severity, order, supporting verdicts and every word come from ``patterns/verdicts.yaml``
#: (:mod:`notechecker.schema.verdicts`); the names below are read from it once.
_VOCAB = _vocabulary()
#: The one verdict per code, most serious first (each a plain word).
VERDICTS = _VOCAB.order
#: Verdicts under which the note supports the code as coded (documentation gaps aside): the one
#: definition of "supported" (the record's ``supported``, the scan's ``supported`` column, the report).
SUPPORTING = _VOCAB.supporting
OVER_CODED = _VOCAB.over_coded  # billed above what the note supports (the code, or its units)
UNDER_CODED = _VOCAB.under_coded  # the note supports more than is billed (the code, or units of it)
#: Verdicts that say a billed code does not stand on this claim.
_NOT_STANDING = frozenset({"out_of_scope", "wrong_code", "bundled", "no_primary_code", "not_supported"})


def words(catalogue=None) -> Vocabulary:
    """The verdict vocabulary of ``catalogue``'s patterns directory (the default one without it)."""
    return _vocabulary(getattr(catalogue, "directory", None))


@dataclass(frozen=True)
class Item:
    """A checklist item behind a verdict (never appended to the verdict word)."""

    id: str
    name: str
    severity: str
    status: str
    tier: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "severity": self.severity, "status": self.status,
                "tier": self.tier}


@dataclass(frozen=True)
class CodeVerdict:
    """The decision record of one code, computed once per check: what every face renders.

    ``verdict`` is a word of the closed list in ``patterns/verdicts.yaml``; ``items`` the unmet
    error-severity checklist items behind it; units billed and supported; modifiers billed and
    needed; ``proof`` the evidence of the code's defining fact; ``reason`` the sentence that says why.
    """

    code: str
    verdict: str  # one of VERDICTS
    reason: str
    billed: bool
    suggested: bool  # the note describes the code (it is in the code plan)
    supported: bool  # the verdict is one of SUPPORTING
    supported_code: str = ""  # the code(s) the note supports instead, when this one is wrong
    also: tuple[str, ...] = ()  # further coding messages about the code (modifiers, units)
    token: str = ""  # the coding layer's most serious conclusion kind for the code ('' when none)
    billing_gap: str = ""  # OVER_CODED, UNDER_CODED or ''
    descriptor: str = ""
    key: str = ""  # the verdict's stable key (``needs_documentation``)
    severity: str | None = None
    tone: str = ""
    items: tuple[Item, ...] = ()
    billed_units: int = 0
    supported_units: int = 0
    billed_modifiers: tuple[str, ...] = ()
    needed_modifiers: tuple[str, ...] = ()
    proof: Evidence | None = None
    checklist: Any = None  # the service's CodeCheck (findings, summary) or None
    coding: tuple[Any, ...] = ()  # the coding conclusions naming this code

    def to_dict(self, vocab: Vocabulary | None = None) -> dict[str, Any]:
        vocab = vocab or _VOCAB
        ck = self.checklist
        return {"code": self.code, "descriptor": self.descriptor, "verdict": self.verdict,
                "verdict_key": self.key, "severity": self.severity, "tone": self.tone,
                "supported": self.supported, "billed": self.billed, "suggested": self.suggested,
                "items": [i.to_dict() for i in self.items], "reason": self.reason, "also": list(self.also),
                "units": {"billed": self.billed_units, "supported": self.supported_units},
                "billing_gap": self.billing_gap, "supported_code": self.supported_code,
                "modifiers": {"billed": list(self.billed_modifiers), "needed": list(self.needed_modifiers)},
                "proof": self.proof.to_dict() if self.proof is not None else None,
                "checklist": None if ck is None else {"family": ck.family, "summary": ck.summary.to_dict(),
                                                      "findings": [f.to_dict() for f in ck.findings]},
                "coding": [_conclusion_dict(c, vocab) for c in self.coding]}


def _conclusion_dict(c, vocab: Vocabulary) -> dict[str, Any]:
    """A coding conclusion as detail of a record: its ``kind`` (never a second verdict) and words."""
    d = c.to_dict()
    d.pop("verdict", None)
    d.pop("label", None)
    return {"kind": c.verdict, "label": vocab.conclusion_word(c.verdict), **d}


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
    """'Out of scope: not a spine operation: <the scope's reason> (evidence: ...)', or '' for a spine
    operation. The reason is shown as the classifier wrote it (``nlp/scope.py``: it starts with what the
    note is not), never cut and re-headed here."""
    scope = result.facts.scope
    if scope.is_spine:
        return ""
    quotes = dict.fromkeys(proof(text, e).text if text is not None else e.text for e in scope.evidence)
    ev = "; ".join(f"\u201c{_squash(q, 70)}\u201d" for q in list(quotes)[:2])
    if scope.kind == "not_operative":
        line = "Out of scope: not a spine operation, " + (scope.reason or "not an operative note")
    else:
        line = "Out of scope: " + (scope.reason or "not a spine operation")
    return line + (f" (evidence: {ev})" if ev else "")


def _units(tokens: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tokens:
        out[t] = out.get(t, 0) + 1
    return out


def code_verdicts(result, catalogue=None, text: str | None = None) -> list[CodeVerdict]:
    """One :class:`CodeVerdict` per checked code (in ``result.results`` order), then one per code the
    note supports that is not billed (under-coding, only when codes were billed). Computed once per
    result (and note text): every face of one check reads the same records."""
    if catalogue is None:
        catalogue = load_catalogue()
    key = (str(catalogue.directory), text is not None)
    cache = result.__dict__.setdefault("_code_verdicts", {})
    if key not in cache:
        cache[key] = _code_verdicts(result, catalogue, text)
    return list(cache[key])


def _code_verdicts(result, catalogue, text: str | None) -> tuple[CodeVerdict, ...]:
    vocab = words(catalogue)
    billed_given = bool(result.billed)
    spine = not out_of_scope(result)
    lines = list(result.billed_lines) if billed_given else []
    billed_units = _units(c for c, _ in lines)
    billed_mods: dict[str, tuple[str, ...]] = {}
    for c, mods in lines:
        billed_mods[c] = tuple(dict.fromkeys(billed_mods.get(c, ()) + tuple(mods)))
    planned_units = _units(result.suggested)
    out: list[CodeVerdict] = []
    listed = set()
    for r in result.results:
        listed.add(r.code)
        out.append(_one(r, spine, billed_given, catalogue, vocab, text, planned=r.code in planned_units,
                        billed_n=billed_units.get(r.code, 0), planned_n=planned_units.get(r.code, 0),
                        billed_mods=billed_mods.get(r.code, ())))
    if billed_given and spine:
        for code, n in planned_units.items():
            if code in billed_units or code in listed:
                continue
            listed.add(code)
            concs = tuple(c for c in result.conclusions if code in c.codes)
            said = [c.message for c in concs if c.codes == (code,) and c.verdict == "coder_review"]
            reason = vocab.phrase("supported_not_billed", code=code, units=n)
            spec = vocab.spec("supported_not_billed")
            out.append(CodeVerdict(code=code, verdict=spec.word, reason=reason, billed=False, suggested=True,
                                   supported=spec.supports, token="coder_review" if said else "",
                                   billing_gap=UNDER_CODED, descriptor=_descriptor(code, catalogue), key=spec.key,
                                   severity=spec.severity_or_none, tone=spec.tone, supported_units=n,
                                   proof=_proof(concs, code, text, catalogue=catalogue), coding=concs))
    return tuple(out)


def _proof(conclusions, code: str, text: str | None, findings=(), catalogue=None) -> Evidence | None:
    """The sentence that shows the code's defining fact (``proof`` in ``patterns/verdicts.yaml``): among
    the evidence of the family's proof items and of the coding conclusions that support the code, the
    one naming most of what the family's proof must name (anchors and a vertebra for instrumentation,
    a device and a disc space for 22853, the treatment and the body for augmentation); ties go to the
    proof items, in their order. Families without a proof rule quote the coding evidence first."""
    coding = [e for c in conclusions if c.verdict in ("supported", "coder_review") and code in c.codes
              for e in c.evidence]
    if text is None:  # no note to read a sentence from (a scan row): the coding evidence as it is
        return proof(text, coding[0]) if coding else None
    info = catalogue.table.codes.get(code) if catalogue is not None else None
    vocab = words(catalogue)
    rule = vocab.proof.get(info.family) if info is not None else None
    if rule is None:
        return proof(text, coding[0]) if coding else None
    items, names = rule
    by_item = {f.item_id: f for f in findings if f.status == "met"}
    candidates = [e for i in items if i in by_item for e in by_item[i].evidence] + coding
    best, best_score = None, -1
    for e in candidates:
        widened = proof(text, e)
        score = sum(_names(widened.text, n, vocab) for n in names)
        if score > best_score:
            best, best_score = widened, score
    return best


def _names(sentence: str, name: str, vocab: Vocabulary) -> bool:
    """Whether ``sentence`` names a vertebra, a disc space or a word of the proof word group ``name``."""
    if name in ("vertebra", "interspace"):
        found = _find_levels()(sentence)
        return any(m.vertebrae for m in found) if name == "vertebra" else any(m.interspaces for m in found)
    return bool(vocab.proof_words[name].search(sentence))


@functools.cache
def _find_levels() -> Any:
    """:func:`notechecker.nlp.levels.find_levels`, imported on first use (the level grammar it compiles
    is no part of a scan's rows) and once: an import statement costs ~4-8 us each time it runs on a slow
    host, and a check's proof reads several sentences."""
    from .nlp.levels import find_levels

    return find_levels


def _unit_words(n: int) -> str:
    return "s" if n != 1 else ""


def _one(r, spine: bool, billed_given: bool, catalogue, vocab: Vocabulary, text: str | None, *, planned: bool,
         billed_n: int, planned_n: int, billed_mods: tuple[str, ...]) -> CodeVerdict:
    """``planned``: the coding model itself codes ``r.code`` from the note (it is in ``result.suggested``)."""
    conclusions = tuple(c for c in r.conclusions if r.code in c.codes)
    by_token: dict[str, list] = {}
    for c in conclusions:
        by_token.setdefault(c.verdict, []).append(c)
    desc = _descriptor(r.code, catalogue)
    s = r.summary
    errors = [f for f in r.findings if f.status != "met" and f.severity == "error"]
    coding_errors = [f for f in errors if f.tier == "coding"]
    items = tuple(Item(f.item_id, f.item_name, f.severity, f.status, f.tier) for f in errors)

    def msgs(token: str) -> str:
        return " ".join(dict.fromkeys(c.message for c in by_token.get(token, ())))

    supported_code = ""
    units_said: list = []
    units_differ = planned and billed_given and r.billed and billed_n != planned_n
    # a billed code the coding model does not code and says "does not document" (or its coding items fail)
    not_described = not planned and (bool(coding_errors) or s.coding_documented is False)
    if not spine:
        key, reason = "out_of_scope", vocab.phrase("out_of_scope")
    elif "wrong_code" in by_token:
        key, reason = "wrong_code", msgs("wrong_code")
        supported_code = _join(x for c in by_token["wrong_code"] for x in dict.fromkeys(c.suggested))
    elif "unbundle" in by_token:
        key, reason = "bundled", msgs("unbundle")
    elif "missing_primary" in by_token:
        key, reason = "no_primary_code", msgs("missing_primary")
    elif "not_supported" in by_token and not planned and r.billed:  # a billed code the note does not describe
        instead = _join(x for c in by_token["not_supported"] for x in c.suggested if x != r.code)
        key = "not_supported"
        reason = vocab.phrase("not_described", code=r.code, instead=vocab.phrase(
            "not_described_instead", codes=instead) if instead else "")
        supported_code = instead
    elif "not_supported" in by_token:
        key, reason = "not_supported", msgs("not_supported")
    elif not_described and r.billed:
        instead = _join(x for c in conclusions for x in c.suggested if x != r.code)
        key = "not_supported"
        reason = vocab.phrase("not_described", code=r.code, instead=vocab.phrase(
            "not_described_instead", codes=instead) if instead else "")
        supported_code = instead
    elif (not planned and r.billed and not coding_errors
          and any(not c.modifiers for c in by_token.get("coder_review", ()))):
        # billed, and the note does not describe it: its checklist passing does not make it so
        key, reason = "not_supported", msgs("coder_review")
        supported_code = _join(x for c in by_token["coder_review"] for x in c.suggested if x != r.code)
    elif planned and coding_errors and not units_differ:
        # the note describes the code but does not document what decides it (the construct's anchors):
        # documenting it settles the review too, which stays in ``also``
        key = "needs_documentation"
        reason = vocab.phrase("items_lead", items=_join(f.item_name for f in errors))
    elif "coder_review" in by_token or units_differ:  # the model codes it but the note does not settle it
        key = "coder_review"
        # the units conclusion (suggesting the code x its units) is said by the unit phrase below
        units_said = [c for c in by_token.get("coder_review", ()) if c.suggested and set(c.suggested) == {r.code}]
        reason = " ".join(dict.fromkeys(c.message for c in by_token.get("coder_review", ()) if c not in units_said))
        if units_differ:
            n = abs(billed_n - planned_n)
            phrase = "over_coded_units" if billed_n > planned_n else "under_coded_units"
            unit_reason = vocab.phrase(phrase, billed=billed_n, supported=planned_n, n=n, s=_unit_words(n))
            reason = f"{reason} ({unit_reason})" if reason else unit_reason
    elif "outside_scope" in by_token or s.coding_documented is None:
        key = "not_checked"
        reason = msgs("outside_scope") or vocab.phrase("not_checked")
    elif errors:
        key = "needs_documentation"
        reason = vocab.phrase("items_lead", items=_join(f.item_name for f in errors))
    elif "modifier_needed" in by_token:
        key, reason = "modifier_needed", msgs("modifier_needed")
    else:
        key = "supported"
        reason = msgs("supported") or vocab.phrase("documented_items", met=s.met, evaluated=s.evaluated)
    spec = vocab.spec(key)
    said = set(units_said) if key == "coder_review" else set()
    also = tuple(dict.fromkeys(c.message for c in conclusions
                               if c.verdict in PROBLEM_KINDS and c.message not in reason and c not in said))
    # over-coded: billed above what the note supports (a code it does not support, or more units);
    # under-coded: fewer units billed than it supports. A planned code under coder review is neither.
    if units_differ:
        gap = OVER_CODED if billed_n > planned_n else UNDER_CODED
    elif billed_given and r.billed and key in _NOT_STANDING:
        gap = OVER_CODED
    elif billed_given and r.billed and not planned and not spec.supports and key != "not_checked":
        gap = OVER_CODED
    else:
        gap = ""
    token = next((t for t in CONCLUSION_KINDS if t in by_token), "")
    needed = tuple(dict.fromkeys(m for c in conclusions if c.verdict == "modifier_needed" for m in c.modifiers))
    # CodeVerdict(...) of every field, in order, made as the coding conclusions are (``made``: its frozen
    # __init__ sets each of the 22 fields through object.__setattr__)
    return made(CodeVerdict, {
        "code": r.code, "verdict": spec.word, "reason": reason, "billed": r.billed, "suggested": planned,
        "supported": spec.supports, "supported_code": supported_code, "also": also, "token": token,
        "billing_gap": gap, "descriptor": desc, "key": spec.key, "severity": spec.severity_or_none,
        "tone": spec.tone, "items": items if key in ("needs_documentation", "not_supported", "coder_review") else (),
        "billed_units": billed_n, "supported_units": planned_n, "billed_modifiers": billed_mods,
        "needed_modifiers": needed,
        "proof": _proof(conclusions, r.code, text, r.findings, catalogue) if spec.supports or key == "coder_review"
        else None,
        "checklist": r if s.coding_documented is not None else None, "coding": conclusions})


# --------------------------------------------------------------------------- evidence as proof
MIN_PROOF_WORDS = 3
MAX_PROOF_CHARS = 220
MAX_LINE_CHARS = 100  # a line longer than this is quoted by its sentence
# a sentence ends after a lower-case word or a number ("Dr." and "A." do not end one), or at a blank line
# (line ends "\n", "\r\n" or a lone "\r", as the normaliser reads them: nlp/normalize/lines.py)
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)]{2})[.!?;](?=\s)|(?>\r\n|\r|\n)\s*(?:\r\n|\r|\n)")


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
    line_start = max(text.rfind("\n", 0, ev.start), text.rfind("\r", 0, ev.start)) + 1
    line_end = min((i for i in (text.find("\n", ev.end), text.find("\r", ev.end)) if i >= 0), default=len(text))
    start, end = line_start, line_end
    one_line = "\n" not in text[ev.start:ev.end] and "\r" not in text[ev.start:ev.end]
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
    """The JSON of ``check`` and of the web API: the note's facts and codes, ``verdicts`` (the one
    list of decision records, ``schema_version`` of ``patterns/verdicts.yaml``; each record nests its
    checklist findings and coding conclusions), ``note_conclusions`` (coding conclusions naming no
    code) and ``scope_message`` ('' for a spine operation). README: "verdicts[] record"."""
    d = result.to_dict()
    d.pop("results", None)
    d.pop("conclusions", None)
    vocab = words(catalogue)
    d["schema_version"] = vocab.schema_version
    d["verdicts"] = [v.to_dict(vocab) for v in code_verdicts(result, catalogue, text)]
    d["note_conclusions"] = [_conclusion_dict(c, vocab) for c in result.conclusions if not c.codes]
    d["scope_message"] = scope_line(result, text)
    return d

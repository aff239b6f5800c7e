"""Rewrites of operative notes for the metamorphic tests (issue 20, point 2).

Each rewrite is a pure function ``text -> text | None``: ``None`` means it does not apply to
the note (nothing of the kind it rewrites is there). Rewrites work by mechanism (headings,
sentences, level expressions, counts) on any note, never on one note's words.

Meaning-preserving rewrites (``PRESERVING``): the facts and the verdicts must not change.
Meaning-changing rewrites live in ``CHANGING`` with the change they must cause (see
``tests/metamorphic.py``). Rewrites that need a note's gold labels (its levels, the device
levels) are built per note by a factory taking those labels and returning ``text -> text``.

The corpus: every note of ``../shared/eval/dev`` and ``dev2`` (gold codes from
``verdicts.jsonl``) and ``sample_notes/`` (gold codes from ``gold.jsonl``'s ``suggested_cpt``).
"""
from __future__ import annotations

import collections
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_notes"
#: The shared evaluation data beside the repository, found as tests/conftest.py finds it.
SHARED_EVAL = ROOT.parent / "shared" / "eval"
SECTIONS_YAML = ROOT / "patterns" / "sections.yaml"

Rewrite = Callable[[str], Optional[str]]


# --------------------------------------------------------------------------- the corpus
@dataclass(frozen=True)
class Note:
    note_id: str
    source: str  # dev, dev2, sample
    text: str
    codes: tuple[str, ...]  # gold billed codes, "22853 x2" for units
    levels: tuple[str, ...] = ()  # gold facts levels (vertebrae)
    gold: dict = field(default_factory=dict, compare=False, hash=False)  # the gold facts row
    gold_verdicts: dict = field(default_factory=dict, compare=False, hash=False)  # code -> auditor's verdict

    @property
    def code_set(self) -> set[str]:
        return {c.split()[0] for c in self.codes}


def _tokens(counter: dict[str, int]) -> tuple[str, ...]:
    return tuple(c if n == 1 else f"{c} x{n}" for c, n in sorted(counter.items()))


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _read_text(path: Path) -> str:
    # exactly as extract reads a note: bytes decoded, CRLF kept
    return path.read_bytes().decode("utf-8")


def load_corpus() -> list[Note]:
    """Every dev, dev2 and sample note with its gold billed codes (dev sets only when ../shared is present)."""
    notes: list[Note] = []
    for name in ("dev", "dev2"):
        folder = SHARED_EVAL / name
        if not (folder / "verdicts.jsonl").is_file():
            continue
        units: dict[str, dict[str, int]] = collections.defaultdict(dict)
        labels: dict[str, dict[str, str]] = collections.defaultdict(dict)
        for v in _read_jsonl(folder / "verdicts.jsonl"):
            units[v["note_id"]][str(v["code"])] = int(v.get("units") or 1)
            labels[v["note_id"]][str(v["code"])] = v["verdict"]
        facts = {Path(g["file"]).stem: g for g in _read_jsonl(folder / "gold.jsonl")}
        for path in sorted((folder / "notes").glob("*.txt")):
            g = facts.get(path.stem, {})
            notes.append(Note(path.stem, name, _read_text(path), _tokens(units.get(path.stem, {})),
                              tuple(g.get("levels") or ()), g, labels.get(path.stem, {})))
    sample_gold = {Path(g["file"]).stem: g for g in _read_jsonl(SAMPLES / "gold.jsonl")}
    for path in sorted(SAMPLES.glob("*.txt")):
        g = sample_gold.get(path.stem, {})
        notes.append(Note(path.stem, "sample", _read_text(path),
                          _tokens(collections.Counter(g.get("suggested_cpt") or ())), tuple(g.get("levels") or ()), g))
    return notes


# --------------------------------------------------------------------------- headings
def _load_headings() -> dict[str, list[str]]:
    return yaml.safe_load(SECTIONS_YAML.read_text(encoding="utf-8"))["sections"]


HEADINGS = _load_headings()
_ALL_HEADINGS = sorted(((h, cat) for cat, hs in HEADINGS.items() for h in hs), key=lambda x: -len(x[0]))
_HEADING_CAT = {h.lower(): cat for h, cat in _ALL_HEADINGS}
_NUMBERING = r"(?:(?:\d{1,2}|[A-Za-z])[.)]\s+)?"
_HEADING_ALT = "|".join(re.escape(h) for h, _ in _ALL_HEADINGS)
#: a heading at a line start: numbering, the heading words, an optional (S)/(ES), then a colon
#: (text may follow) or the end of the line.
HEADING_RE = re.compile(
    rf"^(?P<indent>[ \t]*)(?P<num>{_NUMBERING})(?P<head>{_HEADING_ALT})(?P<plural>\s*\((?:e?s)\))?"
    rf"(?P<colon>[ \t]*:|[ \t]*(?=\r?$))", re.IGNORECASE)

#: Synonyms the tool knows (each in patterns/sections.yaml under the same category), tried in order.
KNOWN_SYNONYMS = {
    "description": ["procedure in detail", "description of the procedure", "operative technique"],
    "procedures": ["procedures performed", "operations performed", "name of procedure"],
    "pre_op_diagnosis": ["preoperative diagnosis", "pre-operative diagnosis"],
    "post_op_diagnosis": ["postoperative diagnosis", "post-operative diagnosis"],
    "indication": ["indications for surgery", "indications"],
    "findings": ["operative findings", "findings"],
    "ebl": ["blood loss", "estimated blood loss"],
    "complications": ["intraoperative complications", "complications"],
}
#: Plausible synonyms a dictated note may use that the tool may NOT know (none is in sections.yaml;
#: a test asserts it). Reported apart from the known ones.
UNKNOWN_SYNONYMS = {
    "description": ["narrative of procedure", "surgical narrative"],
    "procedures": ["procedures carried out", "operations carried out"],
}


@dataclass
class Line:
    raw: str  # the line without its line break
    eol: str  # "\n", "\r\n" or ""
    category: Optional[str]  # the section the line's content belongs to
    head: Optional[re.Match]  # the heading at the line start, if any

    @property
    def content_start(self) -> int:
        return self.head.end() if self.head else 0


def split_lines(text: str) -> list[Line]:
    """The note's lines, each with the section it belongs to (by the headings of sections.yaml)."""
    out: list[Line] = []
    category = None
    for part in re.findall(r"[^\n]*\n|[^\n]+$", text):
        eol = "\r\n" if part.endswith("\r\n") else ("\n" if part.endswith("\n") else "")
        raw = part[: len(part) - len(eol)]
        m = HEADING_RE.match(raw)
        if m:
            category = _HEADING_CAT[m.group("head").lower()]
        out.append(Line(raw, eol, category, m))
    return out


def join_lines(lines: list[Line]) -> str:
    return "".join(ln.raw + ln.eol for ln in lines)


def _case_like(word: str, model: str) -> str:
    """``word`` in the letter case of ``model`` (upper, lower or title)."""
    letters = [c for c in model if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        return word.upper()
    if letters and all(c.islower() for c in letters):
        return word.lower()
    return " ".join(w[:1].upper() + w[1:] for w in word.split(" "))


def _rename_headings(text: str, choose: Callable[[str, str], Optional[str]]) -> Optional[str]:
    """Each heading ``h`` of category ``c`` replaced by ``choose(c, h)`` (None keeps it)."""
    lines = split_lines(text)
    applied = False
    for ln in lines:
        if not ln.head:
            continue
        head = ln.head.group("head")
        new = choose(_HEADING_CAT[head.lower()], head)
        if new is None:
            continue
        applied = True
        s, e = ln.head.span("head")
        ln.raw = ln.raw[:s] + new + ln.raw[e:]
    return join_lines(lines) if applied else None


def headings_known_synonym(text: str) -> Optional[str]:
    """Each heading with a listed synonym renamed to a synonym of the same category the tool knows."""
    def choose(cat, head):
        alts = [a for a in KNOWN_SYNONYMS.get(cat, ()) if a != head.lower()]
        return _case_like(alts[0], head) if alts else None
    return _rename_headings(text, choose)


def headings_unknown_synonym(category: str) -> Rewrite:
    """The headings of ``category`` renamed to a plausible synonym not in sections.yaml."""
    def rewrite(text: str) -> Optional[str]:
        def choose(cat, head):
            alts = [a for a in UNKNOWN_SYNONYMS.get(cat, ()) if a != head.lower()] if cat == category else []
            return _case_like(alts[0], head) if alts else None
        return _rename_headings(text, choose)
    return rewrite


def headings_upper(text: str) -> Optional[str]:
    return _rename_headings(text, lambda cat, head: head.upper() if head != head.upper() else None)


def headings_lower(text: str) -> Optional[str]:
    return _rename_headings(text, lambda cat, head: head.lower() if head != head.lower() else None)


# --------------------------------------------------------------------------- sentences
_ABBREV = re.compile(r"(?:\b(?:Dr|Mr|Mrs|Ms|St|No|approx|vs|e\.g|i\.e|etc|Fig|cc|Inc)\.|\b[A-Z]\.)$", re.IGNORECASE)
_SENT_END = re.compile(r"(?<=[.!?])[ \t]+(?=\S)")


def sentences(content: str) -> list[tuple[int, int]]:
    """Spans of the sentences of a paragraph line (a sentence ends in ., ! or ? followed by space)."""
    spans, start = [], len(content) - len(content.lstrip())
    for m in _SENT_END.finditer(content, start):
        before = content[start:m.start()]
        if _ABBREV.search(before) or re.search(r"\d\.$", before) and re.search(r"\d\.\d", content[m.start() - 3:m.end() + 1]):
            continue
        spans.append((start, m.start()))
        start = m.end()
    if content[start:].strip():
        spans.append((start, len(content.rstrip())))
    return spans


#: Sections whose content is narrative prose (not a title, a diagnosis or a short field).
NARRATIVE = {"description", "findings", "indication", "history", None}


def _map_sentences(text: str, fn: Callable[[list[str], Line], Optional[list[Optional[str]]]],
                   sections=NARRATIVE) -> Optional[str]:
    """On each narrative line, ``fn(sentences, line)`` gives None (line unchanged) or one entry per
    sentence: its replacement text, or None to drop it with the space after it. The spaces between
    untouched sentences are kept as they were."""
    lines = split_lines(text)
    applied = False
    for ln in lines:
        if ln.category not in sections:
            continue
        cs = ln.content_start
        content = ln.raw[cs:]
        spans = sentences(content)
        if not spans:
            continue
        sents = [content[s:e] for s, e in spans]
        new = fn(sents, ln)
        if new is None:
            continue
        assert len(new) == len(sents)
        applied = True
        out = content[: spans[0][0]]
        for i, (s, e) in enumerate(spans):
            sep = content[e: spans[i + 1][0]] if i + 1 < len(spans) else content[e:]
            if new[i] is not None:
                out += new[i] + sep
            elif i + 1 == len(spans):
                out = out.rstrip() + sep.lstrip(" \t")
        ln.raw = ln.raw[:cs] + out
    return join_lines(lines) if applied else None


def _sep(line: Line) -> str:
    """The space a line puts between its sentences ("  " in many dictated notes)."""
    m = re.search(r"[a-z0-9)][.!?]( +)[A-Z]", line.raw)
    return m.group(1) if m else " "


def _is_upper(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) / len(letters) > 0.9


def _lower_first(s: str) -> str:
    """Lower-case a sentence's first word when it is an ordinary capitalised word (not an acronym,
    a level, a name-like token with digits, or "I")."""
    m = re.match(r"([A-Z])([a-z]*)\b", s)
    if not m or m.group(0) == "I" or (not m.group(2) and m.group(1) != "A"):
        return s
    return s[0].lower() + s[1:]


# --------------------------------------------------------------------------- levels
_VERT = r"(?:C[1-7]|T1[0-2]|T[1-9]|L[1-5]|S[1-5])"
VERT_RE = re.compile(rf"\b{_VERT}\b", re.IGNORECASE)
_PAIR = rf"{_VERT}\s*[-/]\s*(?:{_VERT}|\d{{1,2}})"
_RANGE = rf"{_VERT}\s+(?:through|thru|to)\s+{_VERT}"
_ONE = rf"(?:{_RANGE}|{_PAIR}|{_VERT})"
#: a level expression: one vertebra, a pair (L4-L5, L4-5, L4/5), a range (L3 through L5) or a list.
LEVEL_EXPR = re.compile(rf"\b{_ONE}(?:\s*(?:,\s*(?:and\s+)?|\s+and\s+){_ONE})*\b", re.IGNORECASE)
_ORDER = [f"C{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)] + \
    [f"S{i}" for i in range(1, 6)]


def expand_levels(expr: str) -> set[str]:
    """The vertebrae a level expression names, ranges and pairs expanded."""
    out: set[str] = set()
    for m in re.finditer(rf"({_VERT})(?:\s*(?:-|/|\s+(?:through|thru|to)\s+)\s*({_VERT}|\d{{1,2}}))?", expr, re.I):
        a = m.group(1).upper()
        b = m.group(2)
        if b is None:
            out.add(a)
            continue
        b = b.upper()
        if b.isdigit():
            b = a[0] + b
        if a in _ORDER and b in _ORDER and _ORDER.index(a) <= _ORDER.index(b):
            out.update(_ORDER[_ORDER.index(a): _ORDER.index(b) + 1])
        else:
            out.update({a, b})
    return out


def components(text: str) -> set[frozenset[str]]:
    """The level items a text names, each as its vertebrae: "L4-L5" {L4, L5}, "L3 through L5"
    {L3, L4, L5}, "L3, L4 and L5" three items {L3}, {L4}, {L5}."""
    return {frozenset(expand_levels(m.group(0))) for m in re.finditer(_ONE, text, re.I)}


# --------------------------------------------------------------------------- 1. levels and the title
def _title_lines(lines: list[Line]) -> list[int]:
    """Indexes of the procedure-title lines: the non-empty content lines of the first procedures
    section (a procedures heading that opens the narrative, "PROCEDURE:  The patient was ...", is none)."""
    first = next((i for i, ln in enumerate(lines) if ln.category == "procedures"), None)
    if first is None:
        return []
    out = []
    for i in range(first, len(lines)):
        ln = lines[i]
        if ln.category != "procedures" or (i > first and ln.head):
            break
        content = ln.raw[ln.content_start:].strip()
        if content and not _NARRATIVE_START.match(content) and len(content) < 400:
            out.append(i)
    return out


_NARRATIVE_START = re.compile(r"(?:the\s+patient|after|with\s+the|he|she|under|patient)\b", re.I)


def title_levels_added(levels: tuple[str, ...]) -> Rewrite:
    """The operation's levels (the note's gold ``levels``) appended to the first procedure-title line."""
    def rewrite(text: str) -> Optional[str]:
        if not levels:
            return None
        lines = split_lines(text)
        titles = _title_lines(lines)
        if not titles:
            return None
        ln = lines[titles[0]]
        named = expand_levels(" ".join(lines[i].raw for i in titles))
        order = sorted(levels, key=lambda v: _ORDER.index(v) if v in _ORDER else 99)
        if set(order) <= named:
            return None
        words = ", ".join(order[:-1]) + f" and {order[-1]}" if len(order) > 1 else order[0]
        add = f", levels {words}"
        add = add.upper() if _is_upper(ln.raw) else add.lower() if ln.raw == ln.raw.lower() else add
        body = ln.raw.rstrip()
        if body.endswith("."):
            ln.raw = body[:-1] + add + "."
        else:
            ln.raw = body + add
        return join_lines(lines)
    return rewrite


_FREE_AFTER = rf"(?!\s*,?\s*(?:and\s+)?{_VERT}\b)(?=\s*(?:[,.;:)]|$)|\s+(?:with|and|on|using|for|followed|via|under|through|utilizing|without|" \
              r"bilaterally|anterior|posterior|left|right|to)\b)"
#: a title's level expression: with its preposition or comma where nothing leans on it ("fusion, L4-L5." /
#: "at L5-S1 on the left"), else the expression alone ("decompression of T11 and T12 nerve roots")
_TITLE_LEVEL = re.compile(rf"(?:,\s*|\s+(?:at|from|to|of|spanning|across|levels?)\s+|\s+)(?:the\s+)?(?P<a>{LEVEL_EXPR.pattern})"
                          rf"(?:\s+levels?)?{_FREE_AFTER}|(?P<b>{LEVEL_EXPR.pattern})\s*", re.I)


def strip_levels(content: str) -> str:
    """A title line without its level expressions."""
    new = _TITLE_LEVEL.sub(lambda m: m.group(0) if re.match(r"-[a-z]", content[m.end():], re.I) else "", content)
    new = re.sub(r"[ \t]+([,.;)])", r"\1", new)
    new = re.sub(r"\(\s*\)", "", new)
    new = re.sub(r",\s*\(", " (", new)
    return re.sub(r"^(\s*(?:\d{1,2}[.)]\s+)?)[,;]\s*", r"\1", new)


def title_levels_removed(text: str) -> Optional[str]:
    """Level expressions removed from the procedure title where the description and findings name
    each of the title's level items (the same interspaces, ranges and vertebrae)."""
    lines = split_lines(text)
    titles = _title_lines(lines)
    if not titles:
        return None
    narrative = " ".join(ln.raw[ln.content_start:] for ln in lines if ln.category in ("description", "findings"))
    said = components(narrative)
    applied = False
    for i in titles:
        ln = lines[i]
        cs = ln.content_start
        content = ln.raw[cs:]
        if not LEVEL_EXPR.search(content) or not components(content) <= said:
            continue
        new = strip_levels(content)
        if new != content:
            applied = True
            ln.raw = ln.raw[:cs] + new
    return join_lines(lines) if applied else None


_PREP_LEVEL = re.compile(rf"\b(?:the\s+levels?\s+of\s+)?(?P<prep>at|from|of|across|spanning|in|on)\s+"
                         rf"(?:the\s+)?(?:levels?\s+of\s+)?(?P<expr>{LEVEL_EXPR.pattern})(?:\s+(?:levels?|segments?)\b)?", re.I)


def levels_to_title(text: str) -> Optional[str]:
    """Levels moved into the title only: where the procedure title names a set of levels, every
    narrative mention "at/from ... LEVELS" naming exactly that set reads "at the same level(s)"."""
    lines = split_lines(text)
    titles = _title_lines(lines)
    title_sets = [expand_levels(m.group(0)) for i in titles for m in LEVEL_EXPR.finditer(lines[i].raw)]
    title_sets = {frozenset(s) for s in title_sets if s}
    if len(title_sets) != 1:  # no levels, or several sets: "the same levels" would not say which
        return None
    applied = False
    for ln in lines:
        if ln.category not in ("description", "findings"):
            continue
        cs = ln.content_start

        def repl(m):
            nonlocal applied
            got = expand_levels(m.group("expr"))
            if got not in title_sets:
                return m.group(0)
            # "from L3 to L5" reads "at the same levels"; a pair names one interspace or two vertebrae
            plural = len(got) > 2 or (len(got) == 2 and not re.fullmatch(rf"{_PAIR}", m.group("expr").strip(), re.I))
            words = "the same levels" if plural else "the same level"
            prep = "at" if m.group("prep").lower() == "from" else m.group("prep")
            if m.group(0).lower().startswith("the level"):
                prep, words = "", words[4:]  # "the level of C5-C6" -> "the same level"
                words = "the " + words
            applied = True
            out = f"{prep} {words}".strip()
            return out.upper() if _is_upper(m.group(0)) else out
        def adj(m):
            nonlocal applied
            got = expand_levels(m.group("expr"))
            if got not in title_sets:
                return m.group(0)
            plural = len(got) > 2 or (len(got) == 2 and not re.fullmatch(rf"{_PAIR}", m.group("expr").strip(), re.I))
            noun = m.group("noun")
            applied = True
            if noun.lower() in ("level", "levels"):
                out = f"{m.group('the')} same {noun}"
            else:
                out = f"{m.group('the')} {noun} at the same {'levels' if plural else 'level'}"
            return out.upper() if _is_upper(m.group(0)) else out
        ln.raw = ln.raw[:cs] + _PREP_LEVEL.sub(repl, _ADJ_LEVEL.sub(adj, ln.raw[cs:]))
    return join_lines(lines) if applied else None


#: "the C5-C6 disc space": a level expression used as an adjective
_ADJ_LEVEL = re.compile(
    rf"\b(?P<the>the)\s+(?P<expr>{LEVEL_EXPR.pattern})\s+(?P<noun>(?:disc|disk)\s+spaces?|interspaces?|discs?|disks?|"
    rf"levels?|vertebral\s+bod(?:y|ies)|bod(?:y|ies)|pedicles?|laminae?|foramina?)\b(?!\s+joints?)", re.I)


# --------------------------------------------------------------------------- 2. description and action split
_HW = (r"(?:pedicle\s+)?(?:screws?|rods?|hooks?|wires?|plates?|cages?|spacers?|devices?|cross-?links?|connectors?|"
       r"implants?|instrumentation|hardware|construct)")
_HW_RE = re.compile(rf"\b(?P<noun>{_HW})\b", re.I)
_VERB = (r"(?:removed|placed|inserted|implanted|extracted|explanted|withdrawn|backed\s+out|taken\s+out|"
         r"reinserted|replaced|exchanged|applied|positioned|seated|secured|impacted)")
_ADV = r"(?:(?:then|subsequently|all|each|carefully|sequentially|also|easily|bilaterally|successfully|next|now|finally)\s+)*"
_NO_VERB = r"(?:(?!\b(?:was|were|is|are|had|has|and\s+then|which|that)\b)[^;:])"
_PRE = r"(?P<pre>(?:\w+ed\s+and\s+))?"  # "contoured and placed"
_SPLIT_A = re.compile(  # "Pedicle screws at L3, L4 and L5 were (then) removed ..."
    rf"^(?P<subj>{_NO_VERB}+?)\s+(?P<aux>was|were)\s+(?P<adv>{_ADV}){_PRE}(?P<verb>{_VERB})\b(?P<rest>.*)$", re.I)
#: the place phrase of a "placed at LEVEL" sentence: stops at a comma not opening a level list, at ";" and
#: at "and <verb>ed" (a second action), which stay with the action sentence
_LOC = rf"(?:(?!\band\s+\w+ed\b)(?!\b(?:was|were)\b)(?:[^;,.]|\.(?=\d)|,\s*(?:and\s+)?(?={_VERT}\b)))*"
_PREP = r"(?P<prep>at|from|into|in|across|spanning|on|over|to)"
_POST = r"(?P<post>\s+and\s+\w+ed)?"  # "inserted and anchored to"
_GAP = r"(?P<gap>(?:(?!(?:at|from|into|in|across|spanning|on|over|and|to)\b)[\w\-]+\s+){0,6}?)"
_TAIL = r"(?P<tail>(?:[,;]|\band\s)(?:.*?))?(?P<end>[.!?]?)$"
_SPLIT_B = re.compile(  # "Pedicle screws were placed (bilaterally) at L4 and L5 ..."
    rf"^(?P<subj>{_NO_VERB}*?\b{_HW}\b{_NO_VERB}*?)\s+(?P<aux>was|were)\s+(?P<adv>{_ADV}){_PRE}(?P<verb>{_VERB}){_POST}\s+"
    rf"{_GAP}{_PREP}\s+(?P<loc>{_LOC}\b{_VERT}\b{_LOC}){_TAIL}", re.I)
_SPLIT_C = re.compile(  # "We then placed a titanium plate from C3-C5, ..."
    rf"^(?P<intro>(?:[^,;]*,\s+)?)(?P<we>we|I)\s+(?P<adv>{_ADV})(?P<verb>{_VERB})\s+"
    rf"(?P<obj>{_NO_VERB}*?\b{_HW}\b(?:(?!\b(?:at|from|into|in|across|spanning|on|over)\b){_NO_VERB})*?)\s+"
    rf"{_GAP}{_PREP}\s+(?P<loc>{_LOC}\b{_VERT}\b{_LOC}){_TAIL}", re.I)
_SPLIT_D = re.compile(  # "At S1, 40-mm screws were placed bilaterally ..."
    rf"^(?P<front>(?:at|in|from)\s+[^,;]*?\b{_VERT}\b[^,;]*),\s+(?P<subj>{_NO_VERB}*?\b{_HW}\b{_NO_VERB}*?)\s+"
    rf"(?P<aux>was|were)\s+(?P<adv>{_ADV}){_PRE}(?P<verb>{_VERB})\b(?P<rest>.*)$", re.I)
_SINGULAR = {"screws": "screw", "rods": "rod", "hooks": "hook", "wires": "wire", "plates": "plate", "cages": "cage",
             "spacers": "spacer", "devices": "device", "crosslinks": "crosslink", "cross-links": "cross-link",
             "connectors": "connector", "implants": "implant"}


def _head_noun(subj: str, aux: str) -> str:
    nouns = {re.sub(r"^pedicle\s+", "", m.group("noun").lower()) for m in _HW_RE.finditer(subj)}
    nouns = {_SINGULAR.get(n, n) for n in nouns}
    plural = aux.lower() == "were"
    if len(nouns) != 1:
        return "These implants" if plural else "This hardware"
    noun = nouns.pop()
    if plural and noun not in ("instrumentation", "hardware"):
        noun = noun + "s" if not noun.endswith("s") else noun
    return ("These " if plural and noun not in ("instrumentation", "hardware") else "This ") + noun


def _intro(subj: str) -> tuple[str, str]:
    """An introductory phrase before the hardware ("Initially, on the left side, ") and the rest."""
    m = _HW_RE.search(subj)
    cut = subj.rfind(", ", 0, m.start()) if m else -1
    if cut < 0 or VERT_RE.search(subj[:cut]) or _HW_RE.search(subj[:cut]):
        return "", subj
    return subj[: cut + 2], subj[cut + 2:]


_PLACING = re.compile(r"^(?:placed|inserted|implanted|applied|positioned|seated|secured|impacted)$", re.I)


def _construct(subj: str, verb: str = "") -> str:
    """"The construct consisted of <subject>" (hardware already there: removed, reinserted ...), or "The
    new construct consisted of" for hardware placed today, so two constructs of a note stay apart."""
    intro, np_ = _intro(subj.strip().rstrip(","))
    what = "new construct" if _PLACING.match(verb.split()[-1] if verb else "") else "construct"
    return f"{intro}the {what} consisted of {_lower_first(np_)}" if intro else \
        f"The {what} consisted of {_lower_first(np_)}"


def _tail(m) -> str:
    t = m.group("tail") or ""
    return (" " + t if t and t[0] not in ",;" else t) + (m.group("end") or ".")


#: temporary hardware is no part of the construct: a sentence about it is not split
_TEMPORARY = re.compile(r"\b(?:temporary|provisional|distract\w*|trials?|templates?|caspar|pins?)\b", re.I)


def _split_clause(sent: str) -> Optional[tuple[str, str]]:
    """(description, action) of one clause naming hardware, levels and an action, or None."""
    if VERT_RE.search(sent) is None or _HW_RE.search(sent) is None or _TEMPORARY.search(sent):
        return None
    m = _SPLIT_A.match(sent)
    if m and _HW_RE.search(m.group("subj")) and VERT_RE.search(m.group("subj")):
        aux, verb = m.group("aux").lower(), (m.group("pre") or "") + m.group("verb")
        return (f"{_construct(m.group('subj'), m.group('verb'))}.",
                f"{_head_noun(m.group('subj'), aux)} {aux} {m.group('adv')}{verb}{m.group('rest')}")
    m = _SPLIT_D.match(sent)
    if m and not VERT_RE.search(m.group("subj")):
        aux, verb = m.group("aux").lower(), (m.group("pre") or "") + m.group("verb")
        front = re.sub(r"^(?:in|from)\b", "at", m.group("front"), flags=re.I)
        return (f"{_construct(m.group('subj'), m.group('verb'))} {front[0].lower() + front[1:]}.",
                f"{_head_noun(m.group('subj'), aux)} {aux} {m.group('adv')}{verb}{m.group('rest')}")
    m = _SPLIT_B.match(sent)
    if m and not VERT_RE.search(m.group("subj")):
        aux, verb = m.group("aux").lower(), (m.group("pre") or "") + m.group("verb") + (m.group("post") or "")
        prep = "at" if m.group("prep").lower() in ("into", "in", "to") else m.group("prep").lower()
        gap = (" " + m.group("gap").strip()) if m.group("gap").strip() else ""
        return (f"{_construct(m.group('subj'), m.group('verb'))} {prep} {m.group('loc').strip()}.",
                f"{_head_noun(m.group('subj'), aux)} {aux} {m.group('adv')}{verb}{gap}{_tail(m)}")
    m = _SPLIT_C.match(sent)
    if m and not VERT_RE.search(m.group("obj")):
        prep = "at" if m.group("prep").lower() in ("into", "in", "to") else m.group("prep").lower()
        gap = (" " + m.group("gap").strip()) if m.group("gap").strip() else ""
        obj = _head_noun(m.group("obj"), "were" if re.search(r"s\b", _HW_RE.findall(m.group("obj"))[-1], re.I) else "was")
        intro = m.group("intro")
        we = m.group("we") if intro else m.group("we")[0].upper() + m.group("we")[1:]
        return (f"{_construct(m.group('obj'), m.group('verb'))} {prep} {m.group('loc').strip()}.",
                f"{intro}{we} {m.group('adv')}{m.group('verb')} {obj[0].lower() + obj[1:]}{gap}{_tail(m)}")
    return None


def _finish(desc: str, act: str, upper: bool) -> list[str]:
    act = act.replace(" .", ".").rstrip()
    if not act.endswith((".", "!", "?")):
        act += "."
    return [desc.upper(), act.upper()] if upper else [desc, act]


#: where a sentence may be cut into clauses: "; ", ", and ", ", " (the part before ends the first sentence)
_DET = r"(?=(?:the|a|an|all|both|two|three|four|five|six|eight|new)\b)"
_CLAUSE_CUT = re.compile(rf";\s+|,?\s+and\s+(?:then\s+)?{_DET}|,\s+{_DET}|\s+while\s+{_DET}", re.I)


def _split_one(sent: str) -> Optional[list[str]]:
    """The sentence as [description, action], or [first part, description, action] when the hardware
    clause is a later clause of the sentence ("The caps were removed, and the screws at L1 ... were removed.")."""
    if VERT_RE.search(sent) is None or _HW_RE.search(sent) is None:
        return None
    upper = _is_upper(sent)
    got = _split_clause(sent)
    if got:
        return _finish(*got, upper)
    for cut in _CLAUSE_CUT.finditer(sent):
        got = _split_clause(sent[cut.end():])
        if got:
            head = sent[: cut.start()].rstrip(",;") + "."
            desc, act = _finish(*got, upper)
            desc = desc[0].upper() + desc[1:]
            return [head, desc, act]
    return None


def split_description_action(text: str) -> Optional[str]:
    """A sentence naming hardware, levels and an action ("Pedicle screws at L3, L4 and L5 were removed.")
    becomes a description and an action ("The construct consisted of pedicle screws at L3, L4 and L5.
    These screws were removed.")."""
    def fn(sents, ln):
        out, hit = [], False
        for s in sents:
            parts = _split_one(s)
            hit = hit or bool(parts)
            out.append(_sep(ln).join(parts) if parts else s)
        return out if hit else None
    return _map_sentences(text, fn, sections=NARRATIVE - {"indication", "history"})


# --------------------------------------------------------------------------- 3. sentences joined
def _joiner(glue: str) -> Rewrite:
    def rewrite(text: str) -> Optional[str]:
        def fn(sents, ln):
            if len(sents) < 2:
                return None
            out: list[Optional[str]] = list(sents)
            hit = False
            i = 0
            while i + 1 < len(sents):
                a, b = sents[i], sents[i + 1]
                if a.endswith(".") and not a.endswith("..") and b[:1].isalpha() and not _ABBREV.search(a):
                    g = glue.upper() if _is_upper(a) else glue
                    out[i] = a[:-1] + g + (b if _is_upper(b) else _lower_first(b))
                    out[i + 1] = None
                    hit = True
                    i += 2
                else:
                    i += 1
            return out if hit else None
        return _map_sentences(text, fn, sections={"description", "findings"})
    return rewrite


join_semicolon = _joiner("; ")
join_and = _joiner(", and ")


# --------------------------------------------------------------------------- 5. numbers and counts
_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
_UNITS = (r"(?:mm|cm|m|ml|mls|cc|cl|l|g|gm|gms|mg|mcg|kg|meq|units?|u|fr|french|gauge|ga|%|percent|degrees?|x|"
          r"mmhg|hz|ma|mv|ms|sec|cm3|days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?|am|pm|o'clock)")
#: a standalone count 1-12 before a word: not a measure (units), not a suture size (2-0), not a list number,
#: not part of a date, a level (L4), a size (4 x 40) or a decimal.
_COUNT_DIGIT = re.compile(rf"(?<![\w#.,/:\-])(?P<n>[1-9]|1[0-2])(?= (?P<w>[A-Za-z][A-Za-z\-]+)\b)(?! {_UNITS}\b)"
                          rf"(?! (?:and|to|or)\s+(?:\d|one|two|three|four|five|six|seven|eight|nine|ten)\b)", re.I)
#: a word before a number that makes it a grade, type or name ("grade 1", "Modic type 1"), not a count
_NOT_COUNT_BEFORE = re.compile(r"\b(?:grade|type|zone|class|stage|size|number|no|torque|level|room|bed|page|step)\s$",
                               re.I)
#: a name before a number ("Torque 2", "Zone 1"): the number is part of the name, not a count
_NAME_BEFORE = re.compile(r"(?<![.:]\s)(?<![.:])\b[A-Z][a-z]+ $")
_COUNT_WORD = re.compile(rf"(?<![\w\-])(?P<n>two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
                         rf"(?= (?:[A-Za-z][A-Za-z\-]+ ){{0,2}}[A-Za-z][A-Za-z\-]+s\b)(?! (?:of|or|and|to|times)\b)", re.I)


def _is_count(m: re.Match) -> bool:
    """A digit match of _COUNT_DIGIT that is a count: not a grade, type or name ("grade 1", "Torque 2")."""
    before = m.string[max(0, m.start() - 30): m.start()]
    return not (_NOT_COUNT_BEFORE.search(before) or (
        _NAME_BEFORE.search(before) and not re.search(r"(?:^|[.:]\s+)[A-Z][a-z]+ $", before)))


def has_digit_count(text: str) -> bool:
    return any(_is_count(m) for ln in split_lines(text) for m in _COUNT_DIGIT.finditer(ln.raw[ln.content_start:]))


def numbers_to_words(text: str) -> Optional[str]:
    """Counts written as digits ("2 rods") written as words ("two rods"); measures (200 mL) unchanged."""
    lines = split_lines(text)
    applied = False
    for ln in lines:
        cs = ln.content_start

        def repl(m):
            nonlocal applied
            if not _is_count(m):
                return m.group(0)
            applied = True
            w = _WORDS[int(m.group("n"))]
            return w.upper() if _is_upper(ln.raw) else w
        ln.raw = ln.raw[:cs] + _COUNT_DIGIT.sub(repl, ln.raw[cs:])
    return join_lines(lines) if applied else None


def counts_to_digits(text: str) -> Optional[str]:
    """Counts written as words before a plural noun ("six pedicle screws") written as digits ("6 pedicle screws")."""
    lines = split_lines(text)
    applied = False
    for ln in lines:
        cs = ln.content_start

        def repl(m):
            nonlocal applied
            applied = True
            return str(_WORDS.index(m.group("n").lower()))
        ln.raw = ln.raw[:cs] + _COUNT_WORD.sub(repl, ln.raw[cs:])
    return join_lines(lines) if applied else None


# --------------------------------------------------------------------------- 6. dictated level forms (forms work)
_FULL_PAIR = re.compile(r"\b(?P<r>[CTLS])(?P<a>\d{1,2})\s*-\s*(?P=r)(?P<b>\d{1,2})\b", re.I)
_SHORT_PAIR = re.compile(r"\b(?P<r>[CTLS])(?P<a>\d{1,2})\s*-\s*(?P<b>\d{1,2})\b(?!\s*(?:mm|cm|ml|cc|mg)\b)", re.I)


def _valid_pair(r: str, a: str, b: str, adjacent: bool = False) -> bool:
    """Two vertebrae of one region, the second below the first (next to it when ``adjacent``)."""
    return (f"{r.upper()}{a}" in _ORDER and f"{r.upper()}{b}" in _ORDER
            and (int(b) == int(a) + 1 if adjacent else int(b) > int(a)))


def _rewrite_pairs(text: str, patterns, fmt, adjacent: bool = False) -> Optional[str]:
    """Each valid level pair the ``patterns`` find written as ``fmt(region, a, b)``; None when none is."""
    hit = False

    def repl(m):
        nonlocal hit
        if not _valid_pair(m.group("r"), m.group("a"), m.group("b"), adjacent=adjacent):
            return m.group(0)
        hit = True
        return fmt(m.group("r"), m.group("a"), m.group("b"))
    out = text
    for rx in patterns:
        out = rx.sub(repl, out)
    return out if hit else None


def levels_short(text: str) -> Optional[str]:
    """"C5-C6" dictated as "C5-6", "C3-C5" as "C3-5" (one region)."""
    return _rewrite_pairs(text, (_FULL_PAIR,), lambda r, a, b: f"{r}{a}-{b}")


def levels_long(text: str) -> Optional[str]:
    """"C5-6" written out as "C5-C6" (one region)."""
    return _rewrite_pairs(text, (_SHORT_PAIR,), lambda r, a, b: f"{r}{a}-{r}{b}")


def levels_slash(text: str) -> Optional[str]:
    """An interspace "L4-L5" or "L4-5" dictated as "L4/5"."""
    return _rewrite_pairs(text, (_FULL_PAIR, _SHORT_PAIR), lambda r, a, b: f"{r}{a}/{b}", adjacent=True)


# --------------------------------------------------------------------------- 7. the construct's anchors deleted
_ANCHOR = re.compile(r"\b(?:screws?|hooks?|wires?|plates?|rods?|instrumentation|hardware|constructs?|implants?|"
                     r"fixation|fusion)\b", re.I)


#: where pelvic anchors are (the facts' "ilium" level)
_PELVIC = re.compile(r"\b(?:iliac|ilium|pelvis|pelvic|S2AI|S2-alar-iliac)\b", re.I)


def construct_deleted(text: str) -> Optional[str]:
    """Every statement of where the construct is anchored deleted: each narrative sentence naming hardware
    with a level, and the level expressions of the title and diagnosis lines. The removal itself
    ("the screws were removed") stays; the anchors per vertebra are nowhere documented."""
    lines = split_lines(text)
    applied = False
    for ln in lines:
        cs = ln.content_start
        content = ln.raw[cs:]
        if not VERT_RE.search(content) and not _PELVIC.search(content):
            continue
        if ln.category in NARRATIVE:
            spans = sentences(content)
            drop = [bool(_ANCHOR.search(content[s:e]) and (VERT_RE.search(content[s:e]) or _PELVIC.search(content[s:e])))
                    for s, e in spans]
            if any(drop):
                applied = True
                out = content[: spans[0][0]]
                for i, (s, e) in enumerate(spans):
                    sep = content[e: spans[i + 1][0]] if i + 1 < len(spans) else content[e:]
                    if not drop[i]:
                        out += content[s:e] + sep
                ln.raw = ln.raw[:cs] + out.rstrip()
        else:
            new = re.sub(rf"(?:,\s*|\s+(?:at|from|of|spanning|across|levels?)\s+|\s+)?{LEVEL_EXPR.pattern}", "", content,
                         flags=re.I)
            new = re.sub(r"\s+([,.;])", r"\1", new)
            if new != content:
                applied = True
                ln.raw = ln.raw[:cs] + new
    return join_lines(lines) if applied else None


# --------------------------------------------------------------------------- 8. "not fused" at an interspinous device
def not_fused_added(device_levels: tuple[str, ...]) -> Rewrite:
    """A sentence stating that the device levels were not fused, added after the description
    section's first paragraph line (true of a note with no fusion: rule 7 is then plainly met)."""
    def rewrite(text: str) -> Optional[str]:
        if not device_levels:
            return None
        lines = split_lines(text)
        target = next((ln for ln in lines if ln.category == "description" and ln.raw[ln.content_start:].strip()), None)
        if target is None:
            return None
        order = sorted(device_levels, key=lambda v: _ORDER.index(v) if v in _ORDER else 99)
        stated = f" No fusion was performed, and the {order[0]}-{order[-1]} levels were not fused."
        target.raw = target.raw.rstrip() + (stated.upper() if _is_upper(target.raw) else stated)
        return join_lines(lines)
    return rewrite


_NOT_FUSED = re.compile(r"[^.;]*\b(?:not\s+fused|no\s+fusion|without\s+fusion|non-?fused|unfused)\b[^.;]*[.;]\s*", re.I)


def not_fused_removed(text: str) -> Optional[str]:
    """Every sentence stating that a level was not fused ("not fused", "without fusion", "no fusion")
    removed."""
    out, n = _NOT_FUSED.subn("", text)
    return out if n else None


def fusion_stated(text: str) -> Optional[str]:
    """Each "not fused" sentence that names levels turned into a statement that those levels were fused
    (meaning-changing: an interspinous device at a fused level, CODING.md rule 7)."""
    hit = False

    def repl(m):
        nonlocal hit
        lv = LEVEL_EXPR.search(m.group(0))
        if not lv:
            return m.group(0)
        hit = True
        lead = re.match(r"\s*", m.group(0)).group(0)
        return f"{lead}A posterolateral fusion with local autograft was performed at {lv.group(0)}. "
    out = _NOT_FUSED.sub(repl, text)
    return out if hit else None


# --------------------------------------------------------------------------- the registry
def _lines_in(text: str, cats) -> list[str]:
    return [ln.raw[ln.content_start:] for ln in split_lines(text) if ln.category in cats]


def _has_title_levels(text: str) -> bool:
    lines = split_lines(text)
    return any(VERT_RE.search(lines[i].raw[lines[i].content_start:]) for i in _title_lines(lines))


_ACTION = re.compile(rf"\b(?:(?:was|were)\s+(?:[\w\-]+\s+){{0,2}}|we\s+(?:\w+\s+)?){_VERB}\b", re.I)
_NEGATION = re.compile(r"\b(?:no|not|none|never|without)\b", re.I)


def _has_hw_level_action(text: str) -> bool:
    """A narrative sentence naming hardware and a level, with an action verb in the passive
    ("were removed") or with "we" ("we placed"), not negated."""
    return any(_HW_RE.search(s) and VERT_RE.search(s) and _ACTION.search(s) and not _NEGATION.search(s)
               and not _TEMPORARY.search(s)
               for c in _lines_in(text, NARRATIVE - {"indication", "history"})
               for s in (c[a:b] for a, b in sentences(c)))


def _has_two_sentences(text: str) -> bool:
    return any(len(sentences(c)) >= 2 for c in _lines_in(text, {"description", "findings"}))


def _has_heading(text: str, cats=None, test=lambda h: True) -> bool:
    return any(ln.head and (cats is None or ln.category in cats) and test(ln.head.group("head"))
               for ln in split_lines(text))


def _narrative_names_title_set(text: str) -> bool:
    """The title names one set of levels and the description or findings name that same set."""
    lines = split_lines(text)
    sets = {frozenset(expand_levels(m.group(0))) for i in _title_lines(lines) for m in LEVEL_EXPR.finditer(lines[i].raw)}
    sets.discard(frozenset())
    if len(sets) != 1:
        return False
    return any(frozenset(expand_levels(m.group(0))) in sets
               for c in _lines_in(text, {"description", "findings"}) for m in LEVEL_EXPR.finditer(c))


# --------------------------------------------------------------------------- line ends
def line_ends(*ends: str) -> Rewrite:
    """The note with its line ends written ``ends`` in turn: ``"\\r\\n"`` (Windows), ``"\\r"`` (old Mac),
    several (mixed: a lone ``"\\r"`` is never followed by ``"\\n"``, which would make one line end of two)."""
    def rewrite(text: str) -> Optional[str]:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if len(lines) < 2:
            return None
        return lines[0] + "".join(ends[i % len(ends)] + ln for i, ln in enumerate(lines[1:]))
    return rewrite


def line_ends_swapped(text: str) -> Optional[str]:
    """A note with ``"\\n"`` line ends written with ``"\\r\\n"``, one with ``"\\r\\n"`` with ``"\\n"``."""
    return line_ends("\n" if "\r\n" in text else "\r\n")(text)


@dataclass(frozen=True)
class Spec:
    """A rewrite and when it applies: ``applies`` looks for what the rewrite works on (so a rewrite
    whose mechanism misses it shows as applied but unchanged)."""

    fn: Rewrite
    applies: Callable[[str], bool]
    doc: str = ""


#: meaning-preserving rewrites that are pure text -> text
PRESERVING: dict[str, Spec] = {
    "levels-to-title": Spec(levels_to_title, lambda t: _narrative_names_title_set(t)),
    "title-levels-removed": Spec(title_levels_removed, lambda t: _has_title_levels(t) and all(
        components(ln.raw[ln.content_start:]) <= components(" ".join(_lines_in(t, {"description", "findings"})))
        for ln in (lambda ls: [ls[i] for i in _title_lines(ls)])(split_lines(t)))),
    "split-sentences": Spec(split_description_action, _has_hw_level_action),
    "join-semicolon": Spec(join_semicolon, _has_two_sentences),
    "join-and": Spec(join_and, _has_two_sentences),
    "headings-synonym": Spec(headings_known_synonym, lambda t: _has_heading(t, set(KNOWN_SYNONYMS))),
    "headings-upper": Spec(headings_upper, lambda t: _has_heading(t, test=lambda h: h != h.upper())),
    "headings-lower": Spec(headings_lower, lambda t: _has_heading(t, test=lambda h: h != h.lower())),
    "numbers-to-words": Spec(numbers_to_words, has_digit_count),
    "counts-to-digits": Spec(counts_to_digits, lambda t: bool(re.search(
        r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve) [a-z]+s\b", t, re.I))),
    "levels-short": Spec(levels_short, lambda t: bool(_FULL_PAIR.search(t))),
    "levels-long": Spec(levels_long, lambda t: bool(_SHORT_PAIR.search(t))),
    "levels-slash": Spec(levels_slash, lambda t: any(
        _valid_pair(m.group("r"), m.group("a"), m.group("b"), adjacent=True)
        for rx in (_FULL_PAIR, _SHORT_PAIR) for m in rx.finditer(t))),
    # the normaliser reads every line end as "\n" (notechecker/nlp/normalize/lines.py)
    "line-ends-crlf": Spec(line_ends_swapped, lambda t: "\n" in t),
    "line-ends-cr": Spec(line_ends("\r"), lambda t: "\n" in t),
    "line-ends-mixed": Spec(line_ends("\r", "\r\n", "\n"), lambda t: "\n" in t),
}
#: meaning-preserving rewrites built from a note's gold labels (here: the operation's levels)
PRESERVING_PER_NOTE: dict[str, Callable[[Note], Spec]] = {
    "title-levels-added": lambda note: Spec(title_levels_added(note.levels), lambda t: bool(
        note.levels and _title_lines(split_lines(t)) and not set(note.levels) <= expand_levels(
            " ".join(split_lines(t)[i].raw for i in _title_lines(split_lines(t)))))),
}
#: renamings to synonyms the tool may not know yet: reported separately from the known ones
UNKNOWN_HEADINGS: dict[str, Spec] = {
    f"unknown-{cat}-heading": Spec(headings_unknown_synonym(cat), lambda t, cat=cat: _has_heading(t, {cat}))
    for cat in UNKNOWN_SYNONYMS
}
#: the dictated-level rewrites belong to the forms work (measured here all the same)
FORMS_WORK = {"levels-short", "levels-long", "levels-slash"}

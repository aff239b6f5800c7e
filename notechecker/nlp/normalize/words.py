"""Helpers of the normaliser: compiling the file's regexes, the words of the vocabularies, edit
distances, cases, levels, and the reading of an example."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import PatternError
from ...schema.vocab.base import read_yaml
from .. import regex_literals
from .model import Entry

def compile_rx(path: Path, where: str, rx: str, flags: int = re.IGNORECASE) -> re.Pattern:
    try:
        return re.compile(rx, flags)
    except re.error as exc:
        raise PatternError("E017", f"{path}: {where}: invalid regular expression {rx!r}: {exc}") from None


def compile_entry(path: Path, where: str, e: Entry, flags: int = re.IGNORECASE | re.MULTILINE) -> re.Pattern:
    rx = compile_rx(path, where, e.regex, flags)
    for ex in e.examples:
        if rx.search(ex) is None:
            raise PatternError("E018", f"{path}: {where}: example {ex!r} is not matched by its regex")
    return rx


_WORD = re.compile(r"[a-z]+")


def words_of(path: Path) -> set[str]:
    """Every lower-case word written in a vocabulary file (phrases, regexes, comments)."""
    try:
        return set(_WORD.findall(path.read_text(encoding="utf-8").lower()))
    except OSError:
        raise PatternError("E001", f"{path}: file not found") from None


def phrases_of(path: Path) -> set[str]:
    """The words of a target vocabulary's phrases (``rules``), lower-cased."""
    data = read_yaml(path)
    out: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, str):
            out.update(_WORD.findall(x.lower()))
        elif isinstance(x, dict):
            for k in ("literal", "pattern"):
                if isinstance(x.get(k), str) and k == "literal":
                    walk(x[k])
            if "literal" not in x:
                for v in x.values():
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk((data or {}).get("rules") if isinstance(data, dict) else None)
    return out


# --------------------------------------------------------------------------- helpers
def levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance of two short words, or ``limit + 1`` once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        best = i
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            best = min(best, cur[j])
        if best > limit:
            return limit + 1
        prev = cur
    return prev[-1]


#: A character the same character follows: deleting each leaves every run of one character written once
#: (its last), as replacing ``(.)\1+`` by ``\1`` does, with a literal (empty) replacement, ~4x faster.
_BEFORE_ITSELF = re.compile(r"(.)(?=\1)")


def once(word: str) -> str:
    """``word`` with every run of one letter written once ("pedicclle" -> "pedicle")."""
    return _BEFORE_ITSELF.sub("", word)


def alike_table(pairs) -> dict[int, str]:
    """A ``str.translate`` table writing each letter of ``pairs`` (pairs of letters read one for the
    other) as one letter of its group: the letters joined by pairs, directly or through others."""
    group: dict[str, set[str]] = {}
    for pair in pairs:
        joined = set(pair).union(*(group.get(c, ()) for c in pair))
        for c in joined:
            group[c] = joined
    return {ord(c): min(g) for c, g in group.items()}


def deletes(word: str, n: int) -> set[str]:
    """``word`` with up to ``n`` of its letters deleted (one and two deletions spelled out: each pair of
    positions once, not each order of deleting them)."""
    out = {word}
    size = len(word)
    if n >= 1:
        out.update([word[:i] + word[i + 1:] for i in range(size)])
    if n >= 2:
        out.update([word[:i] + word[i + 1:j] + word[j + 1:] for i in range(size) for j in range(i + 1, size)])
    frontier = out
    for _ in range(n - 2):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def cased_as(normal: str, original: str) -> str:
    """``normal`` in the case of ``original`` (all capitals, capitalised, or as written)."""
    letters = [c for c in original if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        return normal.upper()
    if original[:1].isupper() and normal[:1].islower():
        return normal[:1].upper() + normal[1:]
    return normal


MAX_LEVEL = {"C": 7, "T": 12, "L": 5, "S": 5}
NEXT_REGION = {"C": "T", "T": "L", "L": "S"}


#: A line this long (characters) that ends inside a sentence was wrapped, not ended.
WRAPPED_LINE = 45
#: At most this many words are carried along behind a rewrite to keep a phrase whole.
CARRY = 4
#: How near (characters) a lone spoken level must be to another level to be read as one.
NEAR = 40
LEVEL_CODE = re.compile(r"(?<![A-Za-z0-9])[CTLS]\d{1,2}(?![A-Za-z0-9])")


def valid_level(letter: str, n: int) -> bool:
    return 1 <= n <= MAX_LEVEL[letter]


def follows_level(l1: str, n1: int, l2: str, n2: int) -> bool:
    """Whether level l2n2 lies caudal to l1n1 (a pair "five six", "five ess one")."""
    if not (valid_level(l1, n1) and valid_level(l2, n2)):
        return False
    if l1 == l2:
        return n2 > n1
    return NEXT_REGION.get(l1) == l2


def inflection(word: str, vocab_word: str) -> bool:
    """"spacers" for "spacer", "plated" for "plates": a word is not a misspelling of its own forms."""
    for suf in ("s", "es", "ed", "d", "ing", "al", "ly", "er", "ers"):
        for a, b in ((word, vocab_word), (vocab_word, word)):
            if a.endswith(suf) and a[: -len(suf)] in (b, b[:-1], b.rstrip("es")):
                return True
    return False


def bigrams_of(path: Path) -> set[tuple[str, str]]:
    """Pairs of consecutive words in the phrases of a target vocabulary (lower-cased)."""
    data = read_yaml(path)
    out: set[tuple[str, str]] = set()

    def walk(x: Any) -> None:
        if isinstance(x, str):
            words = _WORD.findall(x.lower())
            out.update(zip(words, words[1:]))
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(data.get("rules") if isinstance(data, dict) else None)
    return out


def section_headings(root: Path) -> list[tuple[str, ...]]:
    """The section headings of ``root/sections.yaml`` (none when the folder has no such file)."""
    path = root / "sections.yaml"
    if not path.is_file():
        return []
    data = read_yaml(path)
    sections = data.get("sections") if isinstance(data, dict) else None
    return [tuple(h for h in hs if isinstance(h, str)) for hs in (sections or {}).values() if isinstance(hs, list)]


def reading_of(text: str) -> str:
    """Text as a reader sees it: runs of white space as one space, none before punctuation."""
    return re.sub(r" ([,.;:])", r"\1", " ".join(text.split()))


def page_no(marker: str) -> int:
    m = re.search(r"\d+", marker)
    return int(m.group()) if m else 0


def drop_overlaps(found: list[tuple]) -> list[tuple]:
    out: list[tuple] = []
    end = -1
    for f in sorted(found, key=lambda f: (f[0], -f[1])):
        if f[0] >= end:
            out.append(f)
            end = f[1]
    return out


def matches_at(rx: re.Pattern, text: str, spots) -> list[re.Match]:
    """``rx.finditer(text)`` for a regex whose every match starts at the start of one of ``spots``
    ((start, end) pairs, in any order): ``rx`` is tried there only, left to right, none inside a match."""
    return list(regex_literals.matches_at(rx, text, regex_literals.sorted_starts(a for a, _ in spots)))

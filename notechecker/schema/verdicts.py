"""The verdict vocabulary (``patterns/verdicts.yaml``): the one set of words every face shows.

Validated at load like the other pattern files: an unknown key, a missing field, a severity or
tone outside the allowed ones, a verdict named twice, or a missing required verdict or phrase is
a located error (``[E021]`` / ``[E022]``, naming file, item and field).
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError, field_validator, model_validator

from notechecker.schema.cache import cached
from notechecker.schema.loader import (ChecklistError, StrictModel, patterns_dir, display_path,
                                       enum_validator, raise_pydantic, read_mapping)

#: The closed list of verdict keys (issue 20): the file must define each exactly once.
VERDICT_KEYS = ("out_of_scope", "wrong_code", "bundled", "no_primary_code", "not_supported", "coder_review",
                "needs_documentation", "modifier_needed", "not_checked", "supported", "supported_not_billed")
#: The coding layer's conclusion kinds (``coding.Conclusion.verdict``, a bundling rule's ``verdict``), most
#: serious first, each with its severity as a problem: the one table of them. ``supported`` (severity None)
#: is the one kind that is no problem; whether the note supports a code is the record's ``supports``
#: (``Vocabulary.supporting``), read from these conclusions by ``plain.code_verdicts``.
CONCLUSION_SEVERITY = {
    "wrong_code": "error", "unbundle": "error", "missing_primary": "error", "not_supported": "error",
    "modifier_needed": "warning", "coder_review": "warning", "outside_scope": "info", "supported": None,
}
CONCLUSION_KINDS = tuple(CONCLUSION_SEVERITY)
#: The kinds that are a problem (shown beside the verdict, counted by ``--fail-on``): all but ``supported``.
PROBLEM_KINDS = frozenset(k for k, severity in CONCLUSION_SEVERITY.items() if severity is not None)
#: The kinds that say a billed code does not stand (a ``supported`` beside one of them is dropped): the errors.
NOT_STANDING = frozenset(k for k, severity in CONCLUSION_SEVERITY.items() if severity == "error")
PHRASES = ("items_lead", "not_described", "not_described_instead", "not_supported_fix", "needs_documentation_fix",
           "over_coded_units", "under_coded_units", "supported_not_billed", "documented_items", "not_checked",
           "out_of_scope", "no_checklist", "proof", "request_heading", "example_lead", "superseded_heading",
           "superseded")
SEVERITY_WORDS = ("error", "warning", "info", "none")
TONES = ("bad", "warn", "ok")


class VerdictSpec(StrictModel):
    key: str
    word: str
    severity: str
    supports: bool
    tone: str
    meaning: str

    _key = enum_validator("key", VERDICT_KEYS)
    _severity = enum_validator("severity", SEVERITY_WORDS)
    _tone = enum_validator("tone", TONES)

    @property
    def severity_or_none(self) -> str | None:
        return None if self.severity == "none" else self.severity


class BillingGaps(StrictModel):
    over_coded: str
    under_coded: str


#: What a proof sentence may be required to name besides a word group: a vertebra or a disc space.
LEVEL_NAMES = ("vertebra", "interspace")


class ProofSpec(StrictModel):
    items: list[str]
    names: list[str]


class VerdictFile(StrictModel):
    schema_version: int
    verdicts: list[VerdictSpec]
    conclusion_words: dict[str, str]
    billing_gaps: BillingGaps
    phrases: dict[str, str]
    proof: dict[str, ProofSpec] = {}
    proof_words: dict[str, str] = {}

    @field_validator("proof_words")
    @classmethod
    def _regexes(cls, v: dict[str, str]) -> dict[str, str]:
        for name, rx in v.items():
            try:
                re.compile(rx)
            except re.error as exc:
                raise ValueError(f"proof word {name!r}: not a regular expression ({exc})") from None
        return v

    @field_validator("conclusion_words")
    @classmethod
    def _kinds(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(CONCLUSION_KINDS))
        missing = [k for k in CONCLUSION_KINDS if k not in v]
        if unknown or missing:
            raise ValueError(f"unknown kind(s) {unknown}" if unknown else f"missing kind(s) {missing}")
        return v

    @field_validator("phrases")
    @classmethod
    def _phrases(cls, v: dict[str, str]) -> dict[str, str]:
        missing = [k for k in PHRASES if k not in v]
        if missing:
            raise ValueError(f"missing phrase(s) {missing}")
        return v

    @model_validator(mode="after")
    def _closed_list(self) -> "VerdictFile":
        keys = [v.key for v in self.verdicts]
        words = [v.word for v in self.verdicts]
        if len(set(keys)) != len(keys) or len(set(words)) != len(words):
            raise ValueError("a verdict key or word is named twice")
        missing = [k for k in VERDICT_KEYS if k not in keys]
        if missing:
            raise ValueError(f"missing verdict(s) {missing}")
        for family, spec in self.proof.items():
            unknown = [n for n in spec.names if n not in LEVEL_NAMES and n not in self.proof_words]
            if unknown:
                raise ValueError(f"proof of {family!r} names {unknown}: not one of {list(LEVEL_NAMES)} "
                                 f"or proof_words")
        return self


class Vocabulary:
    """The loaded vocabulary: ``word(key)``, ``spec(word_or_key)``, ``phrase(name, **kw)``."""

    def __init__(self, data: VerdictFile, source: str):
        self.source = source
        self.schema_version = data.schema_version
        self.specs: tuple[VerdictSpec, ...] = tuple(data.verdicts)
        self._by_key = {v.key: v for v in data.verdicts}
        self._by_word = {v.word: v for v in data.verdicts}
        self.conclusion_words = dict(data.conclusion_words)
        self.over_coded = data.billing_gaps.over_coded
        self.under_coded = data.billing_gaps.under_coded
        self.phrases = dict(data.phrases)
        self.proof = {k: (tuple(v.items), tuple(v.names)) for k, v in data.proof.items()}
        self.proof_words = {k: re.compile(v, re.IGNORECASE) for k, v in data.proof_words.items()}

    def word(self, key: str) -> str:
        return self._by_key[key].word

    def spec(self, key_or_word: str) -> VerdictSpec:
        return self._by_key.get(key_or_word) or self._by_word[key_or_word]

    @property
    def order(self) -> tuple[str, ...]:
        """The words, most serious first."""
        return tuple(v.word for v in self.specs)

    @property
    def supporting(self) -> tuple[str, ...]:
        """The words under which the note supports the code (the one definition of "supported")."""
        return tuple(v.word for v in self.specs if v.supports)

    def severity(self, key_or_word: str) -> str | None:
        return self.spec(key_or_word).severity_or_none

    def conclusion_word(self, kind: str) -> str:
        return self.conclusion_words.get(kind, kind.replace("_", " "))

    def phrase(self, name: str, **kw) -> str:
        return self.phrases[name].format(**kw)

    def to_dict(self) -> dict:
        """For the web page: words, tones and severities, so it never words a verdict itself."""
        return {"schema_version": self.schema_version,
                "verdicts": [v.model_dump() for v in self.specs],
                "conclusion_words": dict(self.conclusion_words),
                "billing_gaps": {"over_coded": self.over_coded, "under_coded": self.under_coded}}


def load_vocabulary_file(path: Path, shown: str | None = None) -> Vocabulary:
    shown = shown or str(path)
    data = read_mapping(path, shown, ChecklistError)
    try:
        model = VerdictFile.model_validate(data)
    except ValidationError as exc:
        raise_pydantic(exc, data, shown, ChecklistError, VerdictFile, item_key="verdicts")
    return Vocabulary(model, shown)


@lru_cache(maxsize=8)
def _load(directory: str) -> Vocabulary:
    root = Path(directory)
    path = root / "verdicts.yaml"
    return cached("verdicts", root, lambda: load_vocabulary_file(path, display_path(path, root)))  # schema/cache.py


def vocabulary(directory: str | Path | None = None) -> Vocabulary:
    """The verdict vocabulary of ``directory`` (default: the patterns the checker uses), loaded once."""
    if directory is None:  # the default follows $NOTECHECKER_PATTERNS
        return _load(str(patterns_dir(directory)))
    return _of_directory(os.fspath(directory))


@lru_cache(maxsize=8)
def _of_directory(directory: str) -> Vocabulary:
    """A named directory's vocabulary: every verdict record of a scan asks (no path built each time)."""
    return _load(str(patterns_dir(directory)))

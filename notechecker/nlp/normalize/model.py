"""The normaliser's data: a rewrite, a normalised note, and the shape of ``patterns/normalize.yaml`` (pydantic)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

#: Doc.user_data keys: the note as written, and the rewrites that made the normalised text.
ORIGINAL_KEY = "notechecker.original"
REWRITES_KEY = "notechecker.rewrites"
FILE = "normalize.yaml"


@dataclass(frozen=True, slots=True)
class Rewrite:
    """``original[start:end]`` read as ``normal`` (the normalised text holds ``normal``
    padded with spaces; a mask has ``normal == ""``)."""

    start: int
    end: int
    original: str
    normal: str
    kind: str  # template | checkbox | page | hyphenation | ocr | spoken | dialect | phrase | approximate
    approximate: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "original": self.original, "normal": self.normal,
                "kind": self.kind, "approximate": self.approximate}


@dataclass(frozen=True, slots=True)
class Normalized:
    """``text``: ``original`` read; as long as ``original``, less one character a ``"\\r\\n"`` line end
    where the line ends were read as ``"\\n"`` (lines.py; ``lines``: the offsets of ``text`` where a
    ``"\\r"`` was dropped, None for a note without ``"\\r"``)."""

    original: str
    text: str
    rewrites: tuple[Rewrite, ...]
    lines: tuple[int, ...] | None = None

    @property
    def changed(self) -> bool:
        return bool(self.rewrites)



# --------------------------------------------------------------------------- the file (pydantic)
class _Vocab(BaseModel):
    """A part of normalize.yaml: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Entry(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    regex: str
    examples: Annotated[list[str], Field(min_length=1)]


class _Reads(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    text: str
    reads: str


Reads = Annotated[list[_Reads], Field(min_length=1)]


class _Templates(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    label: str
    unfilled: Annotated[list[Entry], Field(min_length=1)]
    field_examples: Reads
    placeholder: Entry
    unchecked: Entry
    checked: Entry
    checkbox_examples: Reads
    catalogue: Entry
    site: Entry
    glue: str = Field("x", pattern=r"^[A-Za-z0-9]$")
    catalogue_examples: Reads


class _Page(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    markers: Annotated[list[Entry], Field(min_length=1)]
    continued: list[Entry] = []
    examples: Reads


class _Hyphenation(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    keep_prefixes: list[str] = []
    examples: Reads


class _Ocr(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    level_digits: dict[str, str]
    level_examples: Reads
    level_s_for_5: Entry
    number_digits: dict[str, str]
    units: list[str]
    number_examples: Reads
    word_letters: dict[str, list[str]]


class _Spoken(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    letters: dict[str, list[str]]
    numbers: dict[str, int]
    punctuation: dict[str, str] = {}
    examples: Reads


class _DLevels(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    uses: Annotated[list[Entry], Field(min_length=1)]
    examples: Reads


class _Phrase(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)
    from_: str = Field(alias="from")
    to: str
    approximate: bool = False


class _Approximate(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    vocabularies: Annotated[list[str], Field(min_length=1)]
    min_letters: int = Field(6, ge=3)
    two_edits_from: int = Field(10, ge=4)
    sounds: dict[str, str] = {}
    confusable: list[list[str]] = []
    known_words: list[str] = []
    examples: Reads


class NormalizeModel(_Vocab):
    """``patterns/normalize.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    templates: _Templates
    page: _Page
    hyphenation: _Hyphenation
    ocr: _Ocr
    spoken: _Spoken
    d_levels: _DLevels
    phrases: list[_Phrase] = []
    approximate: _Approximate

"""What every extraction vocabulary module shares: the file reader with E001/E002, the pydantic base,
regex compilation that names the entry on error, and offset-keeping lower-casing.

The vocabularies under ``patterns/`` are data written by clinicians and coders; every mistake is
reported with the file, the entry and the field (``PatternError``), never as a stack trace from deep
inside spaCy. Nothing in ``schema.vocab`` imports spaCy: the pipeline turns these objects into
medspaCy rules.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from notechecker.errors import PatternError
from notechecker.schema.loader import load_yaml


def read_yaml(path: Path) -> Any:
    """One vocabulary file through the one loader (``schema.loader.load_yaml``), errors coded E001/E002."""
    try:
        return load_yaml(path)
    except FileNotFoundError:
        raise PatternError("E001", f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise PatternError("E002", f"{path}: not valid YAML: {exc}") from None


# --------------------------------------------------------------------------- file models (pydantic)
class VocabModel(BaseModel):
    """A vocabulary file's shape; keys this module does not read are ignored unless a model forbids them."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)


NonEmpty = Annotated[list[Any], Field(min_length=1)]


def mapping_of_mappings(message: str):
    def check(cls, v: Any) -> Any:
        v = v or {}
        if not isinstance(v, dict) or not all(isinstance(x, dict) for x in v.values()):
            raise ValueError(message)
        return v
    return check


#: ASCII-only lower-casing: keeps every offset (str.lower() can change lengths).
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """``text.translate(ASCII_LOWER)``: its ASCII letters lower-cased, every other character as it is
    (so every offset kept). ``str.lower()`` does that on ASCII text; a text with other characters (a
    degree sign, a typographic quote) is lower-cased as UTF-8 bytes, where ``bytes.lower()`` changes
    ASCII letters only (the bytes of any other character are 0x80 and above), not through the table
    a character at a time (some 30 times slower)."""
    if text.isascii():
        return text.lower()
    return text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


def lower_pattern(pattern: str) -> str:
    """Lower-case a regex's literals, leaving escapes (\\S, \\D, \\B ...) alone."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i:i + 2])
            i += 2
            continue
        out.append(ch.translate(ASCII_LOWER))
        i += 1
    return "".join(out)


def compile_rx(path: Path, where: str, rx: Any) -> re.Pattern:
    if not isinstance(rx, str):
        raise PatternError("E010", f"{path}: {where}: expected a regular expression string, got {type(rx).__name__}")
    try:
        return re.compile(rx, re.IGNORECASE)
    except re.error as exc:
        raise PatternError("E011", f"{path}: {where}: invalid regular expression {rx!r}: {exc}") from None

"""The compliant-query templates (``patterns/queries.yaml``), validated at load.

A choice question must offer at least two clinically reasonable answers of its own ("other" and
"clinically undetermined" are added to every choice, so the file must not list them), and the
frame must keep its non-leading closing; errors are located ``[E021]`` / ``[E022]``.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError, field_validator

from notechecker.schema.loader import (ChecklistError, StrictModel, patterns_dir, display_path,
                                       raise_pydantic, read_mapping)

FRAME_KEYS = ("heading", "to", "surgeon_unknown", "regarding", "indicators", "indicator", "no_indicators",
              "choose", "other", "undetermined", "open", "closing")


class Question(StrictModel):
    question: str
    choices: list[str] = []

    @field_validator("choices")
    @classmethod
    def _choices(cls, v: list[str]) -> list[str]:
        if len(v) == 1:
            raise ValueError("a choice needs at least two answers (one answer leads)")
        for c in v:
            if c.strip().lower().startswith(("other", "clinically undetermined")):
                raise ValueError("'other' and 'clinically undetermined' are added to every choice; do not list them")
        return v


class QueryFile(StrictModel):
    frame: dict[str, str]
    default: str
    items: dict[str, Question]

    @field_validator("frame")
    @classmethod
    def _frame(cls, v: dict[str, str]) -> dict[str, str]:
        missing = [k for k in FRAME_KEYS if k not in v]
        if missing:
            raise ValueError(f"missing frame part(s) {missing}")
        return v


def load_query_file(path: Path, shown: str | None = None) -> QueryFile:
    shown = shown or str(path)
    data = read_mapping(path, shown, ChecklistError)
    try:
        return QueryFile.model_validate(data)
    except ValidationError as exc:
        raise_pydantic(exc, data, shown, ChecklistError, QueryFile, item_key=None)


@lru_cache(maxsize=8)
def _load(directory: str) -> QueryFile:
    root = Path(directory)
    path = root / "queries.yaml"
    return load_query_file(path, display_path(path, root))


def query_templates(directory: str | Path | None = None) -> QueryFile:
    """The query templates of ``directory`` (default: the patterns the checker uses), loaded once."""
    return _load(str(patterns_dir(directory)))

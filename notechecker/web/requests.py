"""What ``POST /api/check`` accepts, and the errors of a body that is not it: the request model,
field names and messages of a validation error (never the value, which may be the note), and the
JSON body the parser refused (E720 nested too deep, else E701)."""
from __future__ import annotations

import re
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from notechecker.errors import Errors
from notechecker.web.common import NOTE_ID, error_response

#: Deepest JSON body read (a deeper one is E720, never a parser's message).
MAX_JSON_DEPTH = 200
#: Most codes one request may ask about.
MAX_CODES = 25


class CheckRequest(BaseModel):
    """What ``POST /api/check`` accepts."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "OPERATION PERFORMED: Removal of posterior segmental instrumentation L3-L5 ...",
                      "codes": ["22852"]}]})

    text: StrictStr = Field(description="The operative note, as plain text.")
    codes: list[StrictStr] | None = Field(
        default=None, description="CPT codes to check (22852, 22852-59, 22853 x2). Omit to check the codes the note supports.")
    note_id: StrictStr = Field(default="note", description="An identifier echoed in the result (letters, digits, "
                                                            "._:- only; not the patient's name).")

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the note is empty: paste the operative note's text")
        return v

    @field_validator("codes")
    @classmethod
    def _codes(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        if not v:
            raise ValueError("give at least one code, or leave 'codes' out to check the codes the note supports")
        if len(v) > MAX_CODES:
            raise ValueError(f"at most {MAX_CODES} codes per request")
        from notechecker.coding import split_codes  # the one billed-code parser

        for i, code in enumerate(v):
            tokens, bad = split_codes(code)
            if bad or not tokens:
                raise ValueError(f"item {i} is not a CPT code like '22852', '22852-59' or '22853 x2'")
        return [c.strip() for c in v]

    @field_validator("note_id")
    @classmethod
    def _note_id(cls, v: str) -> str:
        if not NOTE_ID.match(v):
            raise ValueError("use 1-100 letters, digits or . _ : - (never a patient identifier)")
        return v


def field_name(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p != "body"]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def error_message(err: dict[str, Any]) -> str:
    """A pydantic error's message, without its input (which may be the note)."""
    kind = err.get("type", "")
    if kind == "missing":
        return "is required" if len(err.get("loc", ())) > 1 else "a JSON object with a 'text' field is required"
    if kind in ("json_invalid", "json_type"):
        return "is not valid JSON"
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return "must be a JSON object like {\"text\": \"...\", \"codes\": [\"22852\"]}"
    if kind == "string_type":
        return "must be a string"
    if kind == "list_type":
        return "must be a list of 5-digit code strings, or left out"
    if kind == "extra_forbidden":
        return "is not a known field; expected text, codes, note_id"
    msg = str(err.get("msg", "is invalid"))
    return msg.removeprefix("Value error, ")


def json_depth(body: bytes, limit: int) -> int:
    """How deep a JSON body nests (brackets outside strings), stopping past ``limit``."""
    stripped = re.sub(rb'"(?:[^"\\]|\\.)*"', b"", body)
    depth = deepest = 0
    for m in re.finditer(rb"[\[\]{}]", stripped):
        depth += 1 if m.group() in (b"[", b"{") else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def body_error(body: bytes) -> JSONResponse:
    """The error of a POST body the JSON parser refused: E720 when it nests too deep, else E701."""
    if json_depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        return error_response(400, "E720", Errors.E720.format(depth=MAX_JSON_DEPTH))
    return error_response(400, "E701", Errors.E701)


"""What the HTTP API, the page and the CDS Hooks service share: the note id rule, the no-store header, the
error body, and a coding conclusion's verdict in the one vocabulary (``patterns/verdicts.yaml``)."""
from __future__ import annotations

import re
from typing import Any

from fastapi.responses import JSONResponse

NOTE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")

#: Headers on every API response: the note's findings are PHI, never cache them.
NO_STORE = {"Cache-Control": "no-store"}


def error_response(status: int, code: str, message: str, details: list[dict[str, str]] | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": {"code": code, "message": f"[{code}] {message}"}}
    if details:
        body["error"]["details"] = details
    return JSONResponse(body, status_code=status, headers={**NO_STORE, **(headers or {})})


def conclusion_spec(vocab, kind: str):
    """The verdict of ``patterns/verdicts.yaml`` a coding conclusion kind stands for (its severity and tone):
    the verdict of that key (``coder_review``), else the one its conclusion word names (``unbundle`` is
    worded "bundled")."""
    keys = {v.key for v in vocab.specs}
    return vocab.spec(kind if kind in keys else vocab.conclusion_word(kind))

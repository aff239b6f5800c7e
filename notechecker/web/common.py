"""What the HTTP API and the CDS Hooks service share: the note id rule, the no-store header, the error body."""
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

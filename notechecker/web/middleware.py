"""The ASGI wrappers of the app: the body limit (E700), the host and origin guard against DNS rebinding
and cross-site calls (E709, E710), authentication (E713-E719), the access log (method, path, status,
time: nothing else) and the shield that answers a failure no handler caught (E799, its type only)."""
from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from fastapi import HTTPException
from fastapi.responses import JSONResponse

from notechecker.errors import Errors
from notechecker.web.common import error_response

log = logging.getLogger("notechecker.web")
access_log = logging.getLogger("notechecker.web.access")


class BodyTooLarge(HTTPException):
    """Raised while a body without Content-Length is streamed past the limit."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodyLimit:
    """ASGI middleware: 413 for bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await error_response(400, "E704", Errors.E704)(scope, receive, send)
                if declared > self.max_bytes:
                    return await too_large(self.max_bytes)(scope, receive, send)
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await too_large(self.max_bytes)(scope, receive, send)


def too_large(limit: int) -> JSONResponse:
    return error_response(413, "E700", Errors.E700.format(limit=limit), headers={"Connection": "close"})


def host_name(value: str) -> str:
    """``localhost:8000`` -> ``localhost``; ``[::1]:8000`` -> ``::1``; lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostGuard:
    """ASGI middleware against DNS rebinding and cross-site requests: 421 unless the Host header
    names one of ``allowed`` hosts; 403 for a POST (or other unsafe method) whose Origin is not
    this service (same scheme-less host and port as the Host header) or that the browser marks
    ``Sec-Fetch-Site: cross-site``."""

    def __init__(self, app, allowed: tuple[str, ...]):
        self.app = app
        self.allowed = frozenset(host_name(h) for h in allowed if h)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        host = headers.get("host", "")
        if host_name(host) not in self.allowed:
            return await error_response(421, "E709", Errors.E709)(scope, receive, send)
        if scope.get("method", "GET") not in ("GET", "HEAD", "OPTIONS"):
            origin = headers.get("origin")
            if origin is not None:
                parts = urlsplit(origin)
                if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.strip().lower():
                    return await error_response(403, "E710", Errors.E710)(scope, receive, send)
            if headers.get("sec-fetch-site", "") == "cross-site":
                return await error_response(403, "E710", Errors.E710)(scope, receive, send)
        return await self.app(scope, receive, send)


class AuthGuard:
    """ASGI middleware: 401 (E713-E719, the JSON error shape) for a call a configured authentication does
    not let in: ``/api/*`` needs the bearer token, a CDS Hooks call the EHR's JWT. The caller's name goes
    in ``scope["state"]["caller"]`` for the audit line."""

    def __init__(self, app, auth):
        self.app = app
        self.auth = auth

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from .auth import AuthError

        path, method = scope.get("path", ""), scope.get("method", "GET")
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1")
        try:
            if path.startswith("/api/"):
                caller = self.auth.bearer(header)
            elif path.startswith("/cds-services/") and method == "POST":
                caller = self.auth.hook_caller(header)
            else:
                caller = None
        except AuthError as exc:
            return await error_response(401, exc.code, exc.message, headers={"WWW-Authenticate": "Bearer"})(
                scope, receive, send)
        if caller is not None:
            scope.setdefault("state", {})["caller"] = caller
        return await self.app(scope, receive, send)


class Shield:
    """The outermost ASGI wrapper of a served app: an exception no handler answered is logged by its
    type only (uvicorn would print its message, which may quote a note) and answered with E799."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        started = False

        async def tracking(message):
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:  # noqa: BLE001
            log.error("request failed: %s", type(exc).__name__)
            if scope.get("type") == "http" and not started:
                await error_response(500, "E799", Errors.E799.format(kind=type(exc).__name__))(
                    scope, receive, send)


class AccessLog:
    """ASGI middleware: one line per request with method, path, status and milliseconds, nothing else."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = 500

        async def capture(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            access_log.info("%s %s %d %.0fms", scope.get("method", "-"), scope.get("path", "-"), status,
                            (time.perf_counter() - t0) * 1000)


"""The HTTP face: a FastAPI app serving the pre-sign-off page and a JSON API.

Routes
    GET  /             the page (``static/index.html``, self-contained, nothing from the internet)
    POST /api/check    ``{"text": "...", "codes": ["22852"]}`` -> ``plain.result_dict(service.check(...))``
    GET  /api/rules    the checklist catalogue (items, codes, bundling rules)
    GET  /healthz      liveness and whether the pipeline is loaded
    GET  /cds-services and POST /cds-services/notechecker-note-sign: CDS Hooks (``cds_hooks.py``)
    GET  /openapi.json the OpenAPI description (/docs and /redoc are off: they load assets from a CDN)

Notes are protected health information. Nothing here logs a request body or echoes
note text in an error: the access log holds method, path (no query), status and
time only, and errors name the field that is wrong, never its value. Responses
carry ``Cache-Control: no-store``. ``run()`` binds to 127.0.0.1 unless told otherwise.

A web page elsewhere must not reach this service through the browser (DNS rebinding,
cross-site posts): a request whose ``Host`` is not one of the service's own names
(localhost, 127.0.0.1, [::1], the bound address, those given with ``--allowed-host``)
gets 421, and a POST whose ``Origin`` is another site gets 403.

Notes are checked in a small pool of worker processes (``workers``), several at once;
a note that takes longer than its time budget (``note_timeout``) is stopped (its worker
is replaced) and answered with 503, while other requests and ``/healthz`` go on. A note
over ``max_chars`` characters is refused with E104 (413), the limit of every command.
A CDS Hooks document is read in the worker too, under the same budget and the worker's
memory ceiling (``max_memory``), never in the server process.

Authentication (:mod:`.auth`): a bearer token (``--token-file``) for the page's calls and
``/api/*``, the EHR's signed JWT for CDS Hooks; an exposed service (not loopback) starts only
with one. One audit line per check (``notechecker.web.audit``): time, caller, the note's
SHA-256, the codes and the verdicts, never the text.
"""
from __future__ import annotations

import contextlib
import importlib.resources
import ipaddress
import json
import logging
import queue
import re
import threading
import time
import traceback
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from notechecker.errors import Errors
from notechecker.guard import NOTE_TIMEOUT
from notechecker.io import MAX_CHARS
from notechecker.version import __version__
from notechecker.web.common import NOTE_ID, NO_STORE, error_response

log = logging.getLogger("notechecker.web")
access_log = logging.getLogger("notechecker.web.access")
audit_log = logging.getLogger("notechecker.web.audit")
#: Deepest JSON body read (a deeper one is E720, never a parser's message).
MAX_JSON_DEPTH = 200

#: Largest accepted request body, in bytes: room for a note of MAX_CHARS characters as JSON
#: (a long operative note is ~30 kB; an over-long note gets E104 by its length, not E700).
DEFAULT_MAX_BYTES = 6 * MAX_CHARS + 65_536
#: Worker processes checking notes (each holds the pipeline, shared at fork).
DEFAULT_WORKERS = 2
#: Host names the service always answers to.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
#: Most codes one request may ask about.
MAX_CODES = 25

#: The page may talk only to this server and load nothing from anywhere.
PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


# --------------------------------------------------------------------------- request schema
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


def _field(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p != "body"]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def _message(err: dict[str, Any]) -> str:
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


# --------------------------------------------------------------------------- middleware
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
                    return await _too_large(self.max_bytes)(scope, receive, send)
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
            await _too_large(self.max_bytes)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    return error_response(413, "E700", Errors.E700.format(limit=limit), headers={"Connection": "close"})


def _host_name(value: str) -> str:
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
        self.allowed = frozenset(_host_name(h) for h in allowed if h)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        host = headers.get("host", "")
        if _host_name(host) not in self.allowed:
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


# --------------------------------------------------------------------------- catalogue
#: Highlight categories of the page, in the order a requirement's first leaf decides them.
CATEGORIES = ("reason", "hardware", "levels", "approach", "procedure", "imaging", "documentation", "coding")
_FACT_CATEGORY = {"removal_reasons": "reason", "instruments_removed": "hardware", "instruments_placed": "hardware",
                  "levels": "levels", "approach": "approach"}


def requirement_category(req) -> str:
    """What kind of documentation a requirement looks for: the page colours its evidence by it."""
    if req.kind in ("any", "all", "not"):
        return requirement_category(req.children[0])
    if req.kind == "levels_compare":
        return "levels"
    target = req.target[0] if req.target else ""
    if req.kind == "fact":
        return _FACT_CATEGORY.get(target, "documentation")
    if req.kind == "construct":
        return {"levels": "levels", "anchor_levels": "levels", "approach": "approach"}.get(req.field or "", "hardware")
    if req.kind == "instrument_action":
        return "levels" if req.leveled else "hardware"
    if req.kind == "procedure":
        return "levels" if req.field else "procedure"
    if req.kind == "element":
        return "imaging" if target == "imaging" else "documentation"
    return "documentation"


def catalogue_dict() -> dict[str, Any]:
    """The checklist catalogue as JSON-ready data (what ``GET /api/rules`` returns)."""
    from notechecker.schema.catalogue import load_catalogue

    cat = load_catalogue()
    table = cat.table
    codes_of: dict[str, set[str]] = {}
    for code in table.codes:
        for item in cat.items_for(code):
            codes_of.setdefault(item.id, set()).add(code)
    order = {c: i for i, c in enumerate(table.codes)}
    checklists = []
    for cl in cat.checklists.values():
        checklists.append({
            "name": cl.name, "title": cl.title, "description": cl.description, "file": cl.file,
            "extends": list(cl.extends), "codes": list(cl.codes), "references": list(cl.references),
            "items": [{
                "id": it.id, "name": it.name, "description": it.description, "rationale": it.rationale,
                "tier": it.tier, "severity": it.severity, "fix_hint": it.fix_hint,
                "category": requirement_category(it.requires),
                "references": list(it.references), "aliases": list(it.aliases), "checklist": it.checklist,
                "codes": sorted(codes_of.get(it.id, ()), key=lambda c: order.get(c, 0)),
            } for it in cl.items],
        })
    return {
        "table_version": table.version,
        "effective_date": table.effective_date.isoformat(),
        "codes": {c: {"descriptor": info.descriptor, "family": info.family, "add_on": info.add_on,
                      "checklist": cat.family_of(c)} for c, info in table.codes.items()},
        "checklists": checklists,
        "bundling": [{"id": r.id, "name": r.name, "text": r.text, "codes": list(r.codes), "verdict": r.verdict}
                     for r in cat.bundling],
    }


def _page() -> str:
    return (importlib.resources.files("notechecker.web") / "static" / "index.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- workers
def _init_web_worker() -> None:
    from notechecker import api
    from notechecker.schema.catalogue import load_catalogue

    api.load()
    load_catalogue()


def _render(payload: dict) -> bytes:
    """JSON bytes as starlette's JSONResponse renders them."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


def _read_hook_document(document: Any, max_chars: int) -> tuple:
    """Worker side: the note of a CDS Hooks ``context.document`` -> ``("doc", text, codes, note_id)`` or
    ``("input", code, message)`` (read here, under the worker's budget and memory ceiling)."""
    from notechecker.errors import InputError, describe_failure
    from notechecker.formats.base import quiet_libraries
    from notechecker.formats.fhir import document_reference
    from notechecker.io import check_length, repair_surrogates

    quiet_libraries()
    where = "context.document"
    if not isinstance(document, dict) or document.get("resourceType") != "DocumentReference":
        return "input", "E502", "not a FHIR DocumentReference"
    try:
        doc = document_reference(document, where, where, "draft")
        text, _repaired = repair_surrogates(doc.text)
        check_length(text, where, max_chars)
    except InputError as exc:
        return "input", exc.code, exc.message
    except RecursionError:
        return "input", "E507", f"{where}: nested too deep to read"
    except MemoryError:
        return "input", "E508", f"{where}: reading it needs more memory than a worker may take"
    except Exception as exc:  # noqa: BLE001 - a reader's bug, named without its message
        return "input", "E201", f"{where}: reading failed: {describe_failure(exc)}"
    return "doc", text, doc.codes, doc.note_id if NOTE_ID.match(doc.note_id) else "draft"


def _audit(checked, text: str) -> tuple[str, list[str], list[str]]:
    """(SHA-256 of the note, codes checked, 'code: verdict' per code) for the audit line; never the text."""
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    try:
        from notechecker.plain import code_verdicts

        verdicts = [f"{v.code}: {v.verdict}" for v in code_verdicts(checked)]
    except Exception:  # noqa: BLE001 - the audit line never fails a check
        verdicts = []
    codes = [str(c) for c in getattr(checked, "codes", None) or []] or [v.split(":")[0] for v in verdicts]
    return digest, codes, verdicts


def _check_job(payload: tuple, tick) -> tuple:
    """Check one note (in a worker process or in this one): ``("ok", JSON bytes, audit)`` (encoded here,
    off the server's event loop), ``("value", safe detail)`` for a ValueError, ``("input", code,
    message)`` for a CDS Hooks document that cannot be read, or ``("crash", exception type, traceback
    without messages)``. ``render`` is None for the JSON of ``/api/check``, or ``(hook_instance, page)``
    for CDS Hooks cards; ``document`` a CDS Hooks ``context.document`` to read first (``text`` is then '')."""
    from notechecker import service

    text, codes, note_id, warnings, render = payload[:5]
    document, max_chars = (payload[5], payload[6]) if len(payload) > 5 else (None, MAX_CHARS)
    tick(0)
    if document is not None:
        read = _read_hook_document(document, max_chars)
        if read[0] != "doc":
            return read
        _, text, codes, note_id = read
    try:
        checked = service.check(text, codes=codes, note_id=note_id)
        if render is not None:
            from .cds_hooks import cards

            return "ok", _render({"cards": cards(checked, *render, text=text)}), _audit(checked, text)
        from notechecker.plain import result_dict

        # the JSON of check --format json, plus one plain verdict per code, as check and scan show
        result = result_dict(checked, text)
        if warnings:
            result["warnings"] = [*result.get("warnings", []), *warnings]
        return "ok", _render(result), _audit(checked, text)
    except ValueError as exc:
        return "value", _safe_detail(exc, text)
    except Exception as exc:  # noqa: BLE001 - answered with JSON, logged without the note
        return "crash", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__))


class _WebWorkerInit:
    """A web worker's initializer (picklable for spawn): the pipeline, then its memory ceiling."""

    def __init__(self, max_memory: int | None):
        self.max_memory = max_memory

    def __call__(self) -> None:
        from notechecker.guard import limit_memory

        _init_web_worker()
        limit_memory(self.max_memory)


class BudgetExceeded(Exception):
    """A note took longer than the time budget; its worker was replaced."""


class WorkerDied(Exception):
    """A worker process died while checking a note (e.g. out of memory); it was replaced."""


class CheckPool:
    """``workers`` processes checking one note each at a time; a request waits for a free one.

    A note over ``timeout`` seconds has its worker killed and replaced (fork: the pipeline is
    shared, nothing reloads) and raises :class:`BudgetExceeded`. Workers die with the server.
    """

    def __init__(self, workers: int, timeout: float | None, max_memory: int | None = None):
        from notechecker import guard

        self.guard, self.ctx, self.timeout = guard, guard.context(), timeout
        self.max_memory = max_memory
        self.idle: queue.Queue = queue.Queue()
        self.all: list = []
        for _ in range(workers):
            self.idle.put(self._start())

    def _start(self):
        w = self.guard.Worker(_check_job, _WebWorkerInit(self.max_memory), self.ctx)
        self.all.append(w)
        return w

    def _replace(self, w):
        w.kill()
        with contextlib.suppress(ValueError):
            self.all.remove(w)
        return self._start()

    def run(self, payload: tuple, chars: int | None = None) -> tuple:
        w = self.idle.get()
        try:
            size = len(payload[0]) if chars is None else chars
            seconds = self.guard.allowance(self.timeout, size) if self.timeout else None
            deadline = time.monotonic() + seconds if seconds else None
            try:
                w.send(0, payload)
                while True:
                    left = 1.0 if deadline is None else deadline - time.monotonic()
                    if left <= 0:
                        raise BudgetExceeded(seconds)
                    if w.conn.poll(left):
                        kind, _job, value = w.receive()
                        if kind == "done":
                            if self.guard.grown(w.proc.pid):  # a big document: memory back to the system
                                w.stop()
                                with contextlib.suppress(ValueError):
                                    self.all.remove(w)
                                w = self._start()
                            return value
                        if kind == "died":
                            raise WorkerDied()
            except (BrokenPipeError, EOFError, OSError):
                raise WorkerDied() from None
        except (BudgetExceeded, WorkerDied):
            w = self._replace(w)
            raise
        finally:
            self.idle.put(w)

    def close(self) -> None:
        for w in list(self.all):
            w.stop()
        self.all.clear()


# --------------------------------------------------------------------------- app
def create_app(max_bytes: int | None = None, *, workers: int = DEFAULT_WORKERS,
               note_timeout: float | None = NOTE_TIMEOUT, max_chars: int = MAX_CHARS,
               allowed_hosts: tuple[str, ...] = (), host: str | None = None, auth=None,
               max_memory: int | None = None) -> FastAPI:
    """The web application. The pipeline and catalogue load once, at startup, then ``workers``
    processes are forked to check notes (``workers=0``: in this process, one at a time, no time
    budget). ``host``: the bound address (answered to, with LOCAL_HOSTS and ``allowed_hosts``).
    ``auth``: an :class:`.auth.Auth` (None: no authentication, for loopback); ``max_memory``: bytes a
    worker may grow by (default :data:`notechecker.guard.MAX_MEMORY`)."""
    from notechecker.guard import MAX_MEMORY

    from .auth import Auth

    max_bytes = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    auth = auth if auth is not None else Auth()
    max_memory = MAX_MEMORY if max_memory is None else max_memory
    state: dict[str, Any] = {"ready": False, "pool": None}
    lock = threading.Lock()  # in-process mode only: one note at a time through the pipeline
    pool_lock = threading.Lock()
    page = _page()
    from notechecker.io import check_length, repair_surrogates
    from notechecker.errors import InputError

    def get_pool() -> CheckPool | None:
        if workers <= 0:
            return None
        with pool_lock:
            if state["pool"] is None:
                state["pool"] = CheckPool(workers, note_timeout, max_memory)
            return state["pool"]

    def ensure_loaded() -> None:
        if state["ready"]:
            return
        from notechecker import api

        t0 = time.perf_counter()
        api.load()
        state["rules"] = catalogue_dict()
        state["ready"] = True
        log.info("pipeline loaded in %.1f s", time.perf_counter() - t0)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        ensure_loaded()
        get_pool()
        try:
            yield
        finally:
            if state["pool"] is not None:
                state["pool"].close()
                state["pool"] = None

    app = FastAPI(
        title="notechecker",
        version=__version__,
        description="Checks whether a spine operative note documents what its CPT codes require. "
                    "Notes are never stored or logged.",
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
    )
    app.state.max_bytes = max_bytes

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") in ("json_invalid", "json_type") for e in errors):
            return error_response(400, "E701", Errors.E701)
        details = [{"field": _field(tuple(e.get("loc", ()))), "message": _message(e)} for e in errors]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return error_response(422, "E702", Errors.E702.format(summary=summary), details)

    @app.exception_handler(BodyTooLarge)
    async def _too_big(_request: Request, _exc: BodyTooLarge) -> JSONResponse:
        return _too_large(max_bytes)

    @app.exception_handler(404)
    async def _not_found(_request: Request, _exc: Exception) -> JSONResponse:
        return error_response(404, "E705", Errors.E705)

    @app.exception_handler(405)
    async def _not_allowed(_request: Request, _exc: Exception) -> JSONResponse:
        return error_response(405, "E706", Errors.E706)

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI turns body-read failures (a JSON parser error, a body nested past the parser's
        # depth) into 400 "There was an error parsing the body": answered in our shape and words
        if exc.status_code == 400 and request.method == "POST":
            return _body_error(await request.body())
        detail = exc.detail if isinstance(exc.detail, str) and len(exc.detail) < 120 else "see the status"
        return error_response(exc.status_code, "E707", Errors.E707.format(status=exc.status_code, detail=detail))

    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers=PAGE_HEADERS)

    @app.get("/healthz", tags=["service"], summary="Liveness and readiness")
    async def healthz() -> JSONResponse:  # on the event loop: answers while notes are being checked
        return JSONResponse({"status": "ok", "version": __version__, "pipeline_loaded": state["ready"]},
                            headers=NO_STORE)

    @app.get("/api/rules", tags=["checks"], summary="The checklist catalogue")
    def rules() -> JSONResponse:
        """Every checklist with its items (id, name, description, tier, severity, fix hint, the codes
        it applies to), the code table's descriptors and the bundling rules."""
        ensure_loaded()
        return JSONResponse(state["rules"], headers=NO_STORE)

    @app.post("/api/check", tags=["checks"], summary="Check one operative note",
              responses={200: {"description": "note_id, codes checked, billed, suggested, schema_version, "
                                               "verdicts (one decision record per code, with its checklist findings "
                                               "and coding conclusions nested; README: verdicts[] record), "
                                               "note_conclusions, warnings, facts, scope_message"},
                         400: {"description": "Body is not JSON, or the codes cannot be checked"},
                         403: {"description": "A cross-site request (Origin of another site)"},
                         413: {"description": f"Body larger than the limit ({max_bytes} bytes), or a note over "
                                              f"{max_chars:,} characters (E104)"},
                         421: {"description": "The Host header names a host this service does not answer to"},
                         503: {"description": "Checking the note took longer than the time budget"},
                         422: {"description": "Body is JSON but not a valid request; names the field"}})
    def check(body: CheckRequest, request: Request) -> JSONResponse:
        """The facts found in the note, per code the checklist findings (met, missing, negated,
        conflicting, each with its evidence as offsets into ``text``) and the coding conclusions.
        Without ``codes``, the codes the note supports are checked."""
        ensure_loaded()
        text, repaired = repair_surrogates(body.text)  # offsets kept: one U+FFFD for each
        said = [f"text: {repaired} lone surrogate(s) (invalid Unicode) replaced by U+FFFD; offsets unchanged"] \
            if repaired else []
        return run_check(text, body.codes, body.note_id, said, caller=_caller(request))

    def run_check(text: str, codes: Any, note_id: str, said: list[str], render: tuple | None = None, *,
                  document: Any = None, chars: int | None = None, caller: str = "-") -> Response:
        """One note through a worker (time budget, memory ceiling) or, with ``workers=0``, this process;
        the response is the job's JSON or the error every check endpoint gives (E104, E703, E708, E712,
        E799). ``document``: a CDS Hooks ``context.document``, read in the worker (``chars``: its size,
        for the time budget). One audit line per check."""
        if document is None:
            try:
                check_length(text, "text", max_chars)
            except InputError as exc:
                return error_response(413, exc.code, exc.message)
        job = (text, codes, note_id, said, render, document, max_chars)
        pool = get_pool()
        try:
            if pool is None:
                with lock:
                    outcome = _check_job(job, lambda _k: None)
            else:
                outcome = pool.run(job, chars)
        except BudgetExceeded as exc:
            seconds = exc.args[0] if exc.args else note_timeout
            log.error("check stopped: over its time budget of %.0f s", seconds)
            return error_response(503, "E708", Errors.E708.format(seconds=round(seconds)))
        except WorkerDied:
            log.error("check failed: the worker process died")
            return error_response(500, "E799", Errors.E799.format(kind="worker process died"))
        if outcome[0] == "input":  # a CDS Hooks document that cannot be read (named by field, never its text)
            _kind, code, message = outcome
            if code == "E104":
                return error_response(413, code, message)
            return error_response(422, "E712", Errors.E712.format(detail=f"[{code}] {message}"))
        if outcome[0] == "value" and outcome[1].startswith("[E111]"):  # only a codes problem blames the codes
            return error_response(400, "E703", Errors.E703.format(detail=outcome[1]))
        if outcome[0] != "ok":
            kind = "ValueError" if outcome[0] == "value" else outcome[1]
            log.error("check failed: %s\n%s", kind, outcome[2] if outcome[0] == "crash" else "")
            return error_response(500, "E799", Errors.E799.format(kind=kind))
        if len(outcome) > 2:
            digest, checked_codes, verdicts = outcome[2]
            audit_log.info("%s check caller=%s note=sha256:%s codes=%s verdicts=%s",
                           time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), caller, digest,
                           ",".join(checked_codes) or "-", "; ".join(verdicts) or "-")
        return Response(outcome[1], media_type="application/json", headers=NO_STORE)

    # CDS Hooks (web/cds_hooks.py): the same workers, time budget, limits and error shape as /api/check
    from .cds_hooks import router as cds_hooks_router

    app.state.ensure_loaded = ensure_loaded
    app.state.run_check = run_check
    app.include_router(cds_hooks_router)

    app.state.auth = auth
    app.add_middleware(AccessLog)
    app.add_middleware(BodyLimit, max_bytes=max_bytes)
    app.add_middleware(AuthGuard, auth=auth)
    app.add_middleware(HostGuard, allowed=(*LOCAL_HOSTS, *((host,) if host else ()), *allowed_hosts))  # outermost
    return app


def _caller(request: Request) -> str:
    return str(request.scope.get("state", {}).get("caller") or "-")


def _depth(body: bytes, limit: int) -> int:
    """How deep a JSON body nests (brackets outside strings), stopping past ``limit``."""
    import re as _re

    stripped = _re.sub(rb'"(?:[^"\\]|\\.)*"', b"", body)
    depth = deepest = 0
    for m in _re.finditer(rb"[\[\]{}]", stripped):
        depth += 1 if m.group() in (b"[", b"{") else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def _body_error(body: bytes) -> JSONResponse:
    """The error of a POST body the JSON parser refused: E720 when it nests too deep, else E701."""
    if _depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        return error_response(400, "E720", Errors.E720.format(depth=MAX_JSON_DEPTH))
    return error_response(400, "E701", Errors.E701)


def _safe_detail(exc: Exception, text: str) -> str:
    """An exception message fit to show: a coded message that quotes none of the note, else its type."""
    msg = str(exc)
    if not re.match(r"^\[[A-Z]+\d+\]", msg) or len(msg) > 300:
        return type(exc).__name__
    if any(msg[i:i + 16] in text for i in range(0, max(len(msg) - 15, 0))):
        return type(exc).__name__
    return msg


# --------------------------------------------------------------------------- serving
def _log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in LOGGING_CONFIG.items()}
    cfg["loggers"] = dict(cfg["loggers"])
    cfg["loggers"]["notechecker.web"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    cfg["loggers"]["notechecker.web.audit"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return cfg


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(host: str = "127.0.0.1", port: int = 8000, *, max_bytes: int | None = None,
        allowed_hosts: tuple[str, ...] = (), workers: int = DEFAULT_WORKERS, note_timeout: float | None = NOTE_TIMEOUT,
        max_chars: int = MAX_CHARS, auth=None, max_memory: int | None = None) -> None:
    """Serve the page and API with uvicorn (localhost by default; uvicorn's own access log is off).

    Beyond loopback only with authentication (``auth``: a bearer token file and/or the EHR's JWT
    keys and issuers): a ValueError otherwise, before anything listens."""
    import uvicorn

    from .auth import Auth

    auth = auth if auth is not None else Auth()
    if not _is_loopback(host):
        if not auth.configured:
            raise ValueError(f"serving on {host} needs authentication: --token-file FILE (page and /api/check) "
                             f"and/or --jwks FILE or --jku URL with --issuer and --public-url (CDS Hooks)")
        auth.required = True  # a method that is not configured refuses its calls
        log.warning("serving on %s with authentication; put it behind TLS", host)
    bound = host if host not in ("0.0.0.0", "::", "") else None  # all addresses: name them with --allowed-host
    app = create_app(max_bytes=max_bytes, workers=workers, note_timeout=note_timeout, max_chars=max_chars,
                     allowed_hosts=allowed_hosts, host=bound, auth=auth, max_memory=max_memory)
    uvicorn.run(Shield(app), host=host, port=port, access_log=False, log_config=_log_config(), server_header=False,
                lifespan="on")

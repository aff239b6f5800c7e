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

This module builds the app and serves it; the request model is in :mod:`.requests`, the ASGI
wrappers in :mod:`.middleware`, the page and catalogue in :mod:`.page`, the checking job and the
worker pool in :mod:`.workers`, CDS Hooks in :mod:`.cds_hooks`, authentication in :mod:`.auth`.
"""
from __future__ import annotations

import ipaddress
import logging
import threading
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

from notechecker.errors import Errors
from notechecker.guard import NOTE_TIMEOUT
from notechecker.io import MAX_CHARS
from notechecker.version import __version__
from notechecker.web.common import NO_STORE, error_response
from notechecker.web.middleware import AccessLog, AuthGuard, BodyLimit, BodyTooLarge, HostGuard, Shield, too_large
from notechecker.web.page import PAGE_HEADERS, catalogue_dict, page_html
from notechecker.web.requests import CheckRequest, body_error, error_message, field_name
from notechecker.web.workers import BudgetExceeded, CheckPool, WorkerDied, check_job

__all__ = ["CheckRequest", "DEFAULT_MAX_BYTES", "DEFAULT_WORKERS", "LOCAL_HOSTS", "create_app", "run"]

log = logging.getLogger("notechecker.web")
audit_log = logging.getLogger("notechecker.web.audit")

#: Largest accepted request body, in bytes: room for a note of MAX_CHARS characters as JSON
#: (a long operative note is ~30 kB; an over-long note gets E104 by its length, not E700).
DEFAULT_MAX_BYTES = 6 * MAX_CHARS + 65_536
#: Worker processes checking notes (each holds the pipeline, shared at fork).
DEFAULT_WORKERS = 2
#: Host names the service always answers to.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


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
    page = page_html()
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
        details = [{"field": field_name(tuple(e.get("loc", ()))), "message": error_message(e)} for e in errors]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return error_response(422, "E702", Errors.E702.format(summary=summary), details)

    @app.exception_handler(BodyTooLarge)
    async def _too_big(_request: Request, _exc: BodyTooLarge) -> JSONResponse:
        return too_large(max_bytes)

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
            return body_error(await request.body())
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
                    outcome = check_job(job, lambda _k: None)
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

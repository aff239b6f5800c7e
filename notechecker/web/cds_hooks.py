"""CDS Hooks 2.0 in ``serve``: check the draft operative note when the surgeon signs it.

Routes (a FastAPI router that ``web.server.create_app`` includes)
    GET  /cds-services                          discovery: the service ``notechecker-note-sign``
    POST /cds-services/notechecker-note-sign    ``{"hook": "notechecker-note-sign", "hookInstance": "...",
                                                "context": {"patientId", "encounterId", "userId",
                                                "document"}}`` -> ``{"cards": [...]}``

``context.document`` is the draft note as a FHIR R4 DocumentReference (base64 ``text/plain``,
``text/html`` or ``application/pdf`` attachment, read by :mod:`notechecker.formats.fhir`);
CPT codes in its ``context.event`` are the billed codes, else the codes the note supports
are checked. The cards render the decision records (``plain.code_verdicts``): one card per
code whose verdict is not "supported" or that has checklist items to add (its verdict word
first, the reason, the proof, and each item with its request to complete), then one per
coding conclusion that names no code. Each card has a ``summary`` of at most 140 characters
starting ``CODE: verdict``, an ``indicator`` (``critical`` for error-severity verdicts and
gaps, ``warning``, ``info``), a markdown ``detail``, a ``source``, a link to this server's
page for the full view and an ``extension`` with the code and its verdict word.

The same limits, errors and privacy as ``POST /api/check``: the body limit and access log
of the app apply, errors use its ``{"error": {"code", "message"}}`` shape and codes
(E702 for an invalid request, E703, E799) plus E711 (not this hook) and E712 (the
document cannot be read, named by field, never by its text); nothing logs the note.
The document is read in a checking worker, under the time budget (E708) and the worker's
memory ceiling; a call is let in only with the EHR's JWT when the service authenticates
(:mod:`.auth`). No URL of a request (``fhirServer``, ``prefetch``, attachment links) is fetched.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from ..errors import Errors
from ..facts import CPT_SYSTEM
from .common import NO_STORE, conclusion_spec, error_response

log = logging.getLogger("notechecker.web")

SERVICE_ID = "notechecker-note-sign"
HOOK = "notechecker-note-sign"
SUMMARY_MAX = 140
SOURCE_LABEL = "notechecker documentation checklist"
_CARD_NS = uuid.UUID("0c4a7d1e-2b7f-4d0a-8f0e-6e6f74656368")
#: How serious a card is, from the severity of its worst gap or problem.
INDICATOR = {"error": "critical", "warning": "warning", "info": "info"}

DISCOVERY = {"services": [{
    "hook": HOOK,
    "id": SERVICE_ID,
    "title": "notechecker: operative note documentation check",
    "description": "When a spine operative note is signed, checks whether it documents what its CPT codes "
                   "require (checklist items with the sentence to add) and whether the code choice and "
                   "bundling are right. Context: patientId, encounterId, userId, and document (the draft note "
                   "as a FHIR R4 DocumentReference; CPT codes in DocumentReference.context.event).",
    "usageRequirements": "Send the draft note inline as base64 attachment data (text/plain, text/html or "
                         "application/pdf). Nothing is stored or logged.",
}]}


class HookContext(BaseModel):
    """``context`` of the ``notechecker-note-sign`` hook."""

    model_config = ConfigDict(extra="allow")

    patientId: StrictStr = Field(description="The FHIR id of the patient.")
    encounterId: StrictStr | None = Field(default=None, description="The FHIR id of the encounter.")
    userId: StrictStr = Field(description="Who signs, e.g. Practitioner/123.")
    document: Any = Field(description="The draft note as a FHIR R4 DocumentReference.")


class HookRequest(BaseModel):
    """A CDS Hooks request (fhirServer, fhirAuthorization and prefetch are accepted and not used)."""

    model_config = ConfigDict(extra="allow")

    hook: StrictStr
    hookInstance: StrictStr
    context: HookContext


router = APIRouter(tags=["cds-hooks"])


@router.get("/cds-services", summary="CDS Hooks discovery")
def discovery() -> JSONResponse:
    """The CDS services this server offers (one: ``notechecker-note-sign``)."""
    return JSONResponse(DISCOVERY, headers=NO_STORE)


@router.post(f"/cds-services/{SERVICE_ID}", summary="Check the draft operative note at signing",
             responses={200: {"description": "{\"cards\": [...]}: one card per code with unmet checklist items "
                                              "and per code problem"},
                        400: {"description": "Body is not JSON, another hook, or the codes cannot be checked"},
                        413: {"description": "Body larger than the limit"},
                        422: {"description": "Invalid request or a document that cannot be read"}})
def note_sign(body: HookRequest, request: Request) -> Response:
    if body.hook != HOOK:  # the caller's hook name is never echoed
        return error_response(400, "E711", Errors.E711.format(hook=HOOK))
    document = body.context.document
    if not isinstance(document, dict) or document.get("resourceType") != "DocumentReference":
        return error_response(422, "E712", Errors.E712.format(detail="[E502] not a FHIR DocumentReference"))
    state = request.app.state
    state.ensure_loaded()
    # the document is read in a checking worker (time budget, memory ceiling), never in this process
    size = int(request.headers.get("content-length") or 0)
    caller = str(request.scope.get("state", {}).get("caller") or "-")
    return state.run_check("", None, "draft", [], (body.hookInstance, str(request.base_url)), document=document,
                           chars=size, caller=caller)


# --------------------------------------------------------------------------- cards
def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_MAX else text[:SUMMARY_MAX - 1].rstrip() + "\u2026"


def _md(text: str) -> str:
    """Text for markdown: characters that would start emphasis or links escaped."""
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in text)


def _link(page: str) -> list[dict[str, str]]:
    return [{"label": "Open notechecker for the full view", "url": page, "type": "absolute"}]


def cards(result, hook_instance: str, page: str, text: str | None = None) -> list[dict[str, Any]]:
    """The cards for one CheckResult, rendered from its decision records (``plain.code_verdicts``):
    one card per code whose verdict is not "supported" or whose checklist has items to add, in the
    record's order, worded with the record's verdict word and coloured by its severity; then one per
    coding conclusion that names no code, worded and coloured by the verdict its kind stands for (all
    from ``patterns/verdicts.yaml``)."""
    from notechecker.schema.catalogue import load_catalogue
    from notechecker.schema.checklist import SEVERITIES
    from notechecker.plain import code_verdicts, words

    cat = load_catalogue()
    vocab = words(cat)
    out: list[dict[str, Any]] = []
    for v in code_verdicts(result, cat, text):
        ck = v.checklist
        unmet = tuple(sorted((f for f in ck.findings if f.status != "met"),
                             key=lambda f: (SEVERITIES.index(f.severity), f.item_id))) if ck is not None else ()
        if v.key == "supported" and not unmet:
            continue
        levels = [x for x in [v.severity] + [f.severity for f in unmet] if x]
        worst = min(levels, key=SEVERITIES.index) if levels else None
        head = f"**{v.code}** {_md(v.descriptor)}: **{_md(v.verdict)}**" if v.descriptor else \
            f"**{v.code}**: **{_md(v.verdict)}**"
        lines = [head, "", _md(v.reason)]
        for extra in v.also:
            lines.append(f"- {_md(extra)}")
        if v.supported_code:
            lines += ["", f"Codes the note supports instead: {_md(v.supported_code)}"]
        if v.proof is not None:
            lines += ["", f"{_md(vocab.phrase('proof')).capitalize()}: \u201c{_md(' '.join(v.proof.text.split()))}\u201d"]
        if unmet and v.supported:
            lines += ["", vocab.phrase("request_heading"), ""]
            for f in unmet:
                state = "" if f.status == "missing" else f" ({f.status})"
                lines.append(f"- **{f.item_id} {_md(f.item_name)}**{state}, {f.severity}")
                if f.status == "conflicting" and f.message:
                    lines.append(f"  - {_md(f.message)}")
                if f.fix_hint:
                    lines.append(f"  - {_md(f.fix_hint)}")
        gaps = f"; {len(unmet)} item{'s' if len(unmet) != 1 else ''} to add" if unmet and v.supported else ""
        out.append({
            "uuid": str(uuid.uuid5(_CARD_NS, f"{hook_instance}\0code\0{v.code}")),
            "summary": _summary(f"{v.code}: {v.verdict}{gaps}" + (f" ({v.descriptor})" if v.descriptor else "")),
            "indicator": INDICATOR.get(worst, "info"),
            "detail": "\n".join(lines),
            "source": {"label": SOURCE_LABEL, "topic": {"system": CPT_SYSTEM, "code": v.code}},
            "links": _link(page),
            "extension": {"notechecker-verdict": v.verdict, "notechecker-code": v.code},
        })
    for i, c in enumerate(x for x in result.conclusions if not x.codes and x.verdict != "supported"):
        word = vocab.conclusion_word(c.verdict)
        lines = [f"**{_md(word.capitalize())}**: {_md(c.message)}"]
        if c.reasons:
            lines += [""] + [f"- {_md(x)}" for x in c.reasons]
        out.append({
            "uuid": str(uuid.uuid5(_CARD_NS, f"{hook_instance}\0note\0{i}\0{c.verdict}")),
            "summary": _summary(f"{word.capitalize()}: {c.message}"),
            "indicator": INDICATOR.get(conclusion_spec(vocab, c.verdict).severity, "info"),
            "detail": "\n".join(lines),
            "source": {"label": SOURCE_LABEL},
            "links": _link(page),
        })
    return out

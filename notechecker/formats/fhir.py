"""FHIR R4 ``DocumentReference`` JSON, and ``Bundle`` JSON of them (fhir.resources, R4B models).

One note per DocumentReference. Its text is the first readable attachment, preferring
``text/plain``, then ``text/html`` (paragraphs kept as lines, see :mod:`._text`), then
``application/pdf`` (its text layer), each as base64 ``data``. Other entries of a Bundle
(Patient, Encounter ...) are skipped; a DocumentReference that cannot be read is an error row
and the rest of the Bundle goes on.

The note id is ``DocumentReference.id`` (else its first identifier); the patient
``subject``, the encounter ``context.encounter``, the author the first ``author``'s display
(a Practitioner first), the date ``context.period.start`` (the operation), else ``date``;
CPT codes in ``context.event`` (system ``http://www.ama-assn.org/go/cpt``) are the billed codes.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path
from typing import Any, Iterator

from ..errors import InputError
from ..facts import CPT_SYSTEM
from .base import MAX_PART_BYTES, Document, position

#: Attachment types read, most preferred first.
TEXT_TYPES = ("text/plain", "text/html", "application/xhtml+xml", "application/pdf")


def read(data: bytes, source: str) -> Iterator[Document | InputError]:
    try:
        obj = json.loads(data)
    except RecursionError:
        raise InputError("E507", f"{source}: JSON nested too deep to read") from None
    except UnicodeError:
        raise InputError("E501", f"{source}: not valid JSON (not UTF-8, UTF-16 or UTF-32 text)") from None
    except ValueError as exc:  # json's messages name positions; ours say only where
        raise InputError("E501", f"{source}: not valid JSON ({position(exc)})") from None
    yield from read_resource(obj, source)


def read_resource(obj: Any, source: str) -> Iterator[Document | InputError]:
    """The notes of a parsed FHIR resource (a DocumentReference or a Bundle of them)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("resourceType"), str):
        raise InputError("E502", f"{source}: JSON without a resourceType, not a FHIR resource")
    rtype = obj["resourceType"]
    stem = Path(source).stem
    if rtype == "DocumentReference":
        yield document_reference(obj, source, source, stem)
        return
    if rtype != "Bundle":
        raise InputError("E502", f"{source}: a FHIR {_short(rtype)} resource, not a DocumentReference or a "
                                 f"Bundle of them")
    entries = obj.get("entry") or []
    if not isinstance(entries, list):
        raise InputError("E503", f"{source}: Bundle.entry is not a list")
    found = 0
    for i, entry in enumerate(entries):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict) or res.get("resourceType") != "DocumentReference":
            continue
        found += 1
        where = f"{source} entry {i + 1}"
        try:
            yield document_reference(res, where, f"{source}:{i + 1}", f"{stem}:{i + 1}")
        except InputError as exc:
            yield exc
    if not found:
        raise InputError("E505", f"{source}: a Bundle of {len(entries)} entries without any DocumentReference")


def _short(value: str) -> str:
    """A resource type fit to show: an R4 resource name, else 'unknown' (the field could hold anything)."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        get_fhir_model_class(value)
    except (ValueError, KeyError, TypeError, AttributeError):
        return "unknown"
    return value


def validate(obj: dict, where: str):
    """The R4 DocumentReference model of ``obj``; E503 names the fields it rejects (never their values)."""
    from fhir.resources.R4B.documentreference import DocumentReference
    from pydantic import ValidationError

    try:
        return DocumentReference.model_validate(obj)
    except ValidationError as exc:
        fields = []
        for err in exc.errors()[:5]:
            loc = _location(err.get("loc", ()))
            kind = str(err.get("type", "invalid"))
            fields.append(f"{loc}: {kind if re.fullmatch(r'[a-z_]{1,40}', kind) else 'invalid'}")
        raise InputError("E503", f"{where}: not a valid FHIR R4 DocumentReference ({'; '.join(fields)})") from None
    except (ValueError, TypeError) as exc:
        raise InputError("E503", f"{where}: not a valid FHIR R4 DocumentReference ({exc.__class__.__name__})") \
            from None


#: Element names a validation error may name; any other key (the document's own, which could be
#: anything) is shown as '(an element)'.
ELEMENTS = frozenset(
    "resourceType id meta implicitRules language text contained extension modifierExtension masterIdentifier "
    "identifier status docStatus type category subject date author authenticator custodian relatesTo code "
    "target description securityLabel content attachment contentType data url size hash title creation "
    "format context encounter event period start end facilityType practiceSetting sourcePatientInfo related "
    "coding system version display userSelected reference value use assigner __root__".split())


def _location(loc) -> str:
    parts = []
    for p in loc:
        if p == "__root__":
            continue
        parts.append(str(p) if isinstance(p, int) or p in ELEMENTS else "(an element)")
    return ".".join(parts) or "(resource)"


def document_reference(obj: dict, where: str, label: str, fallback_id: str) -> Document:
    """One note from a DocumentReference (already parsed JSON)."""
    validate(obj, where)
    rid = obj.get("id") or ""
    ident = next((i.get("value") for i in obj.get("identifier") or [] if isinstance(i, dict) and i.get("value")),
                 "") or (obj.get("masterIdentifier") or {}).get("value", "")
    note_id = rid or ident or fallback_id
    shown = f"{where} (DocumentReference {note_id})" if note_id != fallback_id else where
    text, warning = attachment_text(obj.get("content") or [], shown)
    context = obj.get("context") or {}
    encounters = context.get("encounter") or []
    encounter = _ref(encounters[0]) if encounters else ""
    period = context.get("period") or {}
    codes = [c.get("code") for e in context.get("event") or [] for c in (e.get("coding") or [])
             if c.get("system") == CPT_SYSTEM and c.get("code")]
    return Document(note_id=note_id, text=text, source=label, format="fhir", patient=_ref(obj.get("subject")),
                    encounter=encounter, author=_author(obj.get("author") or []),
                    date=period.get("start") or obj.get("date") or "",
                    document=f"DocumentReference/{rid}" if rid else "", codes=" ".join(codes) or None,
                    warnings=(f"{shown}: {warning}",) if warning else ())


def _ref(ref: Any) -> str:
    """A Reference as 'Type/id', else its identifier's value ('' when neither)."""
    if not isinstance(ref, dict):
        return ""
    if ref.get("reference"):
        return str(ref["reference"])
    ident = ref.get("identifier") or {}
    return str(ident.get("value") or "")


def _author(authors: list) -> str:
    named = [a for a in authors if isinstance(a, dict) and a.get("display")]
    named.sort(key=lambda a: 0 if str(a.get("reference", "")).startswith("Practitioner") else 1)
    return named[0]["display"] if named else ""


def _media(ctype: str) -> tuple[str, str | None]:
    parts = [p.strip() for p in (ctype or "").split(";")]
    charset = next((p.split("=", 1)[1].strip().strip('"') for p in parts[1:] if p.lower().startswith("charset=")),
                   None)
    return parts[0].lower(), charset


def attachment_text(contents: list, where: str) -> tuple[str, str | None]:
    """(text, decoding warning) of the most readable attachment; E504 when none has readable text."""
    from ..io import decode

    attachments = [c.get("attachment") or {} for c in contents if isinstance(c, dict)]
    ranked = sorted((a for a in attachments if _media(a.get("contentType", ""))[0] in TEXT_TYPES),
                    key=lambda a: TEXT_TYPES.index(_media(a.get("contentType", ""))[0]))
    with_data = [a for a in ranked if a.get("data")]
    if not with_data:
        if any(a.get("url") for a in attachments):
            raise InputError("E504", f"{where}: the attachment is a link (url) without inline data; put the "
                                     f"document in attachment.data (base64) to check it")
        types = sorted({_media(a.get("contentType", ""))[0] or "no contentType" for a in attachments})
        raise InputError("E504", f"{where}: no attachment with text data (found: {', '.join(types) or 'none'}; "
                                 f"read: {', '.join(TEXT_TYPES)})")
    att = with_data[0]
    media, charset = _media(att.get("contentType", ""))
    encoded = "".join(str(att["data"]).split())
    if len(encoded) // 4 * 3 > MAX_PART_BYTES:  # checked before decoding
        raise InputError("E506", f"{where}: the attachment is over the {MAX_PART_BYTES:,}-byte limit of a "
                                 f"document part")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("E504", f"{where}: attachment.data is not valid base64") from None
    if media == "application/pdf":
        from .pdf import pdf_text

        return pdf_text(raw, where), None
    warning = None
    if charset:
        try:
            text = raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            text, _enc, warning = decode(raw, where)
    else:
        text, _enc, warning = decode(raw, where)
    if media != "text/plain":
        from ._text import html_to_text

        text = html_to_text(text)
        if not text.strip():
            raise InputError("E504", f"{where}: the {media} attachment holds no text")
    return text, warning

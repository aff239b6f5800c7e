"""C-CDA documents (HL7 CDA R2, e.g. an Operative Note, LOINC 11504-8), read with lxml.

The note is the document title, then every section in document order (nested sections
after their parent's text), each as its title on a line of its own (a heading) followed by
its narrative block as plain text (see :mod:`._text`), sections separated by a blank line.
A ``nonXMLBody`` with a ``text/plain`` (or ``text/html``) base64 or plain body is read too.

The note id is ``ClinicalDocument/id/@extension`` (else ``@root``); the patient
``recordTarget/patientRole/id``, the encounter ``componentOf/encompassingEncounter/id``, the
author the primary performer of the service event (``performer[@typeCode='PPRF']``), else the
document's author; the date the service event's start, else the document's effectiveTime.
Service event codes in CPT (code system 2.16.840.1.113883.6.12) are the billed codes.
"""
from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from .base import MAX_PART_BYTES, Document, position
from ._text import CDA_BLOCKS, CDA_PARAGRAPHS, CDA_SKIP, element_text, html_to_text

NS = "urn:hl7-org:v3"
N = {"h": NS}
CPT_OID = "2.16.840.1.113883.6.12"


def read(data: bytes, source: str) -> Iterator[Document | InputError]:
    from lxml import etree

    # no entities resolved, no DTD loaded, nothing fetched, no XInclude; libxml2's depth and size limits kept
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True,
                             load_dtd=False, dtd_validation=False, attribute_defaults=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:  # libxml2's message quotes element and entity names: never shown
        raise InputError("E521", f"{source}: not well-formed XML ({position(exc)})") from None
    except ValueError:
        raise InputError("E521", f"{source}: not readable XML (an encoding declaration it cannot use)") from None
    if root.tag != f"{{{NS}}}ClinicalDocument":
        local = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        ns = etree.QName(root).namespace if isinstance(root.tag, str) else None
        what = f"<{local}>" + (f" in namespace {ns}" if ns else " without a namespace")
        raise InputError("E522", f"{source}: XML whose root is {what[:120]}, not a CDA ClinicalDocument "
                                 f"(urn:hl7-org:v3)")
    yield _document(root, source)


def _first(root, path: str):
    found = root.xpath(path, namespaces=N)
    return found[0] if found else None


def _id(el) -> str:
    if el is None:
        return ""
    return (el.get("extension") or el.get("root") or "").strip()


def _person(el) -> str:
    """A CDA ``name`` element as 'Prefix Given Family Suffix' (suffix after a comma)."""
    if el is None:
        return ""
    parts = {k: " ".join(" ".join("".join(x.itertext()).split()) for x in el.findall(f"{{{NS}}}{k}"))
             for k in ("prefix", "given", "family", "suffix")}
    name = " ".join(p for p in (parts["prefix"], parts["given"], parts["family"]) if p)
    if not name:
        name = " ".join(" ".join(el.itertext()).split())
    return f"{name}, {parts['suffix']}" if parts["suffix"] and name else name


def _date(value: str) -> str:
    m = re.match(r"^(\d{4})(\d{2})?(\d{2})?", value or "")
    return "-".join(p for p in m.groups() if p) if m else (value or "")


def _section_lines(section, out: list[str]) -> None:
    title = _first(section, "h:title")
    text = _first(section, "h:text")
    block: list[str] = []
    if title is not None:
        heading = " ".join(" ".join(title.itertext()).split())
        if heading:
            block.append(heading)
    if text is not None:
        body = element_text(text, CDA_BLOCKS, CDA_PARAGRAPHS, CDA_SKIP)
        if body:
            block.append(body.rstrip("\n"))
    if block:
        if out:
            out.append("")
        out.extend(block)
    for child in section.xpath("h:component/h:section", namespaces=N):
        _section_lines(child, out)


def _non_xml_body(body, where: str) -> str:
    from ..io import decode

    text_el = _first(body, "h:text")
    if text_el is None:
        return ""
    media = (text_el.get("mediaType") or "text/plain").lower()
    if media not in ("text/plain", "text/html"):
        raise InputError("E523", f"{where}: nonXMLBody of type {media[:60]} is not read (text/plain, text/html)")
    raw = "".join(text_el.itertext())
    if len(raw) > MAX_PART_BYTES * 4 // 3:
        raise InputError("E506", f"{where}: nonXMLBody text over the {MAX_PART_BYTES // (1 << 20)} MB limit of a "
                                 f"document part")
    if (text_el.get("representation") or "").upper() == "B64":
        try:
            raw, _enc, _w = decode(base64.b64decode("".join(raw.split()), validate=True), where)
        except (binascii.Error, ValueError):
            raise InputError("E523", f"{where}: nonXMLBody text is not valid base64") from None
    return html_to_text(raw) if media == "text/html" else raw


def _document(root, source: str) -> Document:
    doc_id = _id(_first(root, "h:id"))
    where = f"{source} (ClinicalDocument {doc_id})" if doc_id else source
    lines: list[str] = []
    title = _first(root, "h:title")
    if title is not None and " ".join(title.itertext()).strip():
        lines.append(" ".join(" ".join(title.itertext()).split()))
    structured = _first(root, "h:component/h:structuredBody")
    if structured is not None:
        for section in structured.xpath("h:component/h:section", namespaces=N):
            _section_lines(section, lines)
        text = "".join(line + "\n" for line in lines)
        has_body = len(lines) > (1 if title is not None else 0)
    else:
        body = _first(root, "h:component/h:nonXMLBody")
        raw = _non_xml_body(body, where) if body is not None else ""
        text = ("\n".join(lines) + "\n\n" + raw) if lines and raw.strip() else raw
        has_body = bool(raw.strip())
    if not has_body or not text.strip():
        raise InputError("E523", f"{where}: a CDA document without narrative text (no section text, no "
                                 f"nonXMLBody text)")
    performer = _first(root, "h:documentationOf/h:serviceEvent/h:performer[@typeCode='PPRF']"
                             "/h:assignedEntity/h:assignedPerson/h:name")
    author = _person(performer) or _person(_first(root, "h:author/h:assignedAuthor/h:assignedPerson/h:name"))
    event_time = _first(root, "h:documentationOf/h:serviceEvent/h:effectiveTime")
    date = ""
    if event_time is not None:
        low = _first(event_time, "h:low")
        date = (low.get("value") if low is not None else None) or event_time.get("value") or ""
    if not date:
        eff = _first(root, "h:effectiveTime")
        date = eff.get("value", "") if eff is not None else ""
    codes = [c.get("code") for c in root.xpath("h:documentationOf/h:serviceEvent/h:code", namespaces=N)
             if c.get("codeSystem") == CPT_OID and c.get("code")]
    codes += [t.get("code") for t in root.xpath("h:documentationOf/h:serviceEvent/h:code/h:translation",
                                                  namespaces=N)
              if t.get("codeSystem") == CPT_OID and t.get("code")]
    return Document(note_id=doc_id or Path(source).stem, text=text, source=source, format="cda",
                    patient=_id(_first(root, "h:recordTarget/h:patientRole/h:id")),
                    encounter=_id(_first(root, "h:componentOf/h:encompassingEncounter/h:id")),
                    author=author, date=_date(date), codes=" ".join(dict.fromkeys(codes)) or None)

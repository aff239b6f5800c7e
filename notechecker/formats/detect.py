"""Which reader a file needs: by its content first, by its extension when the content is not telling.

Content signatures are strong ones only (a PDF header, a ZIP holding ``word/document.xml``,
an ``MSH|`` segment, a JSON object with ``resourceType``, an XML ``ClinicalDocument``), so
a ``.txt`` operative note is never taken for a document; a ``.json`` or ``.xml`` file that is
not a FHIR resource or a CDA document goes to its reader by extension, which then reports
what it is not (E501/E502, E521/E522) instead of it being read as a note.
"""
from __future__ import annotations

import codecs
import io
import re
import zipfile

#: Format names, in the order README documents them.
FORMATS = ("fhir", "hl7v2", "cda", "pdf", "docx")
#: Extensions read as documents (in folders with ``--documents``, and when named).
SUFFIXES = {".json": "fhir", ".fhir": "fhir", ".hl7": "hl7v2", ".hl7v2": "hl7v2", ".xml": "cda",
            ".cda": "cda", ".ccd": "cda", ".pdf": "pdf", ".docx": "docx"}

_HL7_START = re.compile(rb"^(?:MSH|FHS|BHS)\|")
_RESOURCE_TYPE = re.compile(rb'"resourceType"\s*:')
_CDA_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?ClinicalDocument[\s>]")


def _head(data: bytes, n: int = 4096) -> bytes:
    """The first bytes as ASCII-compatible text: BOM dropped, UTF-16 narrowed, leading space stripped."""
    head = data[: 2 * n]
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    elif head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            head = head.decode("utf-16", "ignore").encode("ascii", "ignore")
        except UnicodeError:
            return b""
    return head[:n].lstrip()


def detect(data: bytes, name: str = "") -> str | None:
    """``fhir``, ``hl7v2``, ``cda``, ``pdf``, ``docx``, or None for plain text (a ``.txt`` note)."""
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04") and _is_docx(data):
        return "docx"
    head = _head(data)
    if _HL7_START.match(head):
        return "hl7v2"
    if head[:1] in (b"{", b"[") and _RESOURCE_TYPE.search(head):
        return "fhir"
    if head[:1] == b"<" and _CDA_ROOT.search(data[:65536]):
        return "cda"
    return SUFFIXES.get(suffix)


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "word/document.xml" in z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False

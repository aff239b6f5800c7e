"""Hostile documents of issue 22, built in the test (nothing downloaded), each carrying a marker word.

Every builder takes the marker and returns bytes; :func:`corpus` gives ``(name, kind, bytes)`` for
each attack. The marker is a word of "the note" (the narrative, an element or entity name, a
zip member name, an OBX field) that must never reach a message, a table, a log or an HTTP body.
"""
from __future__ import annotations

import base64
import functools
import io
import json
import zipfile
import zlib
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "sample_notes"


def good_text() -> str:
    return (SAMPLES / "sn08_anterior_cervical_plate_removal.txt").read_text(encoding="utf-8")


def docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def _rezip(data: bytes, replace: dict[str, bytes], extra: dict[str, bytes] | None = None,
           level: int = 6) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for info in src.infolist():
            z.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, body in (extra or {}).items():
            z.writestr(name, body)
    return out.getvalue()


def docx_not_well_formed(marker: str) -> bytes:
    base = docx_bytes([f"Removal of L4-L5 rods for {marker}."])
    xml = (b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
           b'main"><w:body><w:p><w:r><w:t>' + marker.encode() + b'</w:t></w:r></w:p><' + marker.encode()
           + b'></w:body></w:document>')
    return _rezip(base, {"word/document.xml": xml})


def docx_bomb(marker: str, inflated: int = 300 * 1024 * 1024) -> bytes:
    """A DOCX whose document.xml inflates to ``inflated`` bytes (a few hundred kB on disk)."""
    head = (b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
            b'main"><w:body><w:p><w:r><w:t>' + marker.encode() + b' ')
    tail = b'</w:t></w:r></w:p></w:body></w:document>'
    out = io.BytesIO()
    base = zipfile.ZipFile(io.BytesIO(docx_bytes(["x"])))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for info in base.infolist():
            if info.filename != "word/document.xml":
                z.writestr(info.filename, base.read(info.filename))
        with z.open("word/document.xml", "w", force_zip64=True) as fh:
            fh.write(head)
            block = b" " * (1 << 20)
            for _ in range(inflated // len(block)):
                fh.write(block)
            fh.write(tail)
    return out.getvalue()


def docx_many_paragraphs(marker: str, n: int = 1_500_000) -> bytes:
    body = b"<w:p/>" * n
    xml = (b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
           b'main"><w:body><w:p><w:r><w:t>' + marker.encode() + b'</w:t></w:r></w:p>' + body
           + b'</w:body></w:document>')
    return _rezip(docx_bytes(["x"]), {"word/document.xml": xml}, level=9)


def docx_zip_slip(marker: str) -> bytes:
    return _rezip(docx_bytes([f"Removal of rods for {marker}."]), {}, {f"../../{marker}/evil.xml": b"<x/>"})


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF of the numbered objects (1 0 obj ...), with a correct xref table; object 1 is the catalog."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def _page_pdf(content: bytes, flate: bool = False, extra: bytes = b"") -> bytes:
    stream = zlib.compress(content, 9) if flate else content
    filt = b" /Filter /FlateDecode" if flate else b""
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R" + extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + filt + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def pdf_text(lines: list[str]) -> bytes:
    ops = [b"BT /F1 10 Tf 40 760 Td 12 TL"]
    for line in lines:
        esc = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(b"(" + esc.encode("latin-1", "replace") + b") '")
    ops.append(b"ET")
    return _page_pdf(b"\n".join(ops))


def pdf_stream_bomb(marker: str, inflated: int = 120_000_000) -> bytes:
    """A content stream that inflates past pypdf's 75 MB limit."""
    content = b"BT /F1 10 Tf 40 760 Td (" + marker.encode() + b") Tj ET\n" + b" " * inflated
    return _page_pdf(content, flate=True)


def pdf_javascript(marker: str) -> bytes:
    js = f"app.alert('{marker}');".encode()
    return _page_pdf(b"BT /F1 10 Tf 40 760 Td (Removal of rods " + marker.encode() + b") Tj ET",
                     extra=b" /OpenAction << /S /JavaScript /JS (" + js + b") >>")


def pdf_broken_xref(marker: str) -> bytes:
    data = pdf_text([f"Removal of L4-L5 rods {marker}."])
    return data.replace(b"xref\n", b"xref\n" + marker.encode() + b"\n", 1)


def fhir_docref(text: str, **extra) -> dict:
    obj = {"resourceType": "DocumentReference", "id": "d1", "status": "current",
           "content": [{"attachment": {"contentType": "text/plain",
                                       "data": base64.b64encode(text.encode()).decode()}}]}
    obj.update(extra)
    return obj


def fhir_deep(marker: str, depth: int = 100_000) -> bytes:
    return (b'{"resourceType": "DocumentReference", "' + marker.encode() + b'": ' + b"[" * depth
            + b"]" * depth + b"}")


def fhir_huge_text(marker: str, chars: int = 3_000_000) -> bytes:
    text = (marker + " ") * (chars // (len(marker) + 1))
    return json.dumps(fhir_docref(text)).encode()


def fhir_attachment_pdf_bomb(marker: str) -> bytes:
    obj = fhir_docref("x")
    obj["content"] = [{"attachment": {"contentType": "application/pdf",
                                      "data": base64.b64encode(pdf_stream_bomb(marker)).decode()}}]
    return json.dumps(obj).encode()


def fhir_bad_field(marker: str) -> bytes:
    return json.dumps(fhir_docref(f"Removal of rods {marker}", status=marker, date=marker)).encode()


def fhir_not_json(marker: str) -> bytes:
    return b'{"resourceType": "DocumentReference", "text": "' + marker.encode() + b'" ' + marker.encode() + b"}"


def hl7_bad_escape(marker: str) -> bytes:
    return (b"MSH|^~\\&|A|B|C|D|20240101||MDM^T02|CTL1|P|2.5\r"
            b"TXA|1|OP|TX|20240101||||||||DOC1\r"
            b"OBX|1|TX|||Removal of L4-L5 rods " + marker.encode() + b" \\Xzz\\ and \\Cxx\\ \\Mabc\\ \\Q" +
            marker.encode() + b"\\ done||||||F\r")


def hl7_garbage(marker: str) -> bytes:
    return b"MSH|" + marker.encode() + b"\r" + b"OBX|" * 5000 + marker.encode()


def xml_entity_names(marker: str) -> bytes:
    return (b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>Op note</title><component><structuredBody>"
            b"<component><section><text><paragraph>Patient <" + marker.encode() + b"> &" + marker.encode()
            + b"; was seen</paragraph></text></section></component></structuredBody></component>"
              b"</ClinicalDocument>")


def xml_xxe(marker: str) -> bytes:
    return (b"<?xml version='1.0'?><!DOCTYPE ClinicalDocument [<!ENTITY " + marker.encode()
            + b" SYSTEM 'file:///etc/passwd'>]><ClinicalDocument xmlns='urn:hl7-org:v3'><title>Op</title>"
              b"<component><structuredBody><component><section><text><paragraph>Removal &" + marker.encode()
            + b";</paragraph></text></section></component></structuredBody></component></ClinicalDocument>")


def xml_billion_laughs(marker: str) -> bytes:
    ents = b"<!ENTITY a0 '" + marker.encode() + b"'>" + b"".join(
        f"<!ENTITY a{i} '{('&a' + str(i - 1) + ';') * 10}'>".encode() for i in range(1, 10))
    return (b"<?xml version='1.0'?><!DOCTYPE ClinicalDocument [" + ents + b"]><ClinicalDocument "
            b"xmlns='urn:hl7-org:v3'><title>Op</title><component><structuredBody><component><section><text>"
            b"<paragraph>&a9;</paragraph></text></section></component></structuredBody></component>"
            b"</ClinicalDocument>")


def xml_deep(marker: str, depth: int = 100_000) -> bytes:
    return (b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>" + marker.encode() + b"</title>"
            + b"<a>" * depth + b"</a>" * depth + b"</ClinicalDocument>")


@functools.lru_cache(maxsize=4)
def corpus(marker: str, heavy: bool = False) -> tuple[tuple[str, str, bytes], ...]:
    """(name, format, bytes) of every hostile document. ``heavy``: the 1.5 million paragraph DOCX too
    (it is over any short time budget by design)."""
    out = [
        ("docx_not_well_formed", "docx", docx_not_well_formed(marker)),
        ("docx_bomb", "docx", docx_bomb(marker)),
        ("docx_zip_slip", "docx", docx_zip_slip(marker)),
        ("pdf_stream_bomb", "pdf", pdf_stream_bomb(marker)),
        ("pdf_javascript", "pdf", pdf_javascript(marker)),
        ("pdf_broken_xref", "pdf", pdf_broken_xref(marker)),
        ("fhir_deep", "fhir", fhir_deep(marker)),
        ("fhir_huge_text", "fhir", fhir_huge_text(marker)),
        ("fhir_attachment_pdf_bomb", "fhir", fhir_attachment_pdf_bomb(marker)),
        ("fhir_bad_field", "fhir", fhir_bad_field(marker)),
        ("fhir_not_json", "fhir", fhir_not_json(marker)),
        ("hl7_bad_escape", "hl7v2", hl7_bad_escape(marker)),
        ("hl7_garbage", "hl7v2", hl7_garbage(marker)),
        ("xml_entity_names", "cda", xml_entity_names(marker)),
        ("xml_xxe", "cda", xml_xxe(marker)),
        ("xml_billion_laughs", "cda", xml_billion_laughs(marker)),
        ("xml_deep", "cda", xml_deep(marker)),
    ]
    if heavy:
        out.append(("docx_many_paragraphs", "docx", docx_many_paragraphs(marker)))
    return tuple(out)


SUFFIX = {"docx": ".docx", "pdf": ".pdf", "fhir": ".json", "hl7v2": ".hl7", "cda": ".xml"}


def write_corpus(folder: Path, marker: str, heavy: bool = False) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, kind, data in corpus(marker, heavy):
        p = folder / f"{name}{SUFFIX[kind]}"
        p.write_bytes(data)
        paths.append(p)
    return paths

"""Rebuild the document samples in this folder from the synthetic .txt notes beside it.

    .venv/bin/python sample_notes/formats/build_samples.py

Each sample holds the text of one (or two) of ../snNN_*.txt, so a test can show that the
facts read from the document equal the facts of the .txt note. The bad documents (one per
error class) go to tests/fixtures/formats/. Everything written is synthetic; the
identifiers (patients, encounters, messages) are made up. The output is the same bytes on
every run (fixed dates, ids and PDF/DOCX metadata), except the encrypted PDF, whose
encryption key is drawn anew.
"""
from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
NOTES = HERE.parent
BAD = HERE.parents[1] / "tests" / "fixtures" / "formats"
CPT = "http://www.ama-assn.org/go/cpt"


def note(stem: str) -> str:
    (path,) = NOTES.glob(f"{stem}_*.txt")
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- FHIR
def document_reference(rid: str, text: str, *, patient: str, encounter: str, author: str, date: str,
                       content_type: str = "text/plain", codes: tuple[str, ...] = (),
                       data: bytes | None = None) -> dict:
    body = data if data is not None else text.encode("utf-8")
    context: dict = {"encounter": [{"reference": f"Encounter/{encounter}"}],
                     "period": {"start": date}}
    if codes:
        context["event"] = [{"coding": [{"system": CPT, "code": c} for c in codes]}]
    return {
        "resourceType": "DocumentReference",
        "id": rid,
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11504-8",
                             "display": "Surgical operation note"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "date": f"{date}T17:00:00Z",
        "author": [{"reference": f"Practitioner/{author.split(',')[0].replace(' ', '-').lower()}",
                    "display": author}],
        "content": [{"attachment": {"contentType": content_type, "data": base64.b64encode(body).decode()}}],
        "context": context,
    }


def html_of(text: str) -> str:
    """The note as an EHR's HTML: a <p> per line, <p>&nbsp;</p> for a blank line."""
    out = []
    for line in text.rstrip("\n").split("\n"):
        if not line.strip():
            out.append("<p>&nbsp;</p>")
        else:
            out.append("<p>" + escape(line).replace("  ", " &nbsp;") + "</p>")
    return "<html><body><div class=\"note\">" + "\n".join(out) + "</div></body></html>"


def write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- HL7 v2
def hl7_escape(text: str) -> str:
    return (text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("&", "\\T\\")
            .replace("~", "\\R\\"))


def mdm(text: str, *, control: str, doc_no: str, patient: str, visit: str, surgeon: tuple[str, str, str],
        date: str, event: str = "T02", codes: tuple[str, ...] = ()) -> list[str]:
    family, given, degree = surgeon
    segs = [f"MSH|^~\\&|DICTATION|SYNTH HOSPITAL|NOTECHECKER|AUDIT|{date}1730||MDM^{event}^MDM_{event}|{control}|P|2.5",
            f"EVN|{event}|{date}1730",
            f"PID|1||{patient}^^^SYNTH^MR||Synthetic^Patient||19700101|U",
            f"PV1|1|I|||||||||||||||||{visit}",
            f"TXA|1|OP|TX|{date}0800|{doc_no}^{family}^{given}^^^^{degree}|{date}1700||||"
            f"^{family}^{given}^^^^{degree}||{doc_no}||||||AU"]
    segs += [f"PR1|{i}||{c}^^C4" for i, c in enumerate(codes, 1)]
    lines = text.rstrip("\n").split("\n")
    segs += [f"OBX|{i}|TX|11504-8^Surgical operation note^LN||{hl7_escape(line)}||||||F"
             for i, line in enumerate(lines, 1)]
    return segs


def oru(text: str, *, control: str, patient: str, visit: str, surgeon: tuple[str, str, str], date: str) -> list[str]:
    family, given, degree = surgeon
    body = "\\.br\\".join(hl7_escape(line) for line in text.rstrip("\n").split("\n"))
    return [f"MSH|^~\\&|TRANSCRIPTION|SYNTH HOSPITAL|NOTECHECKER|AUDIT|{date}1800||ORU^R01^ORU_R01|{control}|P|2.5",
            f"PID|1||{patient}^^^SYNTH^MR||Synthetic^Patient||19700101|U",
            f"PV1|1|I|||||||||||||||||{visit}",
            f"OBR|1||{control}|11504-8^Surgical operation note^LN|||{date}0800|||||||||||||||||||||||||"
            f"^{family}^{given}^^^^{degree}",
            f"OBX|1|FT|11504-8^Surgical operation note^LN||{body}||||||F"]


# --------------------------------------------------------------------------- C-CDA
def cda(text: str, *, doc_id: str, patient: str, encounter: str, surgeon: tuple[str, str, str], date: str,
        codes: tuple[str, ...] = ()) -> str:
    """The note as a C-CDA Operative Note: its first line the title; each heading on a line of its own
    followed by its paragraphs (a blank line between paragraphs as <br/>) a section."""
    blocks = [b.split("\n") for b in text.rstrip("\n").split("\n\n")]
    title = blocks[0][0]
    sections: list[tuple[str, list[list[str]]]] = []
    for block in blocks[1:]:
        if len(block) > 1 or not sections:
            sections.append((block[0], [block[1:]] if len(block) > 1 else []))
        else:
            sections[-1][1].append(block)
    family, given, degree = surgeon
    parts = []
    for heading, paragraphs in sections:
        inner = "<br/>".join("".join(f"<paragraph>{escape(line)}</paragraph>" for line in para)
                             for para in paragraphs)
        parts.append(f"      <component><section><title>{escape(heading)}</title>"
                     f"<text>{inner}</text></section></component>")
    service_codes = "".join(f'<code code="{c}" codeSystem="2.16.840.1.113883.6.12" codeSystemName="CPT-4"/>'
                            for c in codes[:1])
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <realmCode code="US"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="2.16.840.1.113883.10.20.22.1.7" extension="2015-08-01"/>
  <id root="2.25.1234567" extension="{doc_id}"/>
  <code code="11504-8" codeSystem="2.16.840.1.113883.6.1" displayName="Surgical operation note"/>
  <title>{escape(title)}</title>
  <effectiveTime value="{date}1700"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <recordTarget><patientRole><id root="2.25.7654321" extension="{patient}"/></patientRole></recordTarget>
  <author><time value="{date}1700"/><assignedAuthor><id root="2.25.1111"/>
    <assignedPerson><name><given>{given}</given><family>{family}</family><suffix>{degree}</suffix></name></assignedPerson>
  </assignedAuthor></author>
  <custodian><assignedCustodian><representedCustodianOrganization><id root="2.25.2222"/></representedCustodianOrganization></assignedCustodian></custodian>
  <documentationOf><serviceEvent classCode="PROC">{service_codes}<effectiveTime><low value="{date}0800"/></effectiveTime>
    <performer typeCode="PPRF"><assignedEntity><id root="2.25.1111"/>
      <assignedPerson><name><given>{given}</given><family>{family}</family><suffix>{degree}</suffix></name></assignedPerson>
    </assignedEntity></performer>
  </serviceEvent></documentationOf>
  <componentOf><encompassingEncounter><id root="2.25.3333" extension="{encounter}"/>
    <effectiveTime><low value="{date}"/></effectiveTime></encompassingEncounter></componentOf>
  <component>
    <structuredBody>
{chr(10).join(parts)}
    </structuredBody>
  </component>
</ClinicalDocument>
"""


# --------------------------------------------------------------------------- PDF
def _pdf_string(line: str) -> str:
    return "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def pdf(text: str | None, *, lines_per_page: int = 64, image_only: bool = False) -> bytes:
    """A letter-size PDF with the note's lines as a text layer (Helvetica 7 pt), or a page holding
    only an image (a scan without OCR) when ``image_only``."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_id = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    page_ids = []
    if image_only:
        pixels = bytes([200, 60] * 32)  # 8 x 8 grey checks: an "image" of a page, no text
        image = add(b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
                    b"/BitsPerComponent 8 /Length %d >>\nstream\n" % len(pixels) + pixels + b"\nendstream")
        stream = b"q 612 0 0 792 0 0 cm /Im1 Do Q"
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page_ids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                            b"/Resources << /XObject << /Im1 %d 0 R >> >> >>" % (pages_id, content, image)))
    else:
        lines = text.rstrip("\n").split("\n")
        for start in range(0, len(lines), lines_per_page):
            chunk = lines[start:start + lines_per_page]
            ops = ["BT", "/F1 7 Tf", "9 TL", "36 756 Td"]
            for line in chunk:
                if line:
                    ops.append(f"{_pdf_string(line)} Tj")
                ops.append("T*")
            ops.append("ET")
            stream = "\n".join(ops).encode("cp1252")
            content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
            page_ids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                                b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, content, font)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    kids = b" ".join(b"%d 0 R" % p for p in page_ids)
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref))
    return out.getvalue()


def scanned_pdf(text: str, dpi: int = 300, noise: float = 0.0, seed: int = 7, max_pages: int = 1) -> bytes:
    """An image-only PDF of ``text`` (a scan without OCR; for the OCR tests and the benchmark, not
    written as a sample): letter pages at ``dpi``, 10 pt type, ``noise`` the share of
    pixels flipped (then a slight blur, as a fax or a copier gives)."""
    import random
    import textwrap

    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    rng = random.Random(seed)
    size = round(10 * dpi / 72)
    font = ImageFont.load_default(size=size)
    width, height, margin, step = int(8.5 * dpi), int(11 * dpi), dpi // 3, round(size * 1.3)
    lines: list[str] = []
    for para in text.replace("\r\n", "\n").split("\n"):
        lines += textwrap.wrap(para, 90) or [""]
    per_page = (height - 2 * margin) // step
    pages = [lines[i:i + per_page] for i in range(0, len(lines), per_page)]
    if len(pages) > max_pages:
        raise ValueError(f"{len(pages)} pages, more than max_pages={max_pages} (OCR is slow: keep it short)")
    images = []
    for chunk in pages:
        img = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(img)
        for k, line in enumerate(chunk):
            draw.text((margin, margin + k * step), line, font=font, fill=0)
        if noise:
            px = img.load()
            for _ in range(int(width * height * noise)):
                x, y = rng.randrange(width), rng.randrange(height)
                px[x, y] = 0 if px[x, y] > 128 else 255
            img = img.filter(ImageFilter.GaussianBlur(0.6))
        images.append(img.convert("RGB"))
    buf = io.BytesIO()
    images[0].save(buf, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return buf.getvalue()


def encrypted_pdf(text: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(text))))
    writer.encrypt(user_password="synthetic-secret", owner_password="synthetic-owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --------------------------------------------------------------------------- DOCX
def docx_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.author = "notechecker samples"
    for line in text.rstrip("\n").split("\n"):
        document.add_paragraph(line)
    raw = io.BytesIO()
    document.save(raw)
    return _stable_zip(raw.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """The same ZIP with fixed member times, so a rebuild gives the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                import re

                body = re.sub(rb"<dcterms:(created|modified)([^>]*)>[^<]*<", rb"<dcterms:\1\2>2024-01-01T00:00:00Z<",
                              body)
            zi = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, body)
    return out.getvalue()


# --------------------------------------------------------------------------- build
def build() -> list[Path]:
    written: list[Path] = []

    def put(path: Path, data: bytes | str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8", newline="\n")
        else:
            path.write_bytes(data)
        written.append(path)

    sn08, sn01, sn03 = note("sn08"), note("sn01"), note("sn03")
    put(HERE / "sn08_documentreference.json", json.dumps(document_reference(
        "sn08-op-note", sn08, patient="synth-p08", encounter="synth-e08", author="Dashiell Muirhead, MD",
        date="2024-03-12", codes=("22855",)), indent=2) + "\n")
    bundle = {"resourceType": "Bundle", "id": "synthetic-op-notes", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:3f1c2d4e-0000-4000-8000-000000000001",
         "resource": {"resourceType": "Patient", "id": "synth-p01", "active": True}},
        {"fullUrl": "urn:uuid:3f1c2d4e-0000-4000-8000-000000000002",
         "resource": document_reference("sn01-op-note", sn01, patient="synth-p01", encounter="synth-e01",
                                        author="Cyrus Blevington, MD", date="2024-02-02")},
        {"fullUrl": "urn:uuid:3f1c2d4e-0000-4000-8000-000000000003",
         "resource": document_reference("sn03-op-note", sn03, patient="synth-p03", encounter="synth-e03",
                                        author="Renata Vasquez-Orr, MD", date="2024-04-18",
                                        content_type="text/html; charset=utf-8",
                                        data=html_of(sn03).encode("utf-8"))}]}
    put(HERE / "sn01_sn03_bundle.json", json.dumps(bundle, indent=2) + "\n")
    sn26, sn11, sn12 = note("sn26"), note("sn11"), note("sn12")
    put(HERE / "sn26_mdm_t02.hl7", "\r".join(mdm(sn26, control="MSG0026", doc_no="DOC-SN26", patient="SYN026",
                                                    visit="V026", surgeon=("Solvang", "Ingrid", "MD"),
                                                    date="20240808", codes=("22852",))) + "\r")
    two = (oru(sn11, control="MSG0011", patient="SYN011", visit="V011", surgeon=("Petrakis", "Anselm", "MD"),
               date="20240530")
           + mdm(sn12, control="MSG0012", doc_no="DOC-SN12", patient="SYN012", visit="V012",
                 surgeon=("Vasquez-Orr", "Renata", "MD"), date="20240611", event="T04"))
    put(HERE / "sn11_sn12_two_messages.hl7", "\n".join(two) + "\n")
    put(HERE / "sn13_operative_note.cda.xml", cda(note("sn13"), doc_id="SN13-CDA", patient="SYN013",
                                                 encounter="E013", surgeon=("Ramanathan-Kell", "Priya", "MD"),
                                                 date="20240702"))
    put(HERE / "sn17_tlif.pdf", pdf(note("sn17")))
    put(HERE / "sn24_interspinous.docx", docx_bytes(note("sn24")))

    # one bad document per error class (tests/fixtures/formats)
    put(BAD / "invalid.json", '{"resourceType": "DocumentReference", "id": "broken",\n')
    put(BAD / "patient.json", json.dumps({"resourceType": "Patient", "id": "synth-p99"}) + "\n")
    put(BAD / "no_text.hl7", "\r".join(mdm("x", control="MSG0099", doc_no="DOC-99", patient="SYN099", visit="V099",
                                             surgeon=("Solvang", "Ingrid", "MD"), date="20240101")[:5]) + "\r")
    put(BAD / "not_cda.xml", '<?xml version="1.0"?>\n<note><p>synthetic, not a CDA document</p></note>\n')
    put(BAD / "encrypted.pdf", encrypted_pdf(note("sn17")))
    put(BAD / "scanned.pdf", pdf(None, image_only=True))
    return written


if __name__ == "__main__":
    for p in build():
        print(p.relative_to(HERE.parents[1]))

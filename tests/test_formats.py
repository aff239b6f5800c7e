"""Notes as hospitals send them: FHIR, HL7 v2, C-CDA, PDF and DOCX in ``extract``, ``check`` and ``scan``.

Each sample in ``sample_notes/formats/`` holds the text of one of the synthetic ``.txt``
notes; the facts (with their evidence offsets) read from the document must equal those of
the ``.txt`` note, and so must the findings of a scan. Each class of bad document becomes
an error row with its code and a message naming the input, and the batch goes on.
"""
from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notechecker.batch import iter_tasks, run
from notechecker.cli import app
from notechecker.errors import InputError
from notechecker.formats import Document, read_bytes, read_document
from notechecker.formats._text import html_to_text
from notechecker.formats.detect import detect
from tests.conftest import SAMPLES

FORMATS = SAMPLES / "formats"
BAD = Path(__file__).resolve().parent / "fixtures" / "formats"

#: (sample file, note id in it, the .txt note it was made from, format, patient, encounter, surgeon, date,
#: DocumentReference, billed codes)
SAMPLE_NOTES = [
    ("sn08_documentreference.json", "sn08-op-note", "sn08_anterior_cervical_plate_removal", "fhir",
     "Patient/synth-p08", "Encounter/synth-e08", "Dashiell Muirhead, MD", "2024-03-12",
     "DocumentReference/sn08-op-note", "22855"),
    ("sn01_sn03_bundle.json", "sn01-op-note", "sn01_removal_infection_headed", "fhir", "Patient/synth-p01",
     "Encounter/synth-e01", "Cyrus Blevington, MD", "2024-02-02", "DocumentReference/sn01-op-note", None),
    ("sn01_sn03_bundle.json", "sn03-op-note", "sn03_removal_pain_hardware_block_nocolon", "fhir",  # text/html
     "Patient/synth-p03", "Encounter/synth-e03", "Renata Vasquez-Orr, MD", "2024-04-18",
     "DocumentReference/sn03-op-note", None),
    ("sn26_mdm_t02.hl7", "DOC-SN26", "sn26_partial_removal_rods_some_screws", "hl7v2", "SYN026", "V026",
     "Ingrid Solvang, MD", "2024-08-08", "", "22852"),
    ("sn11_sn12_two_messages.hl7", "MSG0011", "sn11_removal_reinsertion_same_levels", "hl7v2", "SYN011", "V011",
     "Anselm Petrakis, MD", "2024-05-30", "", None),  # ORU^R01, one FT value with \.br\ line breaks
    ("sn11_sn12_two_messages.hl7", "DOC-SN12", "sn12_removal_disjoint_new_tlif_numbered", "hl7v2", "SYN012",
     "V012", "Renata Vasquez-Orr, MD", "2024-06-11", "", None),  # MDM^T04 after it, \n segment ends
    ("sn13_operative_note.cda.xml", "SN13-CDA", "sn13_extension_overlap_plif_nocolon", "cda", "SYN013", "E013",
     "Priya Ramanathan-Kell, MD", "2024-07-02", "", None),
    ("sn17_tlif.pdf", "sn17_tlif", "sn17_tlif_l4_l5_title", "pdf", "", "", "", "", "", None),
    ("sn24_interspinous.docx", "sn24_interspinous", "sn24_interspinous_with_decompression", "docx", "", "", "",
     "", "", None),
]
IDS = [f"{s[3]}-{s[1]}" for s in SAMPLE_NOTES]


def _read(file: str) -> dict[str, Document]:
    docs = list(read_document(FORMATS / file))
    assert all(isinstance(d, Document) for d in docs), docs
    return {d.note_id: d for d in docs}


@pytest.mark.parametrize("sample", SAMPLE_NOTES, ids=IDS)
def test_document_text_and_facts_equal_the_txt_note(sample, pipeline):
    file, note_id, stem, fmt, patient, encounter, author, date, document, codes = sample
    doc = _read(file)[note_id]
    txt = (SAMPLES / f"{stem}.txt").read_text(encoding="utf-8")
    assert doc.format == fmt
    assert doc.text == txt  # no markup, segment names or PDF operators: the .txt note, character for character
    assert (doc.patient, doc.encounter, doc.author, doc.date, doc.document, doc.codes) == \
        (patient, encounter, author, date, document, codes)
    from_doc = pipeline.facts(doc.text, note_id).to_dict()
    from_txt = pipeline.facts(txt, note_id).to_dict()
    assert from_doc == from_txt  # every fact, with its evidence offsets into the text as read
    assert from_doc["instruments_removed"] or from_doc["instruments_placed"]


@pytest.fixture(scope="module")
def document_scan():
    """One scan of the samples as documents and one of the same notes as .txt files."""
    docs = run([FORMATS], documents=True, collect=True).frames
    stems = sorted({s[2] for s in SAMPLE_NOTES})
    txts = run([SAMPLES / f"{s}.txt" for s in stems], collect=True).frames
    return docs, txts


def test_scan_reads_every_document_with_its_metadata(document_scan):
    docs, _ = document_scan
    notes = docs["notes"].set_index("note_id")
    assert sorted(notes.index) == sorted(s[1] for s in SAMPLE_NOTES)
    assert (notes["error_code"] == "").all()
    for file, note_id, _stem, _fmt, patient, encounter, author, date, document, codes in SAMPLE_NOTES:
        row = notes.loc[note_id]
        assert row["source"].startswith(str(FORMATS / file))
        assert (row["patient"], row["encounter"], row["document"]) == (patient, encounter, document)
        if author:  # the document's author, as one name per surgeon
            assert row["surgeon"] == author.split(",")[0]
            assert row["date"] == date and row["month"] == date[:7]
        assert row["billed_codes"] == (codes or "")


def test_scan_findings_of_a_document_equal_those_of_its_txt_note(document_scan):
    docs, txts = document_scan
    cols = ["code", "item_id", "status", "evidence_start", "evidence_end", "evidence_text"]
    compared = 0
    for _file, note_id, stem, *_rest, codes in SAMPLE_NOTES:
        if codes:  # billed codes from the document: another set of codes is checked
            continue
        a = docs["findings"][docs["findings"]["note_id"] == note_id][cols].reset_index(drop=True)
        b = txts["findings"][txts["findings"]["note_id"] == stem][cols].reset_index(drop=True)
        assert len(a) > 10
        assert a.equals(b), note_id
        compared += 1
    assert compared == 7


def test_billed_codes_from_the_document_are_checked(document_scan):
    docs, _ = document_scan
    codes = docs["codes"]
    sn08 = codes[codes["note_id"] == "sn08-op-note"]
    assert list(sn08["code"]) == ["22855"] and bool(sn08["billed"].iloc[0])


# --------------------------------------------------------------------------- bad documents
BAD_FILES = [  # (file, error code, words the message must hold)
    ("invalid.json", "E501", ["invalid.json", "not valid JSON"]),
    ("patient.json", "E502", ["patient.json", "FHIR Patient resource", "not a DocumentReference"]),
    ("no_text.hl7", "E512", ["no_text.hl7", "MDM^T02", "no OBX segment with text"]),
    ("not_cda.xml", "E522", ["not_cda.xml", "not a CDA ClinicalDocument"]),
    ("encrypted.pdf", "E531", ["encrypted.pdf", "encrypted PDF", "password"]),
    ("scanned.pdf", "E532", ["scanned.pdf", "no text layer", "OCR"]),
]


@pytest.fixture(scope="module")
def bad_scan(tmp_path_factory):
    out = tmp_path_factory.mktemp("bad") / "results.csv"
    lines: list[str] = []
    summary = run([BAD, FORMATS / "sn08_documentreference.json"], out, documents=True, collect=True,
                  error=lines.append)
    return summary, lines


@pytest.mark.parametrize("file, code, words", BAD_FILES, ids=[b[1] for b in BAD_FILES])
def test_bad_document_is_an_error_row_and_the_batch_goes_on(bad_scan, file, code, words):
    summary, lines = bad_scan
    notes = summary.frames["notes"].set_index("note_id")
    row = notes.loc[Path(file).stem]
    assert row["error_code"] == code
    assert row["source"] == str(BAD / file)
    for w in words:
        assert w in row["error"], (w, row["error"])
    assert f"[{code}] {row['error']}" in lines
    assert notes.loc["sn08-op-note", "error_code"] == "" and notes.loc["sn08-op-note", "items_evaluated"] > 0
    assert summary.errors == len(BAD_FILES)


def test_encrypted_pdf_message_quotes_no_note_text(bad_scan):
    summary, _ = bad_scan
    notes = summary.frames["notes"]
    txt = (SAMPLES / "sn17_tlif_l4_l5_title.txt").read_text(encoding="utf-8")
    for message in notes["error"]:
        for line in txt.splitlines():
            if len(line) > 12:
                assert line not in message


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _docref(**changes) -> bytes:
    obj = {"resourceType": "DocumentReference", "id": "d1", "status": "current",
           "content": [{"attachment": {"contentType": "text/plain", "data": _b64(b"Removal of L4-L5 rods.")}}]}
    obj.update(changes)
    return json.dumps(obj).encode()


def _docx(paragraphs: list[str]) -> bytes:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


MORE_BAD = [  # (case, bytes, format, error code, words)
    ("bundle_without_documents", json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p"}}]}).encode(), "fhir", "E505", ["without any"]),
    ("docref_invalid", _docref(status=7, content="x"), "fhir", "E503", ["not a valid FHIR R4 DocumentReference",
                                                                      "content"]),
    ("attachment_url_only", _docref(content=[{"attachment": {"contentType": "text/plain",
                                                              "url": "https://ehr.invalid/doc/1"}}]),
     "fhir", "E504", ["link (url) without inline data"]),
    ("attachment_bad_base64", _docref(content=[{"attachment": {"contentType": "text/plain", "data": "@@@@"}}]),
     "fhir", "E504", ["not valid base64"]),
    ("attachment_image", _docref(content=[{"attachment": {"contentType": "image/png", "data": _b64(b"x")}}]),
     "fhir", "E504", ["image/png"]),
    ("not_hl7", b"PID|1||123\rOBX|1|TX|||text\r", "hl7v2", "E511", ["does not start with an MSH"]),
    ("adt_message", b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|C1|P|2.5\rPID|1||123\r", "hl7v2", "E513",
     ["ADT^A01", "carries no note"]),
    ("oru_numeric_only", b"MSH|^~\\&|A|B|C|D|20240101||ORU^R01|C2|P|2.5\rOBX|1|NM|8867-4||72\r", "hl7v2", "E512",
     ["ORU^R01", "control id C2"]),
    ("xml_not_well_formed", b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>x</ClinicalDocument>", "cda",
     "E521", ["not well-formed XML"]),
    ("cda_without_text", b"<ClinicalDocument xmlns='urn:hl7-org:v3'><id extension='X1' root='1.2'/>"
                         b"<component><structuredBody/></component></ClinicalDocument>", "cda", "E523",
     ["ClinicalDocument X1", "without narrative text"]),
    ("pdf_corrupt", b"%PDF-1.4\nnot really a pdf\n", "pdf", "E533", ["not a readable PDF"]),
    ("docx_corrupt", b"PK\x03\x04 broken zip", "docx", "E541", ["not a readable DOCX"]),
    ("docx_empty", _docx(["", "  "]), "docx", "E542", ["without text"]),
]


@pytest.mark.parametrize("data, kind, code, words", [m[1:] for m in MORE_BAD], ids=[m[0] for m in MORE_BAD])
def test_more_bad_documents_name_input_and_problem(data, kind, code, words):
    (err,) = list(read_bytes(data, "in/doc.bin", kind))
    assert isinstance(err, InputError), err
    assert err.code == code and err.message.startswith("in/doc.bin")
    for w in words:
        assert w in err.message, (w, err.message)


def test_a_bad_entry_of_a_bundle_is_an_error_row_and_the_others_are_read():
    good = json.loads(_docref())
    bad = json.loads(_docref(id="d2", content=[{"attachment": {"contentType": "text/plain", "url": "x"}}]))
    bundle = json.dumps({"resourceType": "Bundle", "type": "collection",
                         "entry": [{"resource": bad}, {"resource": good}]}).encode()
    first, second = read_bytes(bundle, "b.json", "fhir")
    assert isinstance(first, InputError) and first.code == "E504" and "b.json entry 1" in first.message
    assert isinstance(second, Document) and second.note_id == "d1" and second.source == "b.json:2"


# --------------------------------------------------------------------------- HL7 escapes, HTML, detection
def test_hl7_escapes_are_decoded_and_segment_ends_may_be_cr_or_lf():
    msg = ("MSH|^~\\&|A|B|C|D|20240102||MDM^T02|CTL-7|P|2.5\n"
           "TXA|1|OP|TX|20240102||||||||\n"
           "OBX|1|TX|||Rods \\T\\ screws \\F\\ L4\\S\\L5 \\R\\ 2 \\E\\ done||||||F\n"
           "OBX|2|FT|||first\\.br\\second\\X41\\\\H\\bold\\N\\~third||||||F\n"
           "OBX|3|NM|||42||||||F\n")
    (doc,) = read_bytes(msg.encode(), "m.hl7", "hl7v2")
    assert doc.text == "Rods & screws | L4^L5 ~ 2 \\ done\nfirst\nsecondAbold\nthird\n"
    assert doc.note_id == "CTL-7"  # no TXA-12: MSH-10
    assert doc.date == "2024-01-02"


def test_html_paragraphs_are_lines_and_markup_is_gone():
    html = ("<html><head><style>p{}</style><script>x=1</script></head><body>"
            "<h1>OPERATIVE NOTE</h1><p>PROCEDURE:&nbsp; Removal of <b>rods</b>\n   and screws.</p>"
            "<p>&nbsp;</p><ul><li>L4</li><li>L5</li></ul><p>line<br/>break</p>"
            "<table><tr><td>EBL</td><td>50 mL</td></tr></table></body></html>")
    assert html_to_text(html) == ("OPERATIVE NOTE\nPROCEDURE:  Removal of rods and screws.\n\nL4\nL5\nline\nbreak\n"
                                  "EBL\t50 mL\n")


def test_detection_by_content_as_well_as_extension():
    assert detect(b"MSH|^~\\&|A\r", "note.txt") == "hl7v2"
    assert detect(b'  {"resourceType": "Bundle"}', "export.dat") == "fhir"
    assert detect(b'\xef\xbb\xbf<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3">', "x") == "cda"
    assert detect(b"%PDF-1.7\n", "scan.bin") == "pdf"
    assert detect(_docx(["x"]), "upload") == "docx"
    assert detect(b"PK\x03\x04 not a word file", "a.zip") is None
    assert detect(b"OPERATIVE NOTE\nRemoval of rods.", "note.txt") is None
    assert detect(b'{"text": "a note"}', "note.txt") is None
    assert detect(b"{}", "other.json") == "fhir"  # by extension: its reader says what it is not


def test_a_txt_file_holding_a_message_is_read_as_hl7(tmp_path):
    p = tmp_path / "message.txt"
    p.write_bytes((FORMATS / "sn26_mdm_t02.hl7").read_bytes())
    (task,) = list(iter_tasks([p]))
    assert task.note_id == "DOC-SN26" and task.error_code == "" and "OBX" not in task.text


def test_default_folder_scan_reads_only_txt_notes():
    tasks = list(iter_tasks([SAMPLES]))
    assert len(tasks) == 36 and all(t.source.endswith(".txt") for t in tasks)
    (err,) = list(iter_tasks([FORMATS]))
    assert err.error_code == "E110" and "add --documents" in err.error


# --------------------------------------------------------------------------- command line
def test_extract_reads_documents_in_folders_with_documents_option(tmp_path, pipeline):
    out = tmp_path / "facts.jsonl"
    res = CliRunner().invoke(app, ["extract", str(FORMATS), "--documents", "-o", str(out)])
    assert res.exit_code == 0, res.output
    rows = {r["note_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {s[1] for s in SAMPLE_NOTES}
    # every document's row is the row of its text as a .txt note, suggested codes included (one path)
    txt_out = tmp_path / "txt.jsonl"
    res = CliRunner().invoke(app, ["extract", *[str(SAMPLES / f"{s[2]}.txt") for s in SAMPLE_NOTES], "-o",
                                   str(txt_out)])
    assert res.exit_code == 0, res.output
    txt_rows = {r["note_id"]: r for r in map(json.loads, txt_out.read_text().splitlines())}
    for s in SAMPLE_NOTES:
        doc_row, txt_row = rows[s[1]], txt_rows[s[2]]
        assert "suggested_cpt" in doc_row
        assert {k: v for k, v in doc_row.items() if k != "note_id"} == \
            {k: v for k, v in txt_row.items() if k != "note_id"}, s[0]


def test_check_reads_a_document_and_its_billed_codes(pipeline):
    res = CliRunner().invoke(app, ["check", str(FORMATS / "sn08_documentreference.json"), "--format", "json",
                                   "--fail-on", "never"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["note_id"] == "sn08-op-note" and data["billed"] == ["22855"]
    res = CliRunner().invoke(app, ["check", str(FORMATS / "sn11_sn12_two_messages.hl7"), "--format", "json",
                                   "--fail-on", "never"])
    assert [r["note_id"] for r in json.loads(res.stdout)] == ["MSG0011", "DOC-SN12"]


def test_check_of_a_scanned_pdf_names_ocr_and_exits_2():
    res = CliRunner().invoke(app, ["check", str(BAD / "scanned.pdf")])
    assert res.exit_code == 2
    assert "[E532]" in res.output and "OCR" in res.output


def test_samples_are_what_the_builder_writes(tmp_path):
    """The committed samples are the builder's output (rebuild them after changing a note)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_samples", FORMATS / "build_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for stem in ("sn08", "sn26"):
        text = mod.note(stem)
        assert text == next(SAMPLES.glob(f"{stem}_*.txt")).read_text(encoding="utf-8")
    assert mod.html_of("a  b\n\nc") == ("<html><body><div class=\"note\"><p>a &nbsp;b</p>\n<p>&nbsp;</p>\n<p>c</p>"
                                        "</div></body></html>")
    with zipfile.ZipFile(FORMATS / "sn24_interspinous.docx") as z:
        assert "word/document.xml" in z.namelist()


def test_fhir_pdf_attachment_and_cda_non_xml_body_are_read():
    pdf = (FORMATS / "sn17_tlif.pdf").read_bytes()
    txt = (SAMPLES / "sn17_tlif_l4_l5_title.txt").read_text(encoding="utf-8")
    (doc,) = read_bytes(_docref(content=[{"attachment": {"contentType": "application/pdf", "data": _b64(pdf)}}]),
                        "d.json", "fhir")
    assert doc.text == txt and doc.document == "DocumentReference/d1"
    cda = (b"<ClinicalDocument xmlns='urn:hl7-org:v3'><id root='1.2' extension='NX-1'/>"
           b"<component><nonXMLBody><text mediaType='text/plain' representation='B64'>"
           + base64.b64encode(txt.encode()) + b"</text></nonXMLBody></component></ClinicalDocument>")
    (doc,) = read_bytes(cda, "n.xml", "cda")
    assert doc.note_id == "NX-1" and doc.text == txt


def test_check_reads_a_document_from_standard_input(pipeline):
    data = (FORMATS / "sn26_mdm_t02.hl7").read_bytes()
    res = CliRunner().invoke(app, ["check", "-", "--format", "json", "--fail-on", "never"], input=data)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["note_id"] == "DOC-SN26" and out["billed"] == ["22852"]


SECRET = "Zebulon Quillfeather MRN 99887766 hardware removed"
LEAKY = [  # (case, bytes holding the secret, format)
    ("json", ('{"resourceType": "DocumentReference", "note": "' + SECRET + '" "x"}').encode(), "fhir"),
    ("json_type", json.dumps({"resourceType": SECRET}).encode(), "fhir"),
    ("docref_fields", _docref(status=SECRET, description=7), "fhir"),
    ("hl7_header", ("MSH\rOBX|1|TX|||" + SECRET + "\r").encode(), "hl7v2"),
    ("hl7_type", ("MSH|^~\\&|A|B|C|D|2024||" + SECRET + "|C1|P|2.5\r").encode(), "hl7v2"),
    ("xml", ("<ClinicalDocument xmlns='urn:hl7-org:v3'><title>" + SECRET + "</titl></ClinicalDocument>").encode(),
     "cda"),
    ("xml_root", ("<" + SECRET.split()[0] + ">" + SECRET + "</" + SECRET.split()[0] + ">").encode(), "cda"),
    ("pdf", ("%PDF-1.4\n1 0 obj (" + SECRET + ") endobj\ntrailer << /Root 9 0 R >>\n").encode(), "pdf"),
]


@pytest.mark.parametrize("data, kind", [x[1:] for x in LEAKY], ids=[x[0] for x in LEAKY])
def test_error_messages_never_quote_the_document(data, kind):
    (err,) = list(read_bytes(data, "doc", kind))
    assert isinstance(err, InputError), err
    for word in ("Quillfeather", "99887766", "hardware removed"):
        assert word not in err.message, err.message


def test_scan_command_with_documents_reports_bad_documents_and_exits_1(tmp_path):
    out = tmp_path / "r.csv"
    res = CliRunner().invoke(app, ["scan", str(FORMATS), str(BAD), "--documents", "-o", str(out)])
    assert res.exit_code == 1, res.output  # every input read, some are error rows
    assert f"notes {len(SAMPLE_NOTES) + len(BAD_FILES)}," in res.output
    assert f"errors {len(BAD_FILES)}," in res.output
    import pandas as pd

    notes = pd.read_csv(tmp_path / "r.notes.csv", dtype=str, keep_default_na=False)
    assert list(notes.columns[-3:]) == ["patient", "encounter", "document"]
    assert set(notes.loc[notes["error_code"] != "", "error_code"]) == {b[1] for b in BAD_FILES}


@pytest.mark.parametrize("sample", SAMPLE_NOTES, ids=IDS)
def test_check_json_of_a_document_is_that_of_its_txt_note(sample, pipeline):
    """One path (issue 20 point 4): the document's check JSON equals its text's as a .txt note, billed
    codes from the document given to the .txt note with --code."""
    file, note_id, txt, *_rest, codes = sample
    doc_args = ["check", str(FORMATS / file), "--format", "json", "--fail-on", "never"]
    res = CliRunner().invoke(app, doc_args)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    doc = next(d for d in (data if isinstance(data, list) else [data]) if d["note_id"] == note_id)
    txt_args = ["check", str(SAMPLES / f"{txt}.txt"), "--format", "json", "--fail-on", "never", "--id", note_id]
    res = CliRunner().invoke(app, txt_args + (["--code", codes] if codes else []))
    assert res.exit_code == 0, res.output
    assert doc == json.loads(res.stdout)

"""The normalising layer (nlp/normalize/, patterns/normalize.yaml).

* Unit behaviour on real sentences of each form, and the length-preserving contract.
* patterns/normalize.yaml is validated at load: E017 (shape), E018 (an example its regex does
  not match), E019 (an example that does not read as it says, a normal form that does not fit).
* Metamorphic: spoken levels, OCR noise, page furniture, line-break hyphens and template debris
  injected into every dev, dev2 and sample note leave the contract facts and codes unchanged;
  each injection is counted (how many notes it changed, and how many the normaliser read back)
  so a test whose injection does nothing fails.
* Evidence offsets of every note of every set point at the original characters.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from notechecker.coding.billed import suggest_codes
from notechecker.errors import PatternError
from notechecker.nlp.levels import find_levels
from notechecker.nlp.normalize import approximate_evidence, load_normalizer, load_root, reading_of
from notechecker.schema.loader import patterns_dir

from .conftest import NONSPINE_NOTES, ROOT, SAMPLES, evidence_spans

SHARED = ROOT.parent / "shared" / "eval"
SETS = ("dev", "dev2", "forms")
FIELDS = ("removal_reasons", "instruments_removed", "instruments_placed", "levels", "approach",
          "complications_documented", "ebl_documented", "indication_documented", "imaging_documented")


@pytest.fixture(scope="module")
def norm():
    return load_normalizer()


def reads(norm, text: str) -> str:
    out = norm(text)
    assert len(out.text) == len(text)
    return reading_of(out.text)  # white space runs as one space, none before punctuation


def set_notes(name: str) -> list[tuple[str, str]]:
    folder = SHARED / name / "notes"
    if not folder.is_dir():
        return []
    return [(p.stem, p.read_bytes().decode("utf-8")) for p in sorted(folder.glob("*.txt"))]


def sample_notes() -> list[tuple[str, str]]:
    return [(p.stem, p.read_bytes().decode("utf-8")) for p in sorted(SAMPLES.glob("*.txt"))]


# --------------------------------------------------------------------------- unit behaviour
@pytest.mark.parametrize("text, expected", [
    ("PREOPERATIVE DIAGNOSIS: Healed Ll burst fracture, retained posterior instrumentation T1O to L2.",
     "PREOPERATIVE DIAGNOSIS: Healed L1 burst fracture, retained posterior instrumentation T10 to L2."),
    ("pedicle screws at T1O, Tl1, T12 and L2", "pedicle screws at T10, T11, T12 and L2"),
    ("Removal of anterior cervical plate and screws CS-C6.", "Removal of anterior cervical plate and screws C5-C6."),
    ("8.0 x 80 mm i1iac screws", "8.0 x 80 mm iliac screws"),
    ("EST1MATED BLOOD LOSS: 1OO mL.", "ESTIMATED BLOOD LOSS: 100 mL."),
    ("anterior cervical discectomy and fusion see five six and see 6-7",
     "anterior cervical discectomy and fusion C5-C6 and C6-7"),
    ("Removal of posterior segmental instrumentation el four to S one.",
     "Removal of posterior segmental instrumentation L4 to S1."),
    ("kyphoplasty tea ten and T eleven", "kyphoplasty T10 and T11"),
    ("the heads of the petticle screws at S one", "the heads of the pedicle screws at S1"),
    ("Painful retained hard wear", "Painful retained hardware"),
    ("placement of peak spacers times two", "placement of PEEK spacers times two"),
    ("Posterior stabilisation D7-D9 with pedicle screws", "Posterior stabilisation T7-T9 with pedicle screws"),
    ("Revision of lumbar metalwork L3-S1", "Revision of lumbar hardware L3-S1"),
    ("Procedure colon balloon kyphoplasty", "Procedure: balloon kyphoplasty"),
    ("Co-surgeon: N/A\nEBL: 150 mL", "EBL: 150 mL"),
    ("Intraoperative events: [ ] Dural tear - repaired  [ ] Hardware failure\nDrains: [x] Hemovac",
     "Intraoperative events: Drains: Hemovac"),
])
def test_reads_through_the_form(norm, text, expected):
    assert reads(norm, text) == expected


@pytest.mark.parametrize("text", [
    "I will see one of them in clinic.",                    # "see one" is English
    "Na 140, Cl 102, K 4.1",                                # chloride, not C1
    "Sacroiliac (SI) joint injection",                      # SI is not S1
    "The disc spaces were prepared with shavers.",          # a real word near "spacer"
    "He was looking well; the tender area was injected.",   # real words near vocabulary words
    "Ward: D11   Bed: 4",                                    # no D levels as vertebrae in this note
    "Sigmoid colon resection.",                             # colon, the organ
    "on O2 at 2 L by nasal cannula",                        # oxygen
])
def test_leaves_ordinary_text_alone(norm, text):
    assert norm(text).text == text


def test_a_hard_wrapped_sentence_reads_as_one_line(norm):
    text = ("DESCRIPTION: Under fluoroscopy, polyaxial pedicle screws were placed at L4, L5 and S1 with\n"
            "pedicle screws and rods. Two rods were contoured and the set screws were final-tightened.\n"
            "EBL: 450 mL\nComplications: none\n")
    out = norm(text)
    assert out.text.count("\n") == text.count("\n") - 1  # the wrapped line only
    assert "with pedicle screws" in out.text and "tightened.\nEBL" in out.text


def test_page_break_inside_a_word_reads_as_the_word(norm):
    text = ("Each of the eight pedi-\n\nNORTHGATE REGIONAL MEDICAL CENTER - CONFIDENTIAL        Page 2 of 2\n"
            "OPERATIVE REPORT (cont.)\n\ncle screws was then removed without difficulty.")
    out = norm(text)
    assert len(out.text) == len(text)
    assert " ".join(out.text.split()) == "Each of the eight pedicle screws was then removed without difficulty."
    (page,) = [r for r in out.rewrites if r.kind == "page"]
    assert text[page.start:page.end] == page.original and page.normal == "pedicle"


def test_rewrites_keep_offsets_and_the_original(norm):
    text = "Petticle screws at el four and el five were removed with the hard wear."
    out = norm(text)
    assert len(out.text) == len(text)
    for r in out.rewrites:
        assert text[r.start:r.end] == r.original
        assert out.text[r.start:r.end] in (r.normal.ljust(r.end - r.start), r.normal.rjust(r.end - r.start))
    kinds = {(r.original, r.normal, r.approximate) for r in out.rewrites}
    assert ("Petticle", "Pedicle", True) in kinds and ("hard wear", "hardware", True) in kinds
    assert ("el four", "L4", False) in kinds


def test_facts_quote_the_note_as_written_and_mark_approximate_evidence(pipeline):
    text = ("PROCEDURE: Removal of posterior segmental instrumentation el four to S one.\n"
            "DESCRIPTION: We found petticle screws at el four, el five and S one bilaterally with two rods. "
            "All of the petticle screws and both rods were removed.\n")
    facts = pipeline.facts(text, "spoken")
    assert facts.levels == ("L4", "L5", "S1")
    assert "pedicle_screw" in facts.instruments_removed
    spans = list(evidence_spans(facts.to_dict()))
    assert spans
    for ev in spans:
        assert text[ev["start"]:ev["end"]] == ev["text"]
    screws = [i for i in facts.instruments if i.kind == "pedicle_screw"]
    assert any("petticle" in i.evidence.text for i in screws)
    assert all(approximate_evidence(facts, i.evidence) for i in screws if "petticle" in i.evidence.text)
    assert {r["kind"] for r in facts.rewrites} >= {"spoken", "approximate"}


# --------------------------------------------------------------------------- validation at load
def _patterns_copy(tmp_path: Path, edit) -> Path:
    root = tmp_path / "patterns"
    shutil.copytree(patterns_dir().resolve(), root)
    f = root / "normalize.yaml"
    f.write_text(edit(f.read_text(encoding="utf-8")), encoding="utf-8")
    return root


@pytest.mark.parametrize("edit, code, names", [
    (lambda s: s.replace("templates:", "templatez:", 1), "E017", "templatez"),
    (lambda s: s.replace("'\\*{3,}'", "'\\*{4,}'", 1), "E018", "templates.unfilled[0]"),
    (lambda s: s.replace("{from: 'metalwork', to: 'hardware'}", "{from: 'metalwork', to: 'orthopaedic hardware'}"),
     "E019", "metalwork"),
    (lambda s: s.replace("reads: 'instrumentation T10 to L2'", "reads: 'instrumentation T11 to L2'"), "E019",
     "ocr.level_examples"),
    (lambda s: s.replace("two_edits_from: 10", "two_edits_from: ten"), "E017", "two_edits_from"),
])
def test_a_bad_entry_is_a_located_error(tmp_path, edit, code, names):
    root = _patterns_copy(tmp_path, edit)
    with pytest.raises(PatternError) as err:
        load_root(root.resolve())
    assert err.value.code == code
    assert "normalize.yaml" in str(err.value) and names in str(err.value)


def test_a_patterns_folder_without_normalize_yaml_reads_notes_as_written(tmp_path):
    root = tmp_path / "patterns"
    shutil.copytree(patterns_dir().resolve(), root)
    (root / "normalize.yaml").unlink()
    n = load_root(root.resolve())
    assert n("el four").text == "el four"


# --------------------------------------------------------------------------- metamorphic tests
_SPOKEN = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
           9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}
_SAY = {"C": "see", "T": "tea", "L": "el", "S": "ess"}
_TOKEN = re.compile(r"(?<![A-Za-z0-9])([CTLS])(\d{1,2})(?:-([CTLS]?)(\d{1,2}))?(?![A-Za-z0-9])")


def inject_spoken(text: str) -> str:
    """Level codes as speech recognition writes them: "L4-5" -> "el four five", "S1" -> "S one"."""
    mentions = {(m.start, m.end) for m in find_levels(text)}

    def say(m: re.Match) -> str:
        if not any(a <= m.start() and m.end() <= b for a, b in mentions):
            return m.group()
        l1, n1 = m.group(1), int(m.group(2))
        if m.group(4) is None:
            return f"{l1} {_SPOKEN[n1]}"  # a capital letter and a spelled number
        l2, n2 = m.group(3) or l1, int(m.group(4))
        if n1 not in _SPOKEN or n2 not in _SPOKEN:
            return m.group()
        second = f"{_SAY[l2]} {_SPOKEN[n2]}" if l2 != l1 else _SPOKEN[n2]
        return f"{_SAY[l1]} {_SPOKEN[n1]} {second}"

    return _TOKEN.sub(say, text)


_INNER_L = re.compile(r"(?<![A-Za-z0-9])([a-z]+)l([a-z]+)(?![A-Za-z0-9])")
_OCR_LEVEL = re.compile(r"(?<![A-Za-z0-9])([CTLS])(1[0-2]|1)(?![A-Za-z0-9])")
_OCR_NUMBER = re.compile(r"(?<![A-Za-z0-9.])(\d*0\d*)(?=\s?(?:mL|ml|cc)\b)")


def inject_ocr(text: str, knows) -> str:
    """A scanner's confusions: "L1" -> "Ll", "T10" -> "T1O", "100 mL" -> "1OO mL", and "1" for
    "l" inside every other word the vocabularies write ("bi1ateral", "pedic1e")."""
    count = [0]

    def one_for_l(m: re.Match) -> str:
        if not knows(m.group()):
            return m.group()
        count[0] += 1
        return f"{m.group(1)}1{m.group(2)}" if count[0] % 2 else m.group()

    text = _INNER_L.sub(one_for_l, text)
    misread = {"1": "l", "10": "1O", "11": "l1", "12": "l2"}
    text = _OCR_LEVEL.sub(lambda m: m.group(1) + misread[m.group(2)], text)
    return _OCR_NUMBER.sub(lambda m: m.group(1).replace("0", "O"), text)


_LONG_WORD = re.compile(r"(?<=[a-z] )([a-z]{4,})([a-z]{4,})(?= [a-z])")


def inject_hyphens(text: str) -> str:
    """Every third long lower-case word broken across a line: "instrumenta-\\ntion"."""
    count = [0]

    def brk(m: re.Match) -> str:
        count[0] += 1
        return f"{m.group(1)}-\n{m.group(2)}" if count[0] % 3 == 1 else m.group()

    return _LONG_WORD.sub(brk, text)


_FURNITURE = "\n\nMERCY GENERAL HOSPITAL - CONFIDENTIAL        Page 2 of 3\nOPERATIVE REPORT (cont.)\n\n"
_RUN_ON = re.compile(r"(?<=[a-z]{3}) (?=[a-z]{3})")


def inject_pages(text: str) -> str:
    """A page break with its header inside a sentence half-way through the note, a footer at the end."""
    sites = [m.start() for m in _RUN_ON.finditer(text)]
    if not sites:
        return text
    cut = min(sites, key=lambda s: abs(s - len(text) // 2))
    return text[:cut] + _FURNITURE + text[cut + 1:] + "\n                                        Page 3 of 3\n"


def inject_template(text: str) -> str:
    """EHR template debris that documents nothing, appended to the note."""
    return (text.rstrip("\n") + "\n\nCo-surgeon: N/A\nImaging reviewed: ***\n"
            "Intraoperative events: [ ] Dural tear - repaired  [ ] Hardware failure  [ ] Infection\n")


INJECTIONS = {
    "spoken": (inject_spoken, "spoken"),
    "ocr": (lambda text: inject_ocr(text, load_normalizer().knows), "ocr"),
    "hyphens": (inject_hyphens, "hyphenation"),
    "pages": (inject_pages, "page"),
    "template": (inject_template, "checkbox"),
}


def _contract(pipeline, note_id, text) -> dict:
    facts = pipeline.facts(text, note_id)
    row = {k: getattr(facts, k) for k in FIELDS}
    row["suggested_cpt"] = suggest_codes(facts)
    return row


@pytest.fixture(scope="module")
def metamorphic_notes():
    notes = [n for s in ("dev", "dev2") for n in set_notes(s)] + sample_notes()
    return notes


@pytest.mark.parametrize("name", sorted(INJECTIONS))
def test_injected_forms_leave_facts_and_codes_unchanged(pipeline, norm, metamorphic_notes, name):
    inject, kind = INJECTIONS[name]
    changed = read_back = 0
    differ = []
    for note_id, text in metamorphic_notes:
        noisy = inject(text)
        if noisy == text:
            continue
        changed += 1
        before = sum(r.kind == kind for r in norm(text).rewrites)
        if sum(r.kind == kind for r in norm(noisy).rewrites) > before:
            read_back += 1
        if _contract(pipeline, note_id, noisy) != _contract(pipeline, note_id, text):
            differ.append(note_id)
    total = len(metamorphic_notes)
    # the injection must really change the notes (else the test proves nothing) ...
    assert changed >= 0.8 * total, f"{name}: changed only {changed} of {total} notes"
    # ... the normaliser must really read it back ...
    assert read_back >= 0.8 * changed, f"{name}: read back only {read_back} of {changed} changed notes"
    # ... and the facts and codes are those of the clean note
    assert not differ, f"{name}: facts or codes changed in {differ}"


# --------------------------------------------------------------------------- offsets on every note
def every_note() -> list[tuple[str, str]]:
    notes = [(f"{s}/{i}", t) for s in SETS for i, t in set_notes(s)] + [(f"sample/{i}", t) for i, t in sample_notes()]
    if NONSPINE_NOTES.is_file():
        for line in NONSPINE_NOTES.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                notes.append((f"nonspine/{row['note_id']}", row["text"]))
    return notes


def test_evidence_offsets_point_at_the_original_characters_on_every_note(pipeline):
    notes = every_note()
    assert len(notes) >= len(sample_notes())
    rewritten = 0
    for note_id, text in notes:
        facts = pipeline.facts(text, note_id)
        rewritten += bool(facts.rewrites)
        for ev in evidence_spans(facts.to_dict()):
            assert text[ev["start"]:ev["end"]] == ev["text"], note_id
        for r in facts.rewrites:
            assert text[r["start"]:r["end"]] == r["original"], note_id
    if (SHARED / "forms").is_dir():
        assert rewritten >= 20  # the forms notes are read through their forms


def test_a_heading_dictated_after_a_sentence_opens_its_own_line(pipeline):
    """Dictation that runs headings on ("... same. Procedure colon anterior cervical discectomy ...") reads
    as headed sections: the space before the heading reads as a line break, "colon" as ':'; every offset
    and the note as written are kept."""
    text = ("Dictated. Preoperative diagnosis colon cervical radiculopathy. Postoperative diagnosis colon same. "
            "Procedure colon anterior cervical discectomy and fusion C5-6 with a PEEK cage and anterior plate. "
            "Description of procedure colon the patient was placed supine. A transverse incision was made. "
            "The C5-6 disc was removed. A PEEK cage packed with allograft was placed. An anterior plate was "
            "secured with four screws. The wound was closed in layers. Estimated blood loss colon 20 mL.")
    norm = load_normalizer()(text)
    assert len(norm.text) == len(text)
    assert "same.\nProcedure:" in norm.text.replace(" \n", "\n").replace("\n ", "\n")
    facts = pipeline.facts(text, "dictated")
    assert "procedures" in [s.name for s in facts.sections]
    assert "22551" in suggest_codes(facts)
    for p in facts.procedures:
        assert text[p.evidence.start:p.evidence.end] == p.evidence.text
    # a sentence that only mentions a heading word is left alone
    plain = load_normalizer()("The findings colon was normal. Findings were discussed.")
    assert "\n" not in plain.text


def test_a_word_whose_first_or_last_letter_ocr_read_as_a_digit_is_read(pipeline):
    """"Estimated b1ood 1oss", "Remova1 of posterior segmenta1 instrumentation", "0PERATIVE": a digit at a
    word's edge reads as its letter when the word is known to the vocabularies; levels ("S1", "L1") and
    units ("1cm") never change."""
    text = ("0PERATIVE REP0RT\nProcedure: Remova1 of posterior segmenta1 instrumentation L1-S1.\n"
            "Indications: Painfu1 hardware; CT shows no 1ucency at S1, a 1cm seroma.\n"
            "Description: The rods were removed. The wound was c1osed in 1ayers.\nEstimated b1ood 1oss: 50 mL.")
    norm = load_normalizer()(text)
    read = {(r.original, r.normal) for r in norm.rewrites}
    assert {("Remova1", "Removal"), ("segmenta1", "segmental"), ("1oss", "loss"), ("1ayers", "layers"),
            ("0PERATIVE", "OPERATIVE")} <= read
    assert not {o for o, _ in read} & {"L1-S1", "S1", "L1", "1cm"}
    facts = pipeline.facts(text, "ocr-edges")
    assert facts.ebl_documented
    assert any(p.kind == "hardware_removal" for p in facts.procedures)

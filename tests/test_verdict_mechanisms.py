"""The verdict reads the whole note, by mechanism (issue 20): on notes written unlike the dev notes.

tests/fixtures/verdict_notes/ holds short notes written by the developers with the codes a coder
bills for each (labels.json); the forms notes of ../shared/eval/forms check addenda and multi-team
notes. Each assertion is a behaviour a user acts on: the verdict per billed code, the reason, the
levels, and which statement of an addendum won.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from notechecker.plain import code_verdicts
from notechecker.service import assemble

ROOT = Path(__file__).resolve().parents[1]
NOTES = ROOT / "tests" / "fixtures" / "verdict_notes"
LABELS = json.loads((NOTES / "labels.json").read_text(encoding="utf-8"))
FORMS = ROOT.parent / "shared" / "eval" / "forms" / "notes"
needs_forms = pytest.mark.skipif(not FORMS.is_dir(), reason="../shared/eval/forms is not present")


def check(pipeline, text: str, billed, note_id: str = "note"):
    facts = pipeline.facts(text, note_id)
    result = assemble(facts, billed)
    return facts, result, {v.code: v for v in code_verdicts(result)}


@pytest.mark.parametrize("note_id", sorted(LABELS))
def test_verdict_notes(pipeline, note_id):
    label = LABELS[note_id]
    facts, _, verdicts = check(pipeline, (NOTES / f"{note_id}.txt").read_text(encoding="utf-8"), label["billed"],
                               note_id)
    got = {code: verdicts[code].verdict for code in label["verdicts"]}
    assert got == label["verdicts"], {c: verdicts[c].reason for c in got if got[c] != label["verdicts"][c]}
    assert list(facts.removal_reasons) == label["reasons"]
    assert list(facts.levels) == label["levels"]


def _text(note_id: str) -> str:
    return (NOTES / f"{note_id}.txt").read_text(encoding="utf-8")


def test_construct_described_then_removed_gives_its_anchors(pipeline):
    """"bilateral pedicle screws were present at L2, L3 and L4 joined by two rods" then "All of the screws
    were then removed": the removed construct has anchors at L2, L3 and L4 and is segmental."""
    facts = pipeline.facts(_text("vn01_described_then_removed"), "vn01")
    removed = facts.construct("removed")
    assert removed.anchor_levels == ("L2", "L3", "L4") and removed.segmental is True


def test_construct_sentence_deleted_leaves_the_anchors_undocumented(pipeline):
    """Meaning-changing: without the sentence that describes the construct (and the title levels), the
    removal code is no longer supported."""
    text = _text("vn01_described_then_removed")
    described = "The instrumentation was exposed: bilateral pedicle screws were present at L2, L3 and L4 joined by two rods. "
    assert described in text
    text = text.replace(described, "").replace("had an L2 to L4 instrumented fusion", "had an instrumented fusion")
    _, _, verdicts = check(pipeline, text, ["22852"])
    assert verdicts["22852"].verdict != "supported"


def test_device_named_apart_from_its_interspace(pipeline):
    """"A 6 mm PEEK spacer ... was inserted into each disc space" with the discectomies at C5-C6 and C6-C7
    named elsewhere: device and interspace are documented (ID-01 met), two units."""
    _, result, verdicts = check(pipeline, _text("vn02_acdf_devices_apart"), ["22551", "22552", "22845", "22853 x2"])
    assert verdicts["22853"].verdict == "supported"
    findings = {f.item_id: f.status for r in result.results if r.code == "22853" for f in r.findings}
    assert findings["ID-01"] == "met"


def test_history_in_the_narrative_is_not_todays_reason_or_code(pipeline):
    """An earlier removal of infected kyphoplasty cement gives today's vertebroplasty no reason and no code."""
    facts, result, _ = check(pipeline, _text("vn04_vertebroplasty_history_traps"), ["22510"])
    assert facts.removal_reasons == () and facts.levels == ("T9",)
    assert sorted(set(result.suggested)) == ["22510"]


def test_failure_words_are_hardware_failure_but_a_fractured_bone_is_not(pipeline):
    facts = pipeline.facts(_text("vn05_construct_in_exposure_sentence"), "vn05")
    said = {m.evidence.text.lower() for m in facts.reasons if m.value == "hardware_failure"}
    assert {"hardware malfunction", "fractured left rod", "rod was fractured"} <= said
    bone = "PREOPERATIVE DIAGNOSIS: Healed T12 fracture.\nThe screws skipped the fractured T12 level."
    assert not [m for m in pipeline.facts(bone, "bone").reasons if m.value == "hardware_failure"]


def test_disc_prosthesis_removal_named_by_its_hardware(pipeline):
    facts = pipeline.facts(_text("vn06_disc_prosthesis_removal_alif"), "vn06")
    assert "artificial_disc" in facts.instruments_removed
    assert any(p.kind == "disc_arthroplasty_removal" for p in facts.procedures)


def test_narrative_under_an_unknown_heading_is_the_description(pipeline):
    """A theatre note's steps under "Procedure:" are the description; a procedure list is not."""
    note = ("Operation: Anterior cervical discectomy and fusion C4/5.\nProcedure:\nGA, supine. Platysma divided, "
            "longus colli elevated. The disc was removed and the foramen decompressed. A cage was inserted and "
            "fixed with two screws. Closed in layers.\n")
    assert "description" in pipeline.facts(note, "n").elements
    listed = ("PROCEDURES:\n1. Anterior cervical discectomy at C5-C6.\n2. Anterior interbody fusion C5-C6.\n"
              "3. Anterior cervical instrumentation C5-C6.\n")
    assert "description" not in pipeline.facts(listed, "l").elements


@needs_forms
def test_addendum_level_correction_wins(pipeline):
    """fm15: the body says L2, the signed correction says L3 was treated: L3, with the superseded statement."""
    facts = pipeline.facts((FORMS / "fm15.txt").read_text(encoding="utf-8"), "fm15")
    assert facts.levels == ("L3",)
    swap = [s for s in facts.superseded if s.old == "L2"]
    assert swap and swap[0].new == "L3" and "L2" in swap[0].old_evidence.text


@needs_forms
def test_addendum_reason_replaces_the_body_reason(pipeline):
    """fm16: the addendum withdraws painful hardware and gives hardware failure."""
    facts = pipeline.facts((FORMS / "fm16.txt").read_text(encoding="utf-8"), "fm16")
    assert facts.removal_reasons == ("hardware_failure",)
    assert any(s.fact == "removal_reasons" and s.old == "pain" for s in facts.superseded)


@needs_forms
def test_addendum_restating_the_construct_changes_the_code(pipeline):
    """fm17: the correction makes the plate C4-C7 (four vertebrae): 22846, not 22845."""
    facts = pipeline.facts((FORMS / "fm17.txt").read_text(encoding="utf-8"), "fm17")
    result = assemble(facts)
    assert "22846" in result.suggested and "22845" not in result.suggested


@needs_forms
def test_other_teams_work_gives_no_spine_facts(pipeline):
    """fm19: the plastic surgeon's section is another team's; the iliac crest harvest is graft, not fixation."""
    text = (FORMS / "fm19.txt").read_text(encoding="utf-8")
    facts = pipeline.facts(text, "fm19")
    assert any(s.name == "other_team" and "Plastic" in s.title for s in facts.sections)
    assert "ilium" not in facts.levels and facts.levels == ("L3", "L4", "L5")
    # the same narrative under a spine team's heading counts
    spine = re.sub(r"Description \(Dr\. Brauer\):", "Description (Dr. Brauer, Spine):", text)
    assert pipeline.facts(spine, "fm19b").levels == ("L3", "L4", "L5")


LOG = """OPERATIVE NOTE
Procedure: Posterior instrumented fusion L4-L5.
Description: Pedicle screws were placed at L4 and L5 bilaterally and a cage was inserted at L4-L5.
IMPLANT LOG
Manufacturer | Cat # | Description | Qty | Site | Status
Medtronic | 54840-06545 | CD HORIZON SOLERA 6.5 x 45 mm multiaxial screw | 4 | Spine Lumbar | IMPLANTED
Medtronic | 54840-06550 | CD HORIZON SOLERA 6.5 x 50 mm multiaxial screw | 1 | Spine Lumbar | WASTED
Medtronic | 5540-T12 | Set screw | 4 | Spine Lumbar | IMPLANTED
Medtronic | 2910-1026 | CAPSTONE PEEK cage 10 x 26 mm | 1 | L4-L5 | IMPLANTED
DePuy | 1797-80-L2L4 | Cross connector | 1 | Spine | EXPLANTED
"""


def test_implant_log_rows_are_hardware_with_their_status(pipeline):
    facts = pipeline.facts(LOG, "log")
    rows = {(i.kind, i.action): i for i in facts.instruments if i.evidence.text.startswith(("Medtronic", "DePuy"))}
    assert rows[("pedicle_screw", "placed")].count == 4
    assert rows[("cage", "placed")].levels == ("L4", "L5")
    assert ("crosslink", "removed") in rows
    # the wasted row is neither placed nor removed; catalogue numbers are never levels
    assert not any(i.evidence.text.startswith("Medtronic | 54840-06550") for i in facts.instruments)
    assert facts.levels == ("L4", "L5")
    assert all(LOG[i.evidence.start:i.evidence.end] == i.evidence.text for i in facts.instruments)


@needs_forms
def test_check_shows_which_statement_won(pipeline):
    """The surgeon's view names what the addendum corrected, with the body's sentence it replaced."""
    from notechecker.cli import check_lines

    text = (FORMS / "fm16.txt").read_text(encoding="utf-8")
    result = assemble(pipeline.facts(text, "fm16"), ["22852"])
    lines = [line for _style, line in check_lines(result, text, width=80)]
    at = next(i for i, line in enumerate(lines) if line.startswith("Corrected by an addendum"))
    assert "hardware_failure (was pain)" in lines[at + 1]
    assert lines[at + 2].strip().startswith("\u201c") and "pain" in lines[at + 2]


def test_a_dictated_procedure_sentence_without_a_heading_names_the_fusion_done(pipeline):
    """A dictation that never says "colon" runs its procedure list on as a sentence ("Procedure anterior
    cervical discectomy and fusion C5-6 with ..."): that sentence names the fusion done today, while
    "the procedure was explained" or a prior fusion does not."""
    from notechecker.coding import suggest_codes

    body = ("The patient was placed supine. A transverse incision was made. The C5-6 disc was removed. "
            "A 7 mm PEEK cage packed with allograft was placed. A 14 mm anterior plate was secured with four "
            "screws. The wound was closed in layers. Estimated blood loss 20 mL. Complications none.")
    ran_on = ("Operative note dictated. Preoperative diagnosis cervical radiculopathy. Postoperative diagnosis "
              "same. Procedure anterior cervical discectomy and fusion C5-6 with a PEEK cage and anterior plate. ")
    assert "22551" in suggest_codes(pipeline.facts(ran_on + body, "ran-on"))
    explained = ("Operative note dictated. Preoperative diagnosis cervical radiculopathy. The procedure was "
                 "explained, including anterior cervical discectomy and fusion C5-6. ")
    assert "22551" not in suggest_codes(pipeline.facts(explained + "A transverse incision was made. The wound "
                                                                   "was closed.", "explained"))


UK_THEATRE = """THEATRE RECORD - Spinal Surgery
Consultant: Mr J Patel FRCS (Orth)
Procedure: Removal of posterior metalwork T12-L2
Indication: Prominent metalwork causing pain over the thoracolumbar junction. L1 burst # treated with \
percutaneous fixation 14 months ago; CT confirms the # has united.
Anaesthetic: GA, prone on Montreal mattress.
Findings: Pedicle screws T12 and L2 bilaterally with two rods; no loosening.
Procedure details: Previous incisions used. Rods and caps removed. All four pedicle screws removed without \
difficulty. Wounds washed and closed with absorbable sutures.
Blood loss: minimal
Complications: nil
"""


def test_a_terse_uk_theatre_record_documents_its_removal(pipeline):
    """A UK theatre record: the consultant is the surgeon, "Removal of posterior metalwork" names the
    removal, and a terse narrative ("Rods and caps removed. All four pedicle screws removed ... Wounds washed
    and closed with absorbable sutures.") is the description with its closure: the correctly billed code is
    supported, and nothing the note says is asked for."""
    facts = pipeline.facts(UK_THEATRE, "uk")
    assert any(p.kind == "hardware_removal" for p in facts.procedures)
    assert {"healed_fracture_or_fusion", "pain"} <= set(facts.removal_reasons)
    for name in ("description", "surgeons", "closure"):
        assert facts.element(name).present, name
    result = assemble(facts, ["22850"])
    (v,) = [v for v in code_verdicts(result, None, UK_THEATRE) if v.code == "22850"]
    assert v.verdict == "supported", (v.verdict, v.reason)


INFECTED_REMOVAL = """OPERATIVE REPORT
Surgeon: Priya Natarajan, MD
Preoperative diagnosis: Deep surgical site infection after L3-L5 posterior instrumented fusion (6 weeks postop), \
MSSA on aspirate.
Postoperative diagnosis: Same; purulence around the hardware, loose L5 screws.
Procedure: Irrigation and debridement of lumbar wound with removal of posterior segmental instrumentation L3-L5 and \
placement of antibiotic beads.
Indications: Wound drainage and fevers with CRP 180. Cultures grew MSSA. Given loose screws and gross purulence, \
removal of the hardware was recommended.
Description: Prone on Jackson table. The prior incision was opened and purulent fluid was encountered and sent for \
culture. Nonviable tissue was debrided. The rods were removed, followed by all six pedicle screws at L3, L4 and L5. \
The wound was irrigated with 9 L of saline. Vancomycin beads were placed. The fascia was closed over two drains.
EBL: 200 mL. Complications: none. Specimens: deep tissue cultures x4.
"""


def test_an_infected_removal_documents_its_findings_index_operation_and_drains(pipeline):
    """What the operation met ("purulence around the hardware, loose L5 screws", "purulent fluid was
    encountered"), the index operation dated by "(6 weeks postop)" and "closed over two drains" are
    documented: the checker does not ask for them."""
    facts = pipeline.facts(INFECTED_REMOVAL, "infected")
    assert set(facts.removal_reasons) >= {"infection", "hardware_failure"}
    for name in ("findings", "index_operation", "drains"):
        assert facts.element(name).present, name
    result = assemble(facts, ["22852"])
    (v,) = [v for v in code_verdicts(result, None, INFECTED_REMOVAL) if v.code == "22852"]
    assert v.verdict == "supported", (v.verdict, v.reason)
    asked = {f.item_id for r in result.results for f in r.findings if f.status != "met"}
    assert not asked & {"RM-10", "RM-11", "OP-08", "OP-14"}, asked


def test_an_addendum_heading_with_its_date_corrects_the_level(pipeline):
    """"ADDENDUM 10/21/2026:" is the addendum heading (a date stamped before the colon), and its "the level
    treated was T12, not L1" moves the kyphoplasty to T12: the thoracic code is supported, not "wrong code"."""
    text = ("PROCEDURE: Bilateral balloon kyphoplasty L1.\nSURGEON: Tomas Ek, MD\n"
            "INDICATION: 78 year old woman with an acute osteoporotic compression fracture after a fall 3 weeks "
            "ago; STIR hyperintensity on MRI; pain 9/10 despite bracing.\n"
            "TECHNIQUE: Prone, conscious sedation. Under biplanar fluoroscopy, bilateral trocars were advanced "
            "transpedicularly. Balloons were inflated. 4.5 cc of PMMA cement was injected with no extravasation.\n"
            "EBL: minimal. COMPLICATIONS: None.\n\n"
            "ADDENDUM 10/21/2026 14:05: Correction - the level treated was T12, not L1.\n")
    facts = pipeline.facts(text, "addendum")
    assert "addendum" in [s.name for s in facts.sections]
    assert facts.levels == ("T12",) and facts.superseded
    result = assemble(facts, ["22513"])
    (v,) = [v for v in code_verdicts(result, None, text) if v.code == "22513"]
    assert v.verdict == "supported", (v.verdict, v.reason)


def test_a_device_named_in_the_singular_after_an_article_is_one_device(pipeline):
    """"A 7 mm PEEK cage packed with allograft was placed" states one device: ID-05 (device count) is met;
    "cages were placed" states no number."""
    one = ("PROCEDURE: Anterior cervical discectomy and fusion C5-6.\nDESCRIPTION: The C5-6 disc was removed. "
           "A 7 mm PEEK cage packed with allograft was placed into the C5-6 disc space. A 14 mm anterior plate "
           "was secured with four screws. The wound was closed in layers.")
    cages = [i for i in pipeline.facts(one, "one").instruments if i.kind in ("cage", "interbody_device")]
    assert cages and all(i.count == 1 for i in cages)
    result = assemble(pipeline.facts(one, "one"), ["22551", "22853", "22845"])
    assert all(f.status == "met" for r in result.results for f in r.findings if f.item_id == "ID-05")
    plural = one.replace("A 7 mm PEEK cage packed with allograft was placed", "PEEK cages were placed")
    assert all(i.count is None for i in pipeline.facts(plural, "plural").instruments
               if i.kind in ("cage", "interbody_device"))

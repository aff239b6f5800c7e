"""Notes as they really arrive (issue 21), on notes the developers wrote unlike the shared forms set.

tests/fixtures/forms_notes/ holds one short note per form (template, dictation, OCR, other Englishes, brief
note, addendum, multi-team) with the facts contract and the verdict per billed code a coder gives it
(labels.json). Each note is read as the user gets it: the facts, the codes the note supports, the verdict
on each billed code, and evidence that points at the note's own characters.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from notechecker.plain import code_verdicts
from notechecker.service import assemble

NOTES = Path(__file__).resolve().parent / "fixtures" / "forms_notes"
LABELS = json.loads((NOTES / "labels.json").read_text(encoding="utf-8"))
LISTS = ("removal_reasons", "instruments_removed", "instruments_placed")
FLAGS = ("approach", "complications_documented", "ebl_documented", "indication_documented", "imaging_documented")


def _read(note_id: str) -> str:
    return (NOTES / f"{note_id}.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def runs(pipeline):
    out = {}
    for note_id, label in LABELS.items():
        text = _read(note_id)
        facts = pipeline.facts(text, note_id)
        result = assemble(facts, label["billed"])
        out[note_id] = (text, facts, result, {v.code: v for v in code_verdicts(result)})
    return out


@pytest.mark.parametrize("note_id", sorted(LABELS))
def test_facts_contract(runs, note_id):
    label = LABELS[note_id]
    _, facts, _, _ = runs[note_id]
    got = {k: sorted(getattr(facts, k)) for k in LISTS}
    got["levels"] = list(facts.levels)
    got.update({k: getattr(facts, k) for k in FLAGS})
    want = {k: label[k] for k in got}
    assert got == want, {k: (got[k], want[k]) for k in got if got[k] != want[k]}


@pytest.mark.parametrize("note_id", sorted(LABELS))
def test_codes_and_verdicts(runs, note_id):
    label = LABELS[note_id]
    _, _, result, verdicts = runs[note_id]
    assert sorted(set(result.suggested)) == label["suggested_cpt"]
    got = {code: verdicts[code].verdict for code in label["verdicts"]}
    assert got == label["verdicts"], {c: verdicts[c].reason for c in got if got[c] != label["verdicts"][c]}


@pytest.mark.parametrize("note_id", sorted(LABELS))
def test_evidence_points_at_the_original_characters(runs, note_id):
    text, facts, _, _ = runs[note_id]
    spans = [m.evidence for m in facts.reasons] + [i.evidence for i in facts.instruments]
    spans += [e for el in facts.elements.values() for e in el.evidence]
    assert spans
    for e in spans:
        assert text[e.start:e.end] == e.text


KYPHOPLASTY = "Procedure: balloon kyphoplasty T10 and T11.\n"


def test_fracture_acuity_from_edema_in_the_bodies_and_an_age_in_weeks(pipeline):
    """"MRI shows edema in both bodies" and a fracture four weeks old document acuity; an old fracture does not."""
    for said in ("Indication: painful compression fractures T10 and T11; MRI shows edema in both bodies.",
                 "Indication: painful compression fractures T10 and T11, four weeks, failed bracing.",
                 "Indication: L1 compression fracture. STIR MRI: marrow oedema at L1."):
        assert "fracture_acuity" in pipeline.facts(KYPHOPLASTY + said, "n").elements, said
    old = KYPHOPLASTY + "Indication: old healed compression fracture of L1 from 2019, CT shows sclerosis."
    assert "fracture_acuity" not in pipeline.facts(old, "o").elements


def test_brief_note_narrative_is_the_description(pipeline):
    """A brief note's narrative after its indication, in steps without their verb ("Plate exposed"), is the
    description; the same words told as the patient's choice are not."""
    brief = ("Procedure: Removal of anterior cervical plate C5-C6.\nIndication: dysphagia from a prominent plate.\n"
             "Anterior approach through prior left incision. Plate exposed; the four screws were removed, then the "
             "plate.\nEBL 10 mL.\n")
    facts = pipeline.facts(brief, "b")
    assert "description" in facts.elements
    assert facts.elements["description"].evidence[0].section == "description"
    told = ("Procedure: Removal of anterior cervical plate C5-C6.\nIndication: dysphagia from a prominent plate; "
            "after discussing an anterior approach he chose to have the hardware removed.\nEBL 10 mL.\n")
    assert "description" not in pipeline.facts(told, "t").elements


PLATE = ("Procedure: Removal of anterior cervical plate C4-C5.\n"
         "Indication: Eighteen months after C4-C5 ACDF she has trouble swallowing; a barium swallow shows a prominent "
         "plate edge. {purpose}\n"
         "Description: Supine. Through the prior incision the plate was exposed, its four screws were removed and the "
         "plate was lifted off. Closed in layers.\n")


def test_the_stated_purpose_of_the_removal_gives_its_reasons(pipeline):
    """"The plate is removed because of her dysphagia": the stated reason, not the imaging finding's prominence."""
    stated = pipeline.facts(PLATE.format(purpose="The plate is removed because of her dysphagia."), "s")
    assert list(stated.removal_reasons) == ["other"]
    assert any(m.value == "pain" for m in stated.reasons)  # the finding stays evidence
    unstated = pipeline.facts(PLATE.format(purpose="She has dysphagia."), "u")
    assert list(unstated.removal_reasons) == ["other", "pain"]


def test_an_unfilled_indication_field_is_not_filled_by_the_diagnosis_line(pipeline):
    """"Indications: ***" was asked and not answered: the diagnosis line does not stand in for it (it does
    in a note that has no indication field), and a stated reason elsewhere still counts."""
    note = ("Pre-op Dx: Cervical radiculopathy C6 with arm pain\nProcedure: ACDF C5-C6\nIndications: {ind}\n"
            "Technique: Supine. A PEEK cage and a plate were placed at C5-C6. Closed in layers.\n")
    assert pipeline.facts(note.format(ind="***"), "a").indication_documented is False
    assert pipeline.facts(note.replace("Indications: {ind}\n", ""), "b").indication_documented is True
    stated = note.format(ind="***") + "Addendum: the patient has failed six months of physical therapy.\n"
    assert pipeline.facts(stated, "c").indication_documented is True


def test_a_branded_cage_with_integrated_screws_and_no_plate(pipeline):
    """"A Zero-P VA cage ... fixed with two integrated locking screws into C5 and C6. No anterior plate.": one
    cage (the note says cage), bone screws (a plate the note denies does not make them a plate's set screws)."""
    note = ("Procedure: ACDF C5/6 with a stand-alone cage. No anterior plate.\nDescription: Supine, right transverse "
            "incision, Smith-Robinson approach. Discectomy at C5/6. A 6 mm Zero-P VA cage was inserted and fixed with "
            "two integrated locking screws, one into C5 and one into C6. Closed in layers.\n")
    facts = pipeline.facts(note, "z")
    assert list(facts.instruments_placed) == ["cage", "screw"]
    described = [i for i in facts.instruments if i.evidence.section == "description" and i.action == "placed"]
    assert sorted(i.kind for i in described) == ["cage", "screw"]
    plated = note.replace("No anterior plate.", "An anterior plate was applied over the cage with four screws.")
    assert "set_screw" in pipeline.facts(plated, "p").instruments_placed


def test_a_one_line_brief_entry_is_the_procedure_list(pipeline):
    """A short note with no heading names the operation: "TLIF L4-5 with pedicle screws and a PEEK cage." gives
    the fusion, its hardware placed, its levels and its codes."""
    entry = "Brief op note 04/03/2026, Dr Ames\nTLIF L4-5 with pedicle screws L4 and L5 and a PEEK cage. EBL 150 mL.\n"
    facts = pipeline.facts(entry, "e")
    assert {"pedicle_screw", "cage"} <= set(facts.instruments_placed)
    assert list(facts.levels) == ["L4", "L5"]
    assert sorted(assemble(facts).suggested) == ["22630", "22840", "22853"]


def test_a_stated_purpose_does_not_drop_a_failure_told_elsewhere(pipeline):
    """Loose screws on CT are a reason even where the note says the removal is for pain."""
    note = PLATE.format(purpose="CT shows the C5 screws are loose. The plate is removed because of her pain.")
    assert list(pipeline.facts(note, "f").removal_reasons) == ["hardware_failure", "pain"]


def test_dorsolumbar_span_reads_d_as_thoracic(pipeline):
    """"D11-L1" in an Indian note is T11-L1: the thoracic part of the span is kept."""
    note = ("Operation: Posterior stabilisation D11-L1 with pedicle screws.\nProcedure: Prone, midline incision. "
            "Pedicle screws placed at D11, D12 and L1 bilaterally under C-arm. Rods fixed with set screws. "
            "Closure in layers.\n")
    facts = pipeline.facts(note, "d")
    assert list(facts.levels) == ["T11", "T12", "L1"]
    assert "description" in facts.elements  # a theatre note's terse steps: incision, C-arm, closure in layers
    assert note[facts.elements["description"].evidence[0].start:].startswith(
        facts.elements["description"].evidence[0].text)


def test_complications_dictated_without_a_colon(pipeline):
    said = pipeline.facts("Procedure: ACDF C5-C6.\nBlood loss 40 cc. Complications none.\n", "c")
    assert said.complications_documented is True
    assert said.elements["complications"].evidence[0].text == "Complications none"
    risk = pipeline.facts("Procedure: ACDF C5-C6.\nWe discussed the complications and none of them deterred her.\n", "r")
    assert risk.complications_documented is False

"""Read the whole note as a coder does (issue 10, item 3): one test per failure class seen on
real notes, each on a short note written for the test (synthetic, no patient data)."""
from __future__ import annotations

import pytest


def _facts(pipeline, text):
    return pipeline.facts(text, "t")


# ----------------------------------------------------------- reasons and headings
def test_reason_in_an_abbreviated_diagnosis_line(pipeline):
    text = ("Preop Dx: Painful retained hardware L3-L5.\nPostop Dx: Same.\n"
            "PROCEDURE: Removal of posterior segmental instrumentation L3-L5.\n"
            "DESCRIPTION: The patient was placed prone. The rods were removed and the six pedicle screws were "
            "backed out. The wound was closed.\n")
    f = _facts(pipeline, text)
    assert [s.name for s in f.sections][:2] == ["pre_op_diagnosis", "post_op_diagnosis"]
    assert f.removal_reasons == ("pain",)
    assert f.instruments_removed == ("pedicle_screw", "rod") and f.instruments_placed == ()
    assert f.levels == ("L3", "L4", "L5")


def test_reason_in_the_procedure_title(pipeline):
    text = ("PROCEDURE: Removal of painful hardware, L4-L5.\n"
            "DESCRIPTION: The patient was placed prone. The rods were removed and the four pedicle screws were "
            "backed out. The wound was closed.\n")
    f = _facts(pipeline, text)
    assert f.removal_reasons == ("pain",)
    assert f.instruments_removed == ("pedicle_screw", "rod")


def test_indication_without_an_indication_heading(pipeline):
    text = ("PROCEDURE: Lumbar laminectomy L4-L5.\n"
            "The patient is a 62-year-old man with neurogenic claudication from L4-5 stenosis who failed "
            "physical therapy and injections and elected to proceed with surgery.\n"
            "DESCRIPTION: The patient was placed prone. A laminectomy of L4 was performed.\n")
    assert _facts(pipeline, text).indication_documented


def test_narrative_under_an_unusual_heading_is_the_operation(pipeline):
    text = ("PROCEDURES: C5-C6 anterior cervical discectomy and fusion.\n"
            "INDICATIONS: The patient has severe arm pain and weakness.\n"
            "SUMMARY OF SURGERY IN DETAIL: The patient was placed supine. The discectomy was completed and an "
            "allograft spacer was tamped into the disc space. An anterior cervical plate was placed with four "
            "screws.\n")
    f = _facts(pipeline, text)
    assert "description" in {s.name for s in f.sections}
    assert {"plate", "interbody_device"} <= set(f.instruments_placed)


def test_pre_and_postoperative_diagnosis_heading(pipeline):
    text = ("PRE AND POSTOPERATIVE DIAGNOSIS: Left cervical radiculopathy at C5-C6.\n"
            "OPERATION: Left C5-6 hemilaminotomy and foraminotomy.\n"
            "The patient was placed prone and the foraminotomy was completed.\n")
    f = _facts(pipeline, text)
    assert f.sections[0].name == "pre_op_diagnosis"
    assert f.indication_documented


def test_date_line_then_surgeon_line_are_two_fields(pipeline):
    text = ("DATE OF SURGERY: 03/04/2021\nSURGEON: Renata Vasquez-Orr, MD\n"
            "PROCEDURE: Lumbar laminectomy L4-L5.\nDESCRIPTION: A laminectomy of L4 was performed.\n")
    f = _facts(pipeline, text)
    assert f.element("operation_date").value == "03/04/2021"
    assert f.element("surgeons").value == "Renata Vasquez-Orr, MD"


# --------------------------------------------------- removal, placement, exchange
def test_old_construct_described_is_not_placement(pipeline):
    text = ("PROCEDURE: Removal of hardware L4-L5.\n"
            "INDICATION: Persistent pain over the hardware after a solid fusion.\n"
            "DESCRIPTION: The patient was placed prone. The old hardware was exposed. There were pedicle screws "
            "at L4 and L5 connected by two rods. The rods were removed and the four screws were backed out.\n")
    f = _facts(pipeline, text)
    assert f.instruments_placed == ()
    assert f.instruments_removed == ("pedicle_screw", "rod")
    assert f.construct("placed") is None and f.construct("removed").levels == ("L4", "L5")


def test_reseated_rod_and_retightened_set_screws_are_not_removed(pipeline):
    text = ("PROCEDURE: Posterior spinal fusion L4-L5 with pedicle screw instrumentation.\n"
            "DESCRIPTION: The patient was placed prone. Pedicle screws were placed at L4 and L5 bilaterally. Rods "
            "were contoured and placed. The left rod was re-seated in the screw heads and the set screws were "
            "re-tightened. Decortication was performed and allograft was laid in the lateral gutters.\n")
    f = _facts(pipeline, text)
    assert f.instruments_removed == ()
    exchanged = {i.kind for i in f.instruments if i.action == "exchanged"}
    assert exchanged == {"rod", "set_screw"}
    assert "set_screw" not in f.instruments_placed


def test_loosened_and_removed_is_still_removal(pipeline):
    text = ("PROCEDURE: Removal of hardware L3-L5.\nINDICATION: Painful hardware.\n"
            "DESCRIPTION: The locking caps were loosened and removed. Both rods were lifted out and the six "
            "pedicle screws were backed out.\n")
    assert "set_screw" in _facts(pipeline, text).instruments_removed


def test_trimming_a_wire_is_not_removal(pipeline):
    text = ("PROCEDURE: Posterior cervical fusion C1-C2 with sublaminar wiring.\n"
            "DESCRIPTION: The patient was placed prone. A sublaminar wire was passed under the arch of C1 and "
            "around the spinous process of C2 and tightened over the graft. The excess wire was cut off.\n")
    f = _facts(pipeline, text)
    assert f.instruments_removed == ()
    assert f.instruments_placed == ("wire",)


def test_passive_removal_verb_does_not_reach_the_next_clause(pipeline):
    text = ("PROCEDURE: Anterior cervical discectomy and fusion C5-C6 with anterior cervical instrumentation.\n"
            "DESCRIPTION: The discectomy was completed and an allograft spacer was placed. Distraction was then "
            "removed and anterior cervical instrumentation was completed using an anterior cervical plate with "
            "four screws.\n")
    f = _facts(pipeline, text)
    assert not any(p.kind == "hardware_removal" for p in f.procedures)
    assert f.instruments_removed == () and "plate" in f.instruments_placed


def test_old_screws_reused_by_the_new_construct_are_its_anchors(pipeline):
    text = ("PROCEDURE: Extension of fusion to L3 with pedicle screws L3, rods L3-L5.\n"
            "DESCRIPTION: The patient was placed prone. The old rods were removed. The existing pedicle screws at "
            "L4 and L5 were left in place and incorporated into the new construct. New pedicle screws were "
            "placed at L3 bilaterally. New rods were placed from L3 to L5 and the set screws were final "
            "tightened.\n")
    placed = _facts(pipeline, text).construct("placed")
    assert placed.levels == ("L3", "L4", "L5")
    assert placed.anchor_levels == ("L3", "L4", "L5")
    assert placed.segmental is True


def test_temporary_fixation_screw_is_not_placed_hardware(pipeline):
    text = ("PROCEDURE: Anterior cervical discectomy and fusion C5-C7.\n"
            "DESCRIPTION: The plate was held in the midline while a temporary fixation screw was applied. The "
            "plate was then fixed with eight screws.\n")
    f = _facts(pipeline, text)
    assert any(i.action == "temporary" and i.kind == "screw" for i in f.instruments)


def test_prior_to_placing_is_a_time_not_old_hardware(pipeline):
    text = ("PROCEDURE: Anterior cervical discectomy and fusion C5-C6.\n"
            "DESCRIPTION: An allograft spacer was placed in the disc space. Hemostasis was obtained prior to "
            "placing the plate. The plate was secured with four screws.\n")
    f = _facts(pipeline, text)
    assert not any(i.kind == "plate" and i.action == "retained" for i in f.instruments)
    assert "plate" in f.instruments_placed


# ----------------------------------------------------------- fusion and hardware
def test_interbody_fusion_named_only_in_the_narrative(pipeline):
    text = ("PROCEDURE: L4-L5 laminectomy and posterior instrumentation.\n"
            "DESCRIPTION: The patient was placed prone. A laminectomy of L4 was performed. The L4-5 disc space was "
            "entered, the disc was removed and the endplates were prepared. A PEEK cage packed with autograft "
            "was inserted into the L4-5 disc space. Pedicle screws were placed at L4 and L5 and rods were placed.\n")
    f = _facts(pipeline, text)
    fusion = [p for p in f.procedures if p.kind == "interbody_fusion_posterior"]
    assert fusion and fusion[0].levels == ("L4", "L5")


def test_anterior_discectomy_with_graft_is_an_arthrodesis(pipeline):
    text = ("PROCEDURES PERFORMED: 1. C5-C6 anterior cervical discectomy. 2. Bone bank allograft. "
            "3. Anterior cervical plate.\n"
            "DESCRIPTION: The patient was placed supine. The discectomy was completed. An allograft was placed. "
            "An anterior plate was placed.\n")
    f = _facts(pipeline, text)
    assert any(p.kind == "acdf" and p.levels == ("C5", "C6") for p in f.procedures)


def test_anterior_plates_and_spacers_named_by_brand_are_placed(pipeline):
    text = ("PROCEDURE: Anterior cervical discectomy and fusion C5-C6.\n"
            "DESCRIPTION: The patient was placed supine. A discectomy was performed at C5-C6. A Zero-P spacer was "
            "tamped into the disc space. A 22 mm Mystique plate was then fixed with four screws to C5 and C6.\n")
    f = _facts(pipeline, text)
    assert {"interbody_device", "plate", "screw"} <= set(f.instruments_placed)
    assert "pedicle_screw" not in f.instruments_placed


def test_brand_plate_in_the_procedure_list_is_placed(pipeline):
    text = ("PROCEDURES: 1. Anterior discectomy C5-C6. 2. Anterior interbody fusion C5-C6 utilizing a cage. "
            "3. Anterior cervical instrumentation C5-C6 by Uniplate construction.\n"
            "DESCRIPTION: The patient was placed supine. The discectomy was performed.\n")
    assert "plate" in _facts(pipeline, text).instruments_placed


def test_peek_implant_is_an_interbody_device(pipeline):
    text = ("PROCEDURES: Arthrodesis C5-C6. Implant using PEEK 7 mm. Spinal instrumentation C5-C6 using a "
            "Pioneer 18-mm plate and four screws.\n"
            "DESCRIPTION: The patient was placed supine. A 7 mm implant was laid down in the disc space.\n")
    assert {"interbody_device", "plate"} <= set(_facts(pipeline, text).instruments_placed)


def test_anterior_screws_are_not_pedicle_screws(pipeline):
    text = ("PROCEDURE: Anterior cervical discectomy and fusion C3-C6 with plate.\n"
            "DESCRIPTION: The uncovertebral joints and the pedicle of C4 were identified. Eight screws were placed "
            "with two screws at C3, C4, C5 and C6 through the plate.\n")
    f = _facts(pipeline, text)
    assert "screw" in f.instruments_placed and "pedicle_screw" not in f.instruments_placed


# ------------------------------------------------------------ documentation flags
def test_dural_tear_described_is_a_complication(pipeline):
    text = ("PROCEDURE: Lumbar laminectomy L4-L5.\n"
            "DESCRIPTION: Removing the L4 lamina caused a 3-mm tear in the dura. There was CSF leak. It was "
            "repaired primarily.\n")
    assert _facts(pipeline, text).complications_documented


def test_consent_wording_and_anesthesia_induction_are_not_complications(pipeline):
    text = ("PROCEDURE: Lumbar laminectomy L4-L5.\n"
            "DESCRIPTION: All risks as well as complications were discussed with the patient. General anesthesia "
            "was induced without complication. A laminectomy of L4 was performed.\n")
    assert not _facts(pipeline, text).complications_documented


def test_localisation_film_is_not_imaging(pipeline):
    text = ("PROCEDURE: Anterior cervical discectomy C5-C6.\n"
            "DESCRIPTION: Preoperative x-rays revealed appropriate levels for skin incision. The discectomy was "
            "performed.\n")
    assert not _facts(pipeline, text).imaging_documented


def test_hardware_a_part_is_removed_from_stays(pipeline):
    text = ("PROCEDURE: Extension of fusion to L3 with new rods L3-L5.\n"
            "DESCRIPTION: The locking caps were removed from the existing L4 and L5 screws and the old rods were "
            "removed. New pedicle screws were placed at L3 and new rods were placed from L3 to L5.\n")
    f = _facts(pipeline, text)
    assert "pedicle_screw" not in f.instruments_removed
    assert {"set_screw", "rod"} <= set(f.instruments_removed)


def test_levels_listed_with_a_final_and_stay_with_their_verb(pipeline):
    text = ("PROCEDURE: Removal of hardware T12-L2.\nINDICATION: Healed fracture.\n"
            "DESCRIPTION: The rods were removed. The six pedicle screws at T12, L1, and L2 were then removed with "
            "the driver.\n")
    assert _facts(pipeline, text).instruments_removed == ("pedicle_screw", "rod")


def test_solid_fusion_given_as_the_cause_of_removal_is_a_reason(pipeline):
    text = ("PROCEDURE: Removal of posterior instrumentation L1-L3.\n"
            "DESCRIPTION: Because the L1-L3 fusion is solid and the old hardware no longer serves any purpose, we "
            "elected to remove it. The rods were removed and the six pedicle screws were removed.\n")
    assert _facts(pipeline, text).removal_reasons == ("healed_fracture_or_fusion",)


def test_solid_fusion_that_needs_no_revision_is_not_a_reason(pipeline):
    text = ("PROCEDURE: Exploration of fusion L4-S1.\n"
            "DESCRIPTION: The fusion mass was explored. Since the fusion was solid, no revision was necessary. "
            "The rods were removed and replaced with new rods.\n")
    assert "healed_fracture_or_fusion" not in _facts(pipeline, text).removal_reasons


@pytest.mark.parametrize("sentence", [
    "She had a kyphoplasty at L1 for a compression fracture.",
    "After an L1 kyphoplasty in 2019 her pain improved.",
    "Her L1 fracture was treated with kyphoplasty.",
])
def test_earlier_treatment_in_the_narrative_is_not_this_operation(pipeline, sentence):
    text = ("PROCEDURE: Re-exploration of lumbar fusion L2-L4.\n"
            f"DESCRIPTION: The patient was placed prone. {sentence} The fusion from L2 to L4 was explored and "
            "found to be solid.\n")
    f = _facts(pipeline, text)
    assert not any(p.kind in ("kyphoplasty", "vertebroplasty") for p in f.procedures)


def test_hardware_placed_years_ago_is_not_placed_today(pipeline):
    text = ("PROCEDURE: Removal of hardware L2-L3.\nINDICATION: Painful hardware.\n"
            "DESCRIPTION: She had pedicle screws placed at L2 and L3 in 2015. The rods were removed and the four "
            "pedicle screws were removed.\n")
    f = _facts(pipeline, text)
    assert f.instruments_placed == () and f.instruments_removed == ("pedicle_screw", "rod")


def test_evacuation_of_an_epidural_hematoma_is_a_decompression(pipeline):
    text = ("PROCEDURE PERFORMED: Evacuation of epidural hematoma, cervical spine.\n"
            "DESCRIPTION: The patient was log rolled into the prone position. The hematoma was evacuated.\n")
    f = _facts(pipeline, text)
    assert f.scope.kind == "spine_operation"
    assert any(p.kind == "decompression" for p in f.procedures)

"""Note scope: a spine operation, another operation, or not an operative note (issue 10).

Short notes written for these tests (synthetic, no patient data). Only a spine operation
gets spine facts and the documentation elements of spine checklists; the others keep the
contract's documentation flags (complications, EBL, indication, imaging), surgeon and date.
"""
from __future__ import annotations

import shutil
import threading

import pytest

from notechecker.coding import suggest_codes
from notechecker.facts import SCOPE_KINDS


def _facts(pipeline, text):
    return pipeline.facts(text, "t")


def _assert_evidence(text, scope):
    for e in scope.evidence:
        assert text[e.start:e.end] == e.text


def test_cataract_extraction_is_another_operation(pipeline):
    text = ("PREOPERATIVE DIAGNOSIS: Visually significant cataract, right eye.\n"
            "PROCEDURE: Phacoemulsification with posterior chamber intraocular lens implantation.\n"
            "DESCRIPTION: The eye was prepped and draped. A clear corneal incision was made. The lens was placed "
            "in the capsular bag.\n")
    f = _facts(pipeline, text)
    assert f.scope.kind == "other_operation"
    assert "eye" in f.scope.reason
    assert f.scope.evidence and f.scope.evidence[0].section == "procedures"
    _assert_evidence(text, f.scope)
    assert (f.levels, f.approach, f.instruments, f.constructs, f.procedures) == ((), None, (), (), ())
    assert suggest_codes(f) == []


def test_ankle_hardware_is_not_spine_hardware(pipeline):
    text = ("PREOPERATIVE DIAGNOSIS: Painful retained hardware, right ankle.\n"
            "PROCEDURE: Removal of hardware, right ankle.\nANESTHESIA: Spinal.\n"
            "ESTIMATED BLOOD LOSS: Minimal.\n"
            "DESCRIPTION: The patient was placed supine. The plate and six screws were removed from the distal "
            "fibula. The wound was closed.\n")
    f = _facts(pipeline, text)
    assert f.scope.kind == "other_operation"
    assert f.instruments_removed == () and f.removal_reasons == () and suggest_codes(f) == []
    assert f.ebl_documented  # documentation elements are still read


def test_spinal_anesthesia_does_not_make_a_knee_replacement_spine(pipeline):
    text = ("PROCEDURE: Right total knee arthroplasty.\nANESTHESIA: Spinal anesthesia.\n"
            "DESCRIPTION: The knee was exposed through a midline incision. The tibial and femoral components "
            "were cemented in place.\n")
    assert _facts(pipeline, text).scope.kind == "other_operation"


def test_spine_history_in_another_operations_diagnosis_does_not_decide(pipeline):
    text = ("PREOPERATIVE DIAGNOSES:\n1. Term pregnancy.\n2. Previous spinal fusion.\n"
            "PROCEDURE: Repeat low transverse cesarean section.\n"
            "DESCRIPTION: A Pfannenstiel skin incision was made and the infant was delivered.\n")
    f = _facts(pipeline, text)
    assert f.scope.kind == "other_operation"
    assert f.levels == ()


def test_spine_note_with_a_heart_history_stays_spine(pipeline):
    text = ("PROCEDURE: L4-L5 posterior spinal fusion with pedicle screws.\n"
            "HISTORY: Coronary artery disease, status post CABG and pacemaker placement.\n"
            "DESCRIPTION: The patient was placed prone. Pedicle screws were placed at L4 and L5 and rods were "
            "placed. Allograft was laid in the lateral gutters.\n")
    f = _facts(pipeline, text)
    assert f.scope.kind == "spine_operation"
    assert f.scope.regions == ("lumbar",)
    _assert_evidence(text, f.scope)
    assert f.levels == ("L4", "L5") and f.instruments_placed == ("pedicle_screw", "rod")


def test_clinic_note_is_not_operative(pipeline):
    text = ("The patient is well known to our practice. She underwent anterior cervical discectomy and fusion "
            "C4 through C6 last year and now reports difficulty swallowing.\n"
            "ASSESSMENT: Dysphagia after cervical fusion.\n"
            "PLAN: She would like the plate removed; we will schedule surgery.\n")
    f = _facts(pipeline, text)
    assert f.scope.kind == "not_operative"
    assert f.levels == () and f.instruments_removed == () and suggest_codes(f) == []


def test_spine_operation_without_headings_is_read_from_the_narrative(pipeline):
    text = ("The patient was brought to the operating room and placed prone. A midline incision was made. "
            "A laminectomy of L4 was performed and the thecal sac was decompressed. Pedicle screws were placed "
            "at L4 and L5.\n")
    f = _facts(pipeline, text)
    assert f.scope.kind == "spine_operation"
    assert "narrative" in f.scope.reason


def test_regions_follow_the_levels(pipeline):
    text = ("PROCEDURE: Posterior spinal fusion T10 to S1 with pedicle screws.\n"
            "DESCRIPTION: Pedicle screws were placed from T10 to S1 and rods were placed.\n")
    assert _facts(pipeline, text).scope.regions == ("thoracic", "lumbar", "sacral")


def test_scope_round_trips_through_a_dict(pipeline):
    from notechecker.facts import Facts

    f = _facts(pipeline, "PROCEDURE: Right carpal tunnel release.\nDESCRIPTION: The ligament was divided.\n")
    assert f.scope.kind in SCOPE_KINDS
    assert Facts.from_dict(f.to_dict()).scope == f.scope


def test_scope_vocabulary_is_validated(tmp_path):
    from notechecker.errors import PatternError
    from notechecker.schema.loader import patterns_dir
    from notechecker.schema.vocab.patterns import load_patterns

    root = tmp_path / "patterns"
    shutil.copytree(patterns_dir(), root)
    path = root / "scope.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("'\\bspines?\\b'", "'\\bspine(s?\\b'", 1),
                    encoding="utf-8")
    with pytest.raises(PatternError, match="scope.yaml"):
        load_patterns(root)
    path.write_text("version: 1\nspine: []\n", encoding="utf-8")
    with pytest.raises(PatternError, match="scope.yaml"):
        load_patterns(root)


def test_extractor_keeps_no_per_note_state(pipeline):
    """Nothing is written on the extractor while a note is read, so threads can share it."""
    before = dict(vars(pipeline.extractor))
    notes = [("PROCEDURE: Removal of hardware L3-L5.\nDESCRIPTION: The rods and six pedicle screws were removed.\n"),
             ("PROCEDURE: Anterior cervical discectomy and fusion C5-C6.\nDESCRIPTION: A spacer was placed and a "
              "plate was fixed with four screws.\n"),
             "PROCEDURE: Right carpal tunnel release.\nDESCRIPTION: The ligament was divided.\n"]
    expected = [pipeline.facts(t, str(i)).to_dict() for i, t in enumerate(notes)]
    assert dict(vars(pipeline.extractor)) == before
    docs = [pipeline.nlp(t) for t in notes]
    got: dict[int, dict] = {}

    def work(i):
        for _ in range(20):
            got[i] = pipeline.extractor(docs[i], str(i)).to_dict()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(notes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, e in enumerate(expected):
        e = {k: v for k, v in e.items() if k != "suggested_cpt"}
        assert {k: v for k, v in got[i].items() if k != "suggested_cpt"} == e


@pytest.mark.parametrize("title", [
    "Cervical cerclage.",
    "Repair of thoracic aortic stenosis.",
    "Lumbar puncture at the L3-L4 interspace.",
    "Epidural steroid injection, L4-L5.",
    "Excision of sacral decubitus ulcer.",
    "Ligation of the vertebral artery.",
])
def test_region_words_and_needles_are_not_spine_operations(pipeline, title):
    text = (f"PROCEDURE: {title}\nANESTHESIA: General.\nESTIMATED BLOOD LOSS: Minimal.\n"
            "DESCRIPTION: The patient was prepped and draped. The procedure was completed without difficulty.\n")
    f = _facts(pipeline, text)
    assert f.scope.kind == "other_operation", f.scope.reason
    assert f.levels == () and suggest_codes(f) == []


def test_operative_note_opening_with_a_history_heading_is_still_operative(pipeline):
    text = ("HISTORY OF PRESENT ILLNESS: A 55-year-old man with L4-L5 stenosis and neurogenic claudication.\n"
            "OPERATIVE COURSE: The patient was brought to the operating room and placed prone. The back was prepped "
            "and draped. A midline incision was made. A laminectomy of L4 was performed and the thecal sac was "
            "decompressed.\n")
    f = _facts(pipeline, text)
    assert f.scope.kind == "spine_operation", f.scope.reason


def test_other_operation_quotes_its_title(pipeline):
    text = "PROCEDURE: Removal of a retained foreign body.\nDESCRIPTION: The neck was prepped and draped.\n"
    f = _facts(pipeline, text)
    assert f.scope.kind == "other_operation"
    assert f.scope.evidence and f.scope.evidence[0].text.startswith("Removal of a retained foreign body")
    _assert_evidence(text, f.scope)


def test_hardware_at_vertebral_levels_makes_a_terse_note_spine(pipeline):
    text = ("PROCEDURE: Removal of hardware.\nINDICATION: Painful hardware.\n"
            "DESCRIPTION: The patient was placed prone. The rods and screws at L4 and L5 were removed.\n")
    f = _facts(pipeline, text)
    assert f.scope.kind == "spine_operation", f.scope.reason
    assert f.instruments_removed and f.levels == ("L4", "L5")


def test_discharge_summary_listing_a_spine_operation_is_not_operative(pipeline):
    text = ("DISCHARGE SUMMARY\nADMISSION DIAGNOSIS: Lumbar stenosis L4-L5.\n"
            "PROCEDURES: L4-L5 laminectomy and posterior spinal fusion with pedicle screws.\n"
            "HOSPITAL COURSE: The patient was taken to the operating room for the above procedure and did well. "
            "She was discharged home on postoperative day 3.\n")
    f = _facts(pipeline, text)
    assert f.scope.kind == "not_operative", f.scope.reason
    assert f.levels == () and f.instruments_placed == () and suggest_codes(f) == []
    _assert_evidence(text, f.scope)


@pytest.mark.parametrize("text", [
    "MRI LUMBAR SPINE WITHOUT CONTRAST\nTECHNIQUE: Sagittal and axial T1 and T2 images.\nFINDINGS: At L4-L5 there is a "
    "broad disc herniation with severe canal stenosis.\nIMPRESSION: L4-L5 disc herniation.\n",
    "REASON FOR CONSULTATION: Neck pain.\nHISTORY OF PRESENT ILLNESS: A 60-year-old with C5-C6 spondylosis and "
    "myelopathy.\nASSESSMENT AND PLAN: Anterior cervical discectomy and fusion C5-C6 is recommended.\n",
])
def test_imaging_report_and_consult_are_not_operative(pipeline, text):
    f = _facts(pipeline, text)
    assert f.scope.kind == "not_operative", f.scope.reason
    assert f.levels == () and f.procedures == () and suggest_codes(f) == []


_KNEE = ("OPERATION DATE: 03/04/2025\nSURGEON: Dana Whitfield, MD\n"
         "PREOPERATIVE DIAGNOSIS: Osteoarthritis, right knee.\n"
         "PROCEDURE: Right total knee arthroplasty.\n"
         "INDICATIONS: The patient has had severe knee pain for years and failed injections and physical therapy.\n"
         "DESCRIPTION: The patient was placed supine. A tourniquet was applied. A medial parapatellar arthrotomy "
         "was made and the components were cemented in place. The wound was closed in layers with staples.\n"
         "ESTIMATED BLOOD LOSS: 150 mL.\nCOMPLICATIONS: None.\nDISPOSITION: To recovery in stable condition.\n")


def test_another_operation_keeps_the_contract_flags_surgeon_and_date(pipeline):
    from notechecker.facts import EVERY_NOTE_ELEMENTS

    f = _facts(pipeline, _KNEE)
    assert f.scope.kind == "other_operation"
    assert (f.complications_documented, f.ebl_documented, f.indication_documented) == (True, True, True)
    assert set(f.elements) <= set(EVERY_NOTE_ELEMENTS)
    assert {"surgeons", "operation_date"} <= set(f.elements)
    assert "disposition" not in f.elements  # a spine checklist item: not read outside spine operations


def test_a_spine_operation_reads_every_element(pipeline):
    spine = _KNEE.replace("Osteoarthritis, right knee", "Lumbar stenosis L4-L5").replace(
        "Right total knee arthroplasty", "L4-L5 laminectomy and posterior fusion with pedicle screws and rods")
    f = _facts(pipeline, spine)
    assert f.scope.is_spine
    assert "disposition" in f.elements and "ebl" in f.elements


def test_a_spine_scopes_regions_read_once_a_cue_text_are_every_cues(pipeline):
    """ScopeClassifier._spine reads the regions of each distinct cue text once, and once a process (its memo,
    ``_regions_of``: a function of the text alone): the same regions as every cue read where it stands, on the
    spine cues and numbered levels of corpus notes' titles, each cue given twice, the memo warm from the notes
    before."""
    from notechecker.nlp import levels as lv
    from notechecker.nlp.scope import _Cue, _zones
    from notechecker.vertebrae import SPINE_REGIONS, regions as spine_regions
    from tests.corpus_snapshot import corpus

    clf = pipeline.extractor.scope
    seen = 0
    for _, raw, _ in list(corpus())[::3]:
        v = pipeline.extractor.read(pipeline.nlp(pipeline.normalizer(raw).text))
        text = v.text
        title, diag, _ = _zones(text, v.sections)
        cues = [c for a, b in title + diag for c in clf._cues(text, a, b, spine_only=True) + clf._level_cues(text, a, b)]
        if not cues:
            continue
        cues += [_Cue(c.start, c.end, None) for c in cues]
        plain: set[str] = set()
        for c in cues:
            for m in lv.find_levels(text[c.start:c.end], c.start):
                plain.update(spine_regions(m.vertebrae))
            for w in clf._region_rx.findall(text[c.start:c.end]):
                plain.update(clf.spec.region_words[w.lower()])
        scope = clf._spine(text, cues, "the test", lambda c: None)
        assert scope.regions == tuple(r for r in SPINE_REGIONS if r in plain)
        seen += bool(plain)
    assert seen > 30
    assert len(clf._regions_of) > 30  # (the memo holds the texts read; the regions above came through it)


def test_a_level_cue_names_a_span_read_once_a_text_as_read_where_it_stands(pipeline):
    """ScopeClassifier._names_span (whether a level cue's text names a span of vertebrae) remembers each text once
    a process (``_span_of``: a function of the text alone): the same answer as the text read anew, on every
    numbered level of corpus notes, each asked twice (the memo cold, then warm)."""
    from notechecker.nlp import levels as lv
    from notechecker.nlp.scope import ScopeClassifier
    from tests.corpus_snapshot import corpus

    clf = ScopeClassifier(pipeline.extractor.patterns.scope)  # (a memo of its own: cold)
    seen = 0
    for _, raw, _ in list(corpus())[::4]:
        text = pipeline.normalizer(raw).text
        for c in clf._level_cues(text, 0, len(text)):
            said = text[c.start:c.end]
            plain = len(lv.find_levels(said)[0].vertebrae) > 1
            assert clf._names_span(said) == plain and clf._names_span(said) == plain
            seen += plain
    assert seen > 30 and len(clf._span_of) > 30

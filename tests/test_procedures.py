"""Procedures named by the note: a removal named in the procedure title is a removal procedure.

Short notes written for these tests (synthetic, no patient data), and sample notes.
"""
from __future__ import annotations

from pathlib import Path

from notechecker import check

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notes"

_BODY = ("DESCRIPTION OF PROCEDURE: The patient was placed prone. The prior incision was opened and the "
         "hardware exposed. {narrative} The wound was closed in layers.\n"
         "ESTIMATED BLOOD LOSS: 100 mL.\nCOMPLICATIONS: None.\n")


def _rm09(text):
    result = check(text)
    return result, {f.status for r in result.results for f in r.findings if f.item_id == "RM-09"}


def test_hardware_removed_in_the_title_names_the_removal_as_a_procedure():
    text = ("PREOPERATIVE DIAGNOSIS: Painful hardware, L4-L5.\n"
            "OPERATION PERFORMED: Removal of pedicle screws and rods, L4-L5.\n"
            + _BODY.format(narrative="The rods and the four pedicle screws at L4 and L5 were removed."))
    result, status = _rm09(text)
    procs = [p for p in result.facts.procedures if p.kind == "hardware_removal"]
    assert procs and procs[0].evidence.section == "procedures"
    assert text[procs[0].evidence.start:procs[0].evidence.end] == procs[0].evidence.text
    assert "Removal of pedicle screws and rods" in procs[0].evidence.text
    assert status == {"met"}


def test_hardware_removed_only_in_the_narrative_is_not_a_named_procedure():
    """Removal that the title does not name (here: to explore the fusion) gets no removal procedure."""
    text = ("PREOPERATIVE DIAGNOSIS: Possible pseudarthrosis, L4-L5.\n"
            "OPERATION PERFORMED: Exploration of fusion, L4-L5.\n"
            + _BODY.format(narrative="The rods were removed to explore the fusion, which was solid. "
                                     "The rods were then replaced."))
    result, _status = _rm09(text)
    assert not any(p.kind == "hardware_removal" for p in result.facts.procedures)


def test_plate_removal_sample_note_is_not_asked_to_state_its_removal():
    """The README's sample: its title names the removal, so RM-09 must not ask for it."""
    text = (SAMPLES / "sn08_anterior_cervical_plate_removal.txt").read_text(encoding="utf-8")
    _result, status = _rm09(text)
    assert status == {"met"}

"""``notechecker extract``: the facts of each note as JSON Lines (the facts contract)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List

import typer

from .app import app, err
from .inputs import file_notes
from .options import (group_readable_option, max_chars_option, max_memory_option, memory_bytes,
                      note_timeout_option, ocr_page_timeout_option, set_ocr_page_timeout, set_output_mode)


@app.command()
def extract(
    paths: List[Path] = typer.Argument(..., help="Note files (.txt) or folders of them (searched recursively)."),
    output: Path = typer.Option(..., "-o", "--output", help="JSON Lines file to write, one facts object per note."),
    detail: bool = typer.Option(True, help="Include evidence and detail beyond the facts contract."),
    documents: bool = typer.Option(False, "--documents", help="In folders, also read FHIR JSON, HL7 v2, C-CDA "
                                                              "XML, PDF and DOCX documents (files named are "
                                                              "always read by their content)."),
    max_chars: int = max_chars_option(),
    note_timeout: float = note_timeout_option(),
    max_memory: str = max_memory_option(),
    ocr_page_timeout: float = ocr_page_timeout_option(),
    group_readable: bool = group_readable_option(),
):
    """Extract the facts of each note: removal reasons, hardware removed and placed, levels, approach,
    documentation flags, the codes the note supports, and (with --detail) the evidence behind each."""
    set_ocr_page_timeout(ocr_page_timeout)
    set_output_mode(group_readable)
    from ..api import load
    from ..formats.cli import note_suffixes
    from ..formats.guarded import GuardedReader
    from ..io import iter_note_paths
    from ..writers import atomic_writer

    memory = memory_bytes(max_memory)
    pipeline = load()
    n_ok = n_bad = 0
    with GuardedReader(note_timeout or None, memory) as reader, atomic_writer(output) as fh:
        for path in iter_note_paths(paths, note_suffixes(documents)):
            for d in file_notes(path, reader, max_chars):  # a .txt note, or the notes of a document
                if d.error is not None:
                    n_bad += 1
                    err(f"error: {d.error}")
                    fh.write(json.dumps({"note_id": d.note_id, "source": d.source, "error": str(d.error)}) + "\n")
                    continue
                for w in d.warnings:
                    err(f"warning: {w}")
                row = extract_row(pipeline, d.text, d.note_id, detail, d.low_confidence)
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                n_ok += 1
    err(f"{n_ok} notes extracted, {n_bad} errors -> {output}")
    raise typer.Exit(1 if n_bad else 0)


def extract_row(pipeline, text: str, note_id: str, detail: bool, low_confidence=()) -> dict:
    """One note's extract row: its facts and the codes it supports (the same for a .txt note and a document);
    ``low_confidence``: the ranges of words OCR read with low confidence (a scanned document's)."""
    from ..coding import suggest_codes

    facts = pipeline.facts(text, note_id, low_confidence=low_confidence)
    row = facts.to_dict()
    row["suggested_cpt"] = suggest_codes(facts)  # the facts contract key, from the coding result
    return row if detail else {k: v for k, v in row.items() if k in CONTRACT_KEYS}


CONTRACT_KEYS = ("note_id", "removal_reasons", "instruments_removed", "instruments_placed", "levels", "approach",
                 "complications_documented", "ebl_documented", "indication_documented", "imaging_documented",
                 "suggested_cpt")


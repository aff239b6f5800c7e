"""``notechecker check``: one note (a file, a document or standard input), its verdict per code."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..audit import cli_commands as _audit  # the auditor's options (typer only)
from .app import app, err, startup, usage
from .inputs import file_notes, stdin_input_notes
from .options import (max_chars_option, max_memory_option, memory_bytes, note_timeout_option,
                      ocr_page_timeout_option, set_ocr_page_timeout)
from .render import render_check

FAIL_ON = {"error": ("error",), "warning": ("error", "warning"), "never": ()}


@app.command()
def check(
    note: str = typer.Argument(..., help="Note file (.txt, or a FHIR, HL7 v2, C-CDA, PDF or DOCX document), or - "
                                         "to read it from standard input."),
    code: Optional[List[str]] = typer.Option(
        None, "--code", "-c", help="Billed code(s), e.g. --code 22852 --code '22853 x2' (or '22852-59, 22853'). "
                                   "Without --code the codes the note supports are checked."),
    fmt: str = typer.Option("text", "--format", "-f", help="text (for reading) or json (every detail: facts, "
                                                           "findings with evidence, conclusions, verdicts)."),
    fail_on: str = typer.Option("error", "--fail-on", help="Exit 1 when a finding or code problem reaches this "
                                                           "severity: error, warning or never."),
    note_id: Optional[str] = typer.Option(None, "--id", help="Note id to report (default: the file name)."),
    detail: bool = typer.Option(False, "--detail", help="Text: list every documented item with its evidence."),
    query: bool = typer.Option(False, "--query", help="Write a compliant documentation query (AHIMA/ACDIS 2022) per "
                                                      "missing error item, for a coder to send the surgeon (json: "
                                                      "a queries list beside the verdicts)."),
    max_chars: int = max_chars_option(),
    note_timeout: float = note_timeout_option(),
    max_memory: str = max_memory_option(),
    ncci: Optional[List[Path]] = _audit.ncci_option(),
    mue: Optional[Path] = _audit.mue_option(),
    decisions: Optional[Path] = _audit.decisions_option(),
    site: Optional[Path] = _audit.site_option(),
    date: Optional[str] = typer.Option(None, "--date", help="Date of service for --ncci/--mue (default: the "
                                                            "note's operation date, else the newest edits)."),
    ocr_page_timeout: float = ocr_page_timeout_option(),
):
    """Check one note: is each code supported, what is documented, what to add."""
    set_ocr_page_timeout(ocr_page_timeout)
    if fmt not in ("text", "json"):
        raise usage(f"--format must be text or json, not {fmt!r}")
    if fail_on not in FAIL_ON:
        raise usage(f"--fail-on must be error, warning or never, not {fail_on!r}")
    from ..formats.guarded import GuardedReader
    from ..service import read_billed

    codes = read_billed(", ".join(code)) if code else None  # read once: check() uses it as read
    if codes is not None:
        if codes.bad:
            raise usage(f"--code: cannot read {', '.join(repr(b) for b in codes.bad)}; "
                        f"expected e.g. 22852, 22852-59, 22853 x2")
    memory = memory_bytes(max_memory)
    _audit.setup_site(site)
    edits, _ = _audit.setup_edits(ncci, mue)
    decided = _audit.setup_decisions(decisions)
    with GuardedReader(note_timeout or None, memory) as reader:  # a document is read in a worker process
        if note == "-":
            notes = stdin_input_notes(reader, max_chars, note_id)
        else:
            notes = file_notes(Path(note), reader, max_chars, note_id)
    raise typer.Exit(check_notes(notes, codes, fmt, fail_on, note_id, detail, query, edits=edits, date=date,
                                 decided=decided))


def emit(result, text: str | None, fmt: str, detail: bool, query: bool, decided=None) -> None:
    """Print one checked note: JSON (with ``queries`` under --query), the queries, or the check view."""
    if fmt == "json":
        from ..plain import result_dict

        d = result_dict(result, text)
        if decided is not None:
            from ..audit.decisions import decided_dict

            d = decided_dict(d, result, text, decided)
        if query:
            from ..queries import queries

            d["queries"] = [q.to_dict() for q in queries(result, text)]
        typer.echo(json.dumps(d, indent=2, ensure_ascii=False))
    elif query:
        from ..queries import query_text

        typer.echo(query_text(result, text) or f"{result.note_id}: no documentation query: no error item is missing.")
    else:
        render_check(result, text, detail=detail, decisions=decided)


def check_notes(notes, codes, fmt: str, fail_on: str, note_id: str | None, detail: bool = False,
                 query: bool = False, *, edits=None, date: str | None = None, decided=None) -> int:
    """Check the notes of one input (a .txt note, or a document's notes) the one way; the exit code
    (2 when no note could be read). Codes from the document unless --code. ``edits``, ``date``: NCCI/MUE
    edits and the date of service; ``decided``: reviewer decisions (:mod:`notechecker.audit`)."""
    from ..plain import out_of_scope, result_dict
    from ..service import check as check_note

    if any(d.error is None for d in notes):
        from ..api import load

        with startup():
            load()  # the pipeline every note is checked with
    checked, failed = [], 0
    for d in notes:
        if d.error is not None:
            failed += 1
            err(f"error: {d.error}")
            continue
        for w in d.warnings:
            err(f"warning: {w}")
        nid = note_id if note_id and len(notes) == 1 else d.note_id
        checked.append((check_note(d.text, codes if codes is not None else d.codes, note_id=nid, edits=edits,
                                   date_of_service=date, low_confidence=d.low_confidence), d.text))
    if not checked:
        return 2
    if fmt == "json" and len(checked) > 1:
        payload = [result_dict(r, text) for r, text in checked]
        if decided is not None:
            from ..audit.decisions import decided_dict

            payload = [decided_dict(p, r, text, decided) for p, (r, text) in zip(payload, checked)]
        if query:
            from ..queries import queries

            for d, (r, text) in zip(payload, checked):
                d["queries"] = [q.to_dict() for q in queries(r, text)]
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        for i, (r, text) in enumerate(checked):
            if i:
                typer.echo("")
            emit(r, text, fmt, detail, query, decided)
    # an out-of-scope note has no checklist: it fails only when spine codes were billed on it
    worst = [("error" if r.billed else None) if out_of_scope(r) else r.worst_severity() for r, _t in checked]
    if decided is not None:  # what the reviewer overruled no longer fails the check
        from ..audit.decisions import decided_severity

        worst = [w if out_of_scope(r) else decided_severity(r, t, decided) for w, (r, t) in zip(worst, checked)]
    return 1 if any(w in FAIL_ON[fail_on] for w in worst) or failed else 0


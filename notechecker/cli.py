"""notechecker: does a spine operative note document what its CPT codes require?

Check one note before signing it (check), scan a batch of notes for an audit (scan),
report documentation gaps and over- and under-coding (report), or open the page in a
browser (serve). Everything runs on this machine; no note leaves it.

Exit codes: 0 clean, 1 findings at or above --fail-on (check) or unreadable notes
(extract, scan), 2 usage or input error.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="\n\n".join(" ".join(p.split()) for p in __doc__.strip().split("\n\n")))
rules_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Show the checklist catalogue.")
app.add_typer(rules_app, name="rules")


@app.callback()
def _root() -> None:
    """Runs before every command (nothing to do: the help comes from the module docstring)."""


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _usage(msg: str) -> typer.Exit:
    _err(f"error: {msg}")
    return typer.Exit(2)


from .audit import cli_commands as _audit  # noqa: E402 - the auditor's options and commands (typer only)
from .guard import NOTE_TIMEOUT  # noqa: E402 - both light (standard library only)
from .io import MAX_CHARS  # noqa: E402

MAX_CHARS_HELP = "Longest note checked, in characters; a longer one is refused (E104), never cut."


def _max_chars_option():
    return typer.Option(MAX_CHARS, "--max-chars", min=1, help=MAX_CHARS_HELP)


def _max_memory_option():
    return typer.Option("2G", "--max-memory", metavar="SIZE",
                        help="Memory a worker process (reading documents, checking notes) may take beyond the "
                             "pipeline it shares, e.g. 2G or 1500M; past it that document or note is an error "
                             "(E508, E202) and the others go on.")


def _memory(value: str) -> int:
    from .guard import parse_memory

    try:
        return parse_memory(value)
    except (ValueError, IndexError):
        raise _usage(f"--max-memory: expected a size like 2G, 1500M or 512M (at least 64M), not {value!r}") \
            from None


def _note_timeout_option():
    return typer.Option(NOTE_TIMEOUT, "--note-timeout", min=0.0,
                        help="Seconds one note may take; a note over it becomes an error (E204) and the others "
                             "go on. 0: no time budget.")


def _ocr_page_timeout_option():
    return typer.Option(20.0, "--ocr-page-timeout", min=0.1,
                        help="Seconds OCR may take on one scanned page (a PDF page without a text layer), on "
                             "top of the note's budget; a page over it is an error (E532).")


def _set_ocr_page_timeout(seconds: float) -> None:
    from .formats.ocr import set_page_timeout

    set_page_timeout(seconds)


# --------------------------------------------------------------------------- extract
@app.command()
def extract(
    paths: List[Path] = typer.Argument(..., help="Note files (.txt) or folders of them (searched recursively)."),
    output: Path = typer.Option(..., "-o", "--output", help="JSON Lines file to write, one facts object per note."),
    detail: bool = typer.Option(True, help="Include evidence and detail beyond the facts contract."),
    documents: bool = typer.Option(False, "--documents", help="In folders, also read FHIR JSON, HL7 v2, C-CDA "
                                                              "XML, PDF and DOCX documents (files named are "
                                                              "always read by their content)."),
    max_chars: int = _max_chars_option(),
    note_timeout: float = _note_timeout_option(),
    max_memory: str = _max_memory_option(),
    ocr_page_timeout: float = _ocr_page_timeout_option(),
):
    """Extract the facts of each note: removal reasons, hardware removed and placed, levels, approach,
    documentation flags, the codes the note supports, and (with --detail) the evidence behind each."""
    _set_ocr_page_timeout(ocr_page_timeout)
    from .api import load
    from .formats.cli import note_suffixes
    from .formats.guarded import GuardedReader
    from .io import iter_note_paths
    from .writers import atomic_writer

    memory = _memory(max_memory)
    pipeline = load()
    n_ok = n_bad = 0
    with GuardedReader(note_timeout or None, memory) as reader, atomic_writer(output) as fh:
        for path in iter_note_paths(paths, note_suffixes(documents)):
            for d in _file_notes(path, reader, max_chars):  # a .txt note, or the notes of a document
                if d.error is not None:
                    n_bad += 1
                    _err(f"error: {d.error}")
                    fh.write(json.dumps({"note_id": d.note_id, "source": d.source, "error": str(d.error)}) + "\n")
                    continue
                for w in d.warnings:
                    _err(f"warning: {w}")
                row = _extract_row(pipeline, d.text, d.note_id, detail, d.low_confidence)
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                n_ok += 1
    _err(f"{n_ok} notes extracted, {n_bad} errors -> {output}")
    raise typer.Exit(1 if n_bad else 0)


def _file_notes(path: Path, reader, max_chars: int, note_id: str | None = None) -> list:
    """The notes of one file: its document's notes (read by ``reader``), else the ``.txt`` note; an
    unreadable file is one note with its error. The one way extract and check read a file."""
    from .errors import InputError
    from .formats.cli import Note, document_notes
    from .io import read_note

    notes = document_notes(path, reader, max_chars) if path.is_file() else None
    if notes is not None:
        return notes
    try:
        nt = read_note(path, note_id, max_chars=max_chars)
    except InputError as exc:
        return [Note(note_id or path.stem, str(path), None, exc)]
    return [Note(nt.note_id, nt.source, nt.text, None, None, (f"{nt.source}: {nt.warning}",) if nt.warning else ())]


def _extract_row(pipeline, text: str, note_id: str, detail: bool, low_confidence=()) -> dict:
    """One note's extract row: its facts and the codes it supports (the same for a .txt note and a document);
    ``low_confidence``: the ranges of words OCR read with low confidence (a scanned document's)."""
    from .coding import suggest_codes

    facts = pipeline.facts(text, note_id, low_confidence=low_confidence)
    row = facts.to_dict()
    row["suggested_cpt"] = suggest_codes(facts)  # the facts contract key, from the coding result
    return row if detail else {k: v for k, v in row.items() if k in CONTRACT_KEYS}


CONTRACT_KEYS = ("note_id", "removal_reasons", "instruments_removed", "instruments_placed", "levels", "approach",
                 "complications_documented", "ebl_documented", "indication_documented", "imaging_documented",
                 "suggested_cpt")


# --------------------------------------------------------------------------- check
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
    max_chars: int = _max_chars_option(),
    note_timeout: float = _note_timeout_option(),
    max_memory: str = _max_memory_option(),
    ncci: Optional[List[Path]] = _audit.ncci_option(),
    mue: Optional[Path] = _audit.mue_option(),
    decisions: Optional[Path] = _audit.decisions_option(),
    site: Optional[Path] = _audit.site_option(),
    date: Optional[str] = typer.Option(None, "--date", help="Date of service for --ncci/--mue (default: the "
                                                            "note's operation date, else the newest edits)."),
    ocr_page_timeout: float = _ocr_page_timeout_option(),
):
    """Check one note: is each code supported, what is documented, what to add."""
    _set_ocr_page_timeout(ocr_page_timeout)
    if fmt not in ("text", "json"):
        raise _usage(f"--format must be text or json, not {fmt!r}")
    if fail_on not in FAIL_ON:
        raise _usage(f"--fail-on must be error, warning or never, not {fail_on!r}")
    from .errors import InputError
    from .formats.cli import Note, stdin_notes
    from .formats.guarded import GuardedReader
    from .io import byte_cap, check_length, decode, read_capped
    from .service import split_codes

    codes = ", ".join(code) if code else None
    if codes is not None:
        _, bad = split_codes(codes)
        if bad:
            raise _usage(f"--code: cannot read {', '.join(repr(b) for b in bad)}; "
                         f"expected e.g. 22852, 22852-59, 22853 x2")
    memory = _memory(max_memory)
    _audit.setup_site(site)
    edits, _ = _audit.setup_edits(ncci, mue)
    decided = _audit.setup_decisions(decisions)
    with GuardedReader(note_timeout or None, memory) as reader:  # a document is read in a worker process
        if note == "-":
            try:
                data = (read_capped(sys.stdin.buffer, byte_cap(max_chars), "<stdin>", max_chars)
                        if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8", "surrogateescape"))
            except InputError as exc:
                raise _usage(str(exc)) from None
            notes = stdin_notes(data, reader, max_chars)
            if notes is None:  # plain text
                try:
                    text, _enc, warning = decode(data, "<stdin>")
                    check_length(text, "<stdin>", max_chars)
                    notes = [Note(note_id or "stdin", "<stdin>", text, None, None,
                                  (f"<stdin>: {warning}",) if warning else ())]
                except InputError as exc:
                    notes = [Note(note_id or "stdin", "<stdin>", None, exc)]
        else:
            notes = _file_notes(Path(note), reader, max_chars, note_id)
    raise typer.Exit(_check_notes(notes, codes, fmt, fail_on, note_id, detail, query, edits=edits, date=date,
                                  decided=decided))


def _emit(result, text: str | None, fmt: str, detail: bool, query: bool, decided=None) -> None:
    """Print one checked note: JSON (with ``queries`` under --query), the queries, or the check view."""
    if fmt == "json":
        from .plain import result_dict

        d = result_dict(result, text)
        if decided is not None:
            from .audit.decisions import decided_dict

            d = decided_dict(d, result, text, decided)
        if query:
            from .queries import queries

            d["queries"] = [q.to_dict() for q in queries(result, text)]
        typer.echo(json.dumps(d, indent=2, ensure_ascii=False))
    elif query:
        from .queries import query_text

        typer.echo(query_text(result, text) or f"{result.note_id}: no documentation query: no error item is missing.")
    else:
        _render_check(result, text, detail=detail, decisions=decided)


def _check_notes(notes, codes, fmt: str, fail_on: str, note_id: str | None, detail: bool = False,
                 query: bool = False, *, edits=None, date: str | None = None, decided=None) -> int:
    """Check the notes of one input (a .txt note, or a document's notes) the one way; the exit code
    (2 when no note could be read). Codes from the document unless --code. ``edits``, ``date``: NCCI/MUE
    edits and the date of service; ``decided``: reviewer decisions (:mod:`notechecker.audit`)."""
    from .plain import out_of_scope, result_dict
    from .service import check as check_note

    checked, failed = [], 0
    for d in notes:
        if d.error is not None:
            failed += 1
            _err(f"error: {d.error}")
            continue
        for w in d.warnings:
            _err(f"warning: {w}")
        nid = note_id if note_id and len(notes) == 1 else d.note_id
        checked.append((check_note(d.text, codes if codes is not None else d.codes, note_id=nid, edits=edits,
                                   date_of_service=date, low_confidence=d.low_confidence), d.text))
    if not checked:
        return 2
    if fmt == "json" and len(checked) > 1:
        payload = [result_dict(r, text) for r, text in checked]
        if decided is not None:
            from .audit.decisions import decided_dict

            payload = [decided_dict(p, r, text, decided) for p, (r, text) in zip(payload, checked)]
        if query:
            from .queries import queries

            for d, (r, text) in zip(payload, checked):
                d["queries"] = [q.to_dict() for q in queries(r, text)]
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        for i, (r, text) in enumerate(checked):
            if i:
                typer.echo("")
            _emit(r, text, fmt, detail, query, decided)
    # an out-of-scope note has no checklist: it fails only when spine codes were billed on it
    worst = [("error" if r.billed else None) if out_of_scope(r) else r.worst_severity() for r, _t in checked]
    if decided is not None:  # what the reviewer overruled no longer fails the check
        from .audit.decisions import decided_severity

        worst = [w if out_of_scope(r) else decided_severity(r, t, decided) for w, (r, t) in zip(worst, checked)]
    return 1 if any(w in FAIL_ON[fail_on] for w in worst) or failed else 0


def _quote(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "\u2026"
    return f"\u201c{text}\u201d"


_EXAMPLE = re.compile(r"e\.g\.,?\s*(?P<q>['\u2018\"\u201c])(?P<s>.+?)(?:['\u2019\"\u201d])(?=[\s.,;)]|$)")
_MARK = {"error": ("\u2717", "red"), "warning": ("!", "yellow"), "info": ("\u00b7", "dim"), None: ("\u2713", "green")}


def _example(hint: str) -> str:
    """The sentence a fix hint proposes (its first e.g. template), else the hint itself. Shown after
    "complete:" and never in the curly quotes evidence is shown in: it is a request with blanks (___)
    for the surgeon to fill, not something the note says."""
    m = _EXAMPLE.search(hint or "")
    return f"complete: {m.group('s').strip()}" if m else (hint or "")


def _width() -> int:
    try:
        cols = int(os.environ.get("COLUMNS", "") or 0)
    except ValueError:
        cols = 0
    if not cols and sys.stdout.isatty():
        cols = os.get_terminal_size(sys.stdout.fileno()).columns
    return max(60, min(cols or 80, 100))


def _unmet_items(results, codes):
    """Each unmet checklist item once: (finding, codes it is unmet for), most severe first."""
    from .checklists import SEVERITIES

    seen: dict[str, list] = {}
    for r in results:
        for f in r.findings:
            if f.status != "met":
                seen.setdefault(f.item_id, [f, []])[1].append(r.code)
    rows = sorted(seen.values(), key=lambda x: (SEVERITIES.index(x[0].severity), x[0].item_id))
    return [(f, tuple(cs)) for f, cs in rows]


def check_lines(result, text: str | None = None, *, detail: bool = False, width: int = 80,
                decisions=None) -> list[tuple[str, str]]:
    """The surgeon's view of one CheckResult as (style, line) pairs, ``width`` columns wide.

    The verdict for each code first (one per code, from :func:`notechecker.plain.code_verdicts`),
    then each unmet checklist item once with the sentence to add, then what is documented
    (every item with its evidence under ``detail``). ``decisions``: reviewer decisions
    (:mod:`notechecker.audit.decisions`) layered over the verdicts; overruled items are not asked for.
    """
    import textwrap

    from .checklists import load_catalogue
    from .plain import code_verdicts, proof, scope_line, short_descriptor, words

    cat = load_catalogue()
    out: list[tuple[str, str]] = []

    def put(line: str, style: str = "", indent: int = 0, hang: int | None = None) -> None:
        hang = indent if hang is None else hang
        for k, part in enumerate(textwrap.wrap(line, width=width, initial_indent=" " * indent,
                                               subsequent_indent=" " * hang, break_on_hyphens=False) or [""]):
            out.append((style if k == 0 else (style if style in ("red", "yellow", "green", "dim") else ""), part))

    billed = " ".join(result.billed)
    supports = " ".join(dict.fromkeys(result.suggested)) or "none this checker codes"
    put(result.note_id, "bold")
    put(f"Billed: {billed}; codes the note describes: {supports}" if billed else
        f"No codes billed; codes the note describes: {supports}")
    scope = scope_line(result, text)
    if scope:
        put(scope, "red")
        for v in code_verdicts(result, cat, text):
            if v.billed:
                put(f"\u2717 {v.code}: {v.verdict} ({v.reason}).", "red", 2, 4)
        return out
    verdicts = code_verdicts(result, cat, text)
    on_items: dict = {}
    if decisions is not None and text is not None:
        from .audit.decisions import overrule_verdicts
        from .audit.provenance import note_sha256

        verdicts, on_items = overrule_verdicts(verdicts, result, note_sha256(text), decisions)
    if not verdicts:
        put("No code to check: the note describes no procedure this checker codes.")
    said_fits = False
    vocab = words(cat)
    for v in verdicts:
        mark, colour = _MARK.get(v.severity, ("!", "yellow"))
        label = v.verdict.upper()
        room = max(20, width - 8 - len(label) - 2)
        desc = short_descriptor(v.descriptor, room) if v.descriptor else vocab.phrase("no_checklist")
        line = f"{mark} {v.code:<6}{desc}"
        out.append((colour, line + " " * max(1, width - len(line) - len(label)) + label))
        if v.reason.startswith("overruled by"):
            put(v.reason, "", 8)
        elif v.key == "not_supported":
            put(v.reason, "", 8)
            put(vocab.phrase("not_supported_fix", code=v.code, items=", ".join(
                f"{i.id} {i.name}" for i in v.items) or "it"), "", 8)
        elif v.key == "needs_documentation":
            put(v.reason, "", 8)
            if not said_fits:  # said once, for every such code
                put(vocab.phrase("needs_documentation_fix", code=v.code), "", 8)
                said_fits = True
        elif v.key != "supported":
            put(v.reason, "", 8)
        if v.supported or v.key == "coder_review":
            if v.proof is not None:
                put(vocab.phrase("proof") + ": " + _quote(v.proof.text, width - 18), "dim", 8, 15)
            for extra in v.also:
                put("also: " + extra, "", 8, 14)
    superseded = getattr(result.facts, "superseded", ())
    if superseded:  # which statement won: the addendum's, quoting the body's it replaced
        put("")
        put(vocab.phrase("superseded_heading"), "bold")
        for x in superseded:
            put(vocab.phrase("superseded", fact=x.fact.replace("_", " ").replace(":", " "), new=x.new or "-",
                             old=x.old), "", 2, 4)
            put(_quote(x.old_evidence.text, width - 8), "dim", 4, 5)
    supporting = {v.code for v in verdicts if v.supported}
    checked = [r for r in result.results if r.summary.coding_documented is not None and r.code in supporting]
    unmet = _unmet_items(checked, [r.code for r in checked])
    overruled = [(f, cs) for f, cs in unmet if all(on_items.get((c, f.item_id)) is not None and
                                                   on_items[(c, f.item_id)].decision == "overrule" for c in cs)]
    unmet = [x for x in unmet if x not in overruled]
    all_codes = {r.code for r in checked}
    main = [(f, cs) for f, cs in unmet if f.severity in ("error", "warning")]
    info = [(f, cs) for f, cs in unmet if f.severity not in ("error", "warning")]
    if main or info:
        put("")
        put("To add:", "bold")
    for f, cs in main:
        mark, colour = _MARK[f.severity]
        where = "" if set(cs) == all_codes or len(all_codes) < 2 else f" [{' '.join(cs)}]"
        status = "" if f.status == "missing" else f" ({f.status})"
        put(f"{mark} {f.item_id} {f.item_name}{status}{where}", colour, 2, 4)
        if f.status == "conflicting":
            put(f.message, "", 4)
        if f.fix_hint:
            put(_example(f.fix_hint), "dim", 4)
    for f, cs in overruled:
        put(f"\u2713 {f.item_id} {f.item_name}: {on_items[(cs[0], f.item_id)].note()}", "dim", 2, 4)
    if info:
        put("\u00b7 also worth noting: " + ", ".join(
            f"{f.item_id} {f.item_name}" + ("" if set(cs) == all_codes or len(all_codes) < 2 else f" [{' '.join(cs)}]")
            for f, cs in info), "dim", 2, 4)
    met: dict[str, object] = {}
    for r in checked:
        for f in r.met:
            met.setdefault(f.item_id, f)
    if met:
        put("")
        common = sorted(k for k in met if k.startswith("OP-"))
        others = sorted(k for k in met if not k.startswith("OP-"))
        n_common = len({f.item_id for r in checked for f in r.findings if f.item_id.startswith("OP-")})
        if not detail:
            put(f"Documented: {len(met)} items ({len(common)} of {n_common} common op-note items, "
                f"{len(others)} for the codes); --detail quotes each.", "dim")
        else:
            put("Documented:", "bold")
            for k in common + others:
                f = met[k]
                put(f"\u2713 {f.item_id} {f.item_name}", "green", 2, 4)
                if f.evidence:
                    put(_quote(proof(text, f.evidence[0]).text, 2 * width - 10), "dim", 6)
    for w in result.warnings:
        put(f"warning: {w}", "dim")
    return out


def _render_check(result, text: str | None = None, detail: bool = False, decisions=None) -> None:
    """Print :func:`check_lines` (colour on a terminal)."""
    from rich.console import Console
    from rich.markup import escape

    out = Console(highlight=False, soft_wrap=True)
    for style, line in check_lines(result, text, detail=detail, width=_width(), decisions=decisions):
        out.print(f"[{style}]{escape(line)}[/]" if style else escape(line))


# --------------------------------------------------------------------------- scan
@app.command()
def scan(
    inputs: List[Path] = typer.Argument(..., help="Folders of .txt notes, .txt files, or .csv/.tsv/.parquet/.jsonl "
                                                  "tables with a text column."),
    output: Path = typer.Option(..., "-o", "--output", help="RESULTS.parquet, .csv or .jsonl: findings; "
                                                            "RESULTS.notes.* and RESULTS.codes.* beside it."),
    workers: str = typer.Option("1", "--workers", "-w", help="Worker processes, or auto: one for small batches, "
                                                              "one per core where each gets 500+ notes."),
    text_column: str = typer.Option("text", help="Table column holding the note text."),
    id_column: str = typer.Option("note_id", help="Table column holding the note id (else FILE:ROW)."),
    codes_column: Optional[str] = typer.Option(None, help="Billed codes column (default: the first present of "
                                                          "codes, billed_codes, cpt, cpt_codes; any letter case)."),
    surgeon_column: Optional[str] = typer.Option(None, help="Surgeon column (default: surgeon, if present; else "
                                                            "the surgeon heading of the note)."),
    date_column: Optional[str] = typer.Option(None, help="Date of service column (default: the first present of "
                                                         "date, date_of_service, service_date; else the date "
                                                         "heading of the note)."),
    site_column: Optional[str] = typer.Option(None, help="Site column (default: the first present of site, "
                                                         "facility)."),
    redact_evidence: bool = typer.Option(False, "--redact-evidence", help="Leave evidence_text empty."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress",
                                            help="Progress bar on stderr (default: when stderr is a terminal)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted scan from its checkpoint "
                                                        "(RESULTS.ext.partial/); same inputs and options."),
    chunk_size: int = typer.Option(32, "--chunk-size", min=1, help="Notes per chunk (checkpointed unit)."),
    documents: bool = typer.Option(False, "--documents", help="In folders, also read FHIR JSON, HL7 v2, C-CDA "
                                                              "XML, PDF and DOCX documents (files named are "
                                                              "always read by their content)."),
    note_timeout: float = _note_timeout_option(),
    max_chars: int = _max_chars_option(),
    max_memory: str = _max_memory_option(),
    ocr_page_timeout: float = _ocr_page_timeout_option(),
    engine: str = typer.Option("local", "--engine", help="local (processes on this machine) or spark (Apache "
                                                         "Spark: pip install 'notechecker[spark]')."),
    spark_master: Optional[str] = typer.Option(
        None, "--spark-master", help="Spark master URL for --engine spark (default: spark-submit's --master or "
                                     "spark-defaults.conf, else local[*])."),
    ncci: Optional[List[Path]] = _audit.ncci_option(),
    mue: Optional[Path] = _audit.mue_option(),
    decisions: Optional[Path] = _audit.decisions_option(),
    site: Optional[Path] = _audit.site_option(),
    rvu: Optional[Path] = _audit.rvu_option(),
    rvu_column: str = _audit.rvu_column_option(),
    weights: Optional[str] = _audit.weights_option(),
):
    """Check a batch of notes; write findings, notes and codes tables.

    Finished chunks are kept in RESULTS.ext.partial/ until the tables are written, so a
    killed scan can be continued with --resume; the tables are then the same, byte for
    byte, as an uninterrupted scan's. Exit codes: 0 every note read, 1 some notes are
    error rows, 2 usage, checkpoint, output error or a bug (E203), 130 interrupted.
    """
    _set_ocr_page_timeout(ocr_page_timeout)
    from .batch import Columns, output_paths, run
    from .errors import NoteCheckerError

    if workers != "auto" and not (workers.isdigit() and int(workers) >= 1):
        raise _usage(f"--workers must be a number of processes (1 or more) or auto, not {workers!r}")

    try:
        output_paths(output)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    for p in inputs:
        if not p.exists():
            raise _usage(f"{p}: no such file or folder")
    if progress is None:
        progress = sys.stderr.isatty()
    cols = Columns(text=text_column, id=id_column, codes=codes_column, surgeon=surgeon_column, date=date_column,
                   site=site_column)
    if workers != "auto" and not (workers.isdigit() and int(workers) >= 1):
        raise _usage(f"--workers must be a whole number from 1 up, or auto, not {workers!r}")
    n_workers = workers if workers == "auto" else int(workers)
    memory = _memory(max_memory)
    overrides = _audit.setup_site(site)
    edits, problems = _audit.setup_edits(ncci, mue)
    decided = _audit.setup_decisions(decisions)
    wl_weights, rvu_values = _audit.setup_worklist(weights, rvu, rvu_column)
    transform, used = None, set()
    if decided is not None:
        from .audit.decisions import apply_rows

        problems += list(decided.problems)

        def transform(rows, decided=decided, used=used):
            return apply_rows(rows, decided, used)
    spark_run = _spark_engine(engine, spark_master, n_workers)
    try:
        summary = run(inputs, output, columns=cols, workers=n_workers,
                      chunk_size=chunk_size,
                      redact_evidence=redact_evidence, progress=progress, resume=resume,
                      note_timeout=note_timeout or None, max_chars=max_chars, max_memory=memory,
                      warn=lambda m: _err(f"warning: {m}"), error=lambda m: _err(f"error: {m}"),
                      documents=documents, engine=spark_run.engine if spark_run else None, transform=transform)
    except NoteCheckerError as exc:
        raise _usage(str(exc)) from None
    except OSError as exc:
        raise _usage(f"{exc.filename or output}: cannot write results ({exc.strerror or exc})") from None
    except KeyboardInterrupt:
        _err("interrupted: the finished chunks are kept; rerun the same command with --resume to continue")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: name it, but never print its message (it may quote a note)
        from .errors import describe_failure

        _err(f"error: [E203] scan failed: {describe_failure(exc)} (a bug; please report it); the finished "
             f"chunks are kept, rerun with --resume to continue")
        raise typer.Exit(2) from None
    finally:
        if spark_run:
            spark_run.close()
    if summary.resumed:
        _err(f"resumed: {summary.resumed} notes from the checkpoint, {summary.notes - summary.resumed} checked now")
    if decided is not None:
        from .audit.decisions import unused

        for p in unused(decided, used):
            _err(f"warning: {p.message}")
            problems.append(p)
    bad_inputs = _audit.after_scan(summary.outputs["findings"], edits=edits, decisions=decided, problems=problems,
                                   overrides=overrides, weights=wl_weights, rvu=rvu_values)
    _err(summary.line())
    _err("wrote " + ", ".join(str(p) for p in summary.outputs.values()))
    raise typer.Exit(1 if summary.errors or bad_inputs else 0)


class _SparkRun:
    """scan --engine spark: the session (stopped at the end when scan started it) and its engine."""

    def __init__(self, master: Optional[str]):
        from pyspark.sql import SparkSession

        from .spark import SparkEngine, session

        self.owned = SparkSession.getActiveSession() is None
        self.spark = session(master)
        self.engine = SparkEngine(self.spark)

    def close(self) -> None:
        if self.owned:
            self.spark.stop()


def _spark_engine(engine: str, master: Optional[str], workers: int | str) -> Optional[_SparkRun]:
    if engine not in ("local", "spark"):
        raise _usage(f"--engine must be local or spark, not {engine!r}")
    if engine == "local":
        if master:
            raise _usage("--spark-master needs --engine spark")
        return None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise _usage("--engine spark needs pyspark: pip install 'notechecker[spark]'") from None
    if workers not in (1, "auto"):
        _err("warning: --workers applies to the local engine; Spark runs one task per core it is given")
    try:
        spark_run = _SparkRun(master)
    except Exception as exc:  # no Java, a bad master URL, a cluster out of reach
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else exc.__class__.__name__
        raise _usage(f"cannot start Spark ({first}); --engine spark needs Java 17 or later (JAVA_HOME) "
                     f"and a reachable --spark-master") from None
    conf = spark_run.spark.conf
    _err(f"spark: master {conf.get('spark.master', '?')}, {spark_run.engine.partitions} partitions a wave, "
         f"app {conf.get('spark.app.name', '?')}")
    return spark_run


# --------------------------------------------------------------------------- errors
@app.command("errors")
def errors_cmd(code: Optional[str] = typer.Argument(None, metavar="[CODE]",
                                                    help="An error code (E104, [E104]) or a former one (NC1xx, NC6xx).")):
    """What an error code means: one code, or the whole catalogue (E0xx data ... E7xx web)."""
    from .errors import CATALOGUE, lookup

    entries = lookup(code) if code else list(CATALOGUE.values())
    if not entries:
        raise _usage(f"{code!r} is not an error code of notechecker (codes are E and three digits: "
                     "`notechecker errors` lists them)")
    for e in entries:
        was = f"  (formerly {e.formerly})" if e.formerly else ""
        typer.echo(f"{e.code}  {e.meaning}{was}")


# --------------------------------------------------------------------------- rules
@rules_app.command("list")
def rules_list(code: Optional[str] = typer.Option(None, "--code", help="Only the items checked for this code.")):
    """List checklist items (id, tier, severity, name), per checklist or for one code."""
    from rich.console import Console
    from rich.markup import escape

    from .checklists import load_catalogue

    cat = load_catalogue()
    out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    if code:
        code = code.strip().upper()
        items = cat.items_for(code)
        if not items:
            raise _usage(f"no checklist covers code {code!r}; codes with checklists: "
                         f"{', '.join(sorted(c for cl in cat.checklists.values() for c in cl.codes))}")
        info = cat.table.codes.get(code)
        out.print(f"[bold]{code}[/] {escape(info.descriptor if info else '')} "
                  f"(checklist {cat.family_of(code)}): {len(items)} items")
        for it in items:
            out.print(_item_line(it))
        return
    for cl in cat.checklists.values():
        codes = " ".join(cl.codes) if cl.codes else "all codes that extend it"
        out.print(f"\n[bold]{escape(cl.name)}[/]: {escape(cl.title)}  [dim]({escape(codes)}; {escape(cl.file)})[/]")
        for it in cl.items:
            out.print(_item_line(it))
    out.print("\n[bold]coding rules[/]: bundling, code choice, modifiers, diagnosis links  "
              "[dim](patterns/codes/bundling.yaml)[/]")
    from .coding import messages

    label = messages(cat).label
    for r in cat.bundling:
        out.print(f"  {r.id}  {r.kind.replace('_', ' '):<11} {label(r.verdict):<33} {escape(r.name)}")


def _item_line(it) -> str:
    from rich.markup import escape

    only = f"  [dim]codes {' '.join(sorted(it.codes))}[/]" if it.codes else ""
    return f"  {it.id}  {it.tier:<9} {it.severity:<7} {escape(it.name)}{only}"


@rules_app.command("show")
def rules_show(ident: str = typer.Argument(..., metavar="CODE_OR_ITEM_ID", help="A code (22852) or item (RM-03).")):
    """Show one checklist item in full, or the checklist of one code."""
    from rich.console import Console
    from rich.markup import escape

    from .checklists import load_catalogue

    cat = load_catalogue()
    out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    key = ident.strip().upper()
    rule = next((r for r in cat.bundling if r.id == key), None)
    if rule is not None:
        out.print(f"[bold]{rule.id}[/] {escape(rule.name)}")
        from .coding import messages

        for k, v in (("kind", rule.kind.replace("_", " ")), ("verdict", messages(cat).label(rule.verdict)),
                     ("codes", " ".join(rule.codes)),
                     ("rule", rule.text), ("does", rule.does)):
            out.print(f"  [dim]{k:<10}[/] {escape(v)}")
        return
    if key in cat.items or key in cat.aliases:
        it = cat.item(key)
        out.print(f"[bold]{it.id}[/] {escape(it.name)}")
        rows = [("checklist", f"{it.checklist} ({it.file})"), ("tier", it.tier), ("severity", it.severity),
                ("codes", " ".join(sorted(it.codes)) if it.codes else "every code of the checklist"),
                ("what", it.description), ("why", it.rationale), ("fix hint", it.fix_hint)]
        if it.aliases:
            rows.append(("old ids", " ".join(it.aliases)))
        for c in it.conflicts:
            rows.append(("conflict", (f"[{' '.join(sorted(c.codes))}] " if c.codes else "") + c.message))
        rows += [("reference", r) for r in it.references]
        for k, v in rows:
            out.print(f"  [dim]{k:<10}[/] {escape(v)}")
        return
    items = cat.items_for(key)
    info = cat.table.codes.get(key)
    if not items and info is None:
        raise _usage(f"{ident!r} is neither a checklist item id (like RM-03) nor a code with a checklist")
    out.print(f"[bold]{key}[/] {escape(info.descriptor if info else '')}")
    if info:
        out.print(f"  [dim]family[/] {info.family}  [dim]unit[/] {info.unit}  [dim]add-on[/] "
                  f"{'yes' if info.add_on else 'no'}")
    if not items:
        out.print("  No checklist covers this code.")
        return
    cl = cat.checklists[cat.family_of(key)]
    out.print(f"  [dim]checklist[/] {escape(cl.name)}: {escape(cl.title)} ({escape(cl.file)})")
    for it in items:
        out.print(_item_line(it))
        out.print(f"      [dim]{escape(it.description)}[/]")


# --------------------------------------------------------------------------- serve, report
@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (localhost by default)."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port."),
    allowed_host: Optional[List[str]] = typer.Option(
        None, "--allowed-host", help="Another host name the service answers to (besides localhost, 127.0.0.1, "
                                     "[::1] and --host); requests naming any other Host get 421."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Worker processes checking notes in parallel."),
    note_timeout: float = _note_timeout_option(),
    max_chars: int = _max_chars_option(),
    max_memory: str = _max_memory_option(),
    token_file: Optional[Path] = typer.Option(None, "--token-file", help="Bearer tokens for the page and "
                                              "/api/check, one 'name: token' a line (32+ characters)."),
    jwks: Optional[Path] = typer.Option(None, "--jwks", help="CDS Hooks: the EHR's public keys (a JWK set file)."),
    jku: Optional[List[str]] = typer.Option(None, "--jku", help="CDS Hooks: a key-set URL the EHR's JWT may "
                                            "name (jku), fetched with a timeout and cached; repeat for more."),
    issuer: Optional[List[str]] = typer.Option(None, "--issuer", help="CDS Hooks: an allowed JWT issuer (iss); "
                                               "repeat for more."),
    public_url: Optional[str] = typer.Option(None, "--public-url", help="CDS Hooks: this service's URL as the EHR "
                                             "calls it (the JWT's aud), e.g. behind a proxy."),
):
    """Serve the one-page note checker in a browser (and CDS Hooks for an EHR).

    Beyond 127.0.0.1 only with authentication: --token-file and/or the CDS Hooks JWT options."""
    from .web.auth import Auth, ConfigError, load_jwks, load_tokens
    from .web.server import run as run_server

    memory = _memory(max_memory)
    try:
        auth = Auth(tokens=load_tokens(token_file) if token_file else {},
                    jwks=load_jwks(jwks) if jwks else None, jku=tuple(jku or ()), issuers=tuple(issuer or ()),
                    public_url=public_url or "")
        auth.check_config()
        run_server(host=host, port=port, allowed_hosts=tuple(allowed_host or ()), workers=workers,
                   note_timeout=note_timeout or None, max_chars=max_chars, auth=auth, max_memory=memory)
    except (ConfigError, ValueError) as exc:
        raise _usage(str(exc)) from None


@app.command()
def report(
    results: Path = typer.Argument(..., help="Findings table written by scan (RESULTS.parquet/.csv/.jsonl)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="HTML report to write (default gap-report.html, unless only "
                                               "--fhir is asked for)."),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Also write an Excel workbook."),
    fhir: Optional[Path] = typer.Option(None, "--fhir", help="Write a FHIR R4 Bundle of MeasureReports (one per "
                                                             "note and code, Da Vinci coding-gap shape) as JSON."),
    min_notes: int = typer.Option(5, "--min-notes", min=1, help="Rank a surgeon or site only with at least this "
                                                                  "many notes; the others are pooled in one row."),
    decisions: Optional[Path] = _audit.decisions_option(),
    rvu: Optional[Path] = _audit.rvu_option(),
    rvu_column: str = _audit.rvu_column_option(),
    weights: Optional[str] = _audit.weights_option(),
):
    """Build the documentation gap report (HTML, optional Excel, optional FHIR) from scan results."""
    from .errors import NoteCheckerError

    if output is None and fhir is None:
        output = Path("gap-report.html")
    written = []
    try:
        if output is not None:
            from .report import build_report

            decided = _audit.setup_decisions(decisions)
            wl_weights, rvu_values = _audit.setup_worklist(weights, rvu, rvu_column)
            build_report(results, output, xlsx_path=xlsx, min_notes=min_notes, decisions=decided,
                         weights=wl_weights, rvu=rvu_values, warn=lambda m: _err(f"warning: {m}"))
            written += [str(output)] + ([str(xlsx)] if xlsx else [])
        elif xlsx is not None:
            raise _usage("--xlsx needs the HTML report too: give -o gap-report.html")
        if fhir is not None:
            from .report.fhir import write_fhir

            n = write_fhir(results, fhir)
            written.append(f"{fhir} ({n} MeasureReports)")
    except NoteCheckerError as exc:
        raise _usage(str(exc)) from None
    _err("wrote " + " and ".join(written))


_audit.register(app)  # notechecker decisions summary|export, notechecker verify


def main() -> None:  # console-script entry point
    from .errors import NoteCheckerError

    try:
        app()
    except NoteCheckerError as exc:  # a bad data or rule file met at start-up: its code, file and rule, no traceback
        _err(f"error: {exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()

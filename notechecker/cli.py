"""Command line: a thin typer layer over notechecker's functions.

Heavy imports (spaCy, medspaCy, pandas) happen inside the commands, so ``--help`` is
fast. Exit codes: 0 clean, 1 findings at or above --fail-on (check) or bad notes
(extract, scan), 2 usage or input error.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])
rules_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Show the checklist catalogue.")
app.add_typer(rules_app, name="rules")


@app.callback()
def _root() -> None:
    """notechecker: does a spine operative note document what its CPT codes require?"""


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _usage(msg: str) -> typer.Exit:
    _err(f"error: {msg}")
    return typer.Exit(2)


# --------------------------------------------------------------------------- extract
@app.command()
def extract(
    paths: List[Path] = typer.Argument(..., help="Note files (.txt) or folders of them (searched recursively)."),
    output: Path = typer.Option(..., "-o", "--output", help="JSON Lines file to write, one facts object per note."),
    detail: bool = typer.Option(True, help="Include evidence and detail beyond the facts contract."),
):
    """Extract the facts of each note (facts contract, ../shared/eval/FACTS.md)."""
    from .api import load
    from .errors import InputError
    from .io import iter_note_paths, read_note
    from .writers import atomic_writer

    pipeline = load()
    n_ok = n_bad = 0
    with atomic_writer(output) as fh:
        for path in iter_note_paths(paths):
            try:
                note = read_note(path)
            except InputError as exc:
                n_bad += 1
                _err(f"error: {exc}")
                fh.write(json.dumps({"note_id": path.stem, "source": str(path), "error": str(exc)}) + "\n")
                continue
            if note.warning:
                _err(f"warning: {note.source}: {note.warning}")
            facts = pipeline.facts(note.text, note.note_id)
            row = facts.to_dict() if detail else {k: v for k, v in facts.to_dict().items()
                                                 if k in CONTRACT_KEYS}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n_ok += 1
    _err(f"{n_ok} notes extracted, {n_bad} errors -> {output}")
    raise typer.Exit(1 if n_bad else 0)


CONTRACT_KEYS = ("note_id", "removal_reasons", "instruments_removed", "instruments_placed", "levels", "approach",
                 "complications_documented", "ebl_documented", "indication_documented", "imaging_documented",
                 "suggested_cpt")


# --------------------------------------------------------------------------- check
FAIL_ON = {"error": ("error",), "warning": ("error", "warning"), "never": ()}


@app.command()
def check(
    note: str = typer.Argument(..., help="Note file (.txt), or - to read the note from standard input."),
    code: Optional[List[str]] = typer.Option(
        None, "--code", "-c", help="Billed code(s), e.g. --code 22852 --code '22853 x2' (or '22852-59, 22853'). "
                                   "Without --code the codes the note supports are checked."),
    fmt: str = typer.Option("text", "--format", "-f", help="text (for reading) or json (CheckResult.to_dict())."),
    fail_on: str = typer.Option("error", "--fail-on", help="Exit 1 when a finding or code problem reaches this "
                                                           "severity: error, warning or never."),
    note_id: Optional[str] = typer.Option(None, "--id", help="Note id to report (default: the file name)."),
):
    """Check one note: is each code supported, what is documented, what to add."""
    if fmt not in ("text", "json"):
        raise _usage(f"--format must be text or json, not {fmt!r}")
    if fail_on not in FAIL_ON:
        raise _usage(f"--fail-on must be error, warning or never, not {fail_on!r}")
    from .errors import InputError
    from .io import decode, read_note
    from .service import check as check_note, split_codes

    codes = ", ".join(code) if code else None
    if codes is not None:
        _, bad = split_codes(codes)
        if bad:
            raise _usage(f"--code: cannot read {', '.join(repr(b) for b in bad)}; "
                         f"expected e.g. 22852, 22852-59, 22853 x2")
    try:
        if note == "-":
            text, _enc, warning = decode(sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer")
                                         else sys.stdin.read().encode("utf-8", "surrogateescape"), "<stdin>")
            nid = note_id or "stdin"
        else:
            nt = read_note(note, note_id)
            text, warning, nid = nt.text, nt.warning, nt.note_id
    except InputError as exc:
        raise _usage(str(exc)) from None
    if warning:
        _err(f"warning: {note if note != '-' else '<stdin>'}: {warning}")
    result = check_note(text, codes, note_id=nid)
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        _render_check(result)
    worst = result.worst_severity()
    raise typer.Exit(1 if worst in FAIL_ON[fail_on] else 0)


def _quote(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "\u2026"
    return f"\u201c{text}\u201d"


def _render_check(result) -> None:
    """Human text for one CheckResult: per code supported or not, what to add, code problems."""
    from rich.console import Console
    from rich.markup import escape

    from .checklists import load_catalogue

    table = load_catalogue().table
    out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    origin = "billed" if result.billed else "suggested from the note"
    out.print(f"[bold]{escape(result.note_id)}[/]  codes checked ({origin}): "
              f"{escape(' '.join(result.codes)) or 'none'}")
    if result.billed:
        out.print(f"  billed: {escape(' '.join(result.billed))}   suggested: "
                  f"{escape(' '.join(result.suggested)) or 'none'}")
    if not result.codes:
        out.print("  No codes billed and none suggested: the note describes no procedure this checker codes.")
    for r in result.results:
        info = table.codes.get(r.code)
        name = info.descriptor if info else "no checklist"
        s = r.summary
        if s.supported is None:
            state = "[yellow]NOT CHECKED[/] (no checklist for this code)"
        elif s.supported:
            state = "[green]SUPPORTED[/]"
        else:
            state = "[red]NOT SUPPORTED[/]"
        out.print()
        out.print(f"[bold]{r.code}[/] {escape(name)}: {state}"
                  + (f"  {s.met}/{s.evaluated} items documented" if s.evaluated else ""))
        unmet = r.unmet
        if unmet:
            out.print("  [bold]To add:[/]")
            for f in unmet:
                colour = {"error": "red", "warning": "yellow"}.get(f.severity, "dim")
                status = "" if f.status == "missing" else f" ({f.status})"
                out.print(f"  [{colour}]\u2717 {f.severity:<7}[/] {f.item_id} {escape(f.item_name)}{status}")
                if f.status == "conflicting":
                    out.print(f"      {escape(f.message)}")
                if f.fix_hint:
                    out.print(f"      [dim]\u2192[/] {escape(f.fix_hint)}")
        if r.met:
            out.print("  [bold]Documented:[/]")
            for f in r.met:
                quote = _quote(f.evidence[0].text) if f.evidence else ""
                out.print(f"  [green]\u2713[/] {f.item_id} {escape(f.item_name)}  [dim]{escape(quote)}[/]")
    problems = result.problems
    out.print()
    if problems:
        out.print("[bold]Code problems:[/]")
        for c in problems:
            codes = " ".join(c.codes)
            out.print(f"  [yellow]![/] {c.verdict.replace('_', ' ')}"
                      f"{f' ({escape(codes)})' if codes else ''}: {escape(c.message)}")
    else:
        out.print("[bold]Code problems:[/] none")
    for w in result.warnings:
        out.print(f"[dim]warning: {escape(w)}[/]")


# --------------------------------------------------------------------------- scan
@app.command()
def scan(
    inputs: List[Path] = typer.Argument(..., help="Folders of .txt notes, .txt files, or .csv/.tsv/.parquet/.jsonl "
                                                  "tables with a text column."),
    output: Path = typer.Option(..., "-o", "--output", help="RESULTS.parquet, .csv or .jsonl: findings; "
                                                            "RESULTS.notes.* and RESULTS.codes.* beside it."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Worker processes (each loads the pipeline)."),
    text_column: str = typer.Option("text", help="Table column holding the note text."),
    id_column: str = typer.Option("note_id", help="Table column holding the note id (else FILE:ROW)."),
    codes_column: Optional[str] = typer.Option(None, help="Billed codes column (default: codes, if present)."),
    surgeon_column: Optional[str] = typer.Option(None, help="Surgeon column (default: surgeon, if present)."),
    date_column: Optional[str] = typer.Option(None, help="Date of service column (default: date, if present)."),
    site_column: Optional[str] = typer.Option(None, help="Site column (default: site, if present)."),
    redact_evidence: bool = typer.Option(False, "--redact-evidence", help="Leave evidence_text empty."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress",
                                            help="Progress bar on stderr (default: when stderr is a terminal)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted scan from its checkpoint "
                                                        "(RESULTS.ext.partial/); same inputs and options."),
    chunk_size: int = typer.Option(32, "--chunk-size", min=1, help="Notes per chunk (checkpointed unit)."),
    engine: str = typer.Option("local", "--engine", help="local (processes on this machine) or spark (Apache "
                                                         "Spark: pip install 'notechecker[spark]')."),
    spark_master: Optional[str] = typer.Option(
        None, "--spark-master", help="Spark master URL for --engine spark (default: spark-submit's --master or "
                                     "spark-defaults.conf, else local[*])."),
):
    """Check a batch of notes; write findings, notes and codes tables.

    Finished chunks are kept in RESULTS.ext.partial/ until the tables are written, so a
    killed scan can be continued with --resume; the tables are then the same, byte for
    byte, as an uninterrupted scan's. Exit codes: 0 every note read, 1 some notes are
    error rows, 2 usage, checkpoint, output error or a bug (E203), 130 interrupted.
    """
    from .batch import Columns, output_paths, run
    from .errors import NoteCheckerError

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
    spark_run = _spark_engine(engine, spark_master, workers)
    try:
        summary = run(inputs, output, columns=cols, workers=workers, chunk_size=chunk_size,
                      redact_evidence=redact_evidence, progress=progress, resume=resume,
                      warn=lambda m: _err(f"warning: {m}"), error=lambda m: _err(f"error: {m}"),
                      engine=spark_run.engine if spark_run else None)
    except NoteCheckerError as exc:
        raise _usage(str(exc)) from None
    except OSError as exc:
        raise _usage(f"{exc.filename or output}: cannot write results ({exc.strerror or exc})") from None
    except KeyboardInterrupt:
        _err("interrupted: the finished chunks are kept; rerun the same command with --resume to continue")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: name it, but never print its message (it may quote a note)
        from .batch import describe_failure

        _err(f"error: [E203] scan failed: {describe_failure(exc)} (a bug; please report it); the finished "
             f"chunks are kept, rerun with --resume to continue")
        raise typer.Exit(2) from None
    finally:
        if spark_run:
            spark_run.close()
    if summary.resumed:
        _err(f"resumed: {summary.resumed} notes from the checkpoint, {summary.notes - summary.resumed} checked now")
    _err(summary.line())
    _err("wrote " + ", ".join(str(p) for p in summary.outputs.values()))
    raise typer.Exit(1 if summary.errors else 0)


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


def _spark_engine(engine: str, master: Optional[str], workers: int) -> Optional[_SparkRun]:
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
    if workers != 1:
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
):
    """Serve the one-page note checker in a browser."""
    from .web.server import run as run_server

    run_server(host=host, port=port)


@app.command()
def report(
    results: Path = typer.Argument(..., help="Findings table written by scan (RESULTS.parquet/.csv/.jsonl)."),
    output: Path = typer.Option(Path("gap-report.html"), "-o", "--output", help="HTML report to write."),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Also write an Excel workbook."),
):
    """Build the documentation gap report (HTML, optional Excel) from scan results."""
    from .errors import NoteCheckerError
    from .report import build_report

    try:
        build_report(results, output, xlsx_path=xlsx)
    except NoteCheckerError as exc:
        raise _usage(str(exc)) from None
    _err(f"wrote {output}" + (f" and {xlsx}" if xlsx else ""))


def main() -> None:  # console-script entry point
    # notechecker's own process: medspaCy without its unused eager back-ends (start-up),
    # inherited by scan's worker processes and the web server
    os.environ.setdefault("NOTECHECKER_LIGHT_MEDSPACY", "1")
    app()


if __name__ == "__main__":
    main()

"""Command line: a thin typer layer over notechecker's functions.

Heavy imports (spaCy, medspaCy) happen inside the commands, so ``--help`` is fast.
Exit codes: 0 clean, 1 findings at or above --fail-on (check) or bad notes (extract,
scan), 2 usage or input error.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])


@app.callback()
def _root() -> None:
    """notechecker: does a spine operative note document what its CPT codes require?"""


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


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


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":
    main()

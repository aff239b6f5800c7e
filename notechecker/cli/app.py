"""notechecker: does a spine operative note document what its CPT codes require?

Check one note before signing it (check), scan a batch of notes for an audit (scan),
report documentation gaps and over- and under-coding (report), or open the page in a
browser (serve). Everything runs on this machine; no note leaves it.

Exit codes: 0 clean, 1 findings at or above --fail-on (check) or unreadable notes
(extract, scan), 2 usage or input error.
"""
from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="\n\n".join(" ".join(p.split()) for p in __doc__.strip().split("\n\n")))
rules_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Show the checklist catalogue.")
app.add_typer(rules_app, name="rules")


@app.callback()
def _root() -> None:
    """Runs before every command (nothing to do: the help comes from the module docstring)."""


def err(msg: str) -> None:
    """A line on standard error (never a note's text)."""
    typer.echo(msg, err=True)


def usage(msg: str) -> typer.Exit:
    """Say a usage or input error; the exit (code 2) for the caller to raise."""
    err(f"error: {msg}")
    return typer.Exit(2)

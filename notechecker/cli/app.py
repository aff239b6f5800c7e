"""notechecker: does a spine operative note document what its CPT codes require?

Check one note before signing it (check), scan a batch of notes for an audit (scan),
report documentation gaps and over- and under-coding (report), or open the page in a
browser (serve). Everything runs on this machine; no note leaves it.

Exit codes: 0 clean, 1 findings at or above --fail-on (check) or unreadable notes
(extract, scan), 2 usage or input error.
"""
from __future__ import annotations

import contextlib
import gc

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


#: Whether this process has started a command already (startup() freezes the heap once, not again: a
#: second freeze in a long-lived process would keep its garbage of the meantime for good).
_STARTED = False


@contextlib.contextmanager
def startup():
    """A command's start-up (its imports, building the pipeline) with Python's garbage collector paused, then
    what it built frozen: start-up makes some 160,000 objects the collector tracks, which live as long as the
    command, and no garbage worth collecting, so each collection the allocations would trigger scans them all
    again for nothing (a cold ``check`` spent about a fifth of its time there). Frozen (``gc.freeze``), later collections
    and the one at exit skip them; the collector runs on as it did before."""
    global _STARTED
    if _STARTED:  # a process that already started a command (a test runner, a notebook): nothing to save
        yield
        return
    _STARTED = True
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()

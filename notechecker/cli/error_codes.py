"""``notechecker errors``: what an error code means."""
from __future__ import annotations

from typing import Optional

import typer

from .app import app, usage


@app.command("errors")
def errors_cmd(code: Optional[str] = typer.Argument(None, metavar="[CODE]",
                                                    help="An error code (E104, [E104]) or a former one (NC1xx, NC6xx).")):
    """What an error code means: one code, or the whole catalogue (E0xx data ... E7xx web)."""
    from ..errors import CATALOGUE, lookup

    entries = lookup(code) if code else list(CATALOGUE.values())
    if not entries:
        raise usage(f"{code!r} is not an error code of notechecker (codes are E and three digits: "
                     "`notechecker errors` lists them)")
    for e in entries:
        was = f"  (formerly {e.formerly})" if e.formerly else ""
        typer.echo(f"{e.code}  {e.meaning}{was}")


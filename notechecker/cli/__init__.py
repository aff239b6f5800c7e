"""The command line: one module per command (``extract``, ``check``, ``scan``, ``errors``, ``rules``,
``serve``, ``report``; ``decisions`` and ``verify`` from :mod:`notechecker.audit.cli_commands`), the
terminal renderer (:mod:`.render`), input sniffing (:mod:`.inputs`), the Spark wiring
(:mod:`.spark_engine`) and the shared options (:mod:`.options`). Every command imports what its work
needs inside its function, so ``notechecker --help`` and ``check`` start without the rest."""
from __future__ import annotations

from ..audit import cli_commands as _audit
# each command module registers its command, in the order of --help
from . import extract, check, scan, error_codes, rules, serve, report  # noqa: F401,I001
from .app import app
from .render import check_lines

_audit.register(app)  # notechecker decisions summary|export, notechecker verify

__all__ = ["app", "check_lines", "main"]


def main() -> None:  # console-script entry point
    app()

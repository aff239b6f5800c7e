"""``python -m notechecker.web [--host 127.0.0.1] [--port 8000]``: serve the page and API."""
from __future__ import annotations

import argparse

from ..guard import NOTE_TIMEOUT
from ..io import MAX_CHARS
from .server import DEFAULT_WORKERS, run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m notechecker.web", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1, this computer only).")
    parser.add_argument("--port", type=int, default=8000, help="Port (default 8000).")
    parser.add_argument("--max-bytes", type=int, default=None, help="Largest request body accepted.")
    parser.add_argument("--allowed-host", action="append", default=[],
                        help="Another host name to answer to (besides localhost and --host); repeatable.")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="Worker processes checking notes.")
    parser.add_argument("--note-timeout", type=float, default=NOTE_TIMEOUT,
                        help="Seconds one note may take (503 past it; 0: no budget).")
    parser.add_argument("--max-chars", type=int, default=MAX_CHARS, help="Longest note accepted, in characters.")
    args = parser.parse_args(argv)
    run(args.host, args.port, max_bytes=args.max_bytes, allowed_hosts=tuple(args.allowed_host),
        workers=args.workers, note_timeout=args.note_timeout or None, max_chars=args.max_chars)


if __name__ == "__main__":
    main()

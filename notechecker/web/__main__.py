"""``python -m notechecker.web [--host 127.0.0.1] [--port 8000]``: serve the page and API."""
from __future__ import annotations

import argparse

from .server import DEFAULT_MAX_BYTES, run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m notechecker.web", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1, this computer only).")
    parser.add_argument("--port", type=int, default=8000, help="Port (default 8000).")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="Largest request body accepted.")
    args = parser.parse_args(argv)
    run(args.host, args.port, max_bytes=args.max_bytes)


if __name__ == "__main__":
    main()

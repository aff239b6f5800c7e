"""Warm ``POST /api/check`` latency through a real uvicorn server on 127.0.0.1.

    python benchmarks/bench_web.py [--note PATH] [--requests 200] [--warmup 20] [--codes 22852 ...]

Starts the app on a free loopback port in a thread, sends ``--warmup`` requests, then
times ``--requests`` sequential requests over one keep-alive connection and prints
p50 / p95 / p99 / max in milliseconds. The default note is a ~780-word dev note (three codes) when
``shared/eval/dev/notes`` sits beside the repository, else the longest sample note.
A script, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_NOTE = "2389_spine_fusion.txt"  # 778 words; checks 22844, 22612, 22614


def default_note() -> Path:
    for shared in (ROOT.parent / "shared", ROOT / "shared"):
        path = shared / "eval" / "dev" / "notes" / DEV_NOTE
        if path.is_file():
            return path
    return max((ROOT / "sample_notes").glob("*.txt"), key=lambda p: len(p.read_text(encoding="utf-8").split()))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--note", type=Path, default=None, help="Note to send (default: a ~700-word note).")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--codes", nargs="*", default=None, help="Codes to check (default: suggested).")
    args = parser.parse_args(argv)

    import httpx
    import uvicorn

    from notechecker.web.server import create_app

    note_path = args.note or default_note()
    text = note_path.read_text(encoding="utf-8")
    body = {"text": text} if args.codes is None else {"text": text, "codes": args.codes}

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive() or time.perf_counter() - t0 > 120:
            print("server did not start", file=sys.stderr)
            return 1
        time.sleep(0.05)
    startup = time.perf_counter() - t0

    times: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(args.warmup):
                client.post("/api/check", json=body).raise_for_status()
            for _ in range(args.requests):
                t = time.perf_counter()
                r = client.post("/api/check", json=body)
                times.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
            codes = r.json()["codes"]
            size = len(r.content)
    finally:
        server.should_exit = True
        thread.join(10)

    print(f"note: {note_path.name} ({len(text.split())} words, {len(text)} chars); codes checked: {codes}; "
          f"response {size / 1024:.0f} KiB")
    print(f"server start (pipeline load included): {startup:.1f} s")
    print(f"warm POST /api/check, {args.requests} sequential requests after {args.warmup} warm-up:")
    print(f"  p50 {percentile(times, 50):.1f} ms   p95 {percentile(times, 95):.1f} ms   "
          f"p99 {percentile(times, 99):.1f} ms   max {max(times):.1f} ms   mean {statistics.fmean(times):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

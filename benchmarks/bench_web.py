"""Warm ``POST /api/check`` latency through a real uvicorn server on 127.0.0.1.

    python benchmarks/bench_web.py [--note PATH] [--requests 200] [--warmup 20] [--codes 22852 ...]
                                   [--clients 8] [--workers 2] [--hooks] [--auth]

``--hooks`` sends the note as a CDS Hooks call (``notechecker-note-sign``, the note a base64
DocumentReference read in the worker); ``--auth`` serves with authentication as an exposed
service would: a JWT signed per call with a key made here (RS384; iss, aud, exp, iat, a fresh
jti) for CDS Hooks, a bearer token for ``/api/check``. Issue 22 asks p95 <= 500 ms for
``--hooks --auth --workers 2 --clients 8``.

Starts the app on a free loopback port in a thread, sends ``--warmup`` requests, then
times ``--requests`` requests over keep-alive connections and prints p50 / p95 / p99 / max
in milliseconds: sequential from one client, or with ``--clients N`` from N clients in
parallel (each its own connection; ``--requests`` in all). The default note is a ~780-word dev note (three codes) when
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
    parser.add_argument("--clients", type=int, default=1, help="Clients sending at once (default 1).")
    parser.add_argument("--workers", type=int, default=None, help="Server worker processes (default: the app's).")
    parser.add_argument("--hooks", action="store_true", help="Send CDS Hooks calls instead of /api/check.")
    parser.add_argument("--auth", action="store_true", help="Serve with authentication (JWT, bearer token).")
    args = parser.parse_args(argv)

    import httpx
    import uvicorn

    from notechecker.web.server import create_app

    note_path = args.note or default_note()
    text = note_path.read_text(encoding="utf-8")
    body = {"text": text} if args.codes is None else {"text": text, "codes": args.codes}
    path = "/api/check"
    options: dict = {} if args.workers is None else {"workers": args.workers}
    sign = None
    if args.hooks:
        import base64

        path = "/cds-services/notechecker-note-sign"
        event = [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": c} for c in args.codes]}] \
            if args.codes else []
        body = {"hook": "notechecker-note-sign", "hookInstance": "bench",
                "context": {"patientId": "p1", "userId": "Practitioner/1", "document": {
                    "resourceType": "DocumentReference", "status": "current", "context": {"event": event},
                    "content": [{"attachment": {"contentType": "text/plain",
                                                "data": base64.b64encode(text.encode()).decode()}}]}}}
    if args.auth:
        sign = _auth(options, args.hooks)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    app = create_app(**options)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
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
    lock = threading.Lock()
    last: dict = {}

    def client_loop(n: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for _ in range(n):
                headers = sign() if sign else None  # the EHR signs before it sends: not the service's time
                t = time.perf_counter()
                r = client.post(path, json=body, headers=headers)
                ms = (time.perf_counter() - t) * 1000
                r.raise_for_status()
                with lock:
                    times.append(ms)
                    last["r"] = r

    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(args.warmup):
                client.post(path, json=body, headers=sign() if sign else None).raise_for_status()
        share = [args.requests // args.clients + (i < args.requests % args.clients) for i in range(args.clients)]
        wall = time.perf_counter()
        threads = [threading.Thread(target=client_loop, args=(n,)) for n in share]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - wall
        r = last["r"]
        data = r.json()
        codes = data["codes"] if "codes" in data else f"{len(data['cards'])} cards"
        size = len(r.content)
    finally:
        server.should_exit = True
        thread.join(10)

    print(f"note: {note_path.name} ({len(text.split())} words, {len(text)} chars); codes checked: {codes}; "
          f"response {size / 1024:.0f} KiB")
    print(f"server start (pipeline load included): {startup:.1f} s")
    how = "sequential requests" if args.clients == 1 else f"requests from {args.clients} parallel clients"
    print(f"warm POST {path}{' with authentication' if args.auth else ''}, {args.workers or 'default'} workers, "
          f"{args.requests} {how} after {args.warmup} warm-up "
          f"({args.requests / wall:.1f} requests/s):")
    print(f"  p50 {percentile(times, 50):.1f} ms   p95 {percentile(times, 95):.1f} ms   "
          f"p99 {percentile(times, 99):.1f} ms   max {max(times):.1f} ms   mean {statistics.fmean(times):.1f} ms")
    return 0


def _auth(options: dict, hooks: bool):
    """Authentication as an exposed service has it; the headers of one call (a fresh JWT each time)."""
    import json
    import uuid

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from notechecker.web.auth import Auth

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="bench", alg="RS384")
    token = uuid.uuid4().hex * 2
    public = "https://notechecker.example.org"
    options["auth"] = Auth(tokens={token: "bench"}, jwks={"keys": [jwk]}, issuers=("https://ehr.example.org",),
                           public_url=public, required=True)

    def sign() -> dict:
        if not hooks:
            return {"Authorization": f"Bearer {token}"}
        now = int(time.time())
        claims = {"iss": "https://ehr.example.org", "aud": f"{public}/cds-services/notechecker-note-sign",
                  "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex, "sub": "Practitioner/1"}
        return {"Authorization": "Bearer " + jwt.encode(claims, key, algorithm="RS384", headers={"kid": "bench"})}

    return sign


if __name__ == "__main__":
    sys.exit(main())

"""Shared fixtures: the pipeline is built once per test session (~2 s)."""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_notes"
# the build cache (notechecker/schema/cache.py) of this test run, in and out of process: never the user's
os.environ["NOTECHECKER_CACHE_DIR"] = tempfile.mkdtemp(prefix="notechecker-test-cache-")
atexit.register(shutil.rmtree, os.environ["NOTECHECKER_CACHE_DIR"], True)


@pytest.fixture(scope="session")
def pipeline():
    from notechecker.api import load

    return load()


@pytest.fixture(scope="session")
def sample_gold() -> dict[str, dict]:
    rows = [json.loads(line) for line in (SAMPLES / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return {Path(r["file"]).stem: r for r in rows}


def sample_text(note_id: str) -> str:
    """A sample note's text exactly as extract reads it (bytes decoded, CRLF kept)."""
    return (SAMPLES / f"{note_id}.txt").read_bytes().decode("utf-8")


def evidence_spans(obj):
    """Every ``{text, start, end, section}`` dict anywhere in a facts or check result dict."""
    if isinstance(obj, dict):
        if {"text", "start", "end", "section"} <= obj.keys() and isinstance(obj.get("start"), int):
            yield obj
        for v in obj.values():
            yield from evidence_spans(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from evidence_spans(v)


#: The 524 real non-spine notes beside the repository (../shared/eval), when present.
NONSPINE_NOTES = ROOT.parent / "shared" / "eval" / "nonspine" / "notes.jsonl"
_CATARACT = ("PROCEDURE: Cataract extraction with intraocular lens, right eye.\n"
             "DESCRIPTION: The eye was prepped and draped. A clear corneal incision was made. "
             "The lens was placed in the capsular bag.\n")


def nonspine_texts(n: int) -> list[str]:
    """The first ``n`` real non-spine notes; a short cataract note where ../shared is absent."""
    if NONSPINE_NOTES.is_file():
        lines = NONSPINE_NOTES.read_text(encoding="utf-8").splitlines()
        return [json.loads(ln)["text"] for ln in lines if ln.strip()][:n]
    return [_CATARACT]


@contextlib.contextmanager
def live_server(**app_options):
    """The web app served by uvicorn on a free localhost port, in a thread: yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    from notechecker.web.server import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(**app_options), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)

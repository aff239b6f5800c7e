"""A fuzzing test for every reader (issue 22, point 5): a generated corpus of hostile files per format.

Each reader gets a valid document holding a real note with a marker word, then mutations of it made
with a seeded random generator (so a failure replays): bytes flipped, cut, repeated, deleted, the
marker spliced in, brackets and tags nested deep, a structural token replaced. Every input must give
Documents or InputErrors (no exception escapes :func:`read_bytes`), within its budget, and no message
may hold the marker. A sample also goes through the guarded reader (worker process, budget, ceiling).
Bounded: FUZZ_CASES inputs per reader, a few seconds each format.
"""
from __future__ import annotations

import base64
import json
import logging
import random
import time

import pytest

from notechecker.errors import InputError
from notechecker.formats import Document, read_bytes
from notechecker.formats.guarded import GuardedReader
from tests.hostile_docs import docx_bytes, good_text, pdf_text

MARKER = "Okapimarkerword"
FUZZ_CASES = 40
#: Seconds one fuzzed input may take to read in this process (the worker budget is the real guard).
SECONDS = 10.0


def _lines() -> list[str]:
    lines = good_text().splitlines()[:40]
    lines.insert(3, f"The patient {MARKER} was brought to the operating room.")
    return lines


def base_documents() -> dict[str, bytes]:
    text = "\n".join(_lines()) + "\n"
    b64 = base64.b64encode(text.encode()).decode()
    fhir = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "DocumentReference", "id": "d1", "status": "current",
                      "content": [{"attachment": {"contentType": "text/plain", "data": b64}}]}},
        {"resource": {"resourceType": "DocumentReference", "id": "d2", "status": "current",
                      "content": [{"attachment": {"contentType": "text/html", "data": base64.b64encode(
                          ("<p>" + "</p><p>".join(_lines()) + "</p>").encode()).decode()}}]}}]}).encode()
    obx = "\r".join(f"OBX|{i}|TX|||{line.replace('|', ' ')}||||||F" for i, line in enumerate(_lines(), 1))
    hl7 = ("MSH|^~\\&|A|B|C|D|20240101||MDM^T02|CTL1|P|2.5\rTXA|1|OP|TX|20240101||||||||DOC1\r" + obx
           + "\r").encode()
    paragraphs = "".join(f"<paragraph>{line.replace('&', '&amp;').replace('<', '&lt;')}</paragraph>"
                         for line in _lines())
    cda = ("<?xml version='1.0'?><ClinicalDocument xmlns='urn:hl7-org:v3'><id root='1.2' extension='C1'/>"
           "<title>Operative note</title><component><structuredBody><component><section><title>Procedure</title>"
           f"<text>{paragraphs}</text></section></component></structuredBody></component></ClinicalDocument>"
           ).encode()
    return {"fhir": fhir, "hl7v2": hl7, "cda": cda, "pdf": pdf_text(_lines()), "docx": docx_bytes(_lines())}


def _mutations(kind: str, data: bytes, rng: random.Random) -> bytes:
    """One hostile variant of ``data``: one to three mutations."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(9)
        n = len(out)
        if not n:
            out = bytearray(b"x")
            continue
        i = rng.randrange(n)
        if op == 0:  # flip bytes
            for _ in range(rng.randint(1, 16)):
                j = rng.randrange(n)
                out[j] = rng.randrange(256)
        elif op == 1:  # cut the end
            out = out[:i]
        elif op == 2:  # delete a slice
            del out[i:i + rng.randint(1, 200)]
        elif op == 3:  # repeat a slice many times
            chunk = out[i:i + rng.randint(1, 40)]
            out[i:i] = chunk * rng.randint(2, 2000)
        elif op == 4:  # the marker where it does not belong (names, fields, escapes)
            spliced = rng.choice([MARKER, f"<{MARKER}>", f"&{MARKER};", f"\\X{MARKER}\\", f'"{MARKER}":',
                                  f"|{MARKER}^", f"/{MARKER} ", f"../{MARKER}"]).encode()
            out[i:i] = spliced
        elif op == 5:  # nest deep
            opener, closer = {"fhir": (b"[", b"]"), "cda": (b"<a>", b"</a>"), "hl7v2": (b"^", b"~"),
                              "pdf": (b"[", b"]"), "docx": (b"<w:p>", b"</w:p>")}[kind]
            depth = rng.choice([50, 1000, 20_000])
            out[i:i] = opener * depth + closer * rng.choice([0, depth])
        elif op == 6:  # structural tokens swapped for others
            tokens = [b"{", b"}", b"<", b">", b"\r", b"|", b"^", b"\\", b"obj", b"endobj", b"stream", b"PK\x03\x04",
                      b"\x00", b"\xff\xfe"]
            out[i:i + 1] = rng.choice(tokens)
        elif op == 7:  # duplicate the whole document (two documents glued)
            out = out + out
        else:  # a run of one byte (the tokenizer's and parsers' worst cases)
            out[i:i] = bytes([rng.choice(b"=-_ \n<[{")]) * rng.choice([100, 10_000, 200_000])
    return bytes(out)


def fuzz_corpus(kind: str, seed: int) -> list[bytes]:
    base = base_documents()[kind]
    rng = random.Random(seed)
    return [base] + [_mutations(kind, base, rng) for _ in range(FUZZ_CASES)]


@pytest.mark.parametrize("kind", ["fhir", "hl7v2", "cda", "pdf", "docx"])
def test_every_fuzzed_document_is_a_note_or_an_error_without_the_marker(kind, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    inputs = fuzz_corpus(kind, seed=22)
    first = list(read_bytes(inputs[0], f"base.{kind}", kind))
    assert first and all(isinstance(x, Document) for x in first), first  # the unmutated document reads
    assert any(MARKER in x.text for x in first)
    errors = 0
    for n, data in enumerate(inputs):
        t0 = time.monotonic()
        items = list(read_bytes(data, f"fuzz-{n}.{kind}", kind))
        took = time.monotonic() - t0
        assert items, n
        assert took < SECONDS, (n, took)
        for item in items:
            assert isinstance(item, (Document, InputError)), (n, item)
            if isinstance(item, InputError):
                errors += 1
                assert item.code.startswith(("E1", "E5")) or item.code == "E201", (n, item.code)
                assert item.code != "E201", (n, item.message)  # a fuzzed file is bad input, not a bug
                assert MARKER not in item.message, (n, item.message)
                assert item.message.startswith(f"fuzz-{n}.{kind}"), item.message
    captured = capfd.readouterr()
    assert MARKER not in caplog.text and MARKER not in captured.err and MARKER not in captured.out
    assert errors, "no mutation was refused: the corpus is not hostile"


def test_fuzzed_documents_through_the_guarded_reader():
    """A sample of each reader's corpus read in the worker process: no worker dies, every input answered."""
    with GuardedReader(timeout=30) as reader:
        for kind in ("fhir", "hl7v2", "cda", "pdf", "docx"):
            for n, data in enumerate(fuzz_corpus(kind, seed=7)[:8]):
                items = reader.read_bytes(data, f"g-{n}.{kind}", kind)
                assert items and all(isinstance(x, (Document, InputError)) for x in items)
                for x in items:
                    if isinstance(x, InputError):
                        assert x.code not in ("E202", "E509", "E201"), (kind, n, x)
                        assert MARKER not in x.message

"""Verdict words come from one file: ``patterns/verdicts.yaml``. No face (the command line, the web
server, CDS Hooks, the page) spells a verdict word, a conclusion word, a billing-gap word or a phrase of
the vocabulary itself, nor keeps a class or colour per verdict: the page colours by the record's tone.

The faces are read as source: Python string constants (docstrings and comments aside) and the page's
script strings, text and style selectors. A face may name a machine key exactly (``v.key == "supported"``,
``vocab.phrase("proof")``); it never shows a word from its own text."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from notechecker.schema.verdicts import CONCLUSION_KINDS, VERDICT_KEYS, vocabulary

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "notechecker"
FACES = sorted([*(PACKAGE / "cli").glob("*.py"), *(PACKAGE / "web").glob("*.py"),
                *(PACKAGE / "web" / "static").glob("*.html")])
KEYS = frozenset(VERDICT_KEYS) | frozenset(CONCLUSION_KINDS)


#: The phrases of patterns/verdicts.yaml that faces show as labels of their own (the others are sentence
#: templates plain.py fills, or words too common to tell apart, like "for example").
LABEL_PHRASES = ("no_checklist", "not_checked", "out_of_scope", "proof", "superseded_heading", "request_heading")


def vocabulary_words() -> set[str]:
    """What the faces must take from the file: every verdict word, conclusion word and billing-gap word
    of patterns/verdicts.yaml, and its label phrases."""
    vocab = vocabulary()
    found = {v.word for v in vocab.specs} | set(vocab.conclusion_words.values()) | {vocab.over_coded,
                                                                                    vocab.under_coded}
    found |= {vocab.phrases[k].strip(" :;") for k in LABEL_PHRASES}
    return {w.lower() for w in found if w}


def machine_keys() -> frozenset[str]:
    """Names a face may write as they are: verdict keys, conclusion kinds, phrase names (``"proof"`` in
    ``vocab.phrase("proof")``). Only the exact name: ``"Proof:"`` is a word shown."""
    return KEYS | frozenset(vocabulary().phrases)


def python_strings(source: str) -> list[str]:
    """The string constants of a module, docstrings left out (f-strings by their literal parts)."""
    tree = ast.parse(source)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


_JS_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'')
_KEYED_CLASS = re.compile(r"\.(?:verdict|badge|chip|sev)\.([a-z_]+)\b"
                          r"|class:\s*\"[^\"]*\"\s*\+\s*[\w.]*\.(?:kind|verdict_key|key|verdict)\b")


def page_strings(html: str) -> list[str]:
    scripts = "\n".join(re.findall(r"<script>(.*?)</script>", html, re.DOTALL))
    return [a or b for a, b in _JS_STRING.findall(scripts)] + re.findall(r">([^<>]+)<", html)


def spelled(strings, words) -> list[str]:
    """Strings that are a vocabulary word (case and trailing punctuation aside) or hold a word of two or
    more words."""
    bad = []
    keys = machine_keys()
    for s in strings:
        if s in keys:
            continue
        norm = " ".join(s.lower().split()).strip(" :;.,")
        for w in words:
            if norm == w or (" " in w and re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", norm)):
                bad.append(f"{s!r} spells {w!r}")
    return bad


def keyed_classes(html: str) -> list[str]:
    """Style selectors or class names built from a verdict key or conclusion kind (not from a tone)."""
    out = []
    for m in _KEYED_CLASS.finditer(html):
        if m.group(1) is None or m.group(1) in KEYS:
            out.append(m.group(0))
    return out


def face_problems(path: Path, words) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        return spelled(python_strings(text), words)
    return spelled(page_strings(text), words) + keyed_classes(text)


def test_the_faces_are_all_read():
    names = {p.relative_to(PACKAGE).as_posix() for p in FACES}
    assert {"cli/render.py", "cli/check.py", "web/cds_hooks.py", "web/server.py", "web/page.py",
            "web/static/index.html"} <= names


def test_the_vocabulary_words_are_found():
    words = vocabulary_words()
    assert {"needs documentation", "coder review", "wrong code", "no primary code", "not checked",
            "over-coded", "no checklist", "proof", "why this code"} <= words
    assert {"supported", "bundled"} <= words and {"supported", "bundled", "proof"} <= machine_keys()


@pytest.mark.parametrize("path", FACES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_face_spells_a_verdict_word(path):
    problems = face_problems(path, vocabulary_words())
    assert not problems, f"{path.relative_to(ROOT)} words a verdict itself (take it from patterns/verdicts.yaml):" \
                         + "\n  " + "\n  ".join(problems)


def test_the_check_finds_what_is_there(tmp_path):
    """The reader on small faces that do what the faces must not: each is found."""
    words = vocabulary_words()
    py = tmp_path / "face.py"
    py.write_text('"""A docstring may say needs documentation."""\n'
                  'LABEL = {"coder_review": "Coder review"}\n'
                  'def f(v):\n    return f"{v.code}: no primary code" if v.key == "supported" else "Proof:"\n'
                  'SAID = "Supported" + vocab.phrase("proof")\n')
    assert sorted(face_problems(py, words)) == [
        "': no primary code' spells 'no primary code'", "'Coder review' spells 'coder review'",
        "'Proof:' spells 'proof'", "'Supported' spells 'supported'"]
    html = tmp_path / "page.html"
    html.write_text('<style>.verdict.coder_review { color: red }</style><p>Wrong code</p>\n'
                    '<script>el("span", {class: "verdict " + c.kind}, "over-coded"); '
                    'if (v.verdict_key !== "supported") x();</script>')
    assert sorted(face_problems(html, words)) == [
        "'Wrong code' spells 'wrong code'", "'over-coded' spells 'over-coded'", ".verdict.coder_review",
        'class: "verdict " + c.kind']


def test_the_server_fills_the_page_with_the_vocabulary():
    """The page gets its words and conclusion tones from the server, read from patterns/verdicts.yaml."""
    import json

    from fastapi.testclient import TestClient

    from notechecker.web.server import create_app

    vocab = vocabulary()
    with TestClient(create_app(workers=0), base_url="http://localhost") as client:
        page = client.get("/")
    assert page.status_code == 200
    html = page.text
    m = re.search(r'<script type="application/json" id="vocabulary">(.*?)</script>', html, re.DOTALL)
    assert m and m.group(1) != "{}"
    data = json.loads(m.group(1))
    assert data["phrases"]["no_checklist"] == vocab.phrases["no_checklist"]
    assert data["phrases"]["proof"] == vocab.phrases["proof"]
    assert set(data["conclusion_tones"]) == set(CONCLUSION_KINDS)
    assert data["conclusion_tones"]["unbundle"] == vocab.spec("bundled").tone == "bad"
    assert data["conclusion_tones"]["coder_review"] == vocab.spec("coder_review").tone == "warn"
    assert data["conclusion_tones"]["supported"] == "ok"

"""No dead code in notechecker/: vulture over the package, with a short allow-list of framework-called names.

By hand, from the repository root:
``python -m vulture notechecker tests benchmarks tests/vulture_allowlist.py --min-confidence 60 \
--ignore-names model_config --ignore-decorators '<DECORATORS below>'``. Tests, benchmarks and the
notebooks' code cells are read so that a public helper they use counts as used; only findings in
``notechecker/`` fail.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOW_LIST = Path(__file__).with_name("vulture_allowlist.py")
#: Decorators that register a function with a framework, which then calls it: pydantic validators,
#: Typer commands, FastAPI routes and handlers, spaCy factories and registered functions.
DECORATORS = ("@field_validator", "@model_validator", "@*.command", "@*.callback", "@*.get", "@*.post",
              "@*.api_route", "@*.exception_handler", "@Language.factory", "@registry.*")
#: pydantic reads ``model_config`` on every model class.
NAMES = ("model_config",)


def vulture(*paths: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vulture", *map(str, paths), "--min-confidence", "60",
         "--ignore-names", ",".join(NAMES), "--ignore-decorators", ",".join(DECORATORS)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)


def notebook_code(out: Path) -> Path:
    """The code cells of ``notebooks/`` as one Python file (IPython magics left out): what they call is used."""
    import json

    lines = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                lines += [ln for ln in "".join(cell["source"]).splitlines() if not ln.lstrip().startswith(("%", "!"))]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def test_no_dead_code_in_the_package(tmp_path):
    run = vulture("notechecker", "tests", "benchmarks", ALLOW_LIST, notebook_code(tmp_path / "notebooks.py"))
    assert run.returncode in (0, 3), run.stderr  # 3: vulture found something
    found = [ln for ln in run.stdout.splitlines() if ln.startswith("notechecker/")]
    assert not found, ("dead code (delete it; a name only a framework uses goes in "
                       f"{ALLOW_LIST.name} with who uses it):\n" + "\n".join(found))


def test_the_check_finds_dead_code(tmp_path):
    """On a small package: an unused function and constant are found, a used one and a validator are not."""
    pkg = tmp_path / "notechecker"
    pkg.mkdir()
    (pkg / "m.py").write_text(
        "from pydantic import BaseModel, field_validator\n\n"
        "LIMIT = 3\nUNUSED_LIMIT = 4\n\n\n"
        "def used():\n    return LIMIT\n\n\n"
        "def never_called():\n    return 1\n\n\n"
        "class M(BaseModel):\n    model_config = {}\n    x: int = 0\n\n"
        "    @field_validator('x')\n    @classmethod\n    def _x(cls, v):\n        return v if cls else None\n\n\n"
        "print(used(), M().x)\n")
    run = vulture(pkg)
    assert run.returncode == 3, run.stdout + run.stderr
    names = sorted(ln.split("'")[1] for ln in run.stdout.splitlines())
    assert names == ["UNUSED_LIMIT", "never_called"]


def test_every_allow_list_entry_names_something_the_package_defines():
    """An entry outliving its code would hide a new dead name of the same spelling."""
    import ast

    entries = set()
    for node in ast.walk(ast.parse(ALLOW_LIST.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Expr) and isinstance(node.value, (ast.Attribute, ast.Name)):
            v = node.value
            entries.add(v.attr if isinstance(v, ast.Attribute) else v.id)
    assert len(entries) > 10  # the allow-list was read
    defined = set()
    for path in (ROOT / "notechecker").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defined.update(a.arg for a in node.args.args + node.args.kwonlyargs)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                defined.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
    stale = sorted(entries - defined)
    assert not stale, f"{ALLOW_LIST.name} names what notechecker/ no longer defines or sets: {stale}"

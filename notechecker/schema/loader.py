"""The one loader of ``patterns/``: YAML (libyaml when present) to pydantic models, with located errors.

Every data file under ``patterns/`` is read by :func:`load_yaml`. Mistakes are reported with
the file, the item and the field (``[E022] patterns/checklists/removal.yaml: item RM-03:
field 'tier': 'codin' is not one of coding, necessity, quality``), never as a stack trace.
"""
from __future__ import annotations

import importlib.resources
import io
import os
from pathlib import Path
from typing import Any, Iterable, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from notechecker.errors import Errors, NoteCheckerError, PatternError

#: libyaml's C loader when present (10x faster on the pattern files), else the Python one.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Environment variable naming a patterns directory of one's own.
ENV_VAR = "NOTECHECKER_PATTERNS"


def patterns_dir(path: str | os.PathLike | None = None) -> Path:
    """The patterns directory: ``path``, else $NOTECHECKER_PATTERNS, else the packaged one.

    The packaged one is the package data ``notechecker.patterns`` found by :mod:`importlib.resources`
    (``patterns/`` of the source tree, mapped to ``notechecker.patterns`` in pyproject.toml), wherever
    notechecker is installed; nothing is located relative to this file.
    """
    if path is not None:
        return Path(path)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path(str(importlib.resources.files("notechecker.patterns")))


def load_yaml(path: Path, shown: str | None = None) -> Any:
    """Parse one YAML file of ``patterns/`` (the only place that does).

    Raises ``OSError`` and ``yaml.YAMLError`` for the caller to turn into its coded error;
    parse errors name ``shown`` (default: the path) as the file.
    """
    stream = io.StringIO(path.read_text(encoding="utf-8"))
    stream.name = str(path) if shown is None else shown  # type: ignore[misc]  # yaml marks show it
    return yaml.load(stream, Loader=SafeLoader)


# --------------------------------------------------------------------------- errors
class Located:
    """Adds where the mistake is (file, item, field) to a coded error."""

    def __init__(self, message: str, *, code: str, file: str | None = None, item: str | None = None,
                 field: str | None = None):
        super().__init__(code, message)  # type: ignore[call-arg]
        self.file, self.item, self.field = file, item, field


class ChecklistError(Located, PatternError):
    """A checklist file is malformed."""


class CodeTableError(Located, PatternError):
    """A code table or bundling file is malformed."""


class MueError(Located, NoteCheckerError):
    """A medically-unlikely-edit CSV is malformed."""


class BilledCodeError(Located, NoteCheckerError, ValueError):
    """A billed code string cannot be parsed."""


def where_of(file: str, item: str | None, fld: str | None) -> str:
    out = file
    if item:
        out += f": item {item}"
    if fld:
        out += f": field {fld!r}"
    return out


def one_of(values: Iterable[Any]) -> str:
    return ", ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in values)


# --------------------------------------------------------------------------- file models
class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)


def enum_validator(name: str, allowed: tuple[str, ...]):
    def check(cls, v: Any) -> Any:
        if v not in allowed:
            raise ValueError(f"{v!r} is not one of {one_of(allowed)}")
        return v
    return field_validator(name)(classmethod(check))


# --------------------------------------------------------------------------- loading helpers
def display_path(path: Path, root: Path) -> str:
    try:
        return str(Path(root.name) / path.relative_to(root))
    except ValueError:
        return str(path)


def read_mapping(path: Path, shown: str, error: type[Located]) -> dict:
    try:
        data = load_yaml(path, shown)
    except (OSError, yaml.YAMLError) as exc:
        raise error(Errors.E020.format(file=shown, detail=str(exc).replace("\n", " ")),
                    code="E020", file=shown) from None
    if not isinstance(data, dict):
        raise error(Errors.E020.format(file=shown, detail=f"top level is {type(data).__name__}, not a mapping"),
                    code="E020", file=shown)
    return data


#: pydantic's error type (its first word) -> what the field expects
_EXPECTED = {"list": "a list", "dict": "a dict", "string": "a str", "int": "an integer", "bool": "true or false"}


def _detail(err: dict) -> str:
    """A pydantic error in this module's words ("missing", "expected a list", a validator's own text)."""
    if err["type"] == "missing":
        return "missing"
    if err["type"] == "value_error":
        return err["msg"].removeprefix("Value error, ")
    if err["type"] == "too_short":
        return f"expected a non-empty {type(err.get('input')).__name__}"
    kind = err["type"].split("_")[0]
    return f"expected {_EXPECTED.get(kind, kind)}"


def validate_located(model: type[BaseModel], data: Any, path: Path, code: str, where: str = "") -> Any:
    """``model`` from ``data`` for the extraction vocabularies (``[E0xx]`` codes): the first error
    names the file, the entry (``where``) and the field, e.g. ``elements.yaml: element 'ebl': field 'gate': ...``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        extra = sorted(str(e["loc"][-1]) for e in errors if e["type"] == "extra_forbidden")
        prefix = f"{path}: {where}: " if where else f"{path}: "
        if extra:
            raise PatternError(code, f"{prefix}unknown field(s) {extra}") from None
        err = errors[0]
        fld = ".".join(str(part) for part in err["loc"])
        raise PatternError(code, f"{prefix}field '{fld}': {_detail(err)}") from None


def raise_pydantic(exc: ValidationError, data: dict, shown: str, error: type[Located],
                    model: type[BaseModel], item_key: str | None = "items") -> None:
    """Turn the first pydantic error into one of ours naming file, item and field."""
    err = exc.errors()[0]
    full = list(err["loc"])
    loc, item = full, None
    if item_key and len(loc) >= 2 and loc[0] == item_key and isinstance(loc[1], int):
        raw = (data.get(item_key) or [])[loc[1]]
        item = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else f"#{loc[1] + 1}"
        loc = loc[2:]
    elif item_key is None and len(loc) >= 2 and loc[0] == "codes":
        item, loc = f"code {loc[1]}", loc[2:]
    fld = ""
    for part in loc:
        fld += f"[{part}]" if isinstance(part, int) else (f".{part}" if fld else str(part))
    where = where_of(shown, item, fld or None)
    if err["type"] == "extra_forbidden":
        parent = _model_at(model, full[:-1])
        expected = one_of(parent.model_fields) if parent else "see the file's documentation"
        code, msg = "E021", Errors.E021.format(where=where_of(shown, item, None), key=full[-1], expected=expected)
    elif err["type"] == "missing":
        code, msg = "E022", Errors.E022.format(where=where, detail="is required")
    else:
        detail = err["msg"].removeprefix("Value error, ")
        if err["type"] != "value_error":
            detail = f"{detail} (got {err.get('input')!r})"
        code, msg = "E022", Errors.E022.format(where=where, detail=detail)
    raise error(msg, code=code, file=shown, item=item, field=fld or None) from None


def _model_at(model: type[BaseModel], loc: list) -> type[BaseModel] | None:
    """The pydantic model that holds the field at ``loc`` (to list the keys it accepts)."""
    cur: type[BaseModel] | None = model
    skip_key = False
    for part in loc:
        if isinstance(part, int) or skip_key:
            skip_key = False
            continue
        f = cur.model_fields.get(part) if cur else None
        if f is None:
            return None
        cur, skip_key = _inner_model(f.annotation)
    return cur


def _inner_model(ann: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model inside an annotation (``X``, ``list[X]``, ``dict[str, X]``, ``X | None``), and whether via a dict."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann, False
    args = get_args(ann)
    if get_origin(ann) is dict and len(args) == 2:
        return _inner_model(args[1])[0], True
    for a in args:
        found = _inner_model(a)
        if found[0]:
            return found
    return None, False



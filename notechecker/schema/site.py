"""Site overrides: a site's folder layered over the shipped ``patterns/``.

A site folder may hold:

- ``overrides.yaml``: ``items: {RM-03: {severity: warning}, OP-07: {disabled: true}}`` to change an
  item's severity or disable it (with an optional ``reason`` each);
- any file with the layout of ``patterns/`` (``checklists/removal.yaml``, ``targets/reasons.yaml``,
  ``sections.yaml`` ...): merged into the shipped file of the same name (mappings merged key by key,
  lists extended with the entries not already there), so a site adds items to a checklist or
  vocabulary; a file the shipped folder lacks is added as it is.

:func:`layered_patterns` writes the merged folder once (content-addressed, under the system's
temporary folder), validates it like the shipped data (the same loaders and checks), and lists the
overrides in force in its ``site_overrides.json``. Pointing ``$NOTECHECKER_PATTERNS`` at it makes
every part of notechecker (the NLP vocabularies, checklists and code table, in every worker) use it.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from notechecker.errors import NoteCheckerError, PatternError
from notechecker.schema.checklist import SEVERITIES
from notechecker.schema.loader import load_yaml

OVERRIDES_FILE = "overrides.yaml"
MANIFEST = "site_overrides.json"
_ITEM_KEYS = {"severity", "disabled", "reason"}


def _fail(site: Path, detail: str) -> NoteCheckerError:
    return NoteCheckerError("E038", f"{site}: {detail}")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".yaml", ".yml")
                  and "__pycache__" not in p.parts)


def _merge(base: Any, extra: Any) -> Any:
    """Mappings key by key, lists extended with new entries, anything else replaced by ``extra``."""
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for k, v in extra.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(extra, list):
        return base + [v for v in extra if v not in base]
    return extra


def _dump(data: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _digest(base: Path, site: Path) -> str:
    h = hashlib.sha256()
    for root in (base, site):
        for p in _files(root):
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
        h.update(b"\1")
    return h.hexdigest()[:20]


def layered_patterns(site: str | Path, base: str | Path | None = None) -> tuple[Path, list[str]]:
    """The merged patterns folder for ``site`` over ``base`` (default: the shipped one) and the overrides in
    force, in words. Raises E038 (naming the site file) when the site folder does not merge or validate."""
    from notechecker.schema.loader import patterns_dir

    site = Path(site).resolve()
    if not site.is_dir():
        raise _fail(site, "not a folder (a site override folder holds overrides.yaml and/or files laid out "
                          "like patterns/)")
    base = Path(base).resolve() if base else patterns_dir().resolve()
    dest = Path(tempfile.gettempdir()) / f"notechecker-site-{_digest(base, site)}" / "patterns"
    if (dest / MANIFEST).is_file():
        return dest, json.loads((dest / MANIFEST).read_text(encoding="utf-8"))["overrides"]
    work = Path(tempfile.mkdtemp(prefix="notechecker-site-"))
    try:
        merged = work / "patterns"
        shutil.copytree(base, merged, ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.pyc"))
        said = _apply(site, merged)
        _validate(site, merged)
        (merged / MANIFEST).write_text(json.dumps({"site": str(site), "base": str(base), "overrides": said},
                                                  indent=2) + "\n", encoding="utf-8")
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(merged, dest)
        except OSError:  # another process made it first
            if not (dest / MANIFEST).is_file():
                raise
        return dest, said
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _read(site: Path, path: Path) -> Any:
    try:
        return load_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(site, f"{path.relative_to(site)}: cannot be read as YAML ({exc.__class__.__name__})") from None


def _apply(site: Path, merged: Path) -> list[str]:
    said: list[str] = []
    for p in _files(site):
        rel = p.relative_to(site)
        if rel.as_posix() == OVERRIDES_FILE:
            continue
        extra = _read(site, p)
        target = merged / rel
        if target.is_file():
            before = load_yaml(target)
            if not isinstance(extra, type(before)):
                raise _fail(site, f"{rel}: a {type(extra).__name__} cannot be merged into the shipped "
                                  f"{type(before).__name__}")
            after = _merge(before, extra)
            _dump(after, target)
            said.extend(_describe_merge(rel.as_posix(), before, after))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, target)
            said.append(f"{rel.as_posix()}: added by the site")
    ov = site / OVERRIDES_FILE
    if ov.is_file():
        data = _read(site, ov)
        if not isinstance(data, dict) or set(data) - {"items"} or not isinstance(data.get("items", {}), dict):
            raise _fail(site, f"{OVERRIDES_FILE}: expected a mapping with one key, items: {{ITEM-ID: {{severity: "
                              f"..., disabled: true, reason: ...}}}}")
        for item_id, change in (data.get("items") or {}).items():
            said.append(_override_item(site, merged, str(item_id), change))
    return said


def _describe_merge(rel: str, before: Any, after: Any) -> list[str]:
    if rel.startswith("checklists/") and isinstance(before, dict):
        old = {i.get("id") for i in before.get("items", []) if isinstance(i, dict)}
        new = [i.get("id") for i in after.get("items", []) if isinstance(i, dict) and i.get("id") not in old]
        if new:
            return [f"{rel}: adds item{'s' if len(new) > 1 else ''} {', '.join(map(str, new))}"]
    n = _count(after) - _count(before)
    return [f"{rel}: adds {n} vocabulary entr{'y' if n == 1 else 'ies'}" if n > 0 else f"{rel}: changed by the site"]


def _count(x: Any) -> int:
    if isinstance(x, dict):
        return sum(_count(v) for v in x.values())
    if isinstance(x, list):
        return len(x)
    return 0


def _override_item(site: Path, merged: Path, item_id: str, change: Any) -> str:
    where = f"{OVERRIDES_FILE}: items: {item_id}"
    if not isinstance(change, dict) or not change or set(change) - _ITEM_KEYS:
        raise _fail(site, f"{where}: expected severity ({', '.join(SEVERITIES)}), disabled: true, and an "
                          f"optional reason")
    for path in sorted((merged / "checklists").glob("*.yaml")):
        data = load_yaml(path)
        items = data.get("items", []) if isinstance(data, dict) else []
        for k, it in enumerate(items):
            if isinstance(it, dict) and it.get("id") == item_id:
                why = f" ({change['reason']})" if change.get("reason") else ""
                if change.get("disabled"):
                    if set(change) - {"disabled", "reason"}:
                        raise _fail(site, f"{where}: a disabled item takes no other change")
                    del items[k]
                    _dump(data, path)
                    return f"{item_id}: disabled by the site{why}"
                sev = change.get("severity")
                if sev not in SEVERITIES:
                    raise _fail(site, f"{where}: severity {sev!r} is not one of {', '.join(SEVERITIES)}")
                old = it.get("severity")
                items[k] = {**copy.deepcopy(it), "severity": sev}
                _dump(data, path)
                return f"{item_id}: severity {old} -> {sev}{why}"
    raise _fail(site, f"{where}: no checklist item {item_id!r} (ids are like RM-03; `notechecker rules list`)")


def _validate(site: Path, merged: Path) -> None:
    """The merged folder through the loaders of the shipped data; an error names the site."""
    from notechecker.schema.catalogue import build_catalogue
    from notechecker.schema.vocab.patterns import load_patterns

    try:
        build_catalogue(merged)
        load_patterns(merged)
    except PatternError as exc:
        raise _fail(site, f"the site's patterns do not validate: {exc.message}".replace(str(merged), "patterns")) \
            from None
    except NoteCheckerError as exc:
        raise _fail(site, f"the site's patterns do not validate: {exc.message}".replace(str(merged), "patterns")) \
            from None


def overrides_in_force(patterns: str | Path | None = None) -> list[str]:
    """The site overrides of a patterns folder made by :func:`layered_patterns` ([] for a shipped folder)."""
    from notechecker.schema.loader import patterns_dir

    root = Path(patterns) if patterns else patterns_dir()
    try:
        return list(json.loads((root / MANIFEST).read_text(encoding="utf-8"))["overrides"])
    except (OSError, ValueError, KeyError):
        return []

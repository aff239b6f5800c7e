"""The page (``static/index.html``, with the words it needs from ``patterns/verdicts.yaml`` filled in by the
server) and the checklist catalogue it and ``GET /api/rules`` show."""
from __future__ import annotations

import importlib.resources
import json
from typing import Any

from notechecker.web.common import NO_STORE, conclusion_spec

#: The page may talk only to this server and load nothing from anywhere.
PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

_FACT_CATEGORY = {"removal_reasons": "reason", "instruments_removed": "hardware", "instruments_placed": "hardware",
                  "levels": "levels", "approach": "approach"}


def requirement_category(req) -> str:
    """What kind of documentation a requirement looks for: the page colours its evidence by it."""
    if req.kind in ("any", "all", "not"):
        return requirement_category(req.children[0])
    if req.kind == "levels_compare":
        return "levels"
    target = req.target[0] if req.target else ""
    if req.kind == "fact":
        return _FACT_CATEGORY.get(target, "documentation")
    if req.kind == "construct":
        return {"levels": "levels", "anchor_levels": "levels", "approach": "approach"}.get(req.field or "", "hardware")
    if req.kind == "instrument_action":
        return "levels" if req.leveled else "hardware"
    if req.kind == "procedure":
        return "levels" if req.field else "procedure"
    if req.kind == "element":
        return "imaging" if target == "imaging" else "documentation"
    return "documentation"


def catalogue_dict() -> dict[str, Any]:
    """The checklist catalogue as JSON-ready data (what ``GET /api/rules`` returns)."""
    from notechecker.schema.catalogue import load_catalogue

    cat = load_catalogue()
    table = cat.table
    codes_of: dict[str, set[str]] = {}
    for code in table.codes:
        for item in cat.items_for(code):
            codes_of.setdefault(item.id, set()).add(code)
    order = {c: i for i, c in enumerate(table.codes)}
    checklists = []
    for cl in cat.checklists.values():
        checklists.append({
            "name": cl.name, "title": cl.title, "description": cl.description, "file": cl.file,
            "extends": list(cl.extends), "codes": list(cl.codes), "references": list(cl.references),
            "items": [{
                "id": it.id, "name": it.name, "description": it.description, "rationale": it.rationale,
                "tier": it.tier, "severity": it.severity, "fix_hint": it.fix_hint,
                "category": requirement_category(it.requires),
                "references": list(it.references), "aliases": list(it.aliases), "checklist": it.checklist,
                "codes": sorted(codes_of.get(it.id, ()), key=lambda c: order.get(c, 0)),
            } for it in cl.items],
        })
    return {
        "table_version": table.version,
        "effective_date": table.effective_date.isoformat(),
        "codes": {c: {"descriptor": info.descriptor, "family": info.family, "add_on": info.add_on,
                      "checklist": cat.family_of(c)} for c, info in table.codes.items()},
        "checklists": checklists,
        "bundling": [{"id": r.id, "name": r.name, "text": r.text, "codes": list(r.codes), "verdict": r.verdict}
                     for r in cat.bundling],
    }


#: Where the page receives its words: the server fills this element with :func:`page_vocabulary`.
VOCABULARY_SLOT = '<script type="application/json" id="vocabulary">{}</script>'


def page_vocabulary() -> dict[str, Any]:
    """What the page shows that is not in a record: the phrases it puts around records and the tone of
    each coding conclusion kind, from ``patterns/verdicts.yaml`` (the page words no verdict itself)."""
    from notechecker.schema.verdicts import CONCLUSION_KINDS, vocabulary

    vocab = vocabulary()
    return {"phrases": {k: vocab.phrases[k] for k in ("no_checklist", "not_checked", "proof")},
            "conclusion_tones": {k: conclusion_spec(vocab, k).tone for k in CONCLUSION_KINDS}}


def page_html() -> str:
    """The page, its vocabulary filled in (as JSON that cannot close its script element)."""
    html = (importlib.resources.files("notechecker.web") / "static" / "index.html").read_text(encoding="utf-8")
    data = json.dumps(page_vocabulary(), ensure_ascii=False).replace("<", "\\u003c")
    if VOCABULARY_SLOT not in html:
        raise RuntimeError("static/index.html has no vocabulary slot")  # a packaging bug, caught by the tests
    return html.replace(VOCABULARY_SLOT, VOCABULARY_SLOT.replace("{}", data), 1)


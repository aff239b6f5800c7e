"""The terminal renderer of ``check``: the surgeon's view of one CheckResult, rendered from the
decision records (:func:`notechecker.plain.code_verdicts`, words from ``patterns/verdicts.yaml``)."""
from __future__ import annotations

import os
import re
import sys

def _quote(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "\u2026"
    return f"\u201c{text}\u201d"


_EXAMPLE = re.compile(r"e\.g\.,?\s*(?P<q>['\u2018\"\u201c])(?P<s>.+?)(?:['\u2019\"\u201d])(?=[\s.,;)]|$)")
#: A checklist item's mark and colour by its severity.
_MARK = {"error": ("\u2717", "red"), "warning": ("!", "yellow"), "info": ("\u00b7", "dim"), None: ("\u2713", "green")}
#: A verdict's mark and colour by its tone (``patterns/verdicts.yaml``: bad, warn, ok), as the page's badges.
_TONE = {"bad": ("\u2717", "red"), "warn": ("!", "yellow"), "ok": ("\u2713", "green")}


def _example(hint: str) -> str:
    """The sentence a fix hint proposes (its first e.g. template), else the hint itself. Shown after
    "complete:" and never in the curly quotes evidence is shown in: it is a request with blanks (___)
    for the surgeon to fill, not something the note says."""
    m = _EXAMPLE.search(hint or "")
    return f"complete: {m.group('s').strip()}" if m else (hint or "")


def _width() -> int:
    try:
        cols = int(os.environ.get("COLUMNS", "") or 0)
    except ValueError:
        cols = 0
    if not cols and sys.stdout.isatty():
        cols = os.get_terminal_size(sys.stdout.fileno()).columns
    return max(60, min(cols or 80, 100))


def _unmet_items(results, codes):
    """Each unmet checklist item once: (finding, codes it is unmet for), most severe first."""
    from ..schema.checklist import SEVERITIES

    seen: dict[str, list] = {}
    for r in results:
        for f in r.findings:
            if f.status != "met":
                seen.setdefault(f.item_id, [f, []])[1].append(r.code)
    rows = sorted(seen.values(), key=lambda x: (SEVERITIES.index(x[0].severity), x[0].item_id))
    return [(f, tuple(cs)) for f, cs in rows]


def check_lines(result, text: str | None = None, *, detail: bool = False, width: int = 80,
                decisions=None) -> list[tuple[str, str]]:
    """The surgeon's view of one CheckResult as (style, line) pairs, ``width`` columns wide.

    The verdict for each code first (one per code, from :func:`notechecker.plain.code_verdicts`),
    then each unmet checklist item once with the sentence to add, then what is documented
    (every item with its evidence under ``detail``). ``decisions``: reviewer decisions
    (:mod:`notechecker.audit.decisions`) layered over the verdicts; overruled items are not asked for.
    """
    import textwrap

    from ..schema.catalogue import load_catalogue
    from ..plain import code_verdicts, proof, scope_line, short_descriptor, words

    cat = load_catalogue()
    out: list[tuple[str, str]] = []

    def put(line: str, style: str = "", indent: int = 0, hang: int | None = None) -> None:
        hang = indent if hang is None else hang
        for k, part in enumerate(textwrap.wrap(line, width=width, initial_indent=" " * indent,
                                               subsequent_indent=" " * hang, break_on_hyphens=False) or [""]):
            out.append((style if k == 0 else (style if style in ("red", "yellow", "green", "dim") else ""), part))

    billed = " ".join(result.billed)
    supports = " ".join(dict.fromkeys(result.suggested)) or "none this checker codes"
    put(result.note_id, "bold")
    put(f"Billed: {billed}; codes the note describes: {supports}" if billed else
        f"No codes billed; codes the note describes: {supports}")
    scope = scope_line(result, text)
    if scope:
        put(scope, "red")
        for v in code_verdicts(result, cat, text):
            if v.billed:
                mark, colour = _TONE[v.tone]
                put(f"{mark} {v.code}: {v.verdict} ({v.reason}).", colour, 2, 4)
        return out
    verdicts = code_verdicts(result, cat, text)
    on_items: dict = {}
    if decisions is not None and text is not None:
        from ..audit.decisions import overrule_verdicts
        from ..audit.provenance import note_sha256

        verdicts, on_items = overrule_verdicts(verdicts, result, note_sha256(text), decisions)
    if not verdicts:
        put("No code to check: the note describes no procedure this checker codes.")
    said_fits = False
    vocab = words(cat)
    for v in verdicts:
        mark, colour = _TONE[v.tone]
        label = v.verdict.upper()
        room = max(20, width - 8 - len(label) - 2)
        desc = short_descriptor(v.descriptor, room) if v.descriptor else vocab.phrase("no_checklist")
        line = f"{mark} {v.code:<6}{desc}"
        out.append((colour, line + " " * max(1, width - len(line) - len(label)) + label))
        if v.reason.startswith("overruled by"):
            put(v.reason, "", 8)
        elif v.key == "not_supported":
            put(v.reason, "", 8)
            put(vocab.phrase("not_supported_fix", code=v.code, items=", ".join(
                f"{i.id} {i.name}" for i in v.items) or "it"), "", 8)
        elif v.key == "needs_documentation":
            put(v.reason, "", 8)
            if not said_fits:  # said once, for every such code
                put(vocab.phrase("needs_documentation_fix", code=v.code), "", 8)
                said_fits = True
        elif v.key != "supported":
            put(v.reason, "", 8)
        if v.supported or v.key == "coder_review":
            if v.proof is not None:
                put(vocab.phrase("proof") + ": " + _quote(v.proof.text, width - 18), "dim", 8, 15)
            for extra in v.also:
                put("also: " + extra, "", 8, 14)
    superseded = getattr(result.facts, "superseded", ())
    if superseded:  # which statement won: the addendum's, quoting the body's it replaced
        put("")
        put(vocab.phrase("superseded_heading"), "bold")
        for x in superseded:
            put(vocab.phrase("superseded", fact=x.fact.replace("_", " ").replace(":", " "), new=x.new or "-",
                             old=x.old), "", 2, 4)
            put(_quote(x.old_evidence.text, width - 8), "dim", 4, 5)
    supporting = {v.code for v in verdicts if v.supported}
    checked = [r for r in result.results if r.summary.coding_documented is not None and r.code in supporting]
    unmet = _unmet_items(checked, [r.code for r in checked])
    overruled = [(f, cs) for f, cs in unmet if all(on_items.get((c, f.item_id)) is not None and
                                                   on_items[(c, f.item_id)].decision == "overrule" for c in cs)]
    unmet = [x for x in unmet if x not in overruled]
    all_codes = {r.code for r in checked}
    main = [(f, cs) for f, cs in unmet if f.severity in ("error", "warning")]
    info = [(f, cs) for f, cs in unmet if f.severity not in ("error", "warning")]
    if main or info:
        put("")
        put("To add:", "bold")
    for f, cs in main:
        mark, colour = _MARK[f.severity]
        where = "" if set(cs) == all_codes or len(all_codes) < 2 else f" [{' '.join(cs)}]"
        status = "" if f.status == "missing" else f" ({f.status})"
        put(f"{mark} {f.item_id} {f.item_name}{status}{where}", colour, 2, 4)
        if f.status == "conflicting":
            put(f.message, "", 4)
        if f.fix_hint:
            put(_example(f.fix_hint), "dim", 4)
    for f, cs in overruled:
        put(f"\u2713 {f.item_id} {f.item_name}: {on_items[(cs[0], f.item_id)].note()}", "dim", 2, 4)
    if info:
        put("\u00b7 also worth noting: " + ", ".join(
            f"{f.item_id} {f.item_name}" + ("" if set(cs) == all_codes or len(all_codes) < 2 else f" [{' '.join(cs)}]")
            for f, cs in info), "dim", 2, 4)
    met: dict[str, object] = {}
    for r in checked:
        for f in r.met:
            met.setdefault(f.item_id, f)
    if met:
        put("")
        common = sorted(k for k in met if k.startswith("OP-"))
        others = sorted(k for k in met if not k.startswith("OP-"))
        n_common = len({f.item_id for r in checked for f in r.findings if f.item_id.startswith("OP-")})
        if not detail:
            put(f"Documented: {len(met)} items ({len(common)} of {n_common} common op-note items, "
                f"{len(others)} for the codes); --detail quotes each.", "dim")
        else:
            put("Documented:", "bold")
            for k in common + others:
                f = met[k]
                put(f"\u2713 {f.item_id} {f.item_name}", "green", 2, 4)
                if f.evidence:
                    put(_quote(proof(text, f.evidence[0]).text, 2 * width - 10), "dim", 6)
    for w in result.warnings:
        put(f"warning: {w}", "dim")
    return out


#: The styles of :func:`check_lines` as terminal escape codes (SGR): a line is printed as it is, coloured.
_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33"}


def colour_wanted(stream=None) -> bool:
    """Colour on a terminal, unless NO_COLOR is set or TERM is dumb; FORCE_COLOR forces it."""
    stream = stream or sys.stdout
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def styled(line: str, style: str) -> str:
    """``line`` in ``style`` (a style of :func:`check_lines`) for a terminal."""
    code = _SGR.get(style)
    return f"\x1b[{code}m{line}\x1b[0m" if code and line else line


def render_check(result, text: str | None = None, detail: bool = False, decisions=None) -> None:
    """Print :func:`check_lines`, coloured on a terminal (:func:`colour_wanted`). Plain escape codes: a
    check from a cold start does not load a terminal library for five colours."""
    import click

    colour = colour_wanted()
    for style, line in check_lines(result, text, detail=detail, width=_width(), decisions=decisions):
        click.echo(styled(line, style) if colour else line, color=colour)


"""``notechecker rules list|show``: the checklist catalogue and the coding rules."""
from __future__ import annotations

import sys
from typing import Optional

import typer

from .app import rules_app, usage


@rules_app.command("list")
def rules_list(code: Optional[str] = typer.Option(None, "--code", help="Only the items checked for this code.")):
    """List checklist items (id, tier, severity, name), per checklist or for one code."""
    from rich.console import Console
    from rich.markup import escape

    from ..schema.catalogue import load_catalogue

    cat = load_catalogue()
    out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    if code:
        code = code.strip().upper()
        items = cat.items_for(code)
        if not items:
            from ..plain import words

            raise usage(f"{code}: {words(cat).phrase('not_checked')}; codes with checklists: "
                        f"{', '.join(sorted(c for cl in cat.checklists.values() for c in cl.codes))}")
        info = cat.table.codes.get(code)
        out.print(f"[bold]{code}[/] {escape(info.descriptor if info else '')} "
                  f"(checklist {cat.family_of(code)}): {len(items)} items")
        for it in items:
            out.print(_item_line(it))
        return
    for cl in cat.checklists.values():
        codes = " ".join(cl.codes) if cl.codes else "all codes that extend it"
        out.print(f"\n[bold]{escape(cl.name)}[/]: {escape(cl.title)}  [dim]({escape(codes)}; {escape(cl.file)})[/]")
        for it in cl.items:
            out.print(_item_line(it))
    out.print("\n[bold]coding rules[/]: bundling, code choice, modifiers, diagnosis links  "
              "[dim](patterns/codes/bundling.yaml)[/]")
    from ..coding import messages

    label = messages(cat).label
    for r in cat.bundling:
        out.print(f"  {r.id}  {r.kind.replace('_', ' '):<11} {label(r.verdict):<33} {escape(r.name)}")


def _item_line(it) -> str:
    from rich.markup import escape

    only = f"  [dim]codes {' '.join(sorted(it.codes))}[/]" if it.codes else ""
    return f"  {it.id}  {it.tier:<9} {it.severity:<7} {escape(it.name)}{only}"


@rules_app.command("show")
def rules_show(ident: str = typer.Argument(..., metavar="CODE_OR_ITEM_ID", help="A code (22852) or item (RM-03).")):
    """Show one checklist item in full, or the checklist of one code."""
    from rich.console import Console
    from rich.markup import escape

    from ..schema.catalogue import load_catalogue

    cat = load_catalogue()
    out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    key = ident.strip().upper()
    rule = next((r for r in cat.bundling if r.id == key), None)
    if rule is not None:
        out.print(f"[bold]{rule.id}[/] {escape(rule.name)}")
        from ..coding import messages

        for k, v in (("kind", rule.kind.replace("_", " ")), ("verdict", messages(cat).label(rule.verdict)),
                     ("codes", " ".join(rule.codes)),
                     ("rule", rule.text), ("does", rule.does)):
            out.print(f"  [dim]{k:<10}[/] {escape(v)}")
        return
    if key in cat.items or key in cat.aliases:
        it = cat.item(key)
        out.print(f"[bold]{it.id}[/] {escape(it.name)}")
        rows = [("checklist", f"{it.checklist} ({it.file})"), ("tier", it.tier), ("severity", it.severity),
                ("codes", " ".join(sorted(it.codes)) if it.codes else "every code of the checklist"),
                ("what", it.description), ("why", it.rationale), ("fix hint", it.fix_hint)]
        if it.aliases:
            rows.append(("old ids", " ".join(it.aliases)))
        for c in it.conflicts:
            rows.append(("conflict", (f"[{' '.join(sorted(c.codes))}] " if c.codes else "") + c.message))
        rows += [("reference", r) for r in it.references]
        for k, v in rows:
            out.print(f"  [dim]{k:<10}[/] {escape(v)}")
        return
    items = cat.items_for(key)
    info = cat.table.codes.get(key)
    if not items and info is None:
        raise usage(f"{ident!r} is neither a checklist item id (like RM-03) nor a code with a checklist")
    out.print(f"[bold]{key}[/] {escape(info.descriptor if info else '')}")
    if info:
        out.print(f"  [dim]family[/] {info.family}  [dim]unit[/] {info.unit}  [dim]add-on[/] "
                  f"{'yes' if info.add_on else 'no'}")
    if not items:
        from ..plain import words

        out.print(f"  {escape(words(cat).phrase('not_checked').capitalize())}.")
        return
    cl = cat.checklists[cat.family_of(key)]
    out.print(f"  [dim]checklist[/] {escape(cl.name)}: {escape(cl.title)} ({escape(cl.file)})")
    for it in items:
        out.print(_item_line(it))
        out.print(f"      [dim]{escape(it.description)}[/]")


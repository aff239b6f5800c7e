"""Markup to plain text: HTML (FHIR ``text/html`` attachments) and the CDA narrative block.

The text is lines, each ending with a line feed, as a ``.txt`` note's. Block elements
(``<p>``, ``<div>``, ``<li>``, CDA ``<paragraph>``, ``<item>``, table rows) become lines,
in document order; ``<br>`` ends a line (two make a blank line); an empty paragraph
(``<p>&nbsp;</p>``, ``<paragraph/>``) is a blank line; runs of white space inside a line
are one space, as a browser shows them, while a no-break space stays a space of its own;
table cells are separated by a tab; ``<pre>`` keeps its lines as written; scripts,
styles and comments are dropped.
"""
from __future__ import annotations

import re

_WS = re.compile(r"[ \t\r\n\f\v]+")

HTML_BLOCKS = frozenset({"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
                         "table", "thead", "tbody", "tfoot", "tr", "caption", "blockquote", "section",
                         "article", "header", "footer", "address", "body", "html", "hr", "figure", "main"})
HTML_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "div"})
HTML_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
CDA_BLOCKS = frozenset({"text", "paragraph", "list", "item", "table", "thead", "tbody", "tfoot", "tr",
                        "caption", "renderMultiMedia"})
CDA_PARAGRAPHS = frozenset({"paragraph", "item"})
CDA_SKIP = frozenset({"footnote", "footnoteRef", "renderMultiMedia"})
CELLS = frozenset({"td", "th"})
_CELL = "\x1f"  # a cell's end while a line is built (white space is collapsed around it), a tab after


def _local(tag) -> str:
    if not isinstance(tag, str):  # comments, processing instructions
        return ""
    return tag.rsplit("}", 1)[-1]


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.cur: list[str] = []

    def flush(self, force: bool = False) -> None:
        raw = "".join(self.cur)
        self.cur.clear()
        line = _WS.sub(" ", raw).strip(" ").replace(" " + _CELL, _CELL).replace(_CELL + " ", _CELL)
        line = line.rstrip(_CELL).replace(_CELL, "\t").replace("\xa0", " ")
        if not line.strip():
            line = ""
        if line or force:
            self.lines.append(line.rstrip(" ") if not line.strip() else line)


def element_text(root, blocks=HTML_BLOCKS, paragraphs=HTML_PARAGRAPHS, skip=HTML_SKIP) -> str:
    """The text of an lxml element tree (HTML or CDA narrative), one line per block."""
    out = _Lines()

    def walk(el) -> None:
        tag = _local(el.tag)
        if tag and tag not in skip:
            if tag == "br":
                out.flush(force=True)
            elif tag == "pre":
                out.flush()
                text = "".join(el.itertext())
                out.lines.extend(text.strip("\n").split("\n"))
            elif tag in blocks:
                out.flush()
                start = len(out.lines)
                if el.text:
                    out.cur.append(el.text)
                for child in el:
                    walk(child)
                out.flush()
                if tag in paragraphs and len(out.lines) == start:
                    out.lines.append("")  # an empty paragraph is a blank line
            else:  # inline (span, b, content, td ...)
                if el.text:
                    out.cur.append(el.text)
                for child in el:
                    walk(child)
                if tag in CELLS:
                    out.cur.append(_CELL)
        if el.tail:
            out.cur.append(el.tail)

    walk(root)
    out.flush()
    lines = list(out.lines)
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "".join(line + "\n" for line in lines)  # every line ends with a line feed, as in a text file


def html_to_text(html: str) -> str:
    """The text of an HTML document or fragment (see the module's rules)."""
    import lxml.html

    if not html.strip():
        return ""
    root = lxml.html.document_fromstring(html)
    return element_text(root)

"""Word ``.docx`` notes (python-docx): the body's paragraphs and tables in order.

Each paragraph is a line (an empty paragraph a blank line); a table row is a line with its
cells separated by a tab. Headers, footers and comments are not part of the note. The
note id is the file stem.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from .base import Document, safe_reason


def read(data: bytes, source: str) -> Iterator[Document | InputError]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        body = document.element.body
        for child in body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                lines.extend(Paragraph(child, document).text.split("\n"))
            elif tag == "tbl":
                for row in Table(child, document).rows:
                    lines.append("\t".join(cell.text.replace("\n", " ") for cell in row.cells))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError("E541", f"{source}: not a readable DOCX document ({safe_reason(exc)})") from None
    while lines and not lines[-1].strip():
        lines.pop()
    text = "".join(line + "\n" for line in lines)
    if not text.strip():
        raise InputError("E542", f"{source}: a DOCX document without text")
    yield Document(note_id=Path(source).stem, text=text, source=source, format="docx")

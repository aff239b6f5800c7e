"""Word ``.docx`` notes (python-docx): the body's paragraphs and tables in order.

Each paragraph is a line (an empty paragraph a blank line); a table row is a line with its
cells separated by a tab. Headers, footers and comments are not part of the note. The
note id is the file stem.

A DOCX is a ZIP: before python-docx opens it, every part is inflated once with a byte cap
checked while it inflates (:data:`.base.MAX_PART_BYTES` a part, :data:`.base.MAX_UNPACKED_BYTES`
in all), so a bomb is refused (E506) after a few megabytes, not after gigabytes. Part names
are never shown (they are the file's own words); errors say what is wrong in ours.
"""
from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from .base import MAX_PART_BYTES, MAX_UNPACKED_BYTES, Document, position

_BLOCK = 1 << 16


def check_parts(data: bytes, source: str) -> None:
    """E541 for a ZIP that cannot be read, E506 when a part (or all of them) inflates past its cap."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > 10_000:
                raise InputError("E506", f"{source}: a DOCX of {len(infos):,} parts (over the 10,000-part limit)")
            total = 0
            for info in infos:
                if info.is_dir():
                    continue
                part = 0
                with z.open(info) as fh:
                    while True:
                        block = fh.read(_BLOCK)
                        if not block:
                            break
                        part += len(block)
                        total += len(block)
                        if part > MAX_PART_BYTES or total > MAX_UNPACKED_BYTES:
                            raise InputError("E506", f"{source}: a DOCX part inflates past the "
                                                     f"{MAX_PART_BYTES // (1 << 20)} MB limit of a part "
                                                     f"({MAX_UNPACKED_BYTES // (1 << 20)} MB in all): not read")
    except InputError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        raise InputError("E541", f"{source}: not a readable DOCX document (a damaged ZIP: "
                                 f"{type(exc).__name__})") from None


def read(data: bytes, source: str) -> Iterator[Document | InputError]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    from lxml import etree

    check_parts(data, source)
    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        body = document.element.body
        for child in body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
            if tag == "p":
                lines.extend(Paragraph(child, document).text.split("\n"))
            elif tag == "tbl":
                for row in Table(child, document).rows:
                    lines.append("\t".join(cell.text.replace("\n", " ") for cell in row.cells))
    except etree.XMLSyntaxError as exc:  # libxml2's message quotes names from the document: never shown
        raise InputError("E541", f"{source}: not a readable DOCX document (a part is not well-formed XML, "
                                 f"{position(exc)})") from None
    except PackageNotFoundError:
        raise InputError("E541", f"{source}: not a readable DOCX document (not a Word package)") from None
    except (zipfile.BadZipFile, KeyError, ValueError, AttributeError, TypeError, IndexError) as exc:
        # python-docx's messages name parts and content types of the file: say the kind only
        raise InputError("E541", f"{source}: not a readable DOCX document ({type(exc).__name__} in its "
                                 f"structure)") from None
    while lines and not lines[-1].strip():
        lines.pop()
    text = "".join(line + "\n" for line in lines)
    if not text.strip():
        raise InputError("E542", f"{source}: a DOCX document without text")
    yield Document(note_id=Path(source).stem, text=text, source=source, format="docx")

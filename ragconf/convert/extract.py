"""Text of attachments: plain text, Markdown, CSV, PDF and DOCX.

``extract_text`` returns the text (at most ``max_chars`` characters), ``""`` for a
supported file that holds no text (an empty ``.txt``, a scanned PDF), and ``None`` when
the type is not supported or the bytes are not a readable file of that type (a corrupt
PDF, junk labelled as text, a zero-byte PDF/DOCX). It never raises on bad input: the
caller indexes the attachment's metadata alone and may report the ``None``.

* text/plain and text/markdown: decoded (BOM, UTF-8, then Windows-1252), newlines
  normalised; bytes that look binary give ``None``.
* text/csv (and ``.csv``/``.tsv`` files labelled generically): a Markdown table whose
  first row is the header, cells flattened to one line. :func:`text_kind` says "table"
  for these, so the caller can make it a table section that the chunker splits between
  rows with the header repeated.
* PDF (pypdf): page by page, pages separated by a blank line, stopping at ``max_chars``.
  Encrypted PDFs are tried with the empty password.
* DOCX (python-docx): paragraphs and tables in document order; "Heading N" styles become
  Markdown headings, tables Markdown tables. Archives that would inflate past 256 MiB are
  refused (zip bombs).

Example::

    text = extract_text(data, "application/pdf", "handbook.pdf", max_chars=100_000)
    if text is None:
        ...  # index the attachment's metadata only
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["MAX_UNPACKED_BYTES", "extract_text", "text_kind"]

log = logging.getLogger(__name__)

_TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown", "text/x-rst"})
_CSV_TYPES = frozenset(
    {"text/csv", "application/csv", "text/comma-separated-values", "text/tab-separated-values"}
)
_PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
_DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Labels that say nothing about the format: the file name decides.
_GENERIC_TYPES = frozenset(
    {"", "application/octet-stream", "binary/octet-stream", "application/x-download",
     "application/vnd.ms-excel", "text/plain", "application/unknown"}
)  # fmt: skip
_EXTENSIONS = {
    ".txt": "text", ".text": "text", ".md": "text", ".markdown": "text", ".log": "text",
    ".rst": "text", ".csv": "csv", ".tsv": "csv", ".pdf": "pdf", ".docx": "docx",
}  # fmt: skip
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n{3,}")


def _kind(media_type: str, filename: str) -> str | None:
    mt = (media_type or "").split(";", 1)[0].strip().lower()
    ext = ""
    if "." in (filename or ""):
        ext = "." + filename.rsplit(".", 1)[-1].strip().lower()
    if mt in _GENERIC_TYPES and ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    if mt in _TEXT_TYPES:
        return "text"
    if mt in _CSV_TYPES:
        return "csv"
    if mt in _PDF_TYPES:
        return "pdf"
    if mt == _DOCX_TYPE:
        return "docx"
    return None


def text_kind(media_type: str, filename: str) -> str | None:
    """ "table" for CSV, "text" for the other supported types, None if unsupported."""
    kind = _kind(media_type, filename)
    if kind is None:
        return None
    return "table" if kind == "csv" else "text"


def extract_text(
    data: bytes,
    media_type: str,
    filename: str,
    *,
    max_chars: int = 200_000,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
) -> str | None:
    """The readable text of an attachment, or None (see the module docstring).

    ``max_unpacked_bytes`` caps what a DOCX archive may inflate to.
    """
    kind = _kind(media_type, filename)
    if kind is None or not isinstance(data, bytes | bytearray | memoryview):
        return None
    data = bytes(data)
    if not data:
        return "" if kind in ("text", "csv") else None
    try:
        if kind == "text":
            text = _decode(data)
            return None if text is None else _tidy(text)[:max_chars]
        if kind == "csv":
            return _csv(data, filename, max_chars)
        if kind == "pdf":
            return _pdf(data, max_chars)
        return _docx(data, max_chars, max_unpacked_bytes)
    except Exception as exc:  # third-party parsers raise anything on crafted input
        log.debug("could not extract text from %s (%s): %r", filename, media_type, exc)
        return None


# ------------------------------------------------------------------------ text
def _decode(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    sample = text[:8192]
    if sample and len(_CONTROL.findall(sample)) > 0.02 * len(sample):
        return None  # NULs and control bytes: a binary file with a text label
    return _CONTROL.sub("", text)


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _cell(value: str) -> str:
    return " ".join(value.split()).replace("|", "\\|")


def _markdown_table(rows: Iterable[list[str]], max_chars: int) -> str:
    lines: list[str] = []
    size = 0
    width = 0
    for row in rows:
        cells = [_cell(c) for c in row]
        if not any(cells):
            continue
        if not lines:
            width = len(cells)
            lines.append("| " + " | ".join(cells) + " |")
            lines.append("| " + " | ".join(["---"] * width) + " |")
        else:
            cells = (cells + [""] * width)[: max(width, len(cells))]
            lines.append("| " + " | ".join(cells) + " |")
        size += len(lines[-1]) + 1
        if size >= max_chars:
            break
    text = "\n".join(lines)
    if len(text) > max_chars:  # cut at a row boundary so the table stays a table
        text = text[: text.rfind("\n", 0, max_chars)] if "\n" in text[:max_chars] else ""
    return text


def _csv(data: bytes, filename: str, max_chars: int) -> str | None:
    text = _decode(data)
    if text is None:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = "\t" if filename.lower().endswith(".tsv") else ","
    with contextlib.suppress(csv.Error):  # no clear delimiter: keep the default
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
    try:
        return _markdown_table(csv.reader(io.StringIO(text), delimiter=delimiter), max_chars)
    except csv.Error:  # e.g. a field larger than csv's limit: fall back to the raw lines
        return _tidy(text)[:max_chars]


# ------------------------------------------------------------------------- PDF
def _pdf(data: bytes, max_chars: int) -> str | None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        return None
    pages: list[str] = []
    size = 0
    for page in reader.pages:
        text = _tidy(page.extract_text() or "")
        if text:
            pages.append(text)
            size += len(text) + 2
        if size >= max_chars:
            break
    return "\n\n".join(pages)[:max_chars]


# ------------------------------------------------------------------------ DOCX
def _docx(data: bytes, max_chars: int, max_unpacked: int) -> str | None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > max_unpacked:
            return None  # a zip bomb, or a document far beyond what we would index
    import docx

    document = docx.Document(io.BytesIO(data))
    parts: list[str] = []
    size = 0
    for block in _docx_blocks(document):
        if block:
            parts.append(block)
            size += len(block) + 2
        if size >= max_chars:
            break
    return "\n\n".join(parts)[:max_chars]


def _docx_blocks(document: Any) -> Iterator[str]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            text = " ".join(paragraph.text.split())
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            if text and style.startswith("Heading ") and style[8:].isdigit():
                text = "#" * min(int(style[8:]), 6) + " " + text
            elif text and style == "Title":
                text = "# " + text
            yield text
        elif tag == "tbl":
            yield _markdown_table(_docx_rows(Table(child, document)), 1 << 30)


def _docx_rows(table: Any) -> Iterator[list[str]]:
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a merged cell is reported once per grid column
                cells.append("")
                continue
            previous = cell._tc
            cells.append(" ".join(p.text for p in cell.paragraphs))
        yield cells

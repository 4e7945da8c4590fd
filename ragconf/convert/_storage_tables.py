"""Storage tables as GitHub-flavoured Markdown tables (private helper of convert.py).

* Header: the ``thead`` rows, else the leading rows made only of ``th`` cells; several
  header rows merge per column. A table without one gets an empty header row (Markdown
  needs one, and promoting a data row would mislabel key/value tables).
* Spans: ``colspan`` repeats a header cell over its columns (so each column keeps its
  label) and leaves data cells after the first empty; ``rowspan`` repeats the value in
  the rows below, so every row stands alone when the chunker splits the table.
* Cells: blocks flattened to one line (lists as "• item"), ``|`` escaped.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ragconf.convert._storage_parse import qname

if TYPE_CHECKING:
    from ragconf.convert._storage_render import Renderer

__all__ = ["table_markdown"]

_ALIGN = re.compile(r"text-align\s*:\s*(left|center|right)", re.IGNORECASE)
_LIST_MARK = re.compile(r"^(?:[-*+]|\d{1,9}[.)])\s+")
_MAX_SPAN = 64  # guards against colspan="100000" blowing up memory


def _span(cell: Any, name: str) -> int:
    raw = (cell.get(name) or "1").strip()
    return min(max(int(raw), 1), _MAX_SPAN) if raw.isdigit() else 1


def _rows(table: Any) -> list[tuple[Any, bool]]:
    """(tr, in_thead) in document order, without descending into nested tables."""
    name = qname(table)
    if name == "tr":
        return [(table, False)]
    rows: list[tuple[Any, bool]] = []
    for child in table:
        cname = qname(child)
        if cname == "tr":
            rows.append((child, name == "thead"))
        elif cname in ("thead", "tbody", "tfoot"):
            rows.extend((tr, cname == "thead") for tr in child if qname(tr) == "tr")
    return rows


def _cell_text(r: Renderer, cell: Any) -> str:
    parts: list[str] = []
    for block in r.blocks(cell):
        if block.kind == "table":
            # A table inside a cell: rows as "a, b" separated by "; ".
            rows = [
                ", ".join(c.strip() for c in line.strip().strip("|").split(" | ") if c.strip())
                for line in block.text.split("\n")[2:]
            ]
            parts.append("; ".join(row for row in rows if row))
        elif block.kind == "code":
            lines = block.text.split("\n")[1:-1]
            code = " ".join(line.strip() for line in lines if line.strip())
            parts.append(f"`{code}`" if "`" not in code else code)
        else:
            for line in block.text.split("\n"):
                line = line.strip()
                if line:
                    parts.append(_LIST_MARK.sub("• ", line) if line[0] in "-*+0123456789" else line)
    return " ".join(parts).replace("|", "\\|")


def table_markdown(r: Renderer, table: Any) -> str:
    grid: list[list[str]] = []
    header_flags: list[bool] = []
    all_th: list[bool] = []
    aligns: dict[int, str] = {}
    pending: dict[int, tuple[str, int]] = {}  # column -> (text, rows still spanned)

    def take_pending(row: list[str], col: int) -> int:
        while col in pending:
            text, left = pending[col]
            row.append(text)
            if left <= 1:
                del pending[col]
            else:
                pending[col] = (text, left - 1)
            col += 1
        return col

    for tr, in_head in _rows(table):
        cells = [c for c in tr if qname(c) in ("td", "th")]
        if not cells:
            continue
        row: list[str] = []
        col = 0
        for cell in cells:
            col = take_pending(row, col)
            text = _cell_text(r, cell)
            colspan, rowspan = _span(cell, "colspan"), _span(cell, "rowspan")
            match = _ALIGN.search(cell.get("style") or "")
            for k in range(colspan):
                value = text if k == 0 or in_head or qname(cell) == "th" else ""
                row.append(value)
                if match and col not in aligns:
                    aligns[col] = match.group(1).lower()
                if rowspan > 1:
                    pending[col] = (text, rowspan - 1)
                col += 1
        take_pending(row, col)
        grid.append(row)
        header_flags.append(in_head)
        all_th.append(all(qname(c) == "th" for c in cells))

    if not grid:
        return ""
    if any(header_flags):
        head_rows = [row for row, head in zip(grid, header_flags, strict=True) if head]
        body_rows = [row for row, head in zip(grid, header_flags, strict=True) if not head]
    else:
        n_head = 0
        while n_head < len(grid) and all_th[n_head]:
            n_head += 1
        if n_head == len(grid) and n_head > 1:
            n_head = 1  # a table made only of th cells: the first row labels the rest
        head_rows, body_rows = grid[:n_head], grid[n_head:]
    width = max(len(row) for row in grid)
    header = [""] * width
    for row in head_rows:
        for i, text in enumerate(row):
            if text and text not in header[i].split(" / "):
                header[i] = f"{header[i]} / {text}" if header[i] else text
    body_rows = [row + [""] * (width - len(row)) for row in body_rows if any(row)]
    if not body_rows and not any(header):
        return ""
    sep = [
        {"center": ":---:", "right": "---:", "left": ":---"}.get(aligns.get(i, ""), "---")
        for i in range(width)
    ]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines.extend("| " + " | ".join(row) + " |" for row in body_rows)
    return "\n".join(lines)

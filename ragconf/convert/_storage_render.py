"""Render a parsed storage tree as a stream of Markdown blocks (private helper of convert.py).

:meth:`Renderer.blocks` walks an element's content and yields :class:`Block` s: paragraphs
(lists, task lists and quotes are paragraph-like text too), headings, tables and code.
Inline content (text, emphasis, links, mentions, status lozenges …) is rendered by
``inline_into``. Macros live in ``_storage_macros``, links/mentions/images in
``_storage_links`` and tables in ``_storage_tables``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ragconf.convert import _storage_links as links
from ragconf.convert import _storage_macros as macros
from ragconf.convert._storage_parse import Block, collapse, finish, qname, text_of
from ragconf.convert._storage_tables import table_markdown

__all__ = ["Block", "Renderer"]

_TASK_LOOKALIKE = re.compile(r"^\[[ xX]\]")
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "ul", "ol", "li", "table", "tr", "td", "th", "thead", "tbody", "tfoot",
        "pre", "blockquote", "hr", "dl", "dt", "dd", "section", "article", "header", "footer",
        "nav", "aside", "main", "figure", "figcaption", "center", "address", "details",
        "summary", "form", "fieldset", "body", "html",
        "ac:layout", "ac:layout-section", "ac:layout-cell", "ac:task-list", "ac:task",
        "ac:adf-extension", *_HEADINGS,
    }
)  # fmt: skip
_MACRO_TAGS = frozenset({"ac:structured-macro", "ac:macro"})
_DROPPED = frozenset(
    {"script", "style", "ac:parameter", "ac:default-parameter", "ac:placeholder",
     "ac:emoticon", "ac:task-id", "ac:task-uuid", "ac:task-status", "ac:adf-attribute",
     "ac:caption", "head", "title"}
)  # fmt: skip
_MARKS = {"strong": "**", "b": "**", "em": "*", "i": "*", "s": "~~", "del": "~~", "strike": "~~"}
_CODE_TAGS = frozenset({"code", "tt", "kbd", "samp"})
_MAX_DEPTH = 120  # deeper trees are rendered as plain text (keeps us off Python's recursion limit)


def indent_item(marker: str, body: str, pad: int) -> str:
    lines = body.split("\n")
    spaces = " " * pad
    rest = [spaces + line if line else "" for line in lines[1:]]
    return "\n".join([f"{marker} {lines[0]}".rstrip(), *rest])


class Renderer:
    """Turns storage elements into Markdown blocks; one instance per conversion."""

    def __init__(self, users: Mapping[str, str], *, anchor_macros: bool = False) -> None:
        self.users = users
        self.anchor_macros = anchor_macros
        self._depth = 0
        self.plain = 0
        self._in_task = 0
        self._open_marks: dict[str, int] = {}

    # ------------------------------------------------------------------ blocks
    def blocks(self, el: Any) -> Iterator[Block]:
        """Blocks for the content of ``el`` (its text and children, not its tail)."""
        if self._depth > _MAX_DEPTH:
            text = collapse(text_of(el)).strip()
            if text:
                yield Block("p", text)
            return
        self._depth += 1
        try:
            run: list[Any] = []
            if el.text:
                run.append(el.text)
            for child in el:
                name = qname(child)
                if name and self.is_block(child, name):
                    if run:
                        yield from self._flush(run)
                        run = []
                    yield from self._block(child, name)
                elif name:
                    run.append(child)
                if child.tail:
                    run.append(child.tail)
            if run:
                yield from self._flush(run)
        finally:
            self._depth -= 1

    def is_block(self, el: Any, name: str) -> bool:
        if name in _BLOCK_TAGS:
            return True
        if name in _MACRO_TAGS:
            return macros.is_block_macro(el)
        if name in _DROPPED or name.startswith("ri:") or name in _MARKS or name == "a":
            return False
        # An inline or unknown wrapper (span, ac:rich-text-body, <foo>) around blocks.
        for child in el:
            cname = qname(child)
            if cname in _BLOCK_TAGS or (cname in _MACRO_TAGS and macros.is_block_macro(child)):
                return True
        return False

    def _flush(self, run: list[Any]) -> Iterator[Block]:
        out: list[str] = []
        for item in run:
            if isinstance(item, str):
                out.append(collapse(item))
            else:
                self.inline_el(item, qname(item), out)
        text = finish("".join(out))
        if text:
            yield Block("p", text)

    def _block(self, el: Any, name: str) -> Iterator[Block]:
        if name in _HEADINGS:
            yield from self._heading(el, _HEADINGS[name])
        elif name in ("ul", "ol"):
            text = self.list_text(el, ordered=name == "ol")
            if text:
                yield Block("list", text)
        elif name == "li":
            text = self.list_text(el, ordered=False, lone_item=True)
            if text:
                yield Block("list", text)
        elif name in ("ac:task-list", "ac:task"):
            text = self.task_list_text(el, lone_task=name == "ac:task")
            if text:
                yield Block("list", text)
        elif name in ("table", "tr", "thead", "tbody", "tfoot"):
            text = table_markdown(self, el)
            if text:
                yield Block("table", text)
        elif name == "pre":
            yield from macros.code_block(text_of(el), "")
        elif name == "blockquote":
            for block in self.blocks(el):
                if block.kind in ("p", "list", "quote"):
                    lines = block.text.split("\n")
                    yield Block("quote", "\n".join(f"> {line}" if line else ">" for line in lines))
                else:
                    yield block
        elif name == "hr":
            return
        elif name in _MACRO_TAGS:
            yield from macros.macro_blocks(self, el)
        elif name == "ac:adf-extension":
            yield from macros.adf_blocks(self, el)
        else:  # div, layouts, rich-text bodies, unknown wrappers: transparent containers
            yield from self.blocks(el)

    def _heading(self, el: Any, level: int) -> Iterator[Block]:
        text = finish(self.plain_text(el)).replace("\n", " ")
        if not text:
            return
        anchor = None
        if self.anchor_macros:
            anchor = macros.anchor_macro_name(el)
        yield Block("heading", text, level=level, anchor=anchor)

    def plain_text(self, el: Any) -> str:
        """Inline text of ``el`` without Markdown marks (for headings, code, link bodies)."""
        self.plain += 1
        try:
            out: list[str] = []
            self.inline_into(el, out)
            return "".join(out)
        finally:
            self.plain -= 1

    def block_text(self, el: Any) -> str:
        """All blocks of ``el`` joined with single newlines (list items, task bodies)."""
        return "\n".join(b.text for b in self.blocks(el) if b.text)

    # ------------------------------------------------------------------- lists
    def list_text(self, el: Any, *, ordered: bool, lone_item: bool = False) -> str:
        items: list[str] = []
        number = 1
        if ordered:
            start = el.get("start") or ""
            number = int(start) if start.isdigit() and len(start) < 9 else 1
        pad = 2
        children = [el] if lone_item else list(el)
        if not lone_item and el.text and el.text.strip():
            items.append(f"- {collapse(el.text).strip()}")
        for child in children:
            name = qname(child)
            if name == "li":
                body = self.block_text(child)
                if body:
                    if not ordered and _TASK_LOOKALIKE.match(body):
                        body = "\\" + body  # "[x] done" typed as text is not a task
                    marker = f"{number}." if ordered else "-"
                    number += 1
                    pad = len(marker) + 1
                    items.append(indent_item(marker, body, pad))
            elif name in ("ul", "ol"):
                # A list nested directly in a list (no <li>) belongs to the previous item.
                nested = self.list_text(child, ordered=name == "ol")
                if nested and items:
                    items[-1] += "\n" + "\n".join(
                        " " * pad + line if line else "" for line in nested.split("\n")
                    )
                elif nested:
                    items.append(nested)
            elif name:
                stray = self.block_text(child)
                if stray:
                    items.append(indent_item("-", stray, 2))
            if not lone_item and child.tail and child.tail.strip():
                items.append(f"- {collapse(child.tail).strip()}")
        return "\n".join(items)

    def task_list_text(self, el: Any, *, lone_task: bool = False) -> str:
        items: list[str] = []
        for task in [el] if lone_task else el:
            if qname(task) != "ac:task":
                if qname(task) and (stray := self.block_text(task)):
                    items.append(indent_item("-", stray, 2))
                continue
            status = ""
            body = ""
            for part in task:
                pname = qname(part)
                if pname == "ac:task-status":
                    status = text_of(part).strip().lower()
                elif pname == "ac:task-body":
                    self._in_task += 1
                    try:
                        body = self.block_text(part)
                    finally:
                        self._in_task -= 1
            if body:
                box = "[x]" if status == "complete" else "[ ]"
                items.append(indent_item(f"- {box}", body, 2))
        return "\n".join(items)

    # ------------------------------------------------------------------ inline
    def inline_into(self, el: Any, out: list[str]) -> None:
        if el.text:
            out.append(collapse(el.text))
        for child in el:
            name = qname(child)
            if name:
                self.inline_el(child, name, out)
            if child.tail:
                out.append(collapse(child.tail))

    def inline_el(self, el: Any, name: str, out: list[str]) -> None:
        if name == "br":
            out.append("\n")
        elif name in _MARKS:
            self._wrap(el, _MARKS[name], out)
        elif name in _CODE_TAGS:
            self._inline_code(el, out)
        elif name == "a":
            parts: list[str] = []
            self.inline_into(el, parts)
            text = "".join(parts)
            href = el.get("href") or ""
            if text.strip():
                out.append(text)
            elif href.startswith(("http://", "https://", "mailto:", "ftp://")):
                out.append(href)
        elif name == "ac:link":
            out.append(links.ac_link(self, el))
        elif name in ("ac:image", "img"):
            out.append(links.image(self, el, name))
        elif name == "time":
            date = el.get("datetime") or collapse(text_of(el)).strip()
            if date:
                out.append(f"due {date}" if self._in_task else date)
        elif name == "ri:user":
            out.append(links.mention(self.users, el))
        elif name in _DROPPED or name.startswith("ri:"):
            return
        elif name in _MACRO_TAGS:
            out.append(macros.inline_macro_text(self, el))
        elif name == "ac:adf-extension" or name in _BLOCK_TAGS:
            # Block content where only inline text can go (a table cell, a heading):
            # keep the text, one block per line.
            out.append("\n" + "\n".join(b.text for b in self._block(el, name)) + "\n")
        else:  # span, u, sup, sub, inline comment markers, unknown elements: transparent
            self.inline_into(el, out)

    def _wrap(self, el: Any, mark: str, out: list[str]) -> None:
        if self.plain or self._open_marks.get(mark):
            self.inline_into(el, out)
            return
        self._open_marks[mark] = self._open_marks.get(mark, 0) + 1
        parts: list[str] = []
        try:
            self.inline_into(el, parts)
        finally:
            self._open_marks[mark] -= 1
        inner = "".join(parts)
        core = inner.strip()
        if not core:
            out.append(inner)
            return
        lead = inner[: len(inner) - len(inner.lstrip())]
        trail = inner[len(inner.rstrip()) :]
        out.append(f"{lead}{mark}{core}{mark}{trail}")

    def _inline_code(self, el: Any, out: list[str]) -> None:
        raw = self.plain_text(el)
        text = collapse(raw).strip()
        if not text:
            out.append(" " if raw else "")
            return
        if self.plain:
            out.append(text)
            return
        fence = "``" if "`" in text else "`"
        pad = " " if text[0] == "`" or text[-1] == "`" else ""
        lead = " " if raw[:1].isspace() else ""
        trail = " " if raw[-1:].isspace() else ""
        out.append(f"{lead}{fence}{pad}{text}{pad}{fence}{trail}")

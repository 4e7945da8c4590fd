"""Confluence storage format (XHTML with ``ac:``/``ri:`` macros) to structured Markdown.

The output keeps what a reader sees and drops what they don't (macro parameters, ids,
layout wrappers, emoticons), and it is cut into :class:`~ragconf.document.Section` s at
headings so the chunker can stay inside one topic and link back to the heading's anchor.

Rendering rules, in short (the golden files in ``tests/golden`` show each on real pages):

* headings split sections; ``heading_path`` is the stack of enclosing headings and
  ``anchor`` the innermost heading's Confluence Cloud anchor: its text with spaces
  replaced by ``-`` ("Getting started" -> ``Getting-started``). Text before the first
  heading has ``heading_path == ()`` and ``anchor is None``. Empty headings are ignored.
* every table is a Section of its own (``kind="table"``), a Markdown table with a header
  row; every block code macro (and ``<pre>``) is a Section of its own (``kind="code"``), a
  fenced block with the macro's language. Everything else is ``kind="text"``. The
  chunker packs a heading's consecutive sections together again when they fit.
* lists and task lists (``- [ ]``/``- [x]``, nested, with ``@assignee`` and ``due DATE``)
  stay inside text; info/note/warning/tip bodies start with a "**Note:**" label,
  panel/expand titles become a bold line; user mentions become "@Display Name" from the
  ``users`` mapping ("@user" when unknown, never an account id); page links become their
  link text or page title; attachment links the text and file name; images
  ``![alt](file)``; status lozenges their title; Jira macros their issue key; labelled
  ``<a href>`` links their label (URLs cost tokens and carry little meaning); unlabelled
  ones the URL.
* malformed input never raises: lxml's recovering XML parser, then its HTML parser, then
  a tag stripper (see ``_storage_parse``).

Example::

    conv = StorageConverter(users={"5b10ac8d82e05b22cc7d4ef5": "Ada Lovelace"})
    out = conv.convert("<h2>Getting started</h2><p>Ask <ac:link>"
                       '<ri:user ri:account-id="5b10ac8d82e05b22cc7d4ef5"/></ac:link></p>')
    out.sections[0].heading_path   # ("Getting started",)
    out.sections[0].anchor         # "Getting-started"
    out.markdown                   # "## Getting started\\n\\nAsk @Ada Lovelace"
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from ragconf.convert._storage_parse import Block, parse_storage, strip_tags
from ragconf.convert._storage_render import Renderer
from ragconf.document import Section

__all__ = ["Converted", "StorageConverter"]

log = logging.getLogger(__name__)

_HEADING_LOOKALIKE = re.compile(r"#{1,6}(?:\s|$)")


def _letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


@dataclass(frozen=True)
class Converted:
    """A converted page: its sections (for chunking) and the whole page as Markdown."""

    sections: list[Section]
    markdown: str


class StorageConverter:
    """Converts storage-format XHTML into sections of Markdown.

    ``users`` maps account ids (or Server user keys / usernames) to display names.
    ``anchor_style="server"`` builds Server/Data Center anchors (``PageTitle-HeadingText``)
    from the ``title`` passed to :meth:`convert`; ``prefer_anchor_macros`` uses an anchor
    macro placed inside a heading as that heading's anchor instead of its text.

    Example::

        out = StorageConverter().convert("<h1>Intro</h1><p>Hello &nbsp;world</p>")
        [(s.heading_path, s.anchor, s.text) for s in out.sections]
        # [(("Intro",), "Intro", "Hello world")]
    """

    #: mentions render as "@Display Name": a sync passes the names it looked up (the
    #: ``ragconf.sync.protocols.Converter`` declaration)
    uses_user_names = True

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        *,
        anchor_style: Literal["cloud", "server"] = "cloud",
        prefer_anchor_macros: bool = False,
    ) -> None:
        self.users: Mapping[str, str] = dict(users or {})
        self.anchor_style = anchor_style
        self.prefer_anchor_macros = prefer_anchor_macros

    def convert(
        self, xhtml: str, *, title: str = "", users: Mapping[str, str] | None = None
    ) -> Converted:
        """Convert one storage body. Never raises on malformed input.

        ``users``: more display names for this call (a sync's lookups); the names given
        to the constructor win over them.
        """
        if isinstance(xhtml, bytes | bytearray):
            xhtml = bytes(xhtml).decode("utf-8", errors="replace")
        if not isinstance(xhtml, str) or not xhtml.strip():
            return Converted([], "")
        converted: Converted | None = None
        try:
            root, damaged = parse_storage(xhtml)
            if root is not None:
                names = {**users, **self.users} if users else self.users
                renderer = Renderer(names, anchor_macros=self.prefer_anchor_macros)
                converted = self._assemble(renderer.blocks(root), title)
                if not damaged:
                    return converted
        except Exception as exc:  # never let one odd page stop a sync; degrade to plain text
            log.debug("storage conversion fell back to tag stripping: %r", exc)
        try:
            text = strip_tags(xhtml)
        except Exception as exc:
            log.debug("tag stripping failed: %r", exc)
            text = ""
        if converted is not None and _letters(converted.markdown) >= 0.5 * _letters(text):
            return converted
        # Both parsers lost most of a damaged page (e.g. nesting deeper than libxml2's
        # limit): plain text beats structure.
        return Converted([Section((), None, text)] if text else [], text)

    def anchor(self, heading: str, title: str = "") -> str:
        """The URL fragment Confluence gives a heading with this text."""
        if self.anchor_style == "server":
            return f"{title.replace(' ', '')}-{heading.replace(' ', '')}"
        return heading.replace(" ", "-")

    def _assemble(self, blocks: Iterable[Block], title: str) -> Converted:
        sections: list[Section] = []
        markdown: list[str] = []
        path: list[tuple[int, str, str]] = []  # (level, text, anchor) of enclosing headings
        text_run: list[str] = []

        def where() -> tuple[tuple[str, ...], str | None]:
            return tuple(h[1] for h in path), (path[-1][2] if path else None)

        def flush() -> None:
            if text_run:
                heading_path, anchor = where()
                sections.append(Section(heading_path, anchor, "\n\n".join(text_run), "text"))
                text_run.clear()

        for block in blocks:
            if block.kind == "heading":
                flush()
                while path and path[-1][0] >= block.level:
                    path.pop()
                path.append(
                    (block.level, block.text, block.anchor or self.anchor(block.text, title))
                )
                markdown.append("#" * block.level + " " + block.text)
            elif block.kind in ("table", "code"):
                flush()
                heading_path, where_anchor = where()
                sections.append(Section(heading_path, where_anchor, block.text, block.kind))
                markdown.append(block.text)
            elif block.text:
                text = block.text
                if _HEADING_LOOKALIKE.match(text):
                    text = "\\" + text  # "# 1 priority" typed as text is not a heading
                text_run.append(text)
                markdown.append(text)
        flush()
        return Converted(sections, "\n\n".join(markdown))

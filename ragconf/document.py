"""What the converter produces and the chunker consumes: sections of one document.

Below both ``ragconf.convert`` and ``ragconf.index`` (which know nothing of each other), so
either can name these shapes; ``ragconf.index.types`` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Document", "Section"]


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path, as produced by the converter."""

    heading_path: tuple[str, ...]
    #: Confluence anchor of the innermost heading (``#Title-Heading`` fragment without '#')
    anchor: str | None
    #: Markdown text of the section body (headings themselves are in heading_path)
    text: str
    #: "text" | "table" | "code": tables and code are only split at row/line boundaries
    kind: str = "text"


@dataclass
class Document:
    """One indexable item: a page, blog post, attachment or custom content.

    ``metadata`` holds the DESIGN §5 fields that are per document (space_id, space_key,
    space_name, labels, parent_id, ancestors, author_id, version, created_at,
    updated_at, status, …); the chunker adds the per-chunk ones.
    """

    content_id: str
    content_type: str
    title: str
    url: str
    sections: list[Section]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections if s.text)

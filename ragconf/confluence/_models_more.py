"""Typed comments and content-tree objects (REST v2 shapes; the rest live in ``models``).

Comments come in two kinds that the API serves from separate routes: footer comments
(at the bottom of a page, blog post, attachment or custom content) and inline comments
(anchored to a text selection of a page or blog post, with a resolution status). Replies
are comments too, with ``parentCommentId`` set.

The content tree of a space holds pages, folders, whiteboards, databases and Smart Link
embeds. ``Ancestor``, ``Child`` and ``Descendant`` are the minimal items the hierarchy
routes return; ``Folder``/``Whiteboard``/``Database``/``Embed`` the full objects by id;
``TreeNode`` the nested tree that ``ConfluenceService.space_tree`` assembles.

>>> c = InlineComment.model_validate({"id": "9", "pageId": "1", "resolutionStatus": "open",
...     "properties": {"inlineOriginalSelection": "rate limit"}, "version": {"number": 2}})
>>> c.kind, c.container, c.resolution_status, c.properties.inline_original_selection
('inline', ('page', '1'), 'open', 'rate limit')
>>> Descendant.model_validate({"id": "5", "type": "folder", "parentId": "1", "depth": 1}).depth
1
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from ragconf.confluence.models import Body, ConfluenceModel, Links, Version

__all__ = [
    "TREE_TYPES",
    "Ancestor",
    "Child",
    "Comment",
    "CommentProperties",
    "Database",
    "Descendant",
    "Embed",
    "Folder",
    "FooterComment",
    "InlineComment",
    "TreeContent",
    "TreeNode",
    "Whiteboard",
]

#: the hierarchical content types, i.e. what may appear in a space's content tree
TREE_TYPES = ("page", "folder", "whiteboard", "database", "embed")


class CommentProperties(ConfluenceModel):
    """An inline comment's anchor: the highlighted text and the marker in the page's storage.

    ``inlineMarkerRef`` is the ``ac:ref`` of the ``<ac:inline-comment-marker>`` that wraps
    the selection in the page body. A single GET may also carry content properties
    (``results``/``meta``), kept as extra fields.
    """

    inline_marker_ref: str | None = None
    inline_original_selection: str | None = None


class Comment(ConfluenceModel):
    """Fields every comment has; use ``FooterComment`` or ``InlineComment``.

    Exactly one of the container ids is set on a top-level comment; a reply has
    ``parent_comment_id`` (the children routes may omit the container).
    """

    kind: ClassVar[Literal["footer", "inline"]]

    id: str
    status: str = "current"
    title: str = ""
    page_id: str | None = None
    blog_post_id: str | None = None
    attachment_id: str | None = None
    custom_content_id: str | None = None
    parent_comment_id: str | None = None
    version: Version = Field(default_factory=Version)
    body: Body = Field(default_factory=Body)
    links: Links = Field(default_factory=Links, alias="_links")

    @property
    def container(self) -> tuple[str, str] | None:
        """``(type, id)`` of what the comment is on: page, blogpost, attachment, custom_content."""
        for kind, value in (
            ("page", self.page_id),
            ("blogpost", self.blog_post_id),
            ("attachment", self.attachment_id),
            ("custom_content", self.custom_content_id),
        ):
            if value:
                return kind, value
        return None

    @property
    def author_id(self) -> str | None:
        """Who wrote the current version (the API has no separate comment author field)."""
        return self.version.author_id


class FooterComment(Comment):
    """A comment at the bottom of a page, blog post, attachment or custom content."""

    kind: ClassVar[Literal["footer", "inline"]] = "footer"


class InlineComment(Comment):
    """A comment on a text selection of a page or blog post; it can be resolved."""

    kind: ClassVar[Literal["footer", "inline"]] = "inline"

    #: open, reopened, resolved or dangling (its text was deleted from the page)
    resolution_status: str | None = None
    resolution_last_modifier_id: str | None = None
    resolution_last_modified_at: datetime | None = None
    properties: CommentProperties = Field(default_factory=CommentProperties)


class Ancestor(ConfluenceModel):
    """One step up the content tree (``/{type}s/{id}/ancestors``, highest first)."""

    id: str
    type: str | None = None


class Child(ConfluenceModel):
    """A direct child in the content tree (``ChildrenResponse``): minimal fields only."""

    id: str
    type: str | None = None
    status: str | None = None
    title: str = ""
    space_id: str | None = None
    child_position: int | None = None


class Descendant(Child):
    """A descendant (``DescendantsResponse``); ``depth`` counts from the queried node."""

    parent_id: str | None = None
    depth: int | None = None


class TreeContent(ConfluenceModel):
    """Fields shared by folders, whiteboards, databases and embeds fetched by id."""

    id: str
    type: str | None = None
    status: str = "current"
    title: str = ""
    space_id: str | None = None
    parent_id: str | None = None
    parent_type: str | None = None
    position: int | None = None
    author_id: str | None = None
    owner_id: str | None = None
    created_at: datetime | None = None
    version: Version = Field(default_factory=Version)
    links: Links = Field(default_factory=Links, alias="_links")


class Folder(TreeContent):
    """A folder in the content tree (``/folders/{id}``)."""


class Whiteboard(TreeContent):
    """A whiteboard (``/whiteboards/{id}``); its drawing is not available over REST v2."""


class Database(TreeContent):
    """A Confluence database (``/databases/{id}``); its rows are not available over REST v2."""


class Embed(TreeContent):
    """A Smart Link in the content tree (``/embeds/{id}``); ``embed_url`` is what it points to."""

    embed_url: str | None = None


class TreeNode(ConfluenceModel):
    """One node of a space's content tree, with its children nested in tree order.

    ``to_api()`` gives the nested JSON ``{"id", "type", "title", "status", "children": [...]}``.
    ``truncated`` is true where the walk stopped (a depth or item limit) before the
    node's own children were fetched.
    """

    id: str
    type: str = "page"
    title: str = ""
    status: str | None = None
    space_id: str | None = None
    parent_id: str | None = None
    child_position: int | None = None
    truncated: bool | None = None
    children: list[TreeNode] = Field(default_factory=list)

    def walk(self, depth: int = 0) -> list[tuple[int, TreeNode]]:
        """``(depth, node)`` for this node and everything below it, in tree order."""
        found = [(depth, self)]
        for child in self.children:
            found.extend(child.walk(depth + 1))
        return found

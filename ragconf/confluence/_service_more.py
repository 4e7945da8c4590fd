"""``ConfluenceService`` conveniences for comments, folders and the content tree.

Same conventions as the rest of the service: plain lists, bounded by ``limit``, with a
``select`` + ``id`` pair where one method covers several containers (as ``list_labels``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ragconf.confluence._models_more import (
    Ancestor,
    Child,
    Comment,
    Descendant,
    Folder,
    TreeNode,
)
from ragconf.confluence._paging import as_list
from ragconf.confluence._tree import content_tree, space_tree
from ragconf.errors import InvalidRequestError, NotFoundError

if TYPE_CHECKING:
    from ragconf.confluence.client import Confluence, IdList
    from ragconf.confluence.models import Space

__all__ = ["COMMENT_SELECTS", "TreeAndCommentLists"]

#: what ``list_comments(select=...)`` takes besides None (site-wide)
COMMENT_SELECTS = ("page", "blogpost", "attachment", "custom_content", "comment")
_FOOTER_ONLY = ("attachment", "custom_content")


def _select(select: str | None) -> str | None:
    if select in (None, "", "all"):
        return None
    kind = select.strip().lower().replace("-", "_")
    return {"blog_post": "blogpost", "reply": "comment", "replies": "comment"}.get(kind, kind)


def _kinds(kind: str | None, resolution_status: object) -> tuple[str, ...]:
    if kind in (None, "", "all", "both"):
        # a resolution only exists on inline comments
        return ("inline",) if resolution_status else ("footer", "inline")
    low = kind.strip().lower()
    if low not in ("footer", "inline"):
        raise InvalidRequestError(
            f"comment kind {kind!r} is neither 'footer' nor 'inline'",
            hint="kind='footer', kind='inline', or kind=None for both",
        )
    if low == "footer" and resolution_status:
        raise InvalidRequestError(
            "footer comments have no resolution status",
            hint="drop resolution_status, or ask for kind='inline'",
        )
    return (low,)


class TreeAndCommentLists:
    """Mixed into ``ConfluenceService``; ``conf`` is its ``Confluence`` client."""

    conf: Confluence

    # -- comments -------------------------------------------------------------------------

    def list_comments(
        self,
        select: str | None = None,
        id: str | int | None = None,
        kind: str | None = None,
        resolution_status: str | Iterable[str] | None = None,
        body_format: str | None = None,
        limit: int | None = None,
        status: str | Iterable[str] | None = None,
        sort: str | None = None,
    ) -> list[Comment]:
        """Comments: site-wide (``select=None``), on one page|blogpost|attachment|
        custom_content ``id``, or the replies to comment ``id`` (``select="comment"``).

        ``kind`` is footer, inline, or None for both (footer first); attachments and
        custom content only have footer comments, and replies need the parent's kind.
        ``resolution_status`` (open, reopened, resolved, dangling) implies inline; the
        site-wide and reply routes have no such filter, so it is applied here. ``status``
        (current, trashed, …) filters page and blog post comments only.

        >>> svc.list_comments(select="page", id="65601", resolution_status="open")  # doctest: +SKIP
        """
        where = _select(select)
        if where is not None and (where not in COMMENT_SELECTS or id is None):
            raise InvalidRequestError(
                f"list_comments(select={select!r}) needs one of {', '.join(COMMENT_SELECTS)} "
                "+ an id",
                hint="e.g. list_comments(select='page', id='65601'), or select=None for all",
            )
        kinds = _kinds(kind, resolution_status)
        if where in _FOOTER_ONLY and "footer" not in kinds:
            raise InvalidRequestError(
                f"a {where.replace('_', ' ')} has footer comments only", hint="drop kind='inline'"
            )
        if where == "comment" and len(kinds) != 1:
            raise InvalidRequestError(
                "replies are listed per kind of comment",
                hint="pass kind='footer' or kind='inline' (the parent comment's kind)",
            )
        if status and where not in ("page", "blogpost"):
            raise InvalidRequestError(
                "only page and blog post comments can be filtered by status",
                hint="drop status, or list the comments of one page or blog post",
            )
        wanted = {v.strip() for r in as_list(resolution_status) or [] for v in r.split(",")} - {""}
        local = bool(wanted) and where in (None, "comment")
        # a filter applied here must not cut the listing short: it gets no limit
        common: dict[str, Any] = {"body_format": body_format, "sort": sort}
        common["limit"] = None if local else limit
        sources = [
            self._comments_of(where, id, k, common, status, resolution_status)
            for k in kinds
            if k == "footer" or where not in _FOOTER_ONLY
        ]
        found: Iterator[Comment] = itertools.chain.from_iterable(sources)
        if local:
            found = (c for c in found if getattr(c, "resolution_status", None) in wanted)
        return list(itertools.islice(found, limit))

    def _comments_of(
        self,
        where: str | None,
        id: str | int | None,
        kind: str,
        common: dict[str, Any],
        status: str | Iterable[str] | None,
        resolution_status: str | Iterable[str] | None,
    ) -> Iterator[Comment]:
        c = self.conf
        if where is None:
            if kind == "footer":
                return c.get_footer_comments(**common)
            return c.get_inline_comments(**common)
        assert id is not None  # checked by list_comments
        if where == "attachment":
            return c.get_footer_comments_by_attachment(id, **common)
        if where == "custom_content":
            return c.get_footer_comments_by_custom_content(id, **common)
        if where == "comment":
            return c.get_comment_children(id, kind=kind, **common)
        common = {**common, "status": status}
        if kind == "inline":
            common["resolution_status"] = resolution_status
            if where == "page":
                return c.get_inline_comments_by_page(id, **common)
            return c.get_inline_comments_by_blog_post(id, **common)
        if where == "page":
            return c.get_footer_comments_by_page(id, **common)
        return c.get_footer_comments_by_blog_post(id, **common)

    def get_comment(
        self, id: str | int, kind: str | None = None, body_format: str | None = "storage"
    ) -> Comment:
        """One comment by id; without ``kind`` the footer route is tried, then the inline one.

        >>> svc.get_comment("4521").kind                                  # doctest: +SKIP
        'inline'
        """
        kinds = _kinds(kind, None)
        for k in kinds:
            try:
                if k == "footer":
                    return self.conf.get_footer_comment_by_id(id, body_format=body_format)
                return self.conf.get_inline_comment_by_id(id, body_format=body_format)
            except NotFoundError:
                if k == kinds[-1]:
                    raise
        raise AssertionError("unreachable: _kinds returns at least one kind")

    # -- folders and the content tree -----------------------------------------------------

    def list_folders(
        self, ids: IdList = None, space_id: str | int | None = None, limit: int | None = None
    ) -> list[Folder]:
        """Folders by id, or every folder of a space's content tree (in tree order).

        REST v2 has no folder listing: for a space the tree is walked (a request per ten
        levels) and each folder fetched by id, concurrently.
        """
        if (ids is None) == (space_id is None):
            raise InvalidRequestError(
                "list_folders needs ids or a space_id (one of them)",
                hint="e.g. list_folders(ids=['98305']) or list_folders(space_id='65539')",
            )
        if space_id is not None:
            wanted = [
                node.id
                for root in space_tree(self.conf, space_id)
                for _depth, node in root.walk()
                if node.type == "folder"
            ]
        else:
            wanted = as_list(ids) or []
        return list(self.conf.map_concurrent(self.conf.get_folder_by_id, wanted[:limit]))

    def list_ancestors(self, id: str | int, type: str = "page") -> list[Ancestor]:
        """Ancestors of a page|folder|whiteboard|database|embed, highest first."""
        return list(self.conf.get_ancestors(id, type))

    def list_children(
        self, id: str | int, type: str = "page", limit: int | None = None
    ) -> list[Child]:
        """Direct children (every type) in tree order."""
        return list(self.conf.get_direct_children(id, type, sort="child-position", limit=limit))

    def list_descendants(
        self,
        id: str | int,
        type: str = "page",
        depth: int | None = None,
        limit: int | None = None,
    ) -> list[Descendant]:
        return list(self.conf.get_descendants(id, type, depth=depth, limit=limit))

    def space_tree(
        self, space: Space | str | int, max_depth: int | None = None, limit: int | None = None
    ) -> list[TreeNode]:
        """The content tree of a space (or its id): root pages, homepage first, all nested."""
        return space_tree(self.conf, space, max_depth=max_depth, limit=limit)

    def content_tree(
        self,
        id: str | int,
        type: str = "page",
        max_depth: int | None = None,
        limit: int | None = None,
    ) -> TreeNode:
        """The tree below one node, the node itself as the root."""
        return content_tree(self.conf, id, type, max_depth=max_depth, limit=limit)

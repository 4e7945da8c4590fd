"""The footer and inline comment routes of ``Confluence`` (read-only, REST v2).

Naming: ``get_{kind}_comments`` lists site-wide, ``get_{kind}_comments_by_{container}(id)``
lists one page, blog post, attachment or custom content's comments (top level only: replies
come from ``get_comment_children``), ``get_{kind}_comment_by_id(id)`` fetches one. Every list
is a lazy iterator over cursor pages, like the rest of the client.

``sort`` takes "asc"/"desc" (creation order) or an API key: ``created-date``,
``-created-date``, ``modified-date``, ``-modified-date``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ragconf.confluence._models_more import Comment, FooterComment, InlineComment
from ragconf.confluence._params import multi, sort_key
from ragconf.confluence._resources import PageResources
from ragconf.errors import InvalidRequestError

__all__ = ["CommentResources"]

_KINDS = {"footer": FooterComment, "inline": InlineComment}


def _params(
    body_format: str | None,
    sort: str | None,
    status: str | Iterable[str] | None = None,
    resolution_status: str | Iterable[str] | None = None,
) -> dict[str, Any]:
    return {
        "body-format": body_format,
        "sort": sort_key(sort, "created-date"),
        "status": multi(status),
        "resolution-status": multi(resolution_status),
    }


class CommentResources(PageResources):
    """Footer comments, inline comments and their replies.

    >>> for c in conf.get_inline_comments_by_page("65601", body_format="storage",
    ...                                           resolution_status="open"):  # doctest: +SKIP
    ...     print(c.id, c.properties.inline_original_selection, c.body.storage_value)
    ...     for reply in conf.get_comment_children(c):
    ...         print("  ", reply.id, reply.version.author_id)
    """

    # -- site-wide ------------------------------------------------------------------------

    def get_footer_comments(
        self, body_format: str | None = None, sort: str | None = None, limit: int | None = None
    ) -> Iterator[FooterComment]:
        """Every footer comment the account can see (``GET /footer-comments``)."""
        params = _params(body_format, sort)
        return self._list("footer-comments", params, FooterComment, limit, root_404=True)

    def get_inline_comments(
        self, body_format: str | None = None, sort: str | None = None, limit: int | None = None
    ) -> Iterator[InlineComment]:
        """Every inline comment the account can see (``GET /inline-comments``).

        The site-wide route has no resolution filter; filter on ``resolution_status``, or
        list per page with ``get_inline_comments_by_page(id, resolution_status=...)``.
        """
        params = _params(body_format, sort)
        return self._list("inline-comments", params, InlineComment, limit, root_404=True)

    # -- per container --------------------------------------------------------------------

    def get_footer_comments_by_page(
        self,
        id: str | int,
        body_format: str | None = None,
        status: str | Iterable[str] | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[FooterComment]:
        """Top-level footer comments of a page; ``status`` e.g. current, trashed (repeatable)."""
        params = _params(body_format, sort, status)
        path = f"pages/{self._id(id)}/footer-comments"
        return self._list(path, params, FooterComment, limit)

    def get_inline_comments_by_page(
        self,
        id: str | int,
        body_format: str | None = None,
        status: str | Iterable[str] | None = None,
        resolution_status: str | Iterable[str] | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[InlineComment]:
        """Top-level inline comments of a page.

        ``resolution_status``: open, reopened, resolved, dangling (one or several).
        """
        params = _params(body_format, sort, status, resolution_status)
        path = f"pages/{self._id(id)}/inline-comments"
        return self._list(path, params, InlineComment, limit)

    def get_footer_comments_by_blog_post(
        self,
        id: str | int,
        body_format: str | None = None,
        status: str | Iterable[str] | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[FooterComment]:
        """Top-level footer comments of a blog post."""
        params = _params(body_format, sort, status)
        path = f"blogposts/{self._id(id)}/footer-comments"
        return self._list(path, params, FooterComment, limit)

    def get_inline_comments_by_blog_post(
        self,
        id: str | int,
        body_format: str | None = None,
        status: str | Iterable[str] | None = None,
        resolution_status: str | Iterable[str] | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[InlineComment]:
        """Top-level inline comments of a blog post (``resolution_status`` as for pages)."""
        params = _params(body_format, sort, status, resolution_status)
        path = f"blogposts/{self._id(id)}/inline-comments"
        return self._list(path, params, InlineComment, limit)

    def get_footer_comments_by_attachment(
        self,
        id: str | int,
        body_format: str | None = None,
        sort: str | None = None,
        version: int | None = None,
        limit: int | None = None,
    ) -> Iterator[FooterComment]:
        """Comments on an attachment (``att…`` id); ``version`` picks an older file version."""
        params = {**_params(body_format, sort), "version": version}
        path = f"attachments/{self._id(id)}/footer-comments"
        return self._list(path, params, FooterComment, limit)

    def get_footer_comments_by_custom_content(
        self,
        id: str | int,
        body_format: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[FooterComment]:
        """Comments on a custom content item."""
        params = _params(body_format, sort)
        path = f"custom-content/{self._id(id)}/footer-comments"
        return self._list(path, params, FooterComment, limit)

    # -- one comment, and its replies -----------------------------------------------------

    def get_footer_comment_by_id(
        self, comment_id: str | int, body_format: str | None = "storage", version: int | None = None
    ) -> FooterComment:
        """One footer comment (any container); ``version`` fetches an older version."""
        params = {"body-format": body_format, "version": version}
        url = self._t.api(f"footer-comments/{self._id(comment_id)}")
        return self._get(url, FooterComment, params)

    def get_inline_comment_by_id(
        self, comment_id: str | int, body_format: str | None = "storage", version: int | None = None
    ) -> InlineComment:
        """One inline comment, with its resolution and the text it is anchored to."""
        params = {"body-format": body_format, "version": version}
        url = self._t.api(f"inline-comments/{self._id(comment_id)}")
        return self._get(url, InlineComment, params)

    def get_footer_comment_children(
        self,
        id: str | int,
        body_format: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[FooterComment]:
        """Replies to a footer comment (``/footer-comments/{id}/children``)."""
        params = _params(body_format, sort)
        path = f"footer-comments/{self._id(id)}/children"
        return self._list(path, params, FooterComment, limit)

    def get_inline_comment_children(
        self,
        id: str | int,
        body_format: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[InlineComment]:
        """Replies to an inline comment (``/inline-comments/{id}/children``)."""
        params = _params(body_format, sort)
        path = f"inline-comments/{self._id(id)}/children"
        return self._list(path, params, InlineComment, limit)

    def get_comment_children(
        self,
        comment: Comment | str | int,
        kind: str | None = None,
        body_format: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Comment]:
        """Replies to a comment: pass the comment itself, or its id and ``kind`` (footer|inline).

        >>> replies = list(conf.get_comment_children("4521", kind="inline"))  # doctest: +SKIP
        """
        if isinstance(comment, Comment):
            kind, comment = kind or comment.kind, comment.id
        if kind not in _KINDS:
            raise InvalidRequestError(
                f"get_comment_children needs kind='footer' or kind='inline', not {kind!r}",
                hint="pass the comment object itself, or its id and kind",
            )
        if kind == "footer":
            return self.get_footer_comment_children(comment, body_format, sort, limit)
        return self.get_inline_comment_children(comment, body_format, sort, limit)

"""``ConfluenceService``: the seed's list conveniences over ``Confluence`` (DESIGN §3).

Each method keeps the seed's argument order and returns a plain list bounded by ``limit``.
Comments, folders and the content tree live in ``_service_more`` (same conventions).
"""

from __future__ import annotations

from collections.abc import Iterator

from ragconf.confluence._service_more import TreeAndCommentLists
from ragconf.confluence.client import Confluence, DateLike, IdList
from ragconf.confluence.models import Attachment, BlogPost, CustomContent, Label, Page, Space, Task
from ragconf.errors import InvalidRequestError

__all__ = ["ConfluenceService"]

_LABEL_SELECTS = ("page", "blogpost", "space", "attachment", "custom_content")


class ConfluenceService(TreeAndCommentLists):
    """Lists instead of iterators, for notebooks, scripts and the CLI.

    >>> from ragconf.confluence import Confluence, ConfluenceService
    >>> conf = Confluence("https://acme.atlassian.net", username="me@acme.com", token="…")
    >>> svc = ConfluenceService(conf)
    >>> [s.key for s in svc.list_spaces(limit=3)]                   # doctest: +SKIP
    ['ENG', 'HR', 'OPS']
    >>> svc.list_labels(select="page", id="65601")                  # doctest: +SKIP
    [Label(id='101', name='runbook', prefix='global')]
    >>> svc.list_comments(select="page", id="65601", kind="inline")  # doctest: +SKIP
    >>> [(d, n.title) for root in svc.space_tree("65539") for d, n in root.walk()]  # doctest: +SKIP
    """

    def __init__(self, conf: Confluence) -> None:
        self.conf = conf

    def list_pages(self, ids: IdList = None, limit: int | None = None) -> list[Page]:
        return list(self.conf.get_pages(ids=ids, limit=limit))

    def list_spaces(
        self, ids: IdList = None, keys: IdList = None, limit: int | None = None
    ) -> list[Space]:
        return list(self.conf.get_spaces(ids=ids, keys=keys, limit=limit))

    def list_labels(
        self,
        select: str | None = None,
        id: str | int | None = None,
        prefix: str | None = None,
        limit: int | None = None,
    ) -> list[Label]:
        """All labels (``select=None``), or those of one page|blogpost|space|attachment|
        custom_content ``id``."""
        if select in (None, "", "all"):
            return list(self.conf.get_labels(prefix=prefix, limit=limit))
        kind = select.lower().replace("-", "_")
        kind = "blogpost" if kind == "blog_post" else kind
        if kind not in _LABEL_SELECTS or id is None:
            raise InvalidRequestError(
                f"list_labels(select={select!r}) needs one of {', '.join(_LABEL_SELECTS)} + an id",
                hint="e.g. list_labels(select='page', id='65601'), or select=None for all labels",
            )
        found: Iterator[Label]
        if kind == "page":
            found = self.conf.get_labels_by_page(id, prefix=prefix, limit=limit)
        elif kind == "blogpost":
            found = self.conf.get_labels_by_blog_post(id, prefix=prefix, limit=limit)
        elif kind == "space":
            found = self.conf.get_labels_by_space(id, prefix=prefix, limit=limit)
        elif kind == "custom_content":
            found = self.conf.get_labels_by_custom_content(id, prefix=prefix, limit=limit)
        else:
            found = self.conf.get_labels_by_attachment(id, limit=limit)
        return list(found)

    def list_attachments(
        self, filename: str | None = None, media_type: str | None = None, limit: int | None = None
    ) -> list[Attachment]:
        return list(
            self.conf.get_attachments(filename=filename, media_type=media_type, limit=limit)
        )

    def list_attachments_by_page(
        self, page_id: str | int, limit: int | None = None
    ) -> list[Attachment]:
        return list(self.conf.get_attachments_by_page(page_id, limit=limit))

    def list_blog_posts(
        self, ids: IdList = None, title: str | None = None, limit: int | None = None
    ) -> list[BlogPost]:
        return list(self.conf.get_blog_posts(ids=ids, title=title, limit=limit))

    def list_blog_posts_by_space(
        self, space_id: str | int, limit: int | None = None
    ) -> list[BlogPost]:
        return list(self.conf.get_blog_posts_by_space(space_id, limit=limit))

    def list_custom_content(
        self,
        type: str | None = None,
        space_ids: IdList = None,
        ids: IdList = None,
        limit: int | None = None,
    ) -> list[CustomContent]:
        """Custom content of one ``type`` (the API requires it: the app's module key)."""
        if not type:
            raise InvalidRequestError(
                "custom content can only be listed for one type",
                hint="pass the app's module key, e.g. "
                "type='ac:com.atlassian.confluence.plugins.calendar:calendar'",
            )
        return list(self.conf.get_custom_content(type, space_id=space_ids, ids=ids, limit=limit))

    def list_tasks(
        self,
        due_from: DateLike = None,
        due_to: DateLike = None,
        space_ids: IdList = None,
        assigned_to: IdList = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Task]:
        return list(
            self.conf.get_tasks(
                due_from=due_from,
                due_to=due_to,
                space_id=space_ids,
                assigned_to=assigned_to,
                status=status,
                limit=limit,
            )
        )

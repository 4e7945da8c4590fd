"""The label, attachment, custom content and task routes of ``Confluence`` (INTERFACES A)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ragconf.confluence._paging import as_list, resolve_next
from ragconf.confluence._params import (
    IDS_CAP,
    SPACE_IDS_CAP,
    DateLike,
    IdList,
    multi,
    sort_key,
    to_epoch_ms,
)
from ragconf.confluence._resources import PageResources
from ragconf.confluence.models import Attachment, CustomContent, Label, Task
from ragconf.errors import BadResponseError

__all__ = ["Resources"]

_TYPE_HINT = (
    "unknown custom content type, or the container is not visible — the type is the app's "
    "module key, e.g. ac:com.atlassian.confluence.plugins.calendar:calendar"
)


class Resources(PageResources):
    """Every resource method; ``Confluence`` adds construction, lifecycle and concurrency."""

    # -- labels ---------------------------------------------------------------------------

    def get_labels(
        self,
        prefix: str | Iterable[str] | None = None,
        sort: str | None = None,
        label_ids: IdList = None,
        limit: int | None = None,
    ) -> Iterator[Label]:
        params = {"prefix": multi(prefix), "sort": sort_key(sort)}
        split = {"label-id": (as_list(label_ids), IDS_CAP)}
        return self._list("labels", params, Label, limit, root_404=True, split=split)

    def _labels_of(
        self,
        kind: str,
        id: str | int,
        prefix: str | None,
        limit: int | None,
        sort: str | None = None,
    ) -> Iterator[Label]:
        params = {"prefix": prefix, "sort": sort_key(sort)}
        return self._list(f"{kind}/{self._id(id)}/labels", params, Label, limit)

    def get_labels_by_page(
        self,
        id: str | int,
        prefix: str | None = None,
        limit: int | None = None,
        sort: str | None = None,
    ) -> Iterator[Label]:
        return self._labels_of("pages", id, prefix, limit, sort)

    def get_labels_by_blog_post(
        self,
        id: str | int,
        prefix: str | None = None,
        limit: int | None = None,
        sort: str | None = None,
    ) -> Iterator[Label]:
        return self._labels_of("blogposts", id, prefix, limit, sort)

    def get_labels_by_space(
        self,
        id: str | int,
        prefix: str | None = None,
        limit: int | None = None,
        sort: str | None = None,
    ) -> Iterator[Label]:
        return self._labels_of("spaces", id, prefix, limit, sort)

    def get_labels_by_attachment(
        self, id: str | int, limit: int | None = None, sort: str | None = None
    ) -> Iterator[Label]:
        return self._labels_of("attachments", id, None, limit, sort)

    def get_labels_by_custom_content(
        self,
        id: str | int,
        prefix: str | None = None,
        limit: int | None = None,
        sort: str | None = None,
    ) -> Iterator[Label]:
        """Labels of one custom content item (``/custom-content/{id}/labels``).

        >>> [lab.name for lab in conf.get_labels_by_custom_content("3001")]  # doctest: +SKIP
        ['team-calendar']
        """
        return self._labels_of("custom-content", id, prefix, limit, sort)

    # -- attachments ----------------------------------------------------------------------

    @staticmethod
    def _attachment_params(
        filename: str | None,
        media_type: str | None,
        sort: str | None,
        status: str | Iterable[str] | None,
    ) -> dict[str, Any]:
        # attachments have no id sort: "asc"/"desc" mean creation order
        return {
            "filename": filename,
            "mediaType": media_type,
            "sort": sort_key(sort, "created-date"),
            "status": multi(status),
        }

    def get_attachments(
        self,
        filename: str | None = None,
        media_type: str | None = None,
        sort: str | None = None,
        status: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> Iterator[Attachment]:
        params = self._attachment_params(filename, media_type, sort, status)
        return self._list("attachments", params, Attachment, limit, root_404=True)

    def get_attachment_by_id(self, id: str | int) -> Attachment:
        return self._get(self._t.api(f"attachments/{self._id(id)}"), Attachment)

    def get_attachments_by_page(
        self,
        id: str | int,
        filename: str | None = None,
        media_type: str | None = None,
        sort: str | None = None,
        status: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> Iterator[Attachment]:
        params = self._attachment_params(filename, media_type, sort, status)
        return self._list(f"pages/{self._id(id)}/attachments", params, Attachment, limit)

    def get_attachments_by_blog_post(
        self,
        id: str | int,
        filename: str | None = None,
        media_type: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        status: str | Iterable[str] | None = None,
    ) -> Iterator[Attachment]:
        params = self._attachment_params(filename, media_type, sort, status)
        return self._list(f"blogposts/{self._id(id)}/attachments", params, Attachment, limit)

    def download_attachment(self, attachment: Attachment, *, max_bytes: int | None = None) -> bytes:
        """The attachment's bytes: site origin + ``/wiki`` + ``downloadLink``, following the 302.

        Streamed; raises ``AttachmentTooLargeError`` as soon as more than ``max_bytes`` arrive.
        """
        link = attachment.download_link or attachment.links.download
        if not link:
            raise BadResponseError(f"attachment {attachment.id} has no download link")
        url = resolve_next(self.origin, link, api_url=self.api_url)
        expected = attachment.file_size
        for attempt in range(3):
            reply = self._t.request(
                "GET", url, decode_json=False, follow_redirects=True, max_bytes=max_bytes
            )
            # a body cut short, or a proxy's 200 error page, is not the file: the listed
            # size tells them apart (indexing it would store garbage as the file's text)
            if expected is None or len(reply.content) == expected:
                return reply.content
            if attempt < 2:
                self._t._sleep(self._t.policy.backoff_delay(attempt))
        raise BadResponseError(
            f"attachment {attachment.id}: the download has {len(reply.content)} bytes, "
            f"the attachment {expected}",
            method="GET",
            url=reply.url,
            status=reply.status,
        )

    # -- custom content -------------------------------------------------------------------

    def get_custom_content(
        self,
        type: str,
        space_id: IdList = None,
        ids: IdList = None,
        sort: str | None = None,
        body_format: str | None = None,
        limit: int | None = None,
    ) -> Iterator[CustomContent]:
        params = {"type": type, "sort": sort_key(sort), "body-format": body_format}
        split = {"id": (as_list(ids), IDS_CAP), "space-id": (as_list(space_id), SPACE_IDS_CAP)}
        return self._list(
            "custom-content", params, CustomContent, limit, not_found_hint=_TYPE_HINT, split=split
        )

    def get_custom_content_by_space(
        self,
        space_id: str | int,
        type: str,
        body_format: str | None = None,
        limit: int | None = None,
    ) -> Iterator[CustomContent]:
        params = {"type": type, "body-format": body_format}
        return self._list(
            f"spaces/{self._id(space_id)}/custom-content",
            params,
            CustomContent,
            limit,
            not_found_hint=_TYPE_HINT,
        )

    def get_custom_content_children(
        self, id: str | int, sort: str | None = None, limit: int | None = None
    ) -> Iterator[CustomContent]:
        """Child custom content of one item (``/custom-content/{id}/children``).

        Items carry id, type, status, title and spaceId only; fetch one for its body.
        ``sort``: "asc"/"desc" (by id), or id, created-date, modified-date (leading "-" = desc).

        >>> [c.title for c in conf.get_custom_content_children("3001")]  # doctest: +SKIP
        """
        params = {"sort": sort_key(sort)}
        path = f"custom-content/{self._id(id)}/children"
        return self._list(path, params, CustomContent, limit)

    # -- tasks ----------------------------------------------------------------------------

    def get_tasks(
        self,
        due_date: DateLike = None,
        space_id: IdList = None,
        assigned_to: IdList = None,
        status: str | None = None,
        due_from: DateLike = None,
        due_to: DateLike = None,
        page_ids: IdList = None,
        limit: int | None = None,
        body_format: str | None = None,
    ) -> Iterator[Task]:
        """Tasks; ``due_date`` is one day (both bounds), ``due_from``/``due_to`` inclusive."""
        if due_date is not None:
            due_from = due_from if due_from is not None else due_date
            due_to = due_to if due_to is not None else due_date
        params = {
            "status": status,
            "body-format": body_format,
            "due-at-from": to_epoch_ms(due_from),
            "due-at-to": to_epoch_ms(due_to, end_of_day=True),
        }
        split = {
            "space-id": (as_list(space_id), IDS_CAP),
            "assigned-to": (as_list(assigned_to), IDS_CAP),
            "page-id": (as_list(page_ids), IDS_CAP),
        }
        return self._list("tasks", params, Task, limit, root_404=True, split=split)

    def get_task_by_id(self, id: str | int, body_format: str | None = None) -> Task:
        return self._get(self._t.api(f"tasks/{self._id(id)}"), Task, {"body-format": body_format})

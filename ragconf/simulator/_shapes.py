"""Records -> JSON objects in the exact v2 shapes (API-NOTES §4).

Ids are strings, timestamps ISO-8601 UTC with milliseconds, ``body`` holds only the
representation asked for (``{}`` when none was), ``downloadLink`` has no ``/wiki``.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote, quote_plus

from ragconf.simulator._model import AttachmentRec, ContentRec, LabelRec, SpaceRec, TaskRec, iso_ms
from ragconf.simulator._shapes_base import body_of, media_type_description, tiny_link
from ragconf.simulator._shapes_more import MoreShapes

__all__ = ["Shaper", "body_of", "media_type_description"]


class Shaper(MoreShapes):
    """Builds response objects for one request (``base`` = ``<origin>/wiki``)."""

    def space(self, rec: SpaceRec, *, description_format: str | None = None,
              include_icon: bool = False, single: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": rec.id, "key": rec.key, "name": rec.name, "type": rec.type,
            "status": rec.status, "authorId": rec.author_id, "createdAt": iso_ms(rec.created_at),
        }
        if not single:  # SpaceSingle has no alias field
            out["currentActiveAlias"] = rec.key
        if rec.homepage_id is not None:
            out["homepageId"] = rec.homepage_id
        if description_format is not None:
            value = rec.description if description_format == "plain" else (
                f"<p>{html.escape(rec.description)}</p>" if rec.description else "")
            out["description"] = {description_format: {
                "representation": description_format, "value": value}}
        if include_icon:
            out["icon"] = {"path": f"/wiki/aa-avatar/space/{rec.key}.png",
                           "apiDownloadLink": f"/wiki/api/v2/spaces/{rec.id}/icon"}
        out["_links"] = {"webui": f"/spaces/{rec.key}"}
        if single:
            out["_links"]["base"] = self.base
        return out

    def page(self, rec: ContentRec, fmt: str | None, *, single: bool = False,
             title: str | None = None, body: str | None = None, status: str | None = None,
             version: dict[str, Any] | None = None) -> dict[str, Any]:
        shown_title = rec.title if title is None else title
        parent = self.site.tree_item(rec.parent_id)
        key = self._key(rec.space_id)
        out: dict[str, Any] = {
            "id": rec.id, "status": status or rec.status, "title": shown_title,
            "spaceId": rec.space_id,
            "parentId": parent.id if parent is not None else None,
            "parentType": self.site.tree_type(parent.id) if parent is not None else None,
            "position": rec.position, "authorId": rec.author_id, "ownerId": rec.author_id,
            "lastOwnerId": None, "createdAt": iso_ms(rec.created_at),
            "version": version or self._content_version(rec),
            "body": body_of(rec.body if body is None else body, fmt),
            "_links": {
                "editui": f"/pages/resumedraft.action?draftId={rec.id}",
                "webui": f"/spaces/{key}/pages/{rec.id}/{quote_plus(shown_title)}",
                "tinyui": tiny_link(rec.id),
            },
        }
        if single:
            out["_links"]["base"] = self.base
        return out

    def blogpost(self, rec: ContentRec, fmt: str | None, *, single: bool = False,
                 title: str | None = None, body: str | None = None, status: str | None = None,
                 version: dict[str, Any] | None = None) -> dict[str, Any]:
        shown_title = rec.title if title is None else title
        day = iso_ms(rec.created_at)[:10].replace("-", "/")
        key = self._key(rec.space_id)
        out: dict[str, Any] = {
            "id": rec.id, "status": status or rec.status, "title": shown_title,
            "spaceId": rec.space_id, "authorId": rec.author_id,
            "createdAt": iso_ms(rec.created_at),
            "version": version or self._content_version(rec),
            "body": body_of(rec.body if body is None else body, fmt),
            "_links": {
                "editui": f"/pages/resumedraft.action?draftId={rec.id}",
                "webui": f"/spaces/{key}/blog/{day}/{rec.id}/{quote_plus(shown_title)}",
                "tinyui": tiny_link(rec.id),
            },
        }
        if single:
            out["_links"]["base"] = self.base
        return out

    def custom(self, rec: ContentRec, fmt: str | None, *, single: bool = False) -> dict:
        out: dict[str, Any] = {
            "id": rec.id, "type": rec.custom_type, "status": rec.status, "title": rec.title,
            "spaceId": rec.space_id,
        }
        if rec.container_kind == "page":
            out["pageId"] = rec.parent_id
        elif rec.container_kind == "blogpost":
            out["blogPostId"] = rec.parent_id
        elif rec.container_kind == "custom_content":
            out["customContentId"] = rec.parent_id
        out.update({
            "authorId": rec.author_id, "createdAt": iso_ms(rec.created_at),
            "version": self._content_version(rec), "body": body_of(rec.body, fmt),
            "_links": {"webui": self.webui(rec)},
        })
        if single:
            out["_links"]["base"] = self.base
        return out

    def download_link(self, att: AttachmentRec, version: int | None = None) -> str:
        number = att.version if version is None else version
        return (f"/download/attachments/{att.container_id}/{quote(att.title)}"
                f"?version={number}&modificationDate={att.modified_at}&cacheVersion=1&api=v2")

    def attachment(self, att: AttachmentRec, *, single: bool = False) -> dict[str, Any]:
        container_field = {"page": "pageId", "blogpost": "blogPostId"}.get(
            att.container_kind, "customContentId")
        webui = self.webui(att)
        download = self.download_link(att)
        out: dict[str, Any] = {
            "id": att.id, "status": self.site.attachment_status(att.id), "title": att.title,
            "createdAt": iso_ms(att.created_at), container_field: att.container_id,
            "mediaType": att.media_type,
            "mediaTypeDescription": media_type_description(att.media_type),
            "comment": att.comment, "fileId": att.file_id, "fileSize": len(att.data),
            "webuiLink": webui, "downloadLink": download,
            "version": self.version(att.version, att.modified_at, att.author_id, "", False),
            "_links": {"webui": webui, "download": download},
        }
        if single:
            out["_links"]["base"] = self.base
        return out

    def label(self, rec: LabelRec) -> dict[str, Any]:
        return {"id": rec.id, "name": rec.name, "prefix": rec.prefix}

    def task(self, rec: TaskRec, fmt: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"id": rec.id, "localId": rec.local_id, "spaceId": rec.space_id}
        out["pageId" if rec.container_kind == "page" else "blogPostId"] = rec.container_id
        out["status"] = rec.status
        out["body"] = body_of(rec.body, fmt)
        out["createdBy"] = rec.created_by
        if rec.assigned_to is not None:
            out["assignedTo"] = rec.assigned_to
        if rec.completed_by is not None:
            out["completedBy"] = rec.completed_by
        out["createdAt"] = iso_ms(rec.created_at)
        out["updatedAt"] = iso_ms(rec.updated_at)
        if rec.due_at is not None:
            out["dueAt"] = iso_ms(rec.due_at)
        if rec.completed_at is not None:
            out["completedAt"] = iso_ms(rec.completed_at)
        return out

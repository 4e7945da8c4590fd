"""Records -> JSON objects in the exact v2 shapes (API-NOTES §4).

Ids are strings, timestamps ISO-8601 UTC with milliseconds, ``body`` holds only the
representation asked for (``{}`` when none was), ``downloadLink`` has no ``/wiki``.
"""

from __future__ import annotations

import base64
import html
import json
import re
from typing import Any
from urllib.parse import quote, quote_plus

from ragconf.simulator._model import AttachmentRec, ContentRec, LabelRec, SpaceRec, TaskRec, iso_ms
from ragconf.simulator._site import Site

__all__ = ["Shaper", "media_type_description"]

_TAG = re.compile(r"<[^>]+>")
_MACRO_TAG = re.compile(r"</?(?:ac|ri):[^>]*>")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_DESCRIPTIONS = {
    "application/pdf": "PDF Document",
    "text/plain": "Text File",
    "text/csv": "CSV File",
    "text/markdown": "Markdown File",
    "application/json": "JSON File",
    "application/x-yaml": "YAML File",
    "image/png": "PNG Image",
    "image/jpeg": "JPEG Image",
    "image/svg+xml": "SVG Image",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
        "Microsoft Word Document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        "Microsoft Excel Spreadsheet",
}


def media_type_description(media_type: str) -> str:
    return _DESCRIPTIONS.get(media_type, "File")


def _plain(xhtml: str) -> str:
    text = _CDATA.sub(lambda m: html.escape(m.group(1)), xhtml)
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def _adf(xhtml: str) -> str:
    """A minimal but valid ADF document (a JSON *string*, as the API returns it)."""
    text = _plain(xhtml)
    content = [{"type": "paragraph", "content": [{"type": "text", "text": text}]}] if text else []
    return json.dumps({"type": "doc", "version": 1, "content": content}, ensure_ascii=False)


def _view(xhtml: str) -> str:
    text = _CDATA.sub(lambda m: "<pre>" + html.escape(m.group(1)) + "</pre>", xhtml)
    return _MACRO_TAG.sub("", text)


def body_of(value: str, fmt: str | None) -> dict[str, Any]:
    if fmt is None:
        return {}
    if fmt == "atlas_doc_format":
        rendered = _adf(value)
    elif fmt in ("view", "export_view", "anonymous_export_view", "styled_view"):
        rendered = _view(value)
    else:  # storage, editor, raw: the stored XHTML itself
        rendered = value
    return {fmt: {"representation": fmt, "value": rendered}}


def _tiny(content_id: str) -> str:
    raw = int(content_id).to_bytes(8, "little").rstrip(b"\0")
    return "/x/" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Shaper:
    """Builds response objects for one request (``base`` = ``<origin>/wiki``)."""

    def __init__(self, site: Site, base: str) -> None:
        self.site = site
        self.base = base

    def _key(self, space_id: str) -> str:
        space = self.site.spaces.get(space_id)
        return space.key if space is not None else ""

    def version(self, number: int, at: int, author: str, message: str, minor: bool) -> dict:
        return {"createdAt": iso_ms(at), "message": message, "number": number,
                "minorEdit": minor, "authorId": author}

    def _content_version(self, rec: ContentRec) -> dict[str, Any]:
        return self.version(rec.version, rec.modified_at, rec.version_author_id or rec.author_id,
                            rec.version_message, rec.minor_edit)

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
        parent_ok = rec.parent_id is not None and rec.parent_id in self.site.pages
        key = self._key(rec.space_id)
        out: dict[str, Any] = {
            "id": rec.id, "status": status or rec.status, "title": shown_title,
            "spaceId": rec.space_id,
            "parentId": rec.parent_id if parent_ok else None,
            "parentType": "page" if parent_ok else None,
            "position": rec.position, "authorId": rec.author_id, "ownerId": rec.author_id,
            "lastOwnerId": None, "createdAt": iso_ms(rec.created_at),
            "version": version or self._content_version(rec),
            "body": body_of(rec.body if body is None else body, fmt),
            "_links": {
                "editui": f"/pages/resumedraft.action?draftId={rec.id}",
                "webui": f"/spaces/{key}/pages/{rec.id}/{quote_plus(shown_title)}",
                "tinyui": _tiny(rec.id),
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
                "tinyui": _tiny(rec.id),
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
        out.update({
            "authorId": rec.author_id, "createdAt": iso_ms(rec.created_at),
            "version": self._content_version(rec), "body": body_of(rec.body, fmt),
            "_links": {"webui": f"/spaces/{self._key(rec.space_id)}/customcontent/{rec.id}"},
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
        webui = (f"/pages/viewpageattachments.action?pageId={att.container_id}"
                 f"&preview=%2F{att.container_id}%2F{att.id}%2F{quote(att.title)}")
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

    def child(self, rec: ContentRec, *, typed: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"id": rec.id, "status": rec.status, "title": rec.title}
        if typed:
            out["type"] = "page"
        out["spaceId"] = rec.space_id
        out["childPosition"] = rec.position
        return out

"""Shared pieces of the response shapes: bodies in each representation, web UI links.

``view_html`` is also what the simulator's HTML pages show (``_html.py``).
"""

from __future__ import annotations

import base64
import html
import json
import re
from typing import Any
from urllib.parse import quote, quote_plus

from ragconf.simulator._model import AttachmentRec, CommentRec, ContentRec, NodeRec, iso_ms
from ragconf.simulator._site import Site

__all__ = ["ShapeBase", "body_of", "media_type_description", "tiny_id", "tiny_link",
           "view_html"]

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


def view_html(xhtml: str) -> str:
    text = _CDATA.sub(lambda m: "<pre>" + html.escape(m.group(1)) + "</pre>", xhtml)
    return _MACRO_TAG.sub("", text)


def body_of(value: str, fmt: str | None) -> dict[str, Any]:
    if fmt is None:
        return {}
    if fmt == "atlas_doc_format":
        rendered = _adf(value)
    elif fmt in ("view", "export_view", "anonymous_export_view", "styled_view"):
        rendered = view_html(value)
    else:  # storage, editor, raw: the stored XHTML itself
        rendered = value
    return {fmt: {"representation": fmt, "value": rendered}}


def tiny_link(content_id: str) -> str:
    raw = int(content_id).to_bytes(8, "little").rstrip(b"\0")
    return "/x/" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def tiny_id(code: str) -> str | None:
    """The content id a ``/x/<code>`` tiny link names (None if it names none)."""
    try:
        raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    except (ValueError, TypeError):
        return None
    return str(int.from_bytes(raw, "little")) if raw else None


class ShapeBase:
    """The site, the base URL, versions and web UI links every shape needs."""

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

    def webui(self, item: ContentRec | AttachmentRec | NodeRec | CommentRec) -> str:
        """The ``_links.webui`` of anything (relative to ``<origin>/wiki``)."""
        if isinstance(item, CommentRec):
            container = self._container(item)
            if container is None:
                return ""
            link = self.webui(container)
            return f"{link}{'&' if '?' in link else '?'}focusedCommentId={item.id}"
        if isinstance(item, AttachmentRec):
            return (f"/pages/viewpageattachments.action?pageId={item.container_id}"
                    f"&preview=%2F{item.container_id}%2F{item.id}%2F{quote(item.title)}")
        key = self._key(item.space_id)
        if isinstance(item, NodeRec):
            return f"/spaces/{key}/{item.kind}/{item.id}"
        if item.kind == "page":
            return f"/spaces/{key}/pages/{item.id}/{quote_plus(item.title)}"
        if item.kind == "blogpost":
            day = iso_ms(item.created_at)[:10].replace("-", "/")
            return f"/spaces/{key}/blog/{day}/{item.id}/{quote_plus(item.title)}"
        return f"/spaces/{key}/customcontent/{item.id}"

    def _container(self, comment: CommentRec) -> ContentRec | AttachmentRec | None:
        if comment.container_kind == "attachment":
            return self.site.attachments.get(comment.container_id)
        try:
            return self.site.content(comment.container_id)
        except KeyError:
            return None

"""Shapes of comments, tree nodes (folders, whiteboards, databases, embeds), tree listings
and version histories, each with exactly the fields its schema in the spec declares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragconf.simulator._model import CommentRec, ContentRec, NodeRec, iso_ms
from ragconf.simulator._shapes_base import ShapeBase, body_of

__all__ = ["CONTAINER_FIELDS", "MoreShapes", "VersionItem"]

CONTAINER_FIELDS = {"page": "pageId", "blogpost": "blogPostId", "attachment": "attachmentId",
                    "custom_content": "customContentId"}


@dataclass(frozen=True, slots=True)
class VersionItem:
    """One version of anything, as version lists page over it (``id`` = the number)."""

    id: str
    number: int
    created_at: int
    author_id: str
    message: str
    minor_edit: bool
    title: str
    body: str | None  # None: the thing has no body (an attachment)

    @property
    def modified_at(self) -> int:
        return self.created_at


class MoreShapes(ShapeBase):
    # ---- comments ------------------------------------------------------------------------

    def comment_title(self, rec: CommentRec) -> str:
        """``Re: <title of what it is on>``, as Confluence titles comments."""
        container = self._container(rec)
        return "Re: " + (container.title if container is not None else "")

    def comment(
        self, rec: CommentRec, fmt: str | None, *, model: str = "full", single: bool = False,
        body: str | None = None, status: str | None = None,
        version: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """model: ``full`` (Footer/InlineCommentModel: global lists and by id), ``container``
        (Page/BlogPost/Attachment/CustomContent…CommentModel) or ``children`` (replies)."""
        out: dict[str, Any] = {"id": rec.id, "status": status or rec.status,
                               "title": self.comment_title(rec)}
        if model != "children":
            out[CONTAINER_FIELDS[rec.container_kind]] = rec.container_id
        if model != "container" and rec.parent_id is not None:
            out["parentCommentId"] = rec.parent_id
        out["version"] = version or self.version(
            rec.version, rec.modified_at, rec.version_author_id or rec.author_id,
            rec.version_message, False)
        out["body"] = body_of(rec.body if body is None else body, fmt)
        if rec.kind == "inline":
            root = self._thread_root(rec)
            if model == "full" and root.resolution_by is not None:
                out["resolutionLastModifierId"] = root.resolution_by
                if root.resolution_at is not None:
                    out["resolutionLastModifiedAt"] = iso_ms(root.resolution_at)
            out["resolutionStatus"] = self.site.resolution_of(rec)
            props: dict[str, Any] = {}
            if rec.marker_ref is not None:
                props["inlineMarkerRef"] = rec.marker_ref
            if rec.selection is not None:
                props["inlineOriginalSelection"] = rec.selection
            out["properties"] = props
        out["_links"] = {"webui": self.webui(rec)}
        if single:
            out["_links"]["base"] = self.base
        return out

    def _thread_root(self, rec: CommentRec) -> CommentRec:
        while rec.parent_id is not None and rec.parent_id in self.site.comments:
            rec = self.site.comments[rec.parent_id]
        return rec

    # ---- the content tree ----------------------------------------------------------------

    def _parent(self, parent_id: str | None) -> tuple[str | None, str | None]:
        parent = self.site.tree_item(parent_id)
        if parent is None:
            return None, None
        return parent.id, self.site.tree_type(parent.id)

    def node(self, rec: NodeRec) -> dict[str, Any]:
        """FolderSingle / WhiteboardSingle / DatabaseSingle / SmartLinkSingle (+ base)."""
        parent_id, parent_type = self._parent(rec.parent_id)
        out: dict[str, Any] = {
            "id": rec.id, "type": rec.kind, "status": rec.status, "title": rec.title,
            "parentId": parent_id, "parentType": parent_type, "position": rec.position,
            "authorId": rec.author_id, "ownerId": rec.author_id,
            "createdAt": iso_ms(rec.created_at),
        }
        if rec.embed_url is not None:
            out["embedUrl"] = rec.embed_url
        out["spaceId"] = rec.space_id
        out["version"] = self.version(rec.version, rec.modified_at, rec.author_id, "", False)
        link = self.webui(rec)
        out["_links"] = {"webui": link, "editui": link} if rec.kind == "whiteboard" else {
            "webui": link}
        out["_links"]["base"] = self.base
        return out

    def child(self, rec: ContentRec | NodeRec, *, typed: bool = True) -> dict[str, Any]:
        """ChildrenResponse (typed) or the deprecated ChildPage."""
        out: dict[str, Any] = {"id": rec.id, "status": rec.status, "title": rec.title}
        if typed:
            out["type"] = self.site.tree_type(rec.id)
        out["spaceId"] = rec.space_id
        out["childPosition"] = rec.position
        return out

    def descendant(self, rec: ContentRec | NodeRec, depth: int) -> dict[str, Any]:
        return {"id": rec.id, "status": rec.status, "title": rec.title,
                "type": self.site.tree_type(rec.id), "parentId": rec.parent_id,
                "depth": depth, "childPosition": rec.position}

    def custom_child(self, rec: ContentRec) -> dict[str, Any]:
        return {"id": rec.id, "status": rec.status, "title": rec.title,
                "type": rec.custom_type, "spaceId": rec.space_id}

    # ---- versions ------------------------------------------------------------------------

    def version_item(self, item: VersionItem, entity: str, owner_id: str,
                     fmt: str | None) -> dict[str, Any]:
        """PageVersion / BlogPostVersion / AttachmentVersion / CustomContentVersion /
        CommentVersion: the version, plus ``entity`` ({title, id, body})."""
        out = self.version(item.number, item.created_at, item.author_id, item.message,
                           item.minor_edit)
        summary: dict[str, Any] = {"title": item.title, "id": owner_id}
        if item.body is not None:
            summary["body"] = body_of(item.body, fmt)
        out[entity] = summary
        return out

    def detailed_version(self, item: VersionItem, latest: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "number": item.number, "authorId": item.author_id, "message": item.message,
            "createdAt": iso_ms(item.created_at), "minorEdit": item.minor_edit,
            "contentTypeModified": False, "collaborators": [item.author_id],
        }
        if item.number > 1:
            out["prevVersion"] = item.number - 1
        if item.number < latest:
            out["nextVersion"] = item.number + 1
        return out

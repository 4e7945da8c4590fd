"""Version histories as the ``…/versions`` and ``…/versions/{n}`` routes serve them.

Pages, blog posts, custom content and comments keep every older body; attachments keep
older files. The lists are newest first unless ``sort=modified-date`` asks otherwise.
"""

from __future__ import annotations

from typing import Any

from ragconf.simulator._app import Ctx
from ragconf.simulator._model import AttachmentRec, CommentRec, ContentRec
from ragconf.simulator._params import ApiError, not_found
from ragconf.simulator._shapes_more import VersionItem

__all__ = ["attachment_versions", "comment_versions", "content_versions", "version_detail",
           "version_list"]


def content_versions(rec: ContentRec) -> list[VersionItem]:
    items = [VersionItem(str(v.number), v.number, v.created_at, v.author_id, v.message,
                         v.minor_edit, v.title, v.body) for v in rec.history]
    items.append(VersionItem(str(rec.version), rec.version, rec.modified_at,
                             rec.version_author_id or rec.author_id, rec.version_message,
                             rec.minor_edit, rec.title, rec.body))
    return items


def attachment_versions(att: AttachmentRec) -> list[VersionItem]:
    items = [VersionItem(str(n), n, at, att.author_id, "", False, att.title, None)
             for n, at, _data in att.history]
    items.append(VersionItem(str(att.version), att.version, att.modified_at, att.author_id,
                             att.comment, False, att.title, None))
    return items


def comment_versions(rec: CommentRec, title: str) -> list[VersionItem]:
    items = [VersionItem(str(v.number), v.number, v.created_at, v.author_id, v.message,
                         False, title, v.body) for v in rec.history]
    items.append(VersionItem(str(rec.version), rec.version, rec.modified_at,
                             rec.version_author_id or rec.author_id, rec.version_message,
                             False, title, rec.body))
    return items


def version_list(
    ctx: Ctx, items: list[VersionItem], entity: str, owner_id: str,
    formats: tuple[str, ...] | None = ("storage", "atlas_doc_format"),
) -> Any:
    """A paged version list; ``formats`` None: the route takes no ``body-format``."""
    fmt = ctx.q.enum("body-format", formats) if formats else None
    field, desc, token = ctx.sort(("modified-date",), "modified-date")
    if not token:
        desc = True  # newest first unless asked otherwise
    shown = None if fmt == "raw" else fmt  # storage-bodied content has no raw form
    return ctx.page((owner_id, entity), lambda: items,
                    lambda v: ctx.shape.version_item(v, entity, owner_id, shown),
                    sort=(field, desc, token))


def version_detail(ctx: Ctx, items: list[VersionItem], param: str = "version") -> Any:
    raw = ctx.request.path_params[param]
    if not raw.isdigit():
        raise ApiError(400, "INVALID_REQUEST_PARAMETER",
                       f"Provided value {{{raw}}} for 'version-number' is not valid")
    wanted = int(raw)
    found = next((v for v in items if v.number == wanted), None)
    if found is None:
        raise not_found()
    return ctx.shape.detailed_version(found, max(v.number for v in items))

"""Pieces several routes share: single-content GETs and label/attachment/custom lists."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ragconf.simulator._app import Ctx
from ragconf.simulator._model import ContentRec
from ragconf.simulator._params import not_found

__all__ = [
    "BF_LIST",
    "BF_SINGLE",
    "CUSTOM_SORTS",
    "attachment_list",
    "custom_list",
    "label_list",
    "optional_field",
    "single_content",
    "visible_content",
]

BF_LIST = ("storage", "atlas_doc_format")
BF_SINGLE = ("storage", "atlas_doc_format", "view", "export_view", "anonymous_export_view",
             "styled_view", "editor")
CUSTOM_SORTS = ("id", "created-date", "modified-date", "title")
LABEL_SORTS = ("created-date", "id", "name")


def visible_content(ctx: Ctx, table: dict[str, ContentRec]) -> ContentRec:
    """The record for the path id, or 404 when absent or hidden from this user."""
    content_id = ctx.param_id()
    rec = table.get(content_id)
    if rec is None or content_id not in ctx.vis.content:
        raise not_found()
    return rec


def optional_field(results: list[Any], link: str) -> dict[str, Any]:
    # include-* collections are capped at 50 and carry their own meta + link
    return {"results": results[:50], "meta": {"hasMore": len(results) > 50},
            "_links": {"self": link}}


def single_content(
    ctx: Ctx, rec: ContentRec, statuses: list[str] | None, render: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """GET one page/blog post: body-format, version=N (historical), include-* options."""
    q = ctx.q
    fmt = q.enum("body-format", BF_SINGLE)
    wanted = q.integer("version", minimum=1)
    kind = "pages" if rec.kind == "page" else "blogposts"
    if wanted is not None and wanted != rec.version:
        old = next((v for v in rec.history if v.number == wanted), None)
        if old is None:
            raise not_found()
        out = render(rec, fmt, single=True, title=old.title, body=old.body, status="historical",
                     version=ctx.shape.version(old.number, old.created_at, old.author_id,
                                               old.message, old.minor_edit))
    else:
        if statuses and rec.status not in statuses:
            raise not_found()
        out = render(rec, fmt, single=True)
    if not q.boolean("include-version", True):
        out.pop("version", None)
    base = f"/wiki/api/v2/{kind}/{rec.id}"
    if q.boolean("include-labels"):
        out["labels"] = optional_field(
            [ctx.shape.label(ctx.site.labels[i]) for i in rec.label_ids], base + "/labels")
    if q.boolean("include-versions"):
        versions = [ctx.shape.version(v.number, v.created_at, v.author_id, v.message,
                                      v.minor_edit) for v in rec.history]
        versions.append(ctx.shape.version(rec.version, rec.modified_at,
                                          rec.version_author_id or rec.author_id,
                                          rec.version_message, rec.minor_edit))
        out["versions"] = optional_field(versions[::-1], base + "/versions")
    if q.boolean("include-properties"):
        out["properties"] = optional_field([], base + "/properties")
    if q.boolean("include-operations"):
        target = "page" if rec.kind == "page" else "blogpost"
        out["operations"] = optional_field([{"operation": "read", "targetType": target}],
                                      base + "/operations")
    return out


def label_list(ctx: Ctx, label_ids: Iterable[str], prefixes: list[str] | None) -> Any:
    labels = ctx.site.labels
    ids = tuple(i for i in label_ids
                if i in labels and (prefixes is None or labels[i].prefix in prefixes))
    sort = ctx.sort(LABEL_SORTS, "id")
    return ctx.page(ids, lambda: [labels[i] for i in ids], ctx.shape.label, sort=sort)


def attachment_list(ctx: Ctx, container_id: str | None) -> Any:
    """Attachments of one container (or all): status, mediaType, filename; limit 50."""
    q = ctx.q
    sort = ctx.sort(("created-date", "modified-date"), "id")
    statuses = frozenset(q.enums("status", ("current", "archived", "trashed"))
                         or ("current", "archived"))
    media_type = q.string("mediaType")
    filename = q.string("filename")
    site = ctx.site

    def items() -> list[Any]:
        if container_id is None:
            candidates: Iterable[str] = site.attachments.keys()
        else:
            candidates = site.derived().attachments_by_container.get(container_id, ())
        out = []
        for att_id in candidates:
            att = site.attachments.get(att_id)
            if att is None or att_id not in ctx.vis.attachments:
                continue
            if site.attachment_status(att_id) not in statuses:
                continue
            if (media_type and att.media_type != media_type) or (
                filename and att.title != filename
            ):
                continue
            out.append(att)
        return out

    return ctx.page((container_id, statuses, media_type, filename), items,
                    ctx.shape.attachment, sort=sort, default_limit=50)


def custom_list(
    ctx: Ctx,
    *,
    space_ids: list[str] | None = None,
    container_id: str | None = None,
    ids: list[str] | None = None,
    sorts: tuple[str, ...] = CUSTOM_SORTS,
) -> Any:
    """Custom content of the required ``type`` (an unknown type is a 404)."""
    q = ctx.q
    content_type = q.required("type")
    if content_type not in ctx.site.custom_content_types:
        raise not_found()
    fmt = q.enum("body-format", ("raw", "storage", "atlas_doc_format"))
    sort = ctx.sort(sorts, "id") if sorts else ("id", False, "")
    site = ctx.site

    def items() -> list[ContentRec]:
        if ids is not None:
            candidates: Iterable[str] = ids
        elif space_ids is not None and len(space_ids) == 1:
            candidates = site.derived().custom_by_space.get(space_ids[0], ())
        else:
            candidates = site.custom_content.keys()
        out = []
        for cc_id in candidates:
            rec = site.custom_content.get(cc_id)
            if rec is None or cc_id not in ctx.vis.content or rec.status != "current":
                continue
            if rec.custom_type != content_type:
                continue
            if space_ids is not None and rec.space_id not in space_ids:
                continue
            if container_id is not None and rec.parent_id != container_id:
                continue
            out.append(rec)
        return out

    shown = None if fmt == "raw" else fmt  # storage-bodied types have no raw representation
    key = (content_type, tuple(space_ids or ()), container_id, tuple(ids or ()))
    return ctx.page(key, items, lambda c: ctx.shape.custom(c, shown), sort=sort)

"""v2 routes for footer and inline comments: per container (root comments), global lists
(replies included), by id, replies, versions, likes, operations and properties.

A comment is exactly as visible as what it is on: hidden content hides its comments
(404 by id, absent from lists). The global lists skip comments on trashed content.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ragconf.simulator._app import Ctx, api_get
from ragconf.simulator._model import AttachmentRec, CommentRec, ContentRec
from ragconf.simulator._params import check_id, not_found
from ragconf.simulator._routes_shared import BF_LIST, BF_SINGLE, optional_field, visible_content
from ragconf.simulator._versions import comment_versions, version_detail, version_list

__all__ = ["register", "visible_comment"]

_COMMENT_SORTS = ("created-date", "modified-date")
_STATUSES = ("current", "archived", "trashed", "deleted", "historical", "draft")
_RESOLUTIONS = ("resolved", "open", "dangling", "reopened")
_ROUTE_KIND = {"footer-comments": "footer", "inline-comments": "inline"}


def visible_comment(ctx: Ctx, kind: str | None, param: str = "id") -> CommentRec:
    comment_id = ctx.param_id(param)
    rec = ctx.site.comments.get(comment_id)
    if rec is None or comment_id not in ctx.vis.comments or (kind and rec.kind != kind):
        raise not_found()
    return rec


def _visible_attachment(ctx: Ctx) -> AttachmentRec:
    att_id = check_id(ctx.request.path_params["id"], attachment=True)
    att = ctx.site.attachments.get(att_id)
    if att is None or att_id not in ctx.vis.attachments:
        raise not_found()
    return att


def _container_list(ctx: Ctx, container_id: str, kind: str) -> Any:
    """The root comments of one page/blog post/attachment/custom content."""
    q = ctx.q
    fmt = q.enum("body-format", BF_LIST)
    statuses = frozenset(q.enums("status", _STATUSES) or ("current",))
    resolutions = (frozenset(q.enums("resolution-status", _RESOLUTIONS) or _RESOLUTIONS)
                   if kind == "inline" else None)
    sort = ctx.sort(_COMMENT_SORTS, "created-date")
    site = ctx.site
    roots = site.derived().comments_by_container.get(container_id, ())

    def items() -> list[CommentRec]:
        out = []
        for comment_id in roots:
            rec = site.comments[comment_id]
            if rec.kind != kind or rec.status not in statuses or rec.id not in ctx.vis.comments:
                continue
            if resolutions is not None and site.resolution_of(rec) not in resolutions:
                continue
            out.append(rec)
        return out

    key = (container_id, kind, statuses, resolutions)
    return ctx.page(key, items, lambda c: ctx.shape.comment(c, fmt, model="container"),
                    sort=sort)


def _single(ctx: Ctx, rec: CommentRec) -> dict[str, Any]:
    q = ctx.q
    fmt = q.enum("body-format", BF_SINGLE)
    wanted = q.integer("version", minimum=1)
    title = ctx.shape.comment_title(rec)
    versions = comment_versions(rec, title)
    if wanted is not None and wanted != rec.version:
        old = next((v for v in rec.history if v.number == wanted), None)
        if old is None:
            raise not_found()
        out = ctx.shape.comment(rec, fmt, single=True, body=old.body, status="historical",
                                version=ctx.shape.version(old.number, old.created_at,
                                                          old.author_id, old.message, False))
    else:
        out = ctx.shape.comment(rec, fmt, single=True)
    if not q.boolean("include-version", True):
        out.pop("version", None)
    base = f"/wiki/api/v2/{'footer' if rec.kind == 'footer' else 'inline'}-comments/{rec.id}"
    if q.boolean("include-properties"):
        props = optional_field([], f"/wiki/api/v2/comments/{rec.id}/properties")
        out["properties"] = {**out.get("properties", {}), **props}
    if q.boolean("include-operations"):
        out["operations"] = optional_field(
            [{"operation": "read", "targetType": "comment"}], base + "/operations")
    if q.boolean("include-likes"):
        out["likes"] = optional_field([], base + "/likes/users")
    if q.boolean("include-versions"):
        out["versions"] = optional_field(
            [ctx.shape.version(v.number, v.created_at, v.author_id, v.message, False)
             for v in versions[::-1]], base + "/versions")
    return out


def _register_kind(r: APIRouter, route: str, kind: str) -> None:
    @api_get(r, f"/{route}")
    def all_comments(ctx: Ctx) -> Any:
        fmt = ctx.q.enum("body-format", BF_LIST)
        sort = ctx.sort(_COMMENT_SORTS, "created-date")
        site = ctx.site
        return ctx.page(
            (kind,),
            lambda: [c for c in site.comments.values() if c.kind == kind
                     and c.id in ctx.vis.comments and c.status == "current"
                     and site.comment_live(c.id)],
            lambda c: ctx.shape.comment(c, fmt), sort=sort)

    @api_get(r, f"/{route}/{{id}}")
    def one_comment(ctx: Ctx) -> Any:
        return _single(ctx, visible_comment(ctx, kind))

    @api_get(r, f"/{route}/{{id}}/children")
    def replies(ctx: Ctx) -> Any:
        rec = visible_comment(ctx, kind)
        fmt = ctx.q.enum("body-format", BF_LIST)
        sort = ctx.sort(_COMMENT_SORTS, "created-date")
        site = ctx.site
        kids = site.derived().replies.get(rec.id, ())
        return ctx.page(
            (rec.id,),
            lambda: [site.comments[i] for i in kids if i in ctx.vis.comments],
            lambda c: ctx.shape.comment(c, fmt, model="children"), sort=sort)

    @api_get(r, f"/{route}/{{id}}/versions")
    def versions(ctx: Ctx) -> Any:
        rec = visible_comment(ctx, kind)
        title = ctx.shape.comment_title(rec)
        return version_list(ctx, comment_versions(rec, title), "comment", rec.id)

    @api_get(r, f"/{route}/{{id}}/versions/{{number}}")
    def version(ctx: Ctx) -> Any:
        rec = visible_comment(ctx, kind)
        return version_detail(ctx, comment_versions(rec, ""), "number")

    @api_get(r, f"/{route}/{{id}}/likes/count")
    def like_count(ctx: Ctx) -> Any:
        visible_comment(ctx, kind)
        return {"count": 0}

    @api_get(r, f"/{route}/{{id}}/likes/users")
    def like_users(ctx: Ctx) -> Any:
        rec = visible_comment(ctx, kind)
        return ctx.page((rec.id, "likes"), list, dict, min_limit=0)

    @api_get(r, f"/{route}/{{id}}/operations")
    def operations(ctx: Ctx) -> Any:
        visible_comment(ctx, kind)
        return {"operations": [{"operation": "read", "targetType": "comment"}]}


def register(r: APIRouter) -> None:
    for route, kind in _ROUTE_KIND.items():
        _register_kind(r, route, kind)

    def _content(table_name: str) -> Any:
        def pick(ctx: Ctx) -> ContentRec:
            table: dict[str, ContentRec] = getattr(ctx.site, table_name)
            return visible_content(ctx, table)
        return pick

    for prefix, table_name, kinds in (("pages", "pages", ("footer", "inline")),
                                      ("blogposts", "blogposts", ("footer", "inline")),
                                      ("custom-content", "custom_content", ("footer",))):
        pick = _content(table_name)
        for kind in kinds:
            _register_container(r, f"/{prefix}/{{id}}/{kind}-comments", pick, kind)

    @api_get(r, "/attachments/{id}/footer-comments")
    def attachment_comments(ctx: Ctx) -> Any:
        att = _visible_attachment(ctx)
        ctx.q.integer("version", minimum=1)  # comments are not per attachment version here
        return _container_list(ctx, att.id, "footer")

    @api_get(r, "/comments/{id}/properties")
    def comment_properties(ctx: Ctx) -> Any:
        rec = visible_comment(ctx, None)
        ctx.q.string("key")
        sort = ctx.sort(("key",), "key")
        return ctx.page((rec.id, "properties"), list, dict, sort=sort)

    @api_get(r, "/comments/{id}/properties/{property_id}")
    def comment_property(ctx: Ctx) -> Any:
        visible_comment(ctx, None)
        ctx.param_id("property_id")
        raise not_found()  # no comment has content properties on this site


def _register_container(r: APIRouter, path: str, pick: Any, kind: str) -> None:
    @api_get(r, path)
    def container_comments(ctx: Ctx) -> Any:
        return _container_list(ctx, pick(ctx).id, kind)

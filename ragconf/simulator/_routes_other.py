"""v2 routes for labels, attachments, custom content and tasks; v1 users; downloads."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ragconf.simulator._app import Ctx, Env, api_get, json_response
from ragconf.simulator._model import AttachmentRec, TaskRec, User
from ragconf.simulator._params import check_id, not_found
from ragconf.simulator._routes_content import BLOG_SORTS, PAGE_SORTS, blog_items, page_items
from ragconf.simulator._routes_shared import (
    BF_LIST,
    attachment_list,
    custom_list,
    label_list,
)

__all__ = ["media_location", "register_root", "register_v2"]

_TASK_ARRAYS = {"task-id": "id", "space-id": "space_id", "page-id": "container_id",
                "blogpost-id": "container_id", "created-by": "created_by",
                "assigned-to": "assigned_to", "completed-by": "completed_by"}
_BULK_USERS_MAX = 200  # the v1 spec: "Currently API returns 200 results max"
_TASK_RANGES = {"created-at": "created_at", "due-at": "due_at", "completed-at": "completed_at"}


def _visible_label(ctx: Ctx) -> str:
    label_id = ctx.param_id()
    if label_id not in ctx.site.labels or label_id not in ctx.vis.labels:
        raise not_found()
    return label_id


def _visible_attachment(ctx: Ctx) -> AttachmentRec:
    att_id = check_id(ctx.request.path_params["id"], attachment=True)
    att = ctx.site.attachments.get(att_id)
    if att is None or att_id not in ctx.vis.attachments:
        raise not_found()
    return att


def _task_visible(ctx: Ctx, task: TaskRec) -> bool:
    return task.id in ctx.vis.tasks and ctx.site.task_live(task.id)


def register_v2(r: APIRouter) -> None:
    @api_get(r, "/labels")
    def labels(ctx: Ctx) -> Any:
        wanted = ctx.q.ids("label-id")
        prefixes = ctx.q.strings("prefix")
        used = ctx.site.derived().used_labels
        ids = sorted((i for i in ctx.vis.labels if i in used and (wanted is None or i in wanted)),
                     key=int)
        return label_list(ctx, ids, prefixes)

    @api_get(r, "/labels/{id}/pages")
    def label_pages(ctx: Ctx) -> Any:
        label_id = _visible_label(ctx)
        space_ids = ctx.q.ids("space-id", 100)
        fmt = ctx.q.enum("body-format", BF_LIST)
        sort = ctx.sort(PAGE_SORTS, "id")
        tagged = [i for i in ctx.site.derived().by_label.get(label_id, ()) if i in ctx.site.pages
                  and (space_ids is None or ctx.site.pages[i].space_id in space_ids)]
        return ctx.page(
            (label_id, tuple(space_ids or ())),
            lambda: page_items(ctx, tagged, frozenset(("current", "archived")), None),
            lambda p: ctx.shape.page(p, fmt), sort=sort)

    @api_get(r, "/labels/{id}/blogposts")
    def label_blogposts(ctx: Ctx) -> Any:
        label_id = _visible_label(ctx)
        space_ids = ctx.q.ids("space-id", 100)
        fmt = ctx.q.enum("body-format", BF_LIST)
        sort = ctx.sort(BLOG_SORTS, "id")
        tagged = [i for i in ctx.site.derived().by_label.get(label_id, ())
                  if i in ctx.site.blogposts
                  and (space_ids is None or ctx.site.blogposts[i].space_id in space_ids)]
        return ctx.page(
            (label_id, tuple(space_ids or ())),
            lambda: blog_items(ctx, tagged, frozenset(("current",)), None),
            lambda p: ctx.shape.blogpost(p, fmt), sort=sort)

    @api_get(r, "/labels/{id}/attachments")
    def label_attachments(ctx: Ctx) -> Any:
        label_id = _visible_label(ctx)
        sort = ctx.sort(("created-date", "modified-date"), "id")
        site = ctx.site
        tagged = [i for i in site.derived().by_label.get(label_id, ())
                  if i in ctx.vis.attachments
                  and site.attachment_status(i) in ("current", "archived")]
        return ctx.page((label_id,), lambda: [site.attachments[i] for i in tagged],
                        ctx.shape.attachment, sort=sort)  # 25 here, unlike other att lists

    @api_get(r, "/attachments")
    def attachments(ctx: Ctx) -> Any:
        return attachment_list(ctx, None)

    @api_get(r, "/attachments/{id}")
    def attachment(ctx: Ctx) -> Any:
        att = _visible_attachment(ctx)
        out = ctx.shape.attachment(att, single=True)
        wanted = ctx.q.integer("version", minimum=1)
        if wanted is not None and wanted != att.version:
            old = next((h for h in att.history if h[0] == wanted), None)
            if old is None:
                raise not_found()
            out["version"] = ctx.shape.version(old[0], old[1], att.author_id, "", False)
            out["fileSize"] = len(old[2])
            out["downloadLink"] = out["_links"]["download"] = ctx.shape.download_link(att, old[0])
        if not ctx.q.boolean("include-version", True):
            out.pop("version", None)
        if ctx.q.boolean("include-labels"):
            found = [ctx.shape.label(ctx.site.labels[i]) for i in att.label_ids]
            out["labels"] = {"results": found[:50], "meta": {"hasMore": len(found) > 50},
                             "_links": {"self": f"/wiki/api/v2/attachments/{att.id}/labels"}}
        return out

    @api_get(r, "/attachments/{id}/labels")
    def attachment_labels(ctx: Ctx) -> Any:
        att = _visible_attachment(ctx)
        prefix = ctx.q.enum("prefix", ("my", "team", "global", "system"))
        return label_list(ctx, att.label_ids, [prefix] if prefix else None)

    @api_get(r, "/custom-content")
    def custom_content(ctx: Ctx) -> Any:
        return custom_list(ctx, space_ids=ctx.q.ids("space-id", 100), ids=ctx.q.ids("id", 250))

    @api_get(r, "/custom-content/{id}")
    def custom_content_one(ctx: Ctx) -> Any:
        content_id = ctx.param_id()
        rec = ctx.site.custom_content.get(content_id)
        if rec is None or content_id not in ctx.vis.content:
            raise not_found()
        fmt = ctx.q.enum("body-format", ("raw", "storage", "atlas_doc_format", "view",
                                         "export_view", "anonymous_export_view"))
        out = ctx.shape.custom(rec, None if fmt == "raw" else fmt, single=True)
        if not ctx.q.boolean("include-version", True):
            out.pop("version", None)
        return out

    @api_get(r, "/custom-content/{id}/attachments")
    def custom_attachments(ctx: Ctx) -> Any:
        content_id = ctx.param_id()
        if content_id not in ctx.site.custom_content or content_id not in ctx.vis.content:
            raise not_found()
        return attachment_list(ctx, content_id)

    @api_get(r, "/tasks")
    def tasks(ctx: Ctx) -> Any:
        q = ctx.q
        fmt = q.enum("body-format", BF_LIST)
        blanks = q.boolean("include-blank-tasks", True)
        status = q.enum("status", ("complete", "incomplete"))
        arrays: dict[str, list[str]] = {}
        for param in _TASK_ARRAYS:
            numeric = param.endswith("-id")
            values = q.ids(param, 250) if numeric else q.strings(param, 250)
            if values is not None:
                arrays[param] = values
        ranges = {name: (q.integer(f"{name}-from"), q.integer(f"{name}-to"))
                  for name in _TASK_RANGES}
        site = ctx.site

        def keep(task: TaskRec) -> bool:
            if not _task_visible(ctx, task) or (status and task.status != status):
                return False
            if not blanks and task.blank:
                return False
            for param, values in arrays.items():
                if param == "page-id" and task.container_kind != "page":
                    return False
                if param == "blogpost-id" and task.container_kind != "blogpost":
                    return False
                if getattr(task, _TASK_ARRAYS[param]) not in values:
                    return False
            for name, (low, high) in ranges.items():
                if low is None and high is None:
                    continue
                value = getattr(task, _TASK_RANGES[name])
                if value is None or (low is not None and value < low) or (
                    high is not None and value > high
                ):
                    return False
            return True

        key = (fmt is not None, blanks, status, tuple(sorted((k, tuple(v))
               for k, v in arrays.items())), tuple(sorted(ranges.items())))
        return ctx.page(key, lambda: [t for t in site.tasks.values() if keep(t)],
                        lambda t: ctx.shape.task(t, fmt))

    @api_get(r, "/tasks/{id}")
    def task(ctx: Ctx) -> Any:
        rec = ctx.site.tasks.get(ctx.param_id())
        if rec is None or not _task_visible(ctx, rec):
            raise not_found()
        return ctx.shape.task(rec, ctx.q.enum("body-format", BF_LIST))


def _media_token(env: Env, att_id: str, version: int) -> str:
    msg = f"{att_id}:{version}".encode()
    return hmac.new(env.media_secret.encode(), msg, hashlib.sha256).hexdigest()[:32]


def media_location(ctx: Ctx, att: AttachmentRec, version: int) -> str:
    """A signed media-service URL for one attachment version (no credentials needed)."""
    query = urlencode({"att": att.id, "version": version,
                       "token": _media_token(ctx.env, att.id, version), "name": att.title})
    return f"{ctx.origin}/_media/file/{att.file_id}/binary?{query}"


def _user_json(ctx: Ctx, u: User, *, email: bool = True) -> dict[str, Any]:
    return {
        "type": "known", "accountId": u.account_id, "accountType": "atlassian",
        # like Cloud's default privacy setting: other people's e-mail comes back blank
        "email": u.email if email else "", "publicName": u.display_name,
        "displayName": u.display_name,
        "profilePicture": {"path": "/wiki/aa-avatar/default.png", "width": 48,
                           "height": 48, "isDefault": True},
        "isExternalCollaborator": False,
        "_links": {"self": f"{ctx.origin}/wiki/rest/api/user?accountId={u.account_id}",
                   "base": ctx.origin + "/wiki", "context": "/wiki"},
    }


def _v1_error(status: int, message: str) -> Response:
    return json_response({"statusCode": status, "message": message,
                          "data": {"authorized": True, "valid": False, "errors": [],
                                   "successful": False}}, status)


def register_root(r: APIRouter) -> None:
    @api_get(r, "/wiki/rest/api/user/current")
    def current_user(ctx: Ctx) -> Any:
        return _user_json(ctx, ctx.user)

    @api_get(r, "/wiki/rest/api/user/bulk")
    def users_bulk(ctx: Ctx) -> Any:
        # accountId: repeated keys or comma-separated; unknown accounts are left out and
        # at most `limit` (1..200, default 200) of the known ones come back, in request order
        wanted = ctx.q.strings("accountId") or []
        if not wanted:
            return _v1_error(400, "accountId is required")
        raw_limit = ctx.q.string("limit")
        if raw_limit is not None and not (raw_limit.isdigit() and 1 <= int(raw_limit) <= 200):
            return _v1_error(400, "limit must be an integer between 1 and 200")
        limit = int(raw_limit) if raw_limit else _BULK_USERS_MAX
        by_account = {u.account_id: u for u in ctx.site.users.values()}
        found = [by_account[a] for a in dict.fromkeys(wanted) if a in by_account][:limit]
        results = [_user_json(ctx, u, email=u is ctx.user) for u in found]
        for item in results:
            item["_expandable"] = {"operations": "", "personalSpace": ""}
        return {"results": results, "start": 0, "limit": limit, "size": len(results),
                "_links": {"base": ctx.origin + "/wiki", "context": "/wiki"}}

    @api_get(r, "/wiki/download/attachments/{container_id}/{filename:path}")
    def download(ctx: Ctx) -> Any:
        container_id = ctx.request.path_params["container_id"]
        filename = ctx.request.path_params["filename"]
        att_id = ctx.site._attachment_by_file.get((container_id, filename))
        att = ctx.site.attachments.get(att_id) if att_id else None
        if att is None or att.id not in ctx.vis.attachments:
            raise not_found()
        version = ctx.q.integer("version", minimum=1) or att.version
        if version != att.version and not any(h[0] == version for h in att.history):
            raise not_found()
        if ctx.env.download_redirect:
            # like Cloud's hop to the media service: a signed URL that needs no auth
            return Response(status_code=302,
                            headers={"Location": media_location(ctx, att, version)})
        return _file_response(att, version)

    @r.get("/_media/file/{file_id}/binary", include_in_schema=False)
    def media(request: Request, file_id: str) -> Response:
        env: Env = request.app.state.env
        att_id = request.query_params.get("att", "")
        version_raw = request.query_params.get("version", "")
        token = request.query_params.get("token", "")
        att = env.site.attachments.get(att_id)
        if att is None or not version_raw.isdigit() or not hmac.compare_digest(
            token, _media_token(env, att_id, int(version_raw))
        ):
            return Response(b"Unauthorized", status_code=401, media_type="text/plain")
        return _file_response(att, int(version_raw))

    @r.get("/_edge/tenant_info", include_in_schema=False)
    def tenant_info() -> Response:
        return json_response({"cloudId": "00000000-ragc-onf0-sim0-000000000000"})


def _file_response(att: AttachmentRec, version: int) -> Response:
    data = att.data if version == att.version else next(
        (h[2] for h in att.history if h[0] == version), b"")
    disposition = f"attachment; filename*=UTF-8''{quote(att.title)}"
    return Response(data, media_type=att.media_type,
                    headers={"Content-Disposition": disposition})

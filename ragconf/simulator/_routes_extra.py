"""The rest of the v2 GET routes: versions, labels of custom content, operations, likes,
content properties, space permissions and roles, data policies, classification levels,
thumbnails, Forge app properties and the admin key.

Where the simulated site has nothing of a kind (no likes, no content properties, no
classification levels, no admin key), a route answers what Confluence answers for a site
without it: an empty list, or the 404 its spec documents for that case. What it answers
for content the caller cannot see is always the 404 of a missing id.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ragconf.simulator._app import Ctx, api_get
from ragconf.simulator._model import AttachmentRec, ContentRec, NodeRec
from ragconf.simulator._params import ApiError, check_id, not_found
from ragconf.simulator._routes_other import media_location
from ragconf.simulator._routes_shared import label_list, visible_content
from ragconf.simulator._routes_tree import NODE_ROUTES, visible_node
from ragconf.simulator._versions import (
    attachment_versions,
    content_versions,
    version_detail,
    version_list,
)

__all__ = ["register"]

_LABEL_PREFIXES = ("my", "team", "global", "system")
_SPACE_PERMISSIONS = [
    ("read/space", "View space", "View the space and its content.", []),
    ("create/page", "Add pages", "Create pages in the space.", ["read/space"]),
    ("create/blogpost", "Add blogs", "Create blog posts in the space.", ["read/space"]),
    ("create/comment", "Add comments", "Comment on content in the space.", ["read/space"]),
    ("create/attachment", "Add attachments", "Attach files to content.", ["read/space"]),
    ("administer/space", "Admin", "Administer the space.", ["read/space"]),
]


@dataclass(frozen=True, slots=True)
class _Row:
    """A precomputed JSON object with a numeric id, so generic lists can page over it."""

    id: str
    data: dict[str, Any]


def _attachment(ctx: Ctx, param: str = "id") -> AttachmentRec:
    att_id = check_id(ctx.request.path_params[param], attachment=True)
    att = ctx.site.attachments.get(att_id)
    if att is None or att_id not in ctx.vis.attachments:
        raise not_found()
    return att


def _table(name: str) -> Callable[[Ctx], ContentRec]:
    def pick(ctx: Ctx) -> ContentRec:
        return visible_content(ctx, getattr(ctx.site, name))
    return pick


def _empty(ctx: Ctx, owner: str, what: str, *, sort_keys: tuple[str, ...] = (),
           min_limit: int = 1) -> Any:
    """An empty paged list (the validated parameters still answer 400 when wrong)."""
    sort = ctx.sort(sort_keys, sort_keys[0]) if sort_keys else ("id", False, "")
    ctx.q.string("key")
    return ctx.page((owner, what), list, dict, sort=sort, min_limit=min_limit)


def _operations(target: str) -> dict[str, Any]:
    # read-only tokens: the simulated users may look, nothing more
    return {"operations": [{"operation": "read", "targetType": target}]}


def _register_common(r: APIRouter, prefix: str, pick: Callable[[Ctx], Any], target: str,
                     *, likes: bool = False, properties_param: str = "id") -> None:
    """operations, properties (+ by id) and optionally likes for one kind of owner."""

    @api_get(r, f"/{prefix}/{{id}}/operations")
    def operations(ctx: Ctx) -> Any:
        pick(ctx)
        return _operations(target)

    @api_get(r, f"/{prefix}/{{id}}/properties")
    def properties(ctx: Ctx) -> Any:
        owner = pick(ctx)
        return _empty(ctx, owner.id, "properties", sort_keys=("key",))

    @api_get(r, f"/{prefix}/{{id}}/properties/{{property_id}}")
    def property_by_id(ctx: Ctx) -> Any:
        pick(ctx)
        ctx.param_id("property_id")
        raise not_found()  # nothing on this site has content properties

    if likes:
        @api_get(r, f"/{prefix}/{{id}}/likes/count")
        def like_count(ctx: Ctx) -> Any:
            pick(ctx)
            return {"count": 0}

        @api_get(r, f"/{prefix}/{{id}}/likes/users")
        def like_users(ctx: Ctx) -> Any:
            return _empty(ctx, pick(ctx).id, "likes", min_limit=0)


def _register_content(r: APIRouter) -> None:
    for prefix, table, target, entity in (("pages", "pages", "page", "page"),
                                          ("blogposts", "blogposts", "blogpost", "blogpost"),
                                          ("custom-content", "custom_content",
                                           "custom_content", "custom")):
        pick = _table(table)
        _register_common(r, prefix, pick, target, likes=prefix != "custom-content")
        _register_versions(r, prefix, pick, entity)
        if prefix != "custom-content":
            _register_classification(r, prefix, pick)

    @api_get(r, "/custom-content/{id}/labels")
    def custom_labels(ctx: Ctx) -> Any:
        rec = visible_content(ctx, ctx.site.custom_content)
        prefix = ctx.q.enum("prefix", _LABEL_PREFIXES)
        return label_list(ctx, rec.label_ids, [prefix] if prefix else None)

    _register_common(r, "attachments", _attachment, "attachment")

    @api_get(r, "/attachments/{id}/versions")
    def attachment_version_list(ctx: Ctx) -> Any:
        att = _attachment(ctx)
        return version_list(ctx, attachment_versions(att), "attachment", att.id, None)

    @api_get(r, "/attachments/{id}/versions/{number}")
    def attachment_version(ctx: Ctx) -> Any:
        return version_detail(ctx, attachment_versions(_attachment(ctx)), "number")

    @api_get(r, "/attachments/{id}/thumbnail/download")
    def thumbnail(ctx: Ctx) -> Any:
        # Confluence renders a preview image; the simulator hands back the file itself
        att = _attachment(ctx)
        for name in ("height", "width"):
            ctx.q.integer(name, minimum=1)
        version = ctx.q.integer("version", minimum=1) or att.version
        if version != att.version and not any(h[0] == version for h in att.history):
            raise not_found()
        return Response(status_code=302,
                        headers={"Location": media_location(ctx, att, version)})


def _register_versions(r: APIRouter, prefix: str, pick: Callable[[Ctx], ContentRec],
                       entity: str) -> None:
    formats = ("raw", "storage", "atlas_doc_format") if entity == "custom" else (
        "storage", "atlas_doc_format")

    @api_get(r, f"/{prefix}/{{id}}/versions")
    def versions(ctx: Ctx) -> Any:
        rec = pick(ctx)
        return version_list(ctx, content_versions(rec), entity, rec.id, formats)

    @api_get(r, f"/{prefix}/{{id}}/versions/{{number}}")
    def version(ctx: Ctx) -> Any:
        return version_detail(ctx, content_versions(pick(ctx)), "number")


def _register_classification(r: APIRouter, prefix: str, pick: Callable[[Ctx], Any]) -> None:
    @api_get(r, f"/{prefix}/{{id}}/classification-level")
    def classification(ctx: Ctx) -> Any:
        pick(ctx)
        if prefix in ("pages", "blogposts"):
            ctx.q.enum("status", ("current", "draft", "archived"))
        # the site has no data classification: the spec's 404 for "no level applied"
        raise not_found()


def _visible_space(ctx: Ctx) -> Any:
    space_id = ctx.param_id()
    space = ctx.site.spaces.get(space_id)
    if space is None or space_id not in ctx.vis.spaces:
        raise not_found()
    return space


def _permission_rows(ctx: Ctx, space_id: str) -> list[_Row]:
    space = ctx.site.spaces[space_id]
    rows = []
    for user in ctx.site.users.values():
        if user.spaces is not None and space.key not in user.spaces:
            continue
        grants = [("read", "space")]
        if user.account_id == space.author_id:
            grants.append(("administer", "space"))
        for key, target in grants:
            number = zlib.crc32(f"{space_id}:{user.account_id}:{key}".encode())
            rows.append(_Row(str(number), {
                "id": str(number), "principal": {"type": "user", "id": user.account_id},
                "operation": {"key": key, "targetType": target}}))
    return rows


def _register_spaces(r: APIRouter) -> None:
    _register_common(r, "spaces", _visible_space, "space")

    @api_get(r, "/spaces/{id}/permissions")
    def space_permissions(ctx: Ctx) -> Any:
        space = _visible_space(ctx)
        return ctx.page((space.id, "permissions"), lambda: _permission_rows(ctx, space.id),
                        lambda row: row.data)

    @api_get(r, "/spaces/{id}/role-assignments")
    def role_assignments(ctx: Ctx) -> Any:
        space = _visible_space(ctx)
        for name in ("role-id", "role-type", "principal-id"):
            ctx.q.string(name)
        ctx.q.enum("principal-type", ("USER", "GROUP", "ACCESS_CLASS"))
        return _empty(ctx, space.id, "roles")  # the site has no role-based access yet

    @api_get(r, "/spaces/{id}/classification-level/default")
    def space_classification(ctx: Ctx) -> Any:
        _visible_space(ctx)
        raise not_found()

    @api_get(r, "/space-permissions")
    def available_permissions(ctx: Ctx) -> Any:
        rows = [_Row(str(i), {"id": pid, "displayName": name, "description": text,
                              "requiredPermissionIds": needs})
                for i, (pid, name, text, needs) in enumerate(_SPACE_PERMISSIONS, start=1)]
        return ctx.page(("space-permissions",), lambda: rows, lambda row: row.data)

    @api_get(r, "/space-role-mode")
    def role_mode(ctx: Ctx) -> Any:
        return {"mode": "PRE_ROLES"}  # permissions, not roles, on this site

    @api_get(r, "/space-roles")
    def space_roles(ctx: Ctx) -> Any:
        space_id = ctx.q.string("space-id")
        if space_id is not None and space_id not in ctx.vis.spaces:
            raise not_found()
        for name in ("role-type", "principal-id"):
            ctx.q.string(name)
        ctx.q.enum("principal-type", ("USER", "GROUP", "ACCESS_CLASS"))
        return _empty(ctx, space_id or "", "space-roles")

    @api_get(r, "/space-roles/{id}")
    def space_role(ctx: Ctx) -> Any:
        ctx.param_id()
        raise not_found()

    @api_get(r, "/data-policies/metadata")
    def data_policy(ctx: Ctx) -> Any:
        return {"anyContentBlocked": False}

    @api_get(r, "/data-policies/spaces")
    def data_policy_spaces(ctx: Ctx) -> Any:
        ids = ctx.q.ids("ids", 250)
        keys = ctx.q.strings("keys", 250)
        sort = ctx.sort(("id", "key", "name"), "id")
        site = ctx.site
        chosen = [site.spaces[i] for i in ctx.vis.spaces
                  if (ids is None or i in ids) and (keys is None or site.spaces[i].key in keys)]
        return ctx.page((tuple(ids or ()), tuple(keys or ())), lambda: chosen,
                        lambda s: {"id": s.id, "key": s.key, "name": s.name,
                                   "dataPolicy": {"anyContentBlocked": False},
                                   "_links": {"webui": f"/spaces/{s.key}"}}, sort=sort)

    @api_get(r, "/classification-levels")
    def classification_levels(ctx: Ctx) -> Any:
        raise not_found()  # the spec: 404 when the site has no classification levels


def _register_nodes(r: APIRouter) -> None:
    for prefix, kind in NODE_ROUTES.items():
        def pick(ctx: Ctx, kind: str = kind) -> NodeRec:
            return visible_node(ctx, kind)

        _register_common(r, prefix, pick, kind)
        if kind in ("whiteboard", "database"):
            _register_classification(r, prefix, pick)


def register(r: APIRouter) -> None:
    _register_content(r)
    _register_spaces(r)
    _register_nodes(r)

    @api_get(r, "/admin-key")
    def admin_key(ctx: Ctx) -> Any:
        raise not_found()  # no admin key is enabled (it needs a Premium site anyway)

    def forge_only() -> ApiError:
        return ApiError(401, "UNAUTHORIZED", "The request did not originate from a Forge app")

    @api_get(r, "/app/properties")
    def app_properties(ctx: Ctx) -> Any:
        raise forge_only()

    @api_get(r, "/app/properties/{key}")
    def app_property(ctx: Ctx) -> Any:
        raise forge_only()

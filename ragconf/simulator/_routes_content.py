"""v2 routes for spaces, pages and blog posts (and their sub-collections)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter

from ragconf.simulator._app import Ctx, api_get
from ragconf.simulator._model import ContentRec, SpaceRec
from ragconf.simulator._params import not_found
from ragconf.simulator._routes_shared import (
    BF_LIST,
    BF_SINGLE,
    attachment_list,
    custom_list,
    label_list,
    single_content,
    visible_content,
)

__all__ = ["register"]

PAGE_SORTS = ("id", "created-date", "modified-date", "title")
BLOG_SORTS = ("id", "created-date", "modified-date")
PAGE_STATUSES = ("current", "archived", "deleted", "trashed")
BLOG_STATUSES = ("current", "deleted", "trashed")
SPACE_TYPES = ("global", "collaboration", "knowledge_base", "personal", "system", "onboarding",
               "xflow_sample_space")


def visible_space(ctx: Ctx) -> SpaceRec:
    space_id = ctx.param_id()
    space = ctx.site.spaces.get(space_id)
    if space is None or space_id not in ctx.vis.spaces:
        raise not_found()
    return space


def _statuses(ctx: Ctx, allowed: tuple[str, ...], default: tuple[str, ...]) -> frozenset[str]:
    return frozenset(ctx.q.enums("status", allowed) or default)


def page_items(
    ctx: Ctx, candidates: Iterable[str], statuses: frozenset[str], title: str | None,
    *, root_only: bool = False,
) -> list[ContentRec]:
    pages, visible = ctx.site.pages, ctx.vis.content
    out = []
    for page_id in candidates:
        rec = pages.get(page_id)
        if rec is None or page_id not in visible or rec.status not in statuses:
            continue
        if (title is not None and rec.title != title) or (root_only and rec.parent_id):
            continue
        out.append(rec)
    return out


def blog_items(
    ctx: Ctx, candidates: Iterable[str], statuses: frozenset[str], title: str | None
) -> list[ContentRec]:
    posts, visible = ctx.site.blogposts, ctx.vis.content
    return [
        rec for rec in (posts.get(i) for i in candidates)
        if rec is not None and rec.id in visible and rec.status in statuses
        and (title is None or rec.title == title)
    ]


def register(r: APIRouter) -> None:
    @api_get(r, "/spaces")
    def spaces(ctx: Ctx) -> Any:
        q = ctx.q
        ids = q.ids("ids", 250)
        keys = q.strings("keys", 250)
        space_type = q.enum("type", SPACE_TYPES)
        status = q.enum("status", ("current", "archived"))
        labels = q.strings("labels")
        desc_format = q.enum("description-format", ("plain", "view"))
        icon = q.boolean("include-icon")
        sort = ctx.sort(("id", "key", "name"), "id")
        site = ctx.site

        def items() -> list[SpaceRec]:
            wanted = set(labels or ())
            out = []
            for space_id in ctx.vis.spaces:
                s = site.spaces[space_id]
                if ids is not None and s.id not in ids:
                    continue
                if keys is not None and s.key not in keys:
                    continue
                if (space_type and s.type != space_type) or (status and s.status != status):
                    continue
                if wanted and not wanted & {site.labels[i].name for i in s.label_ids}:
                    continue
                out.append(s)
            return out

        key = (tuple(ids or ()), tuple(keys or ()), space_type, status, tuple(labels or ()))
        return ctx.page(key, items, lambda s: ctx.shape.space(
            s, description_format=desc_format, include_icon=icon), sort=sort)

    @api_get(r, "/spaces/{id}")
    def space(ctx: Ctx) -> Any:
        s = visible_space(ctx)
        out = ctx.shape.space(
            s, description_format=ctx.q.enum("description-format", ("plain", "view")),
            include_icon=ctx.q.boolean("include-icon"), single=True)
        if ctx.q.boolean("include-labels"):
            labels = [ctx.shape.label(ctx.site.labels[i]) for i in s.label_ids]
            out["labels"] = {"results": labels[:50], "meta": {"hasMore": len(labels) > 50},
                             "_links": {"self": f"/wiki/api/v2/spaces/{s.id}/labels"}}
        return out

    @api_get(r, "/spaces/{id}/pages")
    def space_pages(ctx: Ctx) -> Any:
        s = visible_space(ctx)
        root = ctx.q.enum("depth", ("all", "root"), "all") == "root"
        sort = ctx.sort(PAGE_SORTS, "id")
        statuses = _statuses(ctx, PAGE_STATUSES, ("current", "archived"))
        title = ctx.q.string("title")
        fmt = ctx.q.enum("body-format", BF_LIST)
        derived = ctx.site.derived()
        return ctx.page(
            (s.id, root, statuses, title),
            lambda: page_items(ctx, derived.pages_by_space.get(s.id, ()), statuses, title,
                               root_only=root),
            lambda p: ctx.shape.page(p, fmt), sort=sort)

    @api_get(r, "/spaces/{id}/blogposts")
    def space_blogposts(ctx: Ctx) -> Any:
        s = visible_space(ctx)
        sort = ctx.sort(BLOG_SORTS, "id")
        statuses = _statuses(ctx, BLOG_STATUSES, ("current",))
        title = ctx.q.string("title")
        fmt = ctx.q.enum("body-format", BF_LIST)
        derived = ctx.site.derived()
        return ctx.page(
            (s.id, statuses, title),
            lambda: blog_items(ctx, derived.blogposts_by_space.get(s.id, ()), statuses, title),
            lambda p: ctx.shape.blogpost(p, fmt), sort=sort)

    @api_get(r, "/spaces/{id}/labels")
    def space_labels(ctx: Ctx) -> Any:
        s = visible_space(ctx)
        prefix = ctx.q.enum("prefix", ("my", "team"))
        return label_list(ctx, s.label_ids, [prefix] if prefix else None)

    @api_get(r, "/spaces/{id}/content/labels")
    def space_content_labels(ctx: Ctx) -> Any:
        s = visible_space(ctx)
        prefix = ctx.q.enum("prefix", ("my", "team", "global", "system"))
        site, derived, seen = ctx.site, ctx.site.derived(), {}
        for table, index in ((site.pages, derived.pages_by_space),
                             (site.blogposts, derived.blogposts_by_space)):
            for content_id in index.get(s.id, ()):
                if content_id in ctx.vis.content:
                    seen.update(dict.fromkeys(table[content_id].label_ids))
        return label_list(ctx, list(seen), [prefix] if prefix else None)

    @api_get(r, "/spaces/{id}/custom-content")
    def space_custom(ctx: Ctx) -> Any:
        s = visible_space(ctx)
        return custom_list(ctx, space_ids=[s.id], sorts=())

    @api_get(r, "/pages")
    def pages(ctx: Ctx) -> Any:
        q = ctx.q
        ids = q.ids("id", 250)
        space_ids = q.ids("space-id", 100)
        sort = ctx.sort(PAGE_SORTS, "id")
        statuses = _statuses(ctx, PAGE_STATUSES, ("current", "archived"))
        title = q.string("title")
        fmt = q.enum("body-format", BF_LIST)
        subtype = q.enum("subtype", ("live", "page"))
        derived = ctx.site.derived()

        def candidates() -> Iterable[str]:
            if subtype == "live":
                return ()
            if ids is not None:
                chosen = ids if space_ids is None else [
                    i for i in ids if i in ctx.site.pages
                    and ctx.site.pages[i].space_id in space_ids]
                return chosen
            if space_ids is not None:
                return [p for sid in dict.fromkeys(space_ids)
                        for p in derived.pages_by_space.get(sid, ())]
            return ctx.site.pages.keys()

        key = (tuple(ids or ()), tuple(space_ids or ()), statuses, title, subtype)
        return ctx.page(key, lambda: page_items(ctx, candidates(), statuses, title),
                        lambda p: ctx.shape.page(p, fmt), sort=sort)

    @api_get(r, "/pages/{id}")
    def page(ctx: Ctx) -> Any:
        rec = visible_content(ctx, ctx.site.pages)
        statuses = ctx.q.enums("status", ("current", "archived", "trashed", "deleted",
                                          "historical", "draft"))
        # include-direct-children is accepted but, as PageSingle has no such field, ignored
        return single_content(ctx, rec, statuses, ctx.shape.page)

    @api_get(r, "/pages/{id}/labels")
    def page_labels(ctx: Ctx) -> Any:
        rec = visible_content(ctx, ctx.site.pages)
        prefix = ctx.q.enum("prefix", ("my", "team", "global", "system"))
        return label_list(ctx, rec.label_ids, [prefix] if prefix else None)

    @api_get(r, "/pages/{id}/attachments")
    def page_attachments(ctx: Ctx) -> Any:
        rec = visible_content(ctx, ctx.site.pages)
        return attachment_list(ctx, rec.id)

    @api_get(r, "/pages/{id}/custom-content")
    def page_custom(ctx: Ctx) -> Any:
        rec = visible_content(ctx, ctx.site.pages)
        return custom_list(ctx, container_id=rec.id)

    @api_get(r, "/blogposts")
    def blogposts(ctx: Ctx) -> Any:
        q = ctx.q
        ids = q.ids("id", 250)
        space_ids = q.ids("space-id", 100)
        sort = ctx.sort(BLOG_SORTS, "id")
        statuses = _statuses(ctx, BLOG_STATUSES, ("current",))
        title = q.string("title")
        fmt = q.enum("body-format", BF_LIST)
        derived = ctx.site.derived()

        def candidates() -> Iterable[str]:
            if ids is not None:
                return [i for i in ids if space_ids is None or (
                    i in ctx.site.blogposts and ctx.site.blogposts[i].space_id in space_ids)]
            if space_ids is not None:
                return [p for sid in dict.fromkeys(space_ids)
                        for p in derived.blogposts_by_space.get(sid, ())]
            return ctx.site.blogposts.keys()

        key = (tuple(ids or ()), tuple(space_ids or ()), statuses, title)
        return ctx.page(key, lambda: blog_items(ctx, candidates(), statuses, title),
                        lambda p: ctx.shape.blogpost(p, fmt), sort=sort)

    @api_get(r, "/blogposts/{id}")
    def blogpost(ctx: Ctx) -> Any:
        rec = visible_content(ctx, ctx.site.blogposts)
        statuses = ctx.q.enums("status", ("current", "trashed", "deleted", "historical",
                                          "draft"))
        return single_content(ctx, rec, statuses, ctx.shape.blogpost)

    @api_get(r, "/blogposts/{id}/labels")
    def blogpost_labels(ctx: Ctx) -> Any:
        rec = visible_content(ctx, ctx.site.blogposts)
        prefix = ctx.q.enum("prefix", ("my", "team", "global", "system"))
        return label_list(ctx, rec.label_ids, [prefix] if prefix else None)

    @api_get(r, "/blogposts/{id}/attachments")
    def blogpost_attachments(ctx: Ctx) -> Any:
        rec = visible_content(ctx, ctx.site.blogposts)
        return attachment_list(ctx, rec.id)

    @api_get(r, "/blogposts/{id}/custom-content")
    def blogpost_custom(ctx: Ctx) -> Any:
        rec = visible_content(ctx, ctx.site.blogposts)
        return custom_list(ctx, container_id=rec.id)

    _ = BF_SINGLE  # single GETs validate body-format in single_content

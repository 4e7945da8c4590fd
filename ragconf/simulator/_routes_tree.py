"""v2 routes of the content tree: pages, folders, whiteboards, databases and Smart Link
embeds, with their ancestors, direct children and descendants (of every type), and the
children of custom content.

A page can sit under a folder (and a folder under a page): every walk goes through all
of them, and ``type`` says what each item is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter

from ragconf.simulator._app import Ctx, api_get
from ragconf.simulator._model import ContentRec, NodeRec
from ragconf.simulator._params import not_found
from ragconf.simulator._routes_shared import visible_content

__all__ = ["NODE_ROUTES", "register", "visible_node"]

NODE_ROUTES = {"folders": "folder", "whiteboards": "whiteboard", "databases": "database",
               "embeds": "embed"}
_LIVE = ("current", "archived")
_CHILD_SORTS = ("created-date", "id", "modified-date", "child-position", "title")


@dataclass(frozen=True, slots=True)
class _Descendant:
    id: str
    rec: ContentRec | NodeRec
    depth: int
    order: int  # top-to-bottom position in the walk (the listing's sort key)


def visible_node(ctx: Ctx, kind: str) -> NodeRec:
    """The folder/whiteboard/database/embed of the path id, or 404 (absent, hidden,
    or of another kind)."""
    node_id = ctx.param_id()
    node = ctx.site.nodes.get(node_id)
    if node is None or node.kind != kind or node_id not in ctx.vis.nodes:
        raise not_found()
    return node


def _shown(ctx: Ctx, item_id: str, statuses: tuple[str, ...] = _LIVE) -> bool:
    item = ctx.site.tree_item(item_id)
    return (item is not None and item.status in statuses
            and (item_id in ctx.vis.content or item_id in ctx.vis.nodes))


def _chain(ctx: Ctx, item: ContentRec | NodeRec) -> list[dict[str, str]]:
    """Ancestors, top first (restrictions are inherited, so all of them are visible)."""
    chain: list[dict[str, str]] = []
    current = ctx.site.tree_item(item.parent_id)
    while current is not None:
        chain.append({"id": current.id, "type": ctx.site.tree_type(current.id)})
        current = ctx.site.tree_item(current.parent_id)
    return chain[::-1]


def ancestors(ctx: Ctx, item: ContentRec | NodeRec, *, links: bool) -> dict[str, Any]:
    # with a small limit: the nearest ones (call again with the first id for the rest)
    limit = ctx.q.limit(25)
    out: dict[str, Any] = {"results": _chain(ctx, item)[-limit:]}
    if links:  # only the page route's schema declares _links here
        out["_links"] = {"base": ctx.origin + "/wiki"}
    return out


def direct_children(ctx: Ctx, item_id: str) -> Any:
    sort = ctx.sort(_CHILD_SORTS, "child-position")
    kids = ctx.site.derived().children.get(item_id, ())
    return ctx.page(
        (item_id, "typed"),
        lambda: [ctx.site.tree_item(i) for i in kids if _shown(ctx, i)],
        ctx.shape.child, sort=sort)


def descendants(ctx: Ctx, item_id: str) -> Any:
    depth_max = ctx.q.integer("depth", 1, 10) or 2
    children = ctx.site.derived().children

    def walk() -> list[_Descendant]:
        found: list[_Descendant] = []
        frontier = [item_id]
        for depth in range(1, depth_max + 1):
            below: list[str] = []
            for parent in frontier:
                for kid in children.get(parent, ()):
                    rec = ctx.site.tree_item(kid)
                    if rec is not None and _shown(ctx, kid):
                        found.append(_Descendant(kid, rec, depth, len(found)))
                        below.append(kid)
            frontier = below
        return found

    return ctx.page((item_id, depth_max), walk,
                    lambda d: ctx.shape.descendant(d.rec, d.depth),
                    sort=("tree-order", False, ""))


def _register_node_routes(r: APIRouter, prefix: str, kind: str) -> None:
    @api_get(r, f"/{prefix}/{{id}}")
    def node(ctx: Ctx) -> Any:
        for flag in ("include-collaborators", "include-direct-children",
                     "include-operations", "include-properties"):
            ctx.q.boolean(flag)  # accepted; the *Single schemas have no field for them
        return ctx.shape.node(visible_node(ctx, kind))

    @api_get(r, f"/{prefix}/{{id}}/ancestors")
    def node_ancestors(ctx: Ctx) -> Any:
        return ancestors(ctx, visible_node(ctx, kind), links=False)

    @api_get(r, f"/{prefix}/{{id}}/direct-children")
    def node_children(ctx: Ctx) -> Any:
        return direct_children(ctx, visible_node(ctx, kind).id)

    @api_get(r, f"/{prefix}/{{id}}/descendants")
    def node_descendants(ctx: Ctx) -> Any:
        return descendants(ctx, visible_node(ctx, kind).id)


def register(r: APIRouter) -> None:
    @api_get(r, "/pages/{id}/ancestors")
    def page_ancestors(ctx: Ctx) -> Any:
        return ancestors(ctx, visible_content(ctx, ctx.site.pages), links=True)

    @api_get(r, "/pages/{id}/direct-children")
    def page_direct_children(ctx: Ctx) -> Any:
        return direct_children(ctx, visible_content(ctx, ctx.site.pages).id)

    @api_get(r, "/pages/{id}/descendants")
    def page_descendants(ctx: Ctx) -> Any:
        return descendants(ctx, visible_content(ctx, ctx.site.pages).id)

    @api_get(r, "/pages/{id}/children")
    def page_children(ctx: Ctx) -> Any:
        # deprecated: child pages only, current only (folders and the like are skipped)
        rec = visible_content(ctx, ctx.site.pages)
        sort = ctx.sort(("created-date", "id", "child-position", "modified-date"),
                        "child-position")
        kids = ctx.site.derived().children.get(rec.id, ())
        pages = ctx.site.pages
        return ctx.page(
            (rec.id, "pages"),
            lambda: [pages[i] for i in kids if i in pages and _shown(ctx, i, ("current",))],
            lambda c: ctx.shape.child(c, typed=False), sort=sort)

    @api_get(r, "/custom-content/{id}/children")
    def custom_children(ctx: Ctx) -> Any:
        rec = visible_content(ctx, ctx.site.custom_content)
        sort = ctx.sort(("created-date", "id", "modified-date"), "id")
        kids = ctx.site.derived().custom_children.get(rec.id, ())
        table = ctx.site.custom_content
        return ctx.page(
            (rec.id,),
            lambda: [table[i] for i in kids if i in ctx.vis.content
                     and table[i].status in _LIVE],
            ctx.shape.custom_child, sort=sort)

    for prefix, kind in NODE_ROUTES.items():
        _register_node_routes(r, prefix, kind)

"""Assemble a content tree (pages, folders, whiteboards, databases, embeds) from the API.

One ``/descendants`` request brings up to ``batch_depth`` levels (the API allows 10), so a
space costs one root listing plus one request per root and per node found at the bottom of
a batch, not one per node. Siblings come in tree order (``childPosition``).

Roots are the space's root pages (``/spaces/{id}/pages?depth=root``: its homepage, plus any
page without a parent), homepage first. REST v2 has no listing of a space's other root-level
content, so folders, whiteboards, … appear wherever they sit below a page.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ragconf.confluence._models_more import Descendant, TreeContent, TreeNode
from ragconf.confluence._resources_tree import tree_route

if TYPE_CHECKING:
    from ragconf.confluence.client import Confluence
    from ragconf.confluence.models import Page, Space

__all__ = ["MAX_BATCH_DEPTH", "content_tree", "expand", "space_tree"]

#: the deepest ``depth`` the descendants routes accept
MAX_BATCH_DEPTH = 10


def _position(node: TreeNode) -> tuple[bool, int]:
    return node.child_position is None, node.child_position or 0


def expand(
    conf: Confluence,
    roots: list[TreeNode],
    *,
    max_depth: int | None = None,
    limit: int | None = None,
    batch_depth: int = MAX_BATCH_DEPTH,
) -> list[TreeNode]:
    """Fill in ``roots``' children, breadth first; returns ``roots``.

    ``max_depth`` counts levels below the roots (1 = their children only); ``limit`` caps
    the nodes in the whole tree, roots included. A node whose children were not (all)
    fetched because of either gets ``truncated=True``.
    """
    if not 1 <= batch_depth <= MAX_BATCH_DEPTH:
        raise ValueError(f"batch_depth must be within 1..{MAX_BATCH_DEPTH}")
    remaining = None if limit is None else max(0, limit - len(roots))
    seen = {root.id for root in roots}
    frontier = deque((root, 0) for root in roots)
    while frontier:
        node, at = frontier.popleft()
        want = batch_depth if max_depth is None else min(batch_depth, max_depth - at)
        if want <= 0 or remaining == 0:
            node.truncated = True
            continue
        found = list(conf.get_descendants(node.id, node.type, depth=want, limit=remaining))
        if remaining is not None:
            remaining -= len(found)
            if remaining == 0:
                node.truncated = True  # the budget ran out inside this batch
        for child, depth in _link(node, found, seen):
            if depth >= want:
                frontier.append((child, at + depth))
    return roots


def _link(node: TreeNode, found: list[Descendant], seen: set[str]) -> list[tuple[TreeNode, int]]:
    """Hang one batch of descendants under ``node``; the new nodes with their depth."""
    made: dict[str, tuple[TreeNode, int]] = {}
    for item in found:
        if item.id in seen:  # a node never appears twice, even if the API repeats it
            continue
        seen.add(item.id)
        made[item.id] = (
            TreeNode(
                id=item.id,
                type=item.type or "page",
                title=item.title,
                status=item.status,
                space_id=item.space_id,
                parent_id=item.parent_id,
                child_position=item.child_position,
            ),
            item.depth or 1,
        )
    # two passes: a parent listed after its child (or hidden from the account) still works
    for child, _depth in made.values():
        parent = made.get(child.parent_id or "")
        (parent[0] if parent else node).children.append(child)
    for tree in [node, *(n for n, _ in made.values())]:
        tree.children.sort(key=_position)
    return list(made.values())


def space_tree(
    conf: Confluence,
    space: Space | str | int,
    *,
    max_depth: int | None = None,
    limit: int | None = None,
    batch_depth: int = MAX_BATCH_DEPTH,
) -> list[TreeNode]:
    """The space's content tree: its root pages (homepage first), everything nested below."""
    if isinstance(space, str | int):
        space = conf.get_space_by_id(space)
    pages = list(conf.get_pages_by_space(space.id, depth="root", limit=limit))
    pages.sort(key=lambda p: p.id != space.homepage_id)
    roots = [
        TreeNode(
            id=p.id,
            type="page",
            title=p.title,
            status=p.status,
            space_id=p.space_id,
            parent_id=p.parent_id,
            child_position=p.position,
        )
        for p in pages
    ]
    return expand(conf, roots, max_depth=max_depth, limit=limit, batch_depth=batch_depth)


def content_tree(
    conf: Confluence,
    id: str | int,
    type: str = "page",
    *,
    max_depth: int | None = None,
    limit: int | None = None,
    batch_depth: int = MAX_BATCH_DEPTH,
) -> TreeNode:
    """The tree below one page, folder, whiteboard, database or embed (itself the root)."""
    route = tree_route(type)
    getters: dict[str, Callable[[str | int], Page | TreeContent]] = {
        "pages": lambda i: conf.get_page_by_id(i, body_format=None),
        "folders": conf.get_folder_by_id,
        "whiteboards": conf.get_whiteboard_by_id,
        "databases": conf.get_database_by_id,
        "embeds": conf.get_embed_by_id,
    }
    obj = getters[route](id)
    root = TreeNode(
        id=obj.id,
        type=route[:-1],
        title=obj.title,
        status=obj.status,
        space_id=obj.space_id,
        parent_id=obj.parent_id,
        child_position=obj.position,
    )
    expand(conf, [root], max_depth=max_depth, limit=limit, batch_depth=batch_depth)
    return root

"""The content-tree routes of ``Confluence``: folders, whiteboards, databases, embeds, and
the ancestors / direct children / descendants of any of them or of a page.

The hierarchy methods take the node's ``type`` (page, folder, whiteboard, database, embed),
which is what ``Ancestor.type``, ``Child.type`` and ``Descendant.type`` carry, so a walk can
feed one answer into the next call::

    for child in conf.get_direct_children("65601", "page"):
        for grandchild in conf.get_direct_children(child.id, child.type):
            ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from ragconf.confluence._models_more import (
    TREE_TYPES,
    Ancestor,
    Child,
    Database,
    Descendant,
    Embed,
    Folder,
    TreeContent,
    Whiteboard,
)
from ragconf.confluence._params import sort_key
from ragconf.confluence._resources import PageResources
from ragconf.errors import InvalidRequestError

__all__ = ["TreeResources", "tree_route"]

T = TypeVar("T", bound=TreeContent)

_ROUTES = {kind: kind + "s" for kind in TREE_TYPES}
_ALIASES = {"smartlink": "embed", "smart-link": "embed", "smart_link": "embed"}


def tree_route(type: str | None) -> str:
    """``"folder"`` -> ``"folders"``: the route segment of a content-tree type.

    >>> tree_route("page"), tree_route("Embeds"), tree_route("smart-link")
    ('pages', 'embeds', 'embeds')
    """
    kind = (type or "page").strip().lower()
    kind = _ALIASES.get(kind, kind)
    if kind.endswith("s") and kind[:-1] in _ROUTES:
        kind = kind[:-1]
    if kind not in _ROUTES:
        raise InvalidRequestError(
            f"{type!r} is not a content-tree type",
            hint=f"use one of {', '.join(TREE_TYPES)}",
        )
    return _ROUTES[kind]


class TreeResources(PageResources):
    """Folders, whiteboards, databases and embeds by id, and hierarchy walks.

    >>> folder = conf.get_folder_by_id("98305")                              # doctest: +SKIP
    >>> [(a.type, a.id) for a in conf.get_ancestors(folder.id, "folder")]    # doctest: +SKIP
    [('page', '65601')]
    >>> [d.title for d in conf.get_descendants("65601", "page", depth=3)]    # doctest: +SKIP
    """

    def _tree_object(self, type: str, id: str | int, model: type[T]) -> T:
        return self._get(self._t.api(f"{tree_route(type)}/{self._id(id)}"), model)

    # -- by id ----------------------------------------------------------------------------

    def get_folder_by_id(self, id: str | int) -> Folder:
        """One folder (``GET /folders/{id}``)."""
        return self._tree_object("folder", id, Folder)

    def get_whiteboard_by_id(self, id: str | int) -> Whiteboard:
        """One whiteboard's metadata (``GET /whiteboards/{id}``)."""
        return self._tree_object("whiteboard", id, Whiteboard)

    def get_database_by_id(self, id: str | int) -> Database:
        """One database's metadata (``GET /databases/{id}``)."""
        return self._tree_object("database", id, Database)

    def get_embed_by_id(self, id: str | int) -> Embed:
        """One Smart Link embed (``GET /embeds/{id}``), with the URL it points to."""
        return self._tree_object("embed", id, Embed)

    # -- hierarchy ------------------------------------------------------------------------

    def get_ancestors(self, id: str | int, type: str = "page") -> Iterator[Ancestor]:
        """Every ancestor of a node, highest first (the space's root page comes first).

        The route has no cursor: when an answer is full, the rest are the ancestors of its
        highest entry, so that is asked next, until an answer comes back short.
        """
        route = tree_route(type)

        def walk() -> Iterator[Ancestor]:
            chain: list[Ancestor] = []
            seen = {str(id)}
            node_id, node_route = str(id), route
            while True:
                batch = [
                    a
                    for a in self._list(
                        f"{node_route}/{self._id(node_id)}/ancestors", {}, Ancestor, None
                    )
                    if a.id not in seen
                ]
                seen.update(a.id for a in batch)
                chain[:0] = batch
                if len(batch) < self.page_size:
                    break
                node_id, node_route = batch[0].id, tree_route(batch[0].type)
            yield from chain

        return walk()

    def get_direct_children(
        self,
        id: str | int,
        type: str = "page",
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Child]:
        """The children of a node, of every type (``/{type}s/{id}/direct-children``).

        ``sort``: "asc"/"desc" (by id), or child-position, title, created-date,
        modified-date, id, each with an optional leading "-". Tree order is
        ``sort="child-position"``.
        """
        params = {"sort": sort_key(sort)}
        path = f"{tree_route(type)}/{self._id(id)}/direct-children"
        return self._list(path, params, Child, limit)

    def get_descendants(
        self,
        id: str | int,
        type: str = "page",
        depth: int | None = None,
        limit: int | None = None,
    ) -> Iterator[Descendant]:
        """Everything below a node down to ``depth`` levels (API: 1..10, default 2), top first.

        Each item has ``parent_id`` and its ``depth`` relative to ``id`` (1 = a child).
        """
        path = f"{tree_route(type)}/{self._id(id)}/descendants"
        return self._list(path, {"depth": depth}, Descendant, limit)

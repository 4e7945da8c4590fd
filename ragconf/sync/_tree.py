"""The content tree above pages: folders, whiteboards, databases and Smart Link embeds.

A page lists its ``parentId`` and ``parentType``. When the parent is a page, the space's
page listing already knows it; any other node type is fetched by id
(``/folders/{id}``, ``/whiteboards/{id}``, ``/databases/{id}``, ``/embeds/{id}``), then its
own parent, and so on up to a page or the space root. Answers are kept for the whole run,
so a sync costs one request per distinct non-page node above the synced pages, whatever
the number of pages below it.

>>> class Conf:
...     def get_folder_by_id(self, id):
...         return type("F", (), {"id": id, "title": "Reviews", "parent_id": "1",
...                                "parent_type": "page"})()
>>> parents, titles = {"7": "9"}, {"1": "Home", "7": "Plan"}
>>> tree = TreeNodes(Conf())
>>> tree.extend([("7", "9", "folder")], parents, titles)
>>> parents["9"], titles["9"], tree.requests
('1', 'Reviews', 1)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass

from ragconf.confluence import TreeContent
from ragconf.errors import ConfluenceError
from ragconf.sync.protocols import ContentSource

__all__ = ["TreeNodes"]

log = logging.getLogger("ragconf.sync")


@dataclass(frozen=True)
class _Node:
    title: str
    parent_id: str | None
    parent_type: str | None


class TreeNodes:
    """A run's cache of non-page tree nodes, filled on demand (see the module docstring).

    ``warnings`` collects one line per node that could not be fetched; the pages below it
    keep the ancestors known so far (the node's id included, its title unknown).
    """

    def __init__(self, conf: ContentSource) -> None:
        self.conf = conf
        self.requests = 0
        self.warnings: list[str] = []
        self._nodes: dict[str, _Node | None] = {}
        self._lock = threading.Lock()  # the fetches of one level run on several threads

    def extend(
        self,
        children: Iterable[tuple[str, str | None, str | None]],
        parents: MutableMapping[str, str | None],
        titles: MutableMapping[str, str],
    ) -> None:
        """Add the non-page nodes above ``children`` ((id, parent id, parent type) triples)
        to the ``parents`` (child -> parent) and ``titles`` maps, up to a known node.

        One level at a time, each level's unknown nodes fetched concurrently.
        """
        wanted = {(p, t) for _child, p, t in children if p and t not in (None, "page")}
        while wanted:
            todo = sorted((i, t) for i, t in wanted if i not in parents)
            wanted = set()
            nodes = self.conf.map_concurrent(self._node, todo)
            for (node_id, _type), node in zip(todo, nodes, strict=True):
                if node is None:
                    continue
                parents[node_id] = node.parent_id
                titles[node_id] = node.title
                if node.parent_id and node.parent_type not in (None, "page"):
                    wanted.add((node.parent_id, node.parent_type))

    def _node(self, key: tuple[str, str]) -> _Node | None:
        node_id, node_type = key
        if node_id in self._nodes:
            return self._nodes[node_id]
        getters: dict[str, Callable[[str], TreeContent]] = {
            "folder": self.conf.get_folder_by_id,
            "whiteboard": self.conf.get_whiteboard_by_id,
            "database": self.conf.get_database_by_id,
            "embed": self.conf.get_embed_by_id,
        }
        getter = getters.get(node_type)
        found: _Node | None = None
        if getter is None:
            log.info("tree node %s has type %r, which this client cannot fetch", node_id, node_type)
        else:
            with self._lock:
                self.requests += 1
            try:
                obj = getter(node_id)
            except ConfluenceError as exc:
                with self._lock:
                    self.warnings.append(
                        f"{node_type} {node_id} above some pages could not be fetched "
                        f"({type(exc).__name__}: {exc.message}); their breadcrumbs stop below it"
                    )
            else:
                found = _Node(
                    title=obj.title or "",
                    parent_id=str(obj.parent_id) if obj.parent_id else None,
                    parent_type=obj.parent_type,
                )
        self._nodes[node_id] = found
        return found

"""The content tree's mutations: folders, whiteboards, databases and embeds, moves, restrictions.

Pages and these nodes form one tree per space: either can be the parent of the other, and
moving or restricting one carries its whole subtree along.
"""

from __future__ import annotations

from ragconf.simulator._helpers import SiteHelpers
from ragconf.simulator._model import ContentRec, NodeRec
from ragconf.simulator._oracle import NODE_KINDS

__all__ = ["TreeMixin"]


class TreeMixin(SiteHelpers):
    def _tree_parent(self, parent_id: str | None, space_id: str) -> ContentRec | NodeRec | None:
        if parent_id is None:
            return None
        parent = self.tree_item(parent_id)
        if parent is None:
            raise KeyError(f"no page or folder with id {parent_id!r}")
        if parent.space_id != space_id:
            raise ValueError("a parent must be in the same space")
        return parent

    def add_node(
        self,
        kind: str,
        space_key: str,
        title: str,
        *,
        parent_id: str | None = None,
        url: str | None = None,
        author: str | None = None,
    ) -> str:
        """Create a folder | whiteboard | database | embed (a Smart Link with ``url``)."""
        if kind not in NODE_KINDS:
            raise ValueError(f"unknown tree node kind {kind!r}: use one of {NODE_KINDS}")
        if (kind == "embed") != (url is not None):
            raise ValueError("an embed needs a url, and only an embed has one")
        if not title.strip():
            raise ValueError(f"a {kind} needs a title")
        with self.lock:
            space = self.space_by_key(space_key)
            self._tree_parent(parent_id, space.id)
            self._changed()
            account = self._account(author)
            node = NodeRec(
                id=self._new_content_id(), kind=kind, space_id=space.id, title=title,
                author_id=account, created_at=self._now_ms, modified_at=self._now_ms,
                parent_id=parent_id, position=self._next_position(parent_id or space.id),
                embed_url=url,
            )
            self.nodes[node.id] = node
            return node.id

    def add_folder(
        self, space_key: str, title: str, *, parent_id: str | None = None,
        author: str | None = None,
    ) -> str:
        """Create a folder (at the space root unless ``parent_id``, a page or folder)."""
        return self.add_node("folder", space_key, title, parent_id=parent_id, author=author)

    def add_whiteboard(
        self, space_key: str, title: str, *, parent_id: str | None = None,
        author: str | None = None,
    ) -> str:
        return self.add_node("whiteboard", space_key, title, parent_id=parent_id, author=author)

    def add_database(
        self, space_key: str, title: str, *, parent_id: str | None = None,
        author: str | None = None,
    ) -> str:
        return self.add_node("database", space_key, title, parent_id=parent_id, author=author)

    def add_embed(
        self, space_key: str, title: str, url: str, *, parent_id: str | None = None,
        author: str | None = None,
    ) -> str:
        """Create a Smart Link in the content tree pointing at ``url``."""
        return self.add_node("embed", space_key, title, parent_id=parent_id, url=url,
                             author=author)

    def move(
        self, content_id: str, *, space_key: str | None = None, parent_id: str | None = None
    ) -> None:
        """Move a page or tree node (with its subtree) under ``parent_id`` (a page or a
        folder, whiteboard, database or embed) and/or into another space.

        A blog post only changes space. With a space and no parent, it goes to the root.
        """
        with self.lock:
            if content_id in self.nodes:
                rec: ContentRec | NodeRec = self.nodes[content_id]
            else:
                rec = self.content(content_id)
            if isinstance(rec, ContentRec) and rec.kind == "blogpost":
                if space_key is None:
                    raise ValueError("a blog post can only move to another space")
                self._changed()
                rec.space_id = self.space_by_key(space_key).id
                self._move_dependents(rec.id, rec.space_id)
                return
            if isinstance(rec, ContentRec) and rec.kind != "page":
                raise ValueError("only pages, tree nodes and blog posts can move")
            parent = self.tree_item(parent_id)
            if parent_id is not None and parent is None:
                raise KeyError(f"no page or folder with id {parent_id!r}")
            if space_key is not None:
                target_space = self.space_by_key(space_key).id
            else:
                target_space = parent.space_id if parent is not None else rec.space_id
            if parent is not None and parent.space_id != target_space:
                raise ValueError("the new parent is in another space")
            subtree = self._subtree(rec.id)
            if parent_id is not None and parent_id in subtree:
                raise ValueError("an item cannot move under its own descendant")
            if target_space != rec.space_id:
                for page_id in subtree:
                    page = self.pages.get(page_id)
                    if page is not None and (target_space, page.title) in self._page_titles:
                        raise ValueError(f"title {page.title!r} exists in the target space")
            self._changed()
            for item_id in subtree:
                item = self.tree_item(item_id)
                if item is None or item.space_id == target_space:
                    continue
                if isinstance(item, ContentRec):
                    self._page_titles.discard((item.space_id, item.title))
                    self._page_titles.add((target_space, item.title))
                    self._move_dependents(item.id, target_space)
                item.space_id = target_space
            rec.parent_id = parent_id
            rec.position = self._next_position(parent_id or target_space)

    def restrict(self, content_id: str, allowed: set[str] | None) -> None:
        """View-restrict content or a tree node to these emails (inherited by everything
        below it in the tree); None lifts it."""
        with self.lock:
            rec: ContentRec | NodeRec = (
                self.nodes[content_id] if content_id in self.nodes else self.content(content_id))
            self._changed()
            rec.restricted_to = None if allowed is None else frozenset(allowed)

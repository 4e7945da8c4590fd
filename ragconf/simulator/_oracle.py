"""The test oracle: what a correct connector should find, per user, computed from the records.

Tests compare a connector's enumerations (over HTTP) with these answers, which never go
through the routes, so a route bug cannot hide behind a matching oracle bug.
"""

from __future__ import annotations

from ragconf.simulator._access import DEFAULT_STATUSES, AccessMixin

__all__ = ["COMMENT_KINDS", "NODE_KINDS", "OracleMixin"]

NODE_KINDS = ("folder", "whiteboard", "database", "embed")
COMMENT_KINDS = ("footer", "inline")
_LIVE = frozenset({"current", "archived"})
# visible_ids kind -> (comment kind or None for both) / node kind
_COMMENT_LISTS = {"footer_comments": "footer", "inline_comments": "inline", "comments": None}
_NODE_LISTS = {"folders": "folder", "whiteboards": "whiteboard", "databases": "database",
               "embeds": "embed"}


def _by_number(ids: list[str]) -> list[str]:
    return sorted(ids, key=lambda i: int(i[3:] if i.startswith("att") else i))


class OracleMixin(AccessMixin):
    def can_view(self, email: str, any_id: str) -> bool:
        """Oracle: may ``email`` see this space/content/attachment/label/task/folder/comment
        (any status)?"""
        user = self.users.get(email)
        if user is None:
            return False
        vis = self.visible(user)
        return any(
            any_id in group
            for group in (vis.spaces, vis.content, vis.attachments, vis.tasks, vis.labels,
                          vis.nodes, vis.comments)
        )

    def visible_ids(self, email: str, kind: str) -> list[str]:
        """Oracle: ids of ``kind`` that a default-filtered listing shows ``email``, by id.

        kind: spaces | pages | blogposts | attachments | labels | custom_content | tasks |
        footer_comments | inline_comments | comments (both; what ``/footer-comments`` and
        ``/inline-comments`` list: replies included, only on live content) |
        folders | whiteboards | databases | embeds (current and archived tree nodes).
        """
        user = self.users.get(email)
        if user is None:
            return []
        with self.lock:
            vis = self.visible(user)
            if kind == "spaces":
                ids = [i for i in vis.spaces if self.spaces[i].status in DEFAULT_STATUSES[kind]]
            elif kind in ("pages", "blogposts", "custom_content"):
                table = getattr(self, kind)
                ids = [
                    i for i, rec in table.items()
                    if i in vis.content and rec.status in DEFAULT_STATUSES[kind]
                ]
            elif kind == "attachments":
                ids = [
                    i for i in vis.attachments
                    if self.attachment_status(i) in DEFAULT_STATUSES[kind]
                ]
            elif kind == "tasks":
                ids = [i for i in vis.tasks if self.task_live(i)]
            elif kind == "labels":
                used = self.derived().used_labels
                ids = [i for i in vis.labels if i in used]
            elif kind in _COMMENT_LISTS:
                wanted = _COMMENT_LISTS[kind]
                ids = [i for i in vis.comments if self.comment_live(i)
                       and (wanted is None or self.comments[i].kind == wanted)]
            elif kind in _NODE_LISTS:
                ids = [i for i in vis.nodes if self.nodes[i].kind == _NODE_LISTS[kind]
                       and self.nodes[i].status in _LIVE]
            else:
                raise ValueError(f"unknown kind {kind!r}")
        return _by_number(ids)

    def expected_comments(
        self, email: str, container_id: str | None = None, *, kind: str | None = None,
        roots_only: bool = False,
    ) -> list[str]:
        """Oracle: comment ids ``email`` should find, by id.

        Without ``container_id``: the global lists (see :meth:`visible_ids`). With one (a
        page, blog post, attachment or custom content id): every comment of its threads,
        replies included unless ``roots_only`` (the container's own list shows the roots;
        ``/…-comments/{id}/children`` the rest). ``kind``: footer | inline | None (both).
        """
        if kind is not None and kind not in COMMENT_KINDS:
            raise ValueError(f"unknown comment kind {kind!r}")
        if container_id is None:
            if roots_only:
                raise ValueError("roots_only needs a container_id")
            return self.visible_ids(email, {"footer": "footer_comments",
                                            "inline": "inline_comments"}.get(kind or "",
                                                                             "comments"))
        user = self.users.get(email)
        if user is None:
            return []
        with self.lock:
            vis = self.visible(user)
            ids = [c.id for c in self.comments.values()
                   if c.container_id == container_id and c.id in vis.comments
                   and (kind is None or c.kind == kind)
                   and not (roots_only and c.parent_id is not None)]
        return _by_number(ids)

    def expected_ancestors(self, email: str, item_id: str) -> list[tuple[str, str]]:
        """Oracle: (id, type) of a page's or tree node's ancestors, top first, as
        ``/pages/{id}/ancestors`` lists them (type: page | folder | whiteboard | database |
        embed). KeyError when ``email`` cannot see the item."""
        user = self.users.get(email)
        if user is None or not self.can_view(email, item_id) or self.tree_item(item_id) is None:
            raise KeyError(f"{email} cannot see a tree item {item_id!r}")
        with self.lock:
            chain: list[tuple[str, str]] = []
            item = self.tree_item(item_id)
            while item is not None and item.parent_id is not None:
                parent = self.tree_item(item.parent_id)
                if parent is None:
                    break
                chain.append((parent.id, self.tree_type(parent.id)))
                item = parent
        return chain[::-1]

    def expected_children(self, email: str, item_id: str) -> list[tuple[str, str]]:
        """Oracle: (id, type) of what ``/…/{id}/direct-children`` lists, by position."""
        user = self.users.get(email)
        if user is None:
            return []
        with self.lock:
            vis = self.visible(user)
            kids = self.derived().children.get(item_id, ())
            out = []
            for kid in kids:
                item = self.tree_item(kid)
                if item is None or item.status not in _LIVE:
                    continue
                if kid in vis.content or kid in vis.nodes:
                    out.append((kid, self.tree_type(kid)))
        return out

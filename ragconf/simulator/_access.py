"""Who sees what: space access, page restrictions inherited down the tree, and the oracle.

Visibility ignores status (a visible trashed page answers 200 with ``status: trashed``);
status filters are applied by the routes and by :meth:`AccessMixin.visible_ids`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ragconf.simulator._model import CommentRec, ContentRec, NodeRec, User
from ragconf.simulator._state import SiteState

__all__ = ["DEFAULT_STATUSES", "AccessMixin", "Visible"]

# The API's default status filters for lists (API-NOTES §9)
DEFAULT_STATUSES: dict[str, frozenset[str]] = {
    "spaces": frozenset({"current", "archived"}),
    "pages": frozenset({"current", "archived"}),
    "blogposts": frozenset({"current"}),
    "attachments": frozenset({"current", "archived"}),
    "custom_content": frozenset({"current"}),
}
_LIVE = frozenset({"current", "archived"})


@dataclass
class Visible:
    """The ids one user can see in one generation of the site."""

    spaces: set[str] = field(default_factory=set)
    content: set[str] = field(default_factory=set)  # pages, blog posts, custom content
    attachments: set[str] = field(default_factory=set)
    tasks: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)  # folders, whiteboards, databases, embeds
    comments: set[str] = field(default_factory=set)


class AccessMixin(SiteState):
    def visible(self, user: User) -> Visible:
        """Everything ``user`` may see, computed once per generation and cached."""
        cache = self.cache("visible")
        found = cache.get(user.email)
        if found is not None:
            return found
        with self.lock:
            vis = self._compute_visible(user)
        cache[user.email] = vis
        return vis

    def _allowed(self, rec: ContentRec | NodeRec, email: str) -> bool:
        return rec.restricted_to is None or email in rec.restricted_to

    def _compute_visible(self, user: User) -> Visible:
        vis = Visible()
        email = user.email
        for space in self.spaces.values():
            if user.spaces is None or space.key in user.spaces:
                vis.spaces.add(space.id)
        memo: dict[str, bool] = {}

        def tree_ok(item_id: str) -> bool:
            # iterative walk up the tree (pages and folders alike): a restriction on any
            # ancestor hides the subtree
            chain: list[str] = []
            current: str | None = item_id
            result = True
            while current is not None:
                known = memo.get(current)
                if known is not None:
                    result = known
                    break
                rec = self.tree_item(current)
                if rec is None:
                    break
                chain.append(current)
                if rec.space_id not in vis.spaces or not self._allowed(rec, email):
                    result = False
                    break
                current = rec.parent_id
            for item in chain:
                memo[item] = result
            return result

        for page_id in self.pages:
            if tree_ok(page_id):
                vis.content.add(page_id)
        for node_id in self.nodes:
            if tree_ok(node_id):
                vis.nodes.add(node_id)
        for rec in self.blogposts.values():
            if rec.space_id in vis.spaces and self._allowed(rec, email):
                vis.content.add(rec.id)
        custom_memo: dict[str, bool] = {}

        def custom_ok(rec: ContentRec) -> bool:
            # custom content inside custom content: its container must be visible first
            known = custom_memo.get(rec.id)
            if known is None:
                custom_memo[rec.id] = False  # a container cycle cannot make anything visible
                container = self.custom_content.get(rec.parent_id or "")
                if rec.container_kind == "custom_content":
                    container_ok = container is not None and custom_ok(container)
                else:
                    container_ok = rec.container_kind is None or rec.parent_id in vis.content
                known = (rec.space_id in vis.spaces and self._allowed(rec, email)
                         and container_ok)
                custom_memo[rec.id] = known
            return known

        for rec in self.custom_content.values():
            if custom_ok(rec):
                vis.content.add(rec.id)
        for att in self.attachments.values():
            if att.container_id in vis.content:
                vis.attachments.add(att.id)
        for task in self.tasks.values():
            if task.container_id in vis.content:
                vis.tasks.add(task.id)
        for comment in self.comments.values():
            # a comment is exactly as visible as what it is on
            if comment.container_id in vis.content or comment.container_id in vis.attachments:
                vis.comments.add(comment.id)
        for table in (self.pages, self.blogposts, self.custom_content):
            for rec in table.values():
                if rec.id in vis.content:
                    vis.labels.update(rec.label_ids)
        for att_id in vis.attachments:
            vis.labels.update(self.attachments[att_id].label_ids)
        for space_id in vis.spaces:
            vis.labels.update(self.spaces[space_id].label_ids)
        return vis

    def attachment_status(self, att_id: str) -> str:
        """An attachment's status as listed: trashed with its container, else its own."""
        att = self.attachments[att_id]
        try:
            container = self.content(att.container_id)
        except KeyError:
            return att.status
        return "trashed" if container.status == "trashed" else att.status

    def task_live(self, task_id: str) -> bool:
        """Tasks are listed only while their page or blog post is live (not trashed)."""
        task = self.tasks[task_id]
        try:
            return self.content(task.container_id).status in _LIVE
        except KeyError:
            return False

    def comment_live(self, comment_id: str) -> bool:
        """Global comment lists show a comment only while what it is on is live."""
        comment = self.comments[comment_id]
        if comment.container_kind == "attachment":
            return (comment.container_id in self.attachments
                    and self.attachment_status(comment.container_id) in _LIVE)
        try:
            return self.content(comment.container_id).status in _LIVE
        except KeyError:
            return False

    def resolution_of(self, comment: CommentRec) -> str:
        """An inline comment thread's resolution; an open one whose marker left the body of
        its page is ``dangling`` (replies share their thread's)."""
        root = comment
        while root.parent_id is not None and root.parent_id in self.comments:
            root = self.comments[root.parent_id]
        if root.resolution == "resolved" or root.marker_ref is None:
            return root.resolution
        try:
            body = self.content(root.container_id).body
        except KeyError:
            return "dangling"
        return root.resolution if f'ac:ref="{root.marker_ref}"' in body else "dangling"

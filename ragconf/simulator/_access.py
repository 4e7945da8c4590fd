"""Who sees what: space access, page restrictions inherited down the tree, and the oracle.

Visibility ignores status (a visible trashed page answers 200 with ``status: trashed``);
status filters are applied by the routes and by :meth:`AccessMixin.visible_ids`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ragconf.simulator._model import ContentRec, User
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

    def _allowed(self, rec: ContentRec, email: str) -> bool:
        return rec.restricted_to is None or email in rec.restricted_to

    def _compute_visible(self, user: User) -> Visible:
        vis = Visible()
        email = user.email
        for space in self.spaces.values():
            if user.spaces is None or space.key in user.spaces:
                vis.spaces.add(space.id)
        memo: dict[str, bool] = {}

        def page_ok(page_id: str) -> bool:
            # iterative walk up the tree: restriction on any ancestor hides the subtree
            chain: list[str] = []
            current: str | None = page_id
            result = True
            while current is not None:
                known = memo.get(current)
                if known is not None:
                    result = known
                    break
                rec = self.pages.get(current)
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
            if page_ok(page_id):
                vis.content.add(page_id)
        for rec in self.blogposts.values():
            if rec.space_id in vis.spaces and self._allowed(rec, email):
                vis.content.add(rec.id)
        for rec in self.custom_content.values():
            container_ok = rec.container_kind is None or rec.parent_id in vis.content
            if rec.space_id in vis.spaces and self._allowed(rec, email) and container_ok:
                vis.content.add(rec.id)
        for att in self.attachments.values():
            if att.container_id in vis.content:
                vis.attachments.add(att.id)
        for task in self.tasks.values():
            if task.container_id in vis.content:
                vis.tasks.add(task.id)
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

    def can_view(self, email: str, any_id: str) -> bool:
        """Oracle: may ``email`` see this space/content/attachment/label/task (any status)?"""
        user = self.users.get(email)
        if user is None:
            return False
        vis = self.visible(user)
        return any(
            any_id in group
            for group in (vis.spaces, vis.content, vis.attachments, vis.tasks, vis.labels)
        )

    def visible_ids(self, email: str, kind: str) -> list[str]:
        """Oracle: ids of ``kind`` that a default-filtered listing shows ``email``, by id.

        kind: spaces | pages | blogposts | attachments | labels | custom_content | tasks.
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
            else:
                raise ValueError(f"unknown kind {kind!r}")
        return sorted(ids, key=lambda i: int(i[3:] if i.startswith("att") else i))

"""The site's stored state: records, users, ids, the clock and per-generation indexes.

Every mutation bumps ``generation``; everything derived (indexes, visible sets, cached
listings) is keyed by it, so readers never see a stale view and never pay O(N) twice.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ragconf.simulator._model import (
    AttachmentRec,
    CommentRec,
    ContentRec,
    LabelRec,
    NodeRec,
    SpaceRec,
    TaskRec,
    User,
    epoch_ms,
)

__all__ = [
    "DEMO_TOKEN",
    "DEMO_USER",
    "GUEST_TOKEN",
    "GUEST_USER",
    "Derived",
    "SiteState",
    "account_id_for",
]

DEMO_USER = "demo@ragconf.dev"
DEMO_TOKEN = "demo-token"
GUEST_USER = "guest@ragconf.dev"
GUEST_TOKEN = "guest-token"

_DEFAULT_NOW = datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)


def account_id_for(email: str) -> str:
    """A stable Atlassian-style account id (``557058:<uuid-ish>``) for an email."""
    digest = hashlib.sha1(email.lower().encode()).hexdigest()
    return f"557058:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


@dataclass
class Derived:
    """Indexes rebuilt lazily once per generation (O(N), then O(1) lookups)."""

    generation: int
    # the content tree: page/node id -> child page and node ids (by position)
    children: dict[str, list[str]] = field(default_factory=dict)
    roots: dict[str, list[str]] = field(default_factory=dict)  # space id -> root pages/nodes
    pages_by_space: dict[str, list[str]] = field(default_factory=dict)
    blogposts_by_space: dict[str, list[str]] = field(default_factory=dict)
    custom_by_space: dict[str, list[str]] = field(default_factory=dict)
    attachments_by_container: dict[str, list[str]] = field(default_factory=dict)
    tasks_by_container: dict[str, list[str]] = field(default_factory=dict)
    comments_by_container: dict[str, list[str]] = field(default_factory=dict)  # roots only
    replies: dict[str, list[str]] = field(default_factory=dict)  # comment id -> reply ids
    custom_children: dict[str, list[str]] = field(default_factory=dict)  # cc id -> cc ids
    by_label: dict[str, list[str]] = field(default_factory=dict)  # label id -> content ids
    used_labels: set[str] = field(default_factory=set)


class SiteState:
    """Storage shared by the access and mutation halves of :class:`Site`."""

    def __init__(
        self,
        *,
        name: str = "ragconf",
        now: datetime | None = None,
        users: Iterable[User] | None = None,
    ) -> None:
        self.name = name
        self.lock = threading.RLock()
        self.generation = 0
        self._now_ms = epoch_ms(now or _DEFAULT_NOW)
        self._next_content_id = 65537
        self._next_label_id = 1001
        self._next_task_id = 5001
        self.users: dict[str, User] = {}
        self._by_token: dict[str, User] = {}
        self.spaces: dict[str, SpaceRec] = {}
        self.pages: dict[str, ContentRec] = {}
        self.blogposts: dict[str, ContentRec] = {}
        self.custom_content: dict[str, ContentRec] = {}
        self.attachments: dict[str, AttachmentRec] = {}
        self.labels: dict[str, LabelRec] = {}
        self.tasks: dict[str, TaskRec] = {}
        self.nodes: dict[str, NodeRec] = {}  # folders, whiteboards, databases, embeds
        self.comments: dict[str, CommentRec] = {}
        self.custom_content_types: set[str] = set()
        self._space_by_key: dict[str, str] = {}
        self._label_by_name: dict[tuple[str, str], str] = {}
        self._page_titles: set[tuple[str, str]] = set()  # (space id, title) in use
        self._attachment_by_file: dict[tuple[str, str], str] = {}
        self._positions: dict[str, int] = defaultdict(int)
        self._task_index: dict[str, dict[str, str]] = {}  # container id -> local id -> task id
        self._doc_by_page: dict[str, str] = {}
        self._page_by_doc: dict[str, str] = {}
        self._derived: Derived | None = None
        self._caches: dict[str, Any] = {}
        if users is None:
            self.add_user(DEMO_USER, DEMO_TOKEN, "Demo Admin")
            self.add_user(GUEST_USER, GUEST_TOKEN, "Guest Reader")
        else:
            for user in users:
                self._register(user)

    # ---- users ---------------------------------------------------------------------------

    def add_user(
        self,
        email: str,
        token: str,
        display_name: str,
        *,
        account_id: str | None = None,
        spaces: Iterable[str] | None = None,
    ) -> str:
        """Register an account (``token`` is its API token); returns its account id."""
        user = User(
            email=email,
            token=token,
            account_id=account_id or account_id_for(email),
            display_name=display_name,
            spaces=None if spaces is None else frozenset(spaces),
        )
        self._register(user)
        return user.account_id

    def _register(self, user: User) -> None:
        with self.lock:
            old = self.users.get(user.email)
            if old is not None:
                self._by_token.pop(old.token, None)
            self.users[user.email] = user
            if user.token:
                self._by_token[user.token] = user
            self._changed(tick=False)

    def user_for(self, email: str | None = None, token: str | None = None) -> User | None:
        """The user whose credentials these are (Basic: email + token; Bearer: token alone)."""
        if token is None:
            return None
        user = self._by_token.get(token)
        if user is None or (email is not None and user.email.lower() != email.lower()):
            return None
        return user

    def users_by_account_id(self) -> dict[str, str]:
        """{account id: display name} for every account (the converter renders mentions)."""
        return {u.account_id: u.display_name for u in self.users.values()}

    def _account(self, who: str | None) -> str:
        """An email or account id -> account id; None -> the first registered user."""
        if who is None:
            return next(iter(self.users.values())).account_id if self.users else "unknown"
        user = self.users.get(who)
        return user.account_id if user is not None else who

    # ---- clock and ids -------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The site clock (advanced by every mutation and by :meth:`advance`)."""
        return datetime.fromtimestamp(self._now_ms / 1000, UTC)

    @property
    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, seconds: float) -> None:
        """Move the site clock forward (never backwards)."""
        if seconds < 0:
            raise ValueError("the site clock only moves forward")
        with self.lock:
            self._now_ms += int(seconds * 1000)
            self._changed(tick=False)

    def _changed(self, *, tick: bool = True) -> None:
        # one second per mutation keeps modified-date sorts strict and easy to reason about
        if tick:
            self._now_ms += 1000
        self.generation += 1

    def _new_content_id(self) -> str:
        value = self._next_content_id
        self._next_content_id += 1
        return str(value)

    # ---- lookups -------------------------------------------------------------------------

    def space_by_key(self, key: str) -> SpaceRec:
        try:
            return self.spaces[self._space_by_key[key]]
        except KeyError:
            raise KeyError(f"no space with key {key!r}") from None

    def content(self, content_id: str) -> ContentRec:
        """A page, blog post or custom content item by id (KeyError if absent)."""
        for table in (self.pages, self.blogposts, self.custom_content):
            rec = table.get(content_id)
            if rec is not None:
                return rec
        raise KeyError(f"no content with id {content_id!r}")

    def kind_of(self, any_id: str) -> str:
        """Which table holds ``any_id``: spaces|pages|blogposts|custom_content|attachments|..."""
        for kind in (
            "spaces", "pages", "blogposts", "custom_content", "attachments", "labels", "tasks",
            "nodes", "comments",
        ):
            if any_id in getattr(self, kind):
                return kind
        raise KeyError(f"no object with id {any_id!r}")

    def tree_item(self, item_id: str | None) -> ContentRec | NodeRec | None:
        """A page or a folder/whiteboard/database/embed (the content tree's members)."""
        if item_id is None:
            return None
        return self.pages.get(item_id) or self.nodes.get(item_id)

    def tree_items(self) -> list[ContentRec | NodeRec]:
        """Every page and tree node."""
        return [*self.pages.values(), *self.nodes.values()]

    def tree_type(self, item_id: str) -> str:
        """page | folder | whiteboard | database | embed (KeyError when not in the tree)."""
        if item_id in self.pages:
            return "page"
        return self.nodes[item_id].kind

    def doc_id_for(self, page_id: str) -> str:
        """The BEIR document id a page was loaded from."""
        return self._doc_by_page[page_id]

    def page_id_for(self, doc_id: str) -> str:
        """The page a BEIR document became."""
        return self._page_by_doc[doc_id]

    def derived(self) -> Derived:
        """Indexes for the current generation, rebuilt at most once per generation."""
        with self.lock:
            current = self._derived
            if current is not None and current.generation == self.generation:
                return current
            d = Derived(generation=self.generation)
            for rec in self.pages.values():
                d.pages_by_space.setdefault(rec.space_id, []).append(rec.id)
            for member in self.tree_items():
                if member.parent_id is None:
                    d.roots.setdefault(member.space_id, []).append(member.id)
                else:
                    d.children.setdefault(member.parent_id, []).append(member.id)
            for comment in self.comments.values():
                if comment.parent_id is None:
                    d.comments_by_container.setdefault(comment.container_id, []).append(
                        comment.id)
                else:
                    d.replies.setdefault(comment.parent_id, []).append(comment.id)
            for rec in self.blogposts.values():
                d.blogposts_by_space.setdefault(rec.space_id, []).append(rec.id)
            for rec in self.custom_content.values():
                d.custom_by_space.setdefault(rec.space_id, []).append(rec.id)
                if rec.container_kind == "custom_content" and rec.parent_id is not None:
                    d.custom_children.setdefault(rec.parent_id, []).append(rec.id)
            for att in self.attachments.values():
                d.attachments_by_container.setdefault(att.container_id, []).append(att.id)
            for task in self.tasks.values():
                d.tasks_by_container.setdefault(task.container_id, []).append(task.id)
            for table in (self.pages, self.blogposts, self.custom_content, self.attachments):
                for item in table.values():
                    for label_id in item.label_ids:
                        d.by_label.setdefault(label_id, []).append(item.id)
            d.used_labels = set(d.by_label)
            for space in self.spaces.values():
                d.used_labels.update(space.label_ids)
            for kids in (*d.children.values(), *d.roots.values()):
                kids.sort(key=self._tree_position)
            self._derived = d
            self._caches.clear()
            return d

    def _tree_position(self, item_id: str) -> tuple[int, int]:
        item = self.tree_item(item_id)
        return (item.position if item is not None else 0, int(item_id))

    def cache(self, name: str) -> dict[Any, Any]:
        """A dict that is emptied whenever the site changes (callers memoise listings in it)."""
        self.derived()
        return self._caches.setdefault(name, {})

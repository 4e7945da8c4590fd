"""The in-memory Confluence site: creation and run-time mutations, plus the test oracle.

Every mutation advances the site clock by one second and bumps ``generation``.
Edits create a new version (``version.number`` + 1, ``version.createdAt`` = now);
labels, restrictions, moves, archive/trash/purge do not.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ragconf.simulator._helpers import file_id
from ragconf.simulator._model import AttachmentRec, SpaceRec
from ragconf.simulator._oracle import NODE_KINDS
from ragconf.simulator._site_comments import CommentMixin
from ragconf.simulator._site_tree import TreeMixin

__all__ = ["Site"]


class Site(TreeMixin, CommentMixin):
    """A Confluence Cloud site held in memory, served by :func:`create_app`.

    >>> site = Site()
    >>> space_id = site.add_space("ENG", "Engineering", homepage=False)
    >>> page_id = site.add_page("ENG", "Runbook", "<p>Restart the ledger.</p>", labels=["ops"])
    >>> site.edit(page_id, body="<p>Restart the ledger, then check lag.</p>")
    >>> site.pages[page_id].version, site.visible_ids("demo@ragconf.dev", "pages") == [page_id]
    (2, True)
    >>> folder = site.add_folder("ENG", "Playbooks")
    >>> site.move(page_id, parent_id=folder)
    >>> note = site.add_comment(page_id, "<p>Lag above 5 s pages the on-call.</p>")
    >>> site.expected_ancestors("demo@ragconf.dev", page_id), site.comments[note].kind
    ([('65539', 'folder')], 'footer')

    Comments: :meth:`add_comment` (footer, inline with ``selection``, replies with
    ``parent_id``), :meth:`edit_comment`, :meth:`resolve_comment`, :meth:`delete_comment`.
    Tree nodes: :meth:`add_folder`, :meth:`add_whiteboard`, :meth:`add_database`,
    :meth:`add_embed`; :meth:`move` puts pages and nodes under any of them.
    """

    # ---- creation ------------------------------------------------------------------------

    def add_space(
        self,
        key: str,
        name: str,
        *,
        description: str = "",
        homepage: bool = True,
        type: str = "global",
        author: str | None = None,
        labels: Iterable[str] = (),
    ) -> str:
        """Create a space (with a "<name> Home" homepage unless ``homepage=False``)."""
        with self.lock:
            if key in self._space_by_key:
                raise ValueError(f"a space with key {key!r} exists")
            self._changed()
            space = SpaceRec(
                id=self._new_content_id(),
                key=key,
                name=name,
                author_id=self._account(author),
                created_at=self._now_ms,
                type=type,
                description=description,
            )
            self.spaces[space.id] = space
            self._space_by_key[key] = space.id
            self._set_label_ids(space, labels, default_prefix="team")
            if homepage:
                body = f"<p>Welcome to the {name} space.</p>"
                space.homepage_id = self.add_page(key, f"{name} Home", body, author=author)
            return space.id

    def add_page(
        self,
        space_key: str,
        title: str,
        body: str,
        *,
        parent_id: str | None = None,
        labels: Iterable[str] = (),
        author: str | None = None,
    ) -> str:
        """Create a page (at the space root unless ``parent_id``, a page or a tree node)."""
        with self.lock:
            space = self.space_by_key(space_key)
            self._tree_parent(parent_id, space.id)
            self._claim_title(space.id, title)
            rec = self._new_content("page", space.id, title, body, author)
            rec.parent_id = parent_id
            rec.position = self._next_position(parent_id or space.id)
            self.pages[rec.id] = rec
            self._set_label_ids(rec, labels)
            self._sync_tasks(rec)
            return rec.id

    def add_blog_post(
        self,
        space_key: str,
        title: str,
        body: str,
        *,
        labels: Iterable[str] = (),
        author: str | None = None,
    ) -> str:
        """Create a blog post; returns its id."""
        with self.lock:
            space = self.space_by_key(space_key)
            rec = self._new_content("blogpost", space.id, title, body, author)
            self.blogposts[rec.id] = rec
            self._set_label_ids(rec, labels)
            self._sync_tasks(rec)
            return rec.id

    def add_custom_content(
        self,
        type: str,
        space_key: str,
        title: str,
        body: str,
        *,
        container_id: str | None = None,
        author: str | None = None,
    ) -> str:
        """Create custom content of ``type`` in a space, or inside a page, a blog post or
        other custom content (``container_id``)."""
        with self.lock:
            space = self.space_by_key(space_key)
            container_kind = None
            if container_id is not None:
                container = self.content(container_id)
                container_kind = container.kind
                if container.space_id != space.id:
                    raise ValueError("custom content must be in its container's space")
            rec = self._new_content("custom_content", space.id, title, body, author)
            rec.custom_type = type
            rec.parent_id = container_id
            rec.container_kind = container_kind
            self.custom_content[rec.id] = rec
            self.custom_content_types.add(type)
            return rec.id

    def add_attachment(
        self,
        container_id: str,
        filename: str,
        data: bytes,
        media_type: str,
        *,
        comment: str = "",
        author: str | None = None,
    ) -> str:
        """Attach a file; the same file name on the same container becomes a new version."""
        with self.lock:
            container = self.content(container_id)
            existing = self._attachment_by_file.get((container_id, filename))
            self._changed()
            if existing is not None and existing in self.attachments:
                att = self.attachments[existing]
                att.history.append((att.version, att.modified_at, att.data))
                att.version += 1
                att.data, att.media_type, att.comment = data, media_type, comment
                att.modified_at = self._now_ms
                att.file_id = file_id(att.id, att.version)
                att.status = "current"
                return att.id
            att_id = "att" + self._new_content_id()
            self.attachments[att_id] = AttachmentRec(
                id=att_id,
                container_id=container_id,
                container_kind=container.kind,
                title=filename,
                media_type=media_type,
                data=data,
                file_id=file_id(att_id, 1),
                author_id=self._account(author),
                created_at=self._now_ms,
                modified_at=self._now_ms,
                comment=comment,
            )
            self._attachment_by_file[(container_id, filename)] = att_id
            return att_id

    # ---- mutations -----------------------------------------------------------------------

    def edit(
        self,
        content_id: str,
        *,
        body: str | None = None,
        title: str | None = None,
        message: str = "",
        minor_edit: bool = False,
        author: str | None = None,
    ) -> None:
        """New version of a page/blog post/custom content: version + 1, modified = now."""
        with self.lock:
            rec = self.content(content_id)
            if title is not None and title != rec.title and rec.kind == "page":
                self._claim_title(rec.space_id, title)
                self._page_titles.discard((rec.space_id, rec.title))
            self._changed()
            rec.history.append(self._snapshot(rec))
            rec.title = rec.title if title is None else title
            rec.body = rec.body if body is None else body
            rec.version += 1
            rec.modified_at = self._now_ms
            rec.version_message = message
            rec.minor_edit = minor_edit
            rec.version_author_id = self._account(author) if author else rec.author_id
            self._sync_tasks(rec)

    def set_labels(self, content_id: str, labels: Iterable[str]) -> None:
        """Replace the labels of content, an attachment or a space (no new version)."""
        with self.lock:
            target: Any
            if content_id in self.spaces:
                target, prefix = self.spaces[content_id], "team"
            elif content_id in self.attachments:
                target, prefix = self.attachments[content_id], "global"
            else:
                target, prefix = self.content(content_id), "global"
            self._changed()
            target.label_ids = []
            self._set_label_ids(target, labels, default_prefix=prefix)

    def archive(self, content_id: str) -> None:
        """Archive a page, tree node or attachment (blog posts cannot be archived)."""
        with self.lock:
            if content_id in self.attachments or content_id in self.nodes:
                self._changed()
                (self.attachments.get(content_id) or self.nodes[content_id]).status = "archived"
                return
            rec = self.content(content_id)
            if rec.kind != "page":
                raise ValueError("only pages and attachments can be archived")
            self._changed()
            rec.status = "archived"

    def restore(self, content_id: str) -> None:
        """Bring trashed or archived content back to ``current``."""
        with self.lock:
            target: Any = (
                self.attachments.get(content_id) or self.nodes.get(content_id)
                or self.content(content_id)
            )
            self._changed()
            target.status = "current"

    def trash(self, content_id: str) -> None:
        """Move to the trash: still readable by id (status trashed), gone from default lists.

        A trashed page's (or folder's) children move up to its parent, as in Confluence.
        """
        with self.lock:
            if content_id in self.attachments:
                self._changed()
                self.attachments[content_id].status = "trashed"
                return
            if content_id in self.nodes:
                self._changed()
                self.nodes[content_id].status = "trashed"
                self._reparent_children(self.nodes[content_id])
                return
            rec = self.content(content_id)
            self._changed()
            rec.status = "trashed"
            if rec.kind == "page":
                self._reparent_children(rec)

    def purge(self, content_id: str) -> None:
        """Remove for good (GET by id then answers 404), with its attachments, tasks and
        comments."""
        with self.lock:
            self._changed()
            if content_id in self.attachments:
                att = self.attachments.pop(content_id)
                self._attachment_by_file.pop((att.container_id, att.title), None)
                self._drop_comments({att.id})
                return
            if content_id in self.nodes:
                self._reparent_children(self.nodes.pop(content_id))
                return
            rec = self.content(content_id)
            if rec.kind == "page":
                self._reparent_children(rec)
                self._page_titles.discard((rec.space_id, rec.title))
            table = {"page": self.pages, "blogpost": self.blogposts}.get(
                rec.kind, self.custom_content
            )
            table.pop(rec.id)
            gone = {rec.id}
            for att in [a for a in self.attachments.values() if a.container_id == rec.id]:
                self.attachments.pop(att.id)
                self._attachment_by_file.pop((att.container_id, att.title), None)
                gone.add(att.id)
            self._drop_comments(gone)
            for task_id in self._task_index.pop(rec.id, {}).values():
                self.tasks.pop(task_id, None)
            for cc in [c for c in self.custom_content.values() if c.parent_id == rec.id]:
                self.purge(cc.id)

    def set_space_access(self, email: str, space_keys: set[str] | None) -> None:
        """Which spaces ``email`` may see (None = all)."""
        with self.lock:
            user = self.users[email]
            self._changed()
            user.spaces = None if space_keys is None else frozenset(space_keys)

    def state(self) -> dict[str, Any]:
        """A summary for debugging (``GET /_admin/state``)."""
        with self.lock:
            return {
                "name": self.name,
                "now": self.now.isoformat().replace("+00:00", "Z"),
                "generation": self.generation,
                "users": {u.email: sorted(u.spaces) if u.spaces is not None else None
                          for u in self.users.values()},
                "counts": {
                    kind: len(getattr(self, kind))
                    for kind in ("spaces", "pages", "blogposts", "custom_content",
                                 "attachments", "labels", "tasks", "comments")
                } | {f"{kind}s": sum(n.kind == kind for n in self.nodes.values())
                     for kind in NODE_KINDS},
                "spaces": {s.key: s.id for s in self.spaces.values()},
                "custom_content_types": sorted(self.custom_content_types),
            }

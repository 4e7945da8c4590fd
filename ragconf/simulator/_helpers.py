"""Private helpers behind :class:`Site`'s mutations (titles, positions, labels, tasks)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from ragconf.simulator._model import ContentRec, LabelRec, NodeRec, TaskRec, VersionRec
from ragconf.simulator._oracle import OracleMixin
from ragconf.simulator._tasks import parse_tasks

__all__ = ["SiteHelpers", "file_id"]

_PREFIXES = ("my", "team", "global", "system")


def file_id(att_id: str, version: int) -> str:
    """The media-API file UUID of one attachment version (stable, so ADF refs are stable)."""
    d = hashlib.sha1(f"{att_id}:{version}".encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


class SiteHelpers(OracleMixin):

    def _new_content(
        self, kind: str, space_id: str, title: str, body: str, author: str | None
    ) -> ContentRec:
        self._changed()
        account = self._account(author)
        return ContentRec(
            id=self._new_content_id(),
            kind=kind,
            space_id=space_id,
            title=title,
            body=body,
            author_id=account,
            created_at=self._now_ms,
            modified_at=self._now_ms,
            version_author_id=account,
        )

    def _snapshot(self, rec: ContentRec) -> VersionRec:
        return VersionRec(
            number=rec.version,
            created_at=rec.modified_at,
            author_id=rec.version_author_id or rec.author_id,
            title=rec.title,
            body=rec.body,
            message=rec.version_message,
            minor_edit=rec.minor_edit,
        )

    def _claim_title(self, space_id: str, title: str) -> None:
        # titles are unique within a space, trashed and archived pages included
        if not title.strip():
            raise ValueError("a page needs a title")
        if (space_id, title) in self._page_titles:
            raise ValueError(f"a page titled {title!r} already exists in this space")
        self._page_titles.add((space_id, title))

    def _next_position(self, parent_key: str) -> int:
        self._positions[parent_key] += 1
        return self._positions[parent_key] * 1000

    def _subtree(self, item_id: str) -> list[str]:
        """A page or tree node with every page and node below it."""
        children: dict[str, list[str]] = {}
        for rec in self.tree_items():
            if rec.parent_id is not None:
                children.setdefault(rec.parent_id, []).append(rec.id)
        out, stack = [], [item_id]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(children.get(current, ()))
        return out

    def _reparent_children(self, rec: ContentRec | NodeRec) -> None:
        for child in self.tree_items():
            if child.parent_id == rec.id:
                child.parent_id = rec.parent_id
                child.position = self._next_position(rec.parent_id or rec.space_id)

    def _drop_comments(self, container_ids: set[str]) -> None:
        """Remove the comments on these containers for good (with their replies)."""
        for comment_id in [c.id for c in self.comments.values()
                           if c.container_id in container_ids]:
            self.comments.pop(comment_id, None)

    def _move_dependents(self, content_id: str, space_id: str) -> None:
        for cc in self.custom_content.values():
            if cc.parent_id == content_id:
                cc.space_id = space_id
        for task_id in self._task_index.get(content_id, {}).values():
            self.tasks[task_id].space_id = space_id

    def _set_label_ids(
        self, target: Any, names: Iterable[str], default_prefix: str = "global"
    ) -> None:
        for raw in names:
            name = raw.strip().lower().replace(" ", "-")
            prefix = default_prefix
            head, sep, tail = name.partition(":")
            if sep and head in _PREFIXES:
                prefix, name = head, tail
            if not name:
                continue
            label_id = self._label_by_name.get((prefix, name))
            if label_id is None:
                label_id = str(self._next_label_id)
                self._next_label_id += 1
                self.labels[label_id] = LabelRec(label_id, name, prefix, self._now_ms)
                self._label_by_name[(prefix, name)] = label_id
            if label_id not in target.label_ids:
                target.label_ids.append(label_id)

    def _sync_tasks(self, rec: ContentRec) -> None:
        """Re-derive the inline tasks of a page or blog post from its storage body."""
        if rec.kind not in ("page", "blogpost"):
            return
        known = self._task_index.get(rec.id, {})
        if not known and "<ac:task>" not in rec.body:
            return
        fresh: dict[str, str] = {}
        for parsed in parse_tasks(rec.body):
            task_id = known.get(parsed.local_id)
            task = self.tasks.get(task_id) if task_id else None
            if task is None:
                task_id = str(self._next_task_id)
                self._next_task_id += 1
                task = TaskRec(
                    id=task_id, local_id=parsed.local_id, container_id=rec.id,
                    container_kind=rec.kind, space_id=rec.space_id, status=parsed.status,
                    body=parsed.body, created_by=rec.version_author_id or rec.author_id,
                    created_at=self._now_ms, updated_at=self._now_ms,
                )
                self.tasks[task_id] = task
            elif (task.status, task.body, task.assigned_to, task.due_at) != (
                parsed.status, parsed.body, parsed.assignee, parsed.due_ms
            ):
                task.updated_at = self._now_ms
            if parsed.status == "complete" and task.completed_at is None:
                task.completed_by = rec.version_author_id or rec.author_id
                task.completed_at = self._now_ms
            elif parsed.status != "complete":
                task.completed_by = task.completed_at = None
            task.status, task.body = parsed.status, parsed.body
            task.assigned_to, task.due_at = parsed.assignee, parsed.due_ms
            fresh[parsed.local_id] = task.id
        for local_id, task_id in known.items():
            if local_id not in fresh:
                self.tasks.pop(task_id, None)
        self._task_index[rec.id] = fresh

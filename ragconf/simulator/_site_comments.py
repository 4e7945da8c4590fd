"""Comment mutations: footer and inline comments, replies, edits, resolution, deletion.

A comment's edits bump its own version, never its container's. Deleting a comment is
permanent (as in Confluence Cloud) and takes its replies with it.
"""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

from ragconf.simulator._helpers import SiteHelpers
from ragconf.simulator._model import CommentRec, VersionRec

__all__ = ["CommentMixin"]


def _marker_ref(container_id: str, comment_id: str) -> str:
    d = hashlib.sha1(f"{container_id}:{comment_id}".encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


class CommentMixin(SiteHelpers):
    def _container_kind(self, container_id: str) -> str:
        if container_id in self.attachments:
            return "attachment"
        return self.content(container_id).kind  # page | blogpost | custom_content

    def add_comment(
        self,
        container_id: str | None,
        body: str,
        *,
        selection: str | None = None,
        parent_id: str | None = None,
        author: str | None = None,
    ) -> str:
        """Comment on a page, blog post, attachment or custom content; returns its id.

        ``selection``: make it an inline comment on that text of a page or blog post (the
        text gets an ``ac:inline-comment-marker`` in the body; no new page version).
        ``parent_id``: a reply to that comment (same container and kind as it).
        """
        if not body.strip():
            raise ValueError("a comment needs a body")
        with self.lock:
            parent = self.comments[parent_id] if parent_id is not None else None
            if parent is not None:
                if container_id not in (None, parent.container_id):
                    raise ValueError("a reply is on the same content as its parent")
                if selection is not None:
                    raise ValueError("a reply cannot select text of its own")
                container_id = parent.container_id
            if container_id is None:
                raise ValueError("a comment needs a container_id (or a parent_id)")
            container_kind = self._container_kind(container_id)
            kind = parent.kind if parent is not None else (
                "footer" if selection is None else "inline")
            if kind == "inline" and container_kind not in ("page", "blogpost"):
                raise ValueError("inline comments exist only on pages and blog posts")
            if selection is not None and not selection.strip():
                raise ValueError("an inline comment needs selected text")
            if selection is not None and escape(selection) not in self.content(
                    container_id).body:
                raise ValueError(f"the selected text {selection!r} is not in the body")
            self._changed()
            account = self._account(author)
            rec = CommentRec(
                id=self._new_content_id(), kind=kind, container_id=container_id,
                container_kind=container_kind, body=body, author_id=account,
                created_at=self._now_ms, modified_at=self._now_ms, parent_id=parent_id,
                version_author_id=account,
            )
            if selection is not None:
                self._mark(rec, selection)
            elif parent is not None:
                rec.marker_ref = parent.marker_ref
            self.comments[rec.id] = rec
            return rec.id

    def _mark(self, rec: CommentRec, selection: str) -> None:
        container = self.content(rec.container_id)
        text = escape(selection)
        at = container.body.find(text)
        ref = _marker_ref(rec.container_id, rec.id)
        container.body = (
            f'{container.body[:at]}<ac:inline-comment-marker ac:ref="{ref}">{text}'
            f"</ac:inline-comment-marker>{container.body[at + len(text):]}")
        rec.marker_ref, rec.selection = ref, selection

    def _new_comment_version(self, rec: CommentRec, message: str, author: str | None) -> None:
        rec.history.append(VersionRec(
            number=rec.version, created_at=rec.modified_at,
            author_id=rec.version_author_id or rec.author_id, title="", body=rec.body,
            message=rec.version_message))
        rec.version += 1
        rec.modified_at = self._now_ms
        rec.version_message = message
        rec.version_author_id = self._account(author) if author else rec.author_id

    def edit_comment(
        self, comment_id: str, body: str, *, message: str = "", author: str | None = None
    ) -> None:
        """New version of a comment (its version + 1; the page's version is untouched)."""
        if not body.strip():
            raise ValueError("a comment needs a body")
        with self.lock:
            rec = self.comments[comment_id]
            self._changed()
            self._new_comment_version(rec, message, author)
            rec.body = body

    def resolve_comment(
        self, comment_id: str, resolved: bool = True, *, author: str | None = None
    ) -> None:
        """Resolve (or reopen) an inline comment thread; like an update through the API,
        this is a new version of the comment."""
        with self.lock:
            rec = self.comments[comment_id]
            if rec.kind != "inline" or rec.parent_id is not None:
                raise ValueError("only the first comment of an inline thread can be resolved")
            if resolved == (rec.resolution == "resolved"):
                raise ValueError(f"the comment is already {rec.resolution}")
            self._changed()
            self._new_comment_version(rec, "", author)
            rec.resolution = "resolved" if resolved else "reopened"
            rec.resolution_by = self._account(author)
            rec.resolution_at = self._now_ms

    def delete_comment(self, comment_id: str) -> None:
        """Delete a comment and its replies for good (GET by id then answers 404)."""
        with self.lock:
            if comment_id not in self.comments:
                raise KeyError(f"no comment with id {comment_id!r}")
            self._changed()
            doomed, stack = set(), [comment_id]
            while stack:
                current = stack.pop()
                doomed.add(current)
                stack.extend(c.id for c in self.comments.values() if c.parent_id == current)
            for item in doomed:
                self.comments.pop(item, None)

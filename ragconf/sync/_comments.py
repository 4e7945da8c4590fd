"""Comments as documents of their own, found through the site-wide comment listings.

Comments do not bump the version of what they are on, so a page listing cannot tell
that one was added, edited or deleted. The sync therefore reads the two global listings,
``/footer-comments`` and ``/inline-comments``, with their storage bodies (250 comments a
request, the same request count as without bodies), and compares each comment's version
with the store's manifest like any other document: a run costs about
``ceil(comments / 250)`` requests more, and only new or edited comments are converted and
embedded. A comment whose container (page, blog post, custom content or attachment) is
not in a synced space is ignored.

Each comment is indexed as content type ``comment`` with chunk ids ``comment:<id>:<i>``.
It carries its container's title, URL, space, labels, ancestors and breadcrumbs (so filters
and permission checks treat it like its container), plus ``container_id`` /
``container_type``, ``comment_kind`` (footer | inline), ``parent_comment_id`` for replies,
``resolution_status`` and ``selection`` (the text an inline comment is anchored to), and
``comment_url``, the ``?focusedCommentId=`` link that opens it in Confluence (every chunk's
``anchor_url``). Its one section is headed with who commented and when, e.g.
"Inline comment by Priya Shah on 2026-04-22 (resolved)"; an inline comment's section
starts with the text it was anchored to.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from ragconf.confluence import InlineComment
from ragconf.confluence._models_more import Comment
from ragconf.errors import ConfluenceError
from ragconf.index.types import Chunk, ContentType, Document, Metadata, Section
from ragconf.sync._documents import (
    DOC_HASH,
    Item,
    _iso,
    _ts,
    absolute_url,
    convert_body,
    doc_hash,
)
from ragconf.sync.protocols import ContentSource, Converter

__all__ = [
    "COMMENT",
    "COMMENT_KEYS",
    "CONTAINER_KINDS",
    "CommentListing",
    "add_comment_items",
    "anchor_chunks",
    "comment_document",
    "comment_heading",
    "list_comments",
]

log = logging.getLogger("ragconf.sync")

COMMENT: Final[Literal["comment"]] = "comment"
#: what a comment can be on, as sync item kinds
CONTAINER_KINDS: tuple[ContentType, ...] = ("page", "blogpost", "custom_content", "attachment")
#: the document-level metadata keys only comments have
COMMENT_KEYS = frozenset({
    "container_id", "container_type", "container_custom_type", "comment_kind",
    "parent_comment_id", "resolution_status", "selection", "comment_url",
})  # fmt: skip


@dataclass
class CommentListing:
    """Every visible comment, grouped by ``(container kind, container id)``."""

    by_container: dict[tuple[str, str], list[Comment]] = field(default_factory=dict)
    #: both listings ran to the end (deletions of comments are safe)
    complete: bool = True
    problem: str | None = None
    #: comment id -> the comment (replies find their thread's root through it)
    by_id: dict[str, Comment] = field(default_factory=dict)

    def root(self, comment: Comment) -> Comment:
        """The first comment of ``comment``'s thread."""
        seen = {comment.id}
        while comment.parent_comment_id and comment.parent_comment_id not in seen:
            parent = self.by_id.get(comment.parent_comment_id)
            if parent is None:
                break
            seen.add(parent.id)
            comment = parent
        return comment


def list_comments(conf: ContentSource) -> CommentListing:
    """Both global comment listings, with bodies."""
    out = CommentListing()
    listers: list[tuple[str, Callable[[], Iterable[Comment]]]] = [
        ("footer comments", lambda: conf.get_footer_comments(body_format="storage")),
        ("inline comments", lambda: conf.get_inline_comments(body_format="storage")),
    ]
    for what, lister in listers:
        try:
            for comment in lister():
                if comment.status in (None, "", "current"):
                    out.by_id[str(comment.id)] = comment
        except ConfluenceError as exc:
            out.complete = False
            out.problem = f"listing {what} failed ({type(exc).__name__}: {exc.message})"
            log.warning("%s; comment deletions are skipped this run", out.problem)
    by_container: dict[tuple[str, str], list[Comment]] = defaultdict(list)
    for comment in out.by_id.values():
        # replies may be listed without their container: it is their thread's
        container = comment.container or out.root(comment).container
        if container is not None:
            by_container[(container[0], str(container[1]))].append(comment)
    out.by_container = dict(by_container)
    return out


def add_comment_items(
    items: list[Item], comments: CommentListing, complete: dict[ContentType, bool], site_url: str
) -> None:
    """Append an item for every comment on one of ``items`` (one space's listing), and
    record in ``complete`` whether comment deletions in that space are safe."""
    complete[COMMENT] = comments.complete and all(
        complete.get(kind, True) for kind in CONTAINER_KINDS
    )
    containers = [it for it in items if it.kind in CONTAINER_KINDS]
    for container in containers:
        for comment in comments.by_container.get((container.kind, container.id), ()):
            root = comments.root(comment)
            meta = comment_metadata(comment, container, root, site_url)
            items.append(
                Item(
                    kind=COMMENT,
                    obj=comment,
                    space=container.space,
                    meta=meta,
                    labels_known=container.labels_known,
                )
            )


def comment_metadata(comment: Comment, container: Item, root: Comment, site_url: str) -> Metadata:
    """A comment's document metadata: its container's place and its own version."""
    cm = container.meta
    version = comment.version
    updated = version.created_at
    url = str(cm.get("url", ""))
    links = comment.links
    link = absolute_url(links.webui, site_url, links.base) if links.webui else ""
    selection: str | None = None
    resolution: str | None = None
    if isinstance(comment, InlineComment):
        # a reply of an inline thread is about the root's text, and shares its state
        thread = root if isinstance(root, InlineComment) else comment
        selection = (
            comment.properties.inline_original_selection
            or thread.properties.inline_original_selection
        )
        resolution = comment.resolution_status or thread.resolution_status
    meta: Metadata = {
        "content_id": str(comment.id),
        "content_type": COMMENT,
        "title": cm.get("title", ""),
        "url": url,
        "space_id": container.space.id,
        "space_key": container.space.key,
        "space_name": container.space.name,
        "labels": list(cm.get("labels") or []),
        "parent_id": container.id,
        "ancestors": list(cm.get("ancestors") or []),
        "breadcrumbs": cm.get("breadcrumbs"),
        "author_id": version.author_id,
        "version": int(version.number or 1),
        "updated_at": _iso(updated),
        "updated_at_ts": _ts(updated),
        "status": str(comment.status or "current"),
        "container_id": container.id,
        "container_type": container.kind,
        "container_custom_type": container.custom_type,
        "comment_kind": comment.kind,
        "parent_comment_id": comment.parent_comment_id,
        "resolution_status": resolution,
        "selection": " ".join(selection.split()) if selection else None,
        "comment_url": link or f"{url}{'&' if '?' in url else '?'}focusedCommentId={comment.id}",
    }
    meta = {k: v for k, v in meta.items() if v is not None}
    meta[DOC_HASH] = doc_hash(meta)
    return meta


def comment_heading(meta: Metadata, names: Mapping[str, str]) -> str:
    """Who commented and when, e.g. "Inline comment by Priya Shah on 2026-04-22 (resolved)"."""
    if meta.get("parent_comment_id"):
        what = "Reply"
    else:
        what = "Inline comment" if meta.get("comment_kind") == "inline" else "Comment"
    author = meta.get("author_id")
    who = names.get(str(author)) if author else None
    when = str(meta.get("updated_at") or "")[:10]
    heading = what + (f" by {who}" if who else "") + (f" on {when}" if when else "")
    if meta.get("resolution_status") == "resolved":
        heading += " (resolved)"
    return heading


def comment_document(
    item: Item, body: str, converter: Converter, names: Mapping[str, str]
) -> Document:
    """One comment as a document titled like its container, under its heading."""
    heading = comment_heading(item.meta, names)
    converted = convert_body(converter, body, item.title, names)
    sections: list[Section] = []
    selection = item.meta.get("selection")
    if selection:
        sections.append(Section((heading,), None, f'On the text "{selection}":'))
    for s in converted.sections:
        sections.append(Section((heading, *s.heading_path), None, s.text, s.kind))
    if not sections:  # an empty comment still says who left it where
        sections.append(Section((heading,), None, heading))
    return Document(
        content_id=item.id,
        content_type=COMMENT,
        title=item.title,
        url=str(item.meta.get("url", "")),
        sections=sections,
        metadata=dict(item.meta),
    )


def anchor_chunks(chunks: Sequence[Chunk]) -> list[Chunk]:
    """Every chunk of a comment links to the comment itself, not to its page."""
    return [
        Chunk(
            c.id,
            c.text,
            {
                **c.metadata,
                "anchor_url": c.metadata.get("comment_url") or c.metadata.get("anchor_url"),
            },
        )
        for c in chunks
    ]

"""Cheap enumeration: what exists in each space, without bodies, and how it maps to the index.

Per space: pages (current + archived, the API default), blog posts, custom content of the
configured types, and the attachments hanging on any of those - ids, versions, titles and
tree position only (``limit`` 250 per request, no ``body-format``). Labels do not bump
versions, so they come from a label -> content mapping (``/labels`` then
``/labels/{id}/pages|blogposts`` restricted by ``space-id``): 1 + 2 x labels requests per
run, instead of one request per page.

Each listing remembers whether it finished: deletions of a kind in a space happen only
when its enumeration was complete (a transient failure must never delete anything). A
kind the run does not index at all (attachments off, no custom content types) counts as
listed complete and empty, so what an earlier run indexed of it is deleted.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ragconf.confluence.models import Attachment, BlogPost, CustomContent, Label, Page
from ragconf.errors import ConfluenceError, NotFoundError
from ragconf.index.types import ContentType
from ragconf.sync._comments import CommentListing, add_comment_items
from ragconf.sync._documents import Item, Listed, SpaceInfo, ancestors_of, item_metadata
from ragconf.sync._tree import TreeNodes
from ragconf.sync.protocols import ContentSource

__all__ = ["LabelMap", "SpaceListing", "label_map", "list_attachments", "list_space"]

log = logging.getLogger("ragconf.sync")

T = TypeVar("T")

#: (kind, content id) -> its label names; pages and blog posts are what /labels/{id}/…
#: can list
LabelMap = dict[tuple[str, str], list[str]]
#: container id -> its attachments
AttachmentMap = dict[str, list[Attachment]]


@dataclass
class SpaceListing:
    space: SpaceInfo
    items: list[Item] = field(default_factory=list)
    #: kind -> whether its enumeration ran to the end
    complete: dict[ContentType, bool] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: listings that failed: {"space_key", "listing", "error"} (the run then fails)
    failures: list[dict[str, str]] = field(default_factory=list)
    #: custom content types the site answered 404 for (not installed)
    unknown_types: list[str] = field(default_factory=list)


def _drain(
    it: Iterable[T],
    what: str,
    listing: SpaceListing,
    kind: ContentType,
    missing: str | None = None,
) -> list[T]:
    """Read a listing to the end; a failure marks the kind incomplete (no deletions).

    ``missing``: a custom content type; a 404 before any item is the spec's answer for a
    type the site does not have (its app is not installed), which is no failure.
    """
    out: list[T] = []
    try:
        for obj in it:
            out.append(obj)
    except NotFoundError as exc:
        if missing is None or out:
            return _failed(exc, what, listing, kind, out)
        log.info("custom content type %s is not available on this site; skipped", missing)
        listing.unknown_types.append(missing)
        listing.complete.setdefault(kind, True)  # nothing of that type exists here
        return out
    except ConfluenceError as exc:
        return _failed(exc, what, listing, kind, out)
    listing.complete.setdefault(kind, True)
    return out


def _failed(
    exc: ConfluenceError, what: str, listing: SpaceListing, kind: ContentType, out: list[T]
) -> list[T]:
    listing.complete[kind] = False
    listing.failures.append(
        {"space_key": listing.space.key, "listing": what,
         "error": f"{type(exc).__name__}: {exc.message}"}
    )
    listing.warnings.append(
        f"space {listing.space.key}: listing {what} failed after {len(out)} items "
        f"({type(exc).__name__}: {exc.message}); its deletions are skipped this run"
    )
    return out


def label_map(conf: ContentSource, space_ids: Sequence[str]) -> LabelMap | None:
    """(kind, content id) -> label names for pages and blog posts in ``space_ids``.

    None when any request failed: the caller then keeps the stored labels instead of
    wiping them.
    """
    out: LabelMap = defaultdict(list)
    try:
        labels = list(conf.get_labels())
    except ConfluenceError as exc:
        log.warning("listing labels failed (%s); labels are left as they are", exc.message)
        return None
    ids = list(space_ids)

    def members(label: Label) -> list[tuple[str, str, str]]:
        rows = [
            ("page", p.id, label.name) for p in conf.get_pages_by_label(label.id, space_ids=ids)
        ]
        rows += [
            ("blogpost", b.id, label.name)
            for b in conf.get_blog_posts_by_label(label.id, space_ids=ids)
        ]
        return rows

    try:
        for rows in conf.map_concurrent(members, labels):
            for kind, cid, name in rows:
                out[(kind, str(cid))].append(name)
    except ConfluenceError as exc:
        log.warning("label mapping failed (%s); labels are left as they are", exc.message)
        return None
    return dict(out)


def list_attachments(conf: ContentSource) -> tuple[AttachmentMap, bool, str | None]:
    """All visible attachments grouped by container id, with a completeness flag.

    One site-wide ``/attachments`` listing (N/250 requests) is far cheaper than one
    request per page; attachments whose container is not in a synced space are ignored.
    """
    by_container: AttachmentMap = defaultdict(list)
    try:
        for att in conf.get_attachments():
            if att.container_id:
                by_container[str(att.container_id)].append(att)
    except ConfluenceError as exc:
        return dict(by_container), False, f"listing attachments failed ({exc.message})"
    return dict(by_container), True, None


def list_space(
    conf: ContentSource,
    space: SpaceInfo,
    *,
    site_url: str,
    labels: LabelMap | None,
    custom_types: Sequence[str],
    attachments: AttachmentMap | None,
    attachments_complete: bool,
    tree: TreeNodes | None = None,
    comments: CommentListing | None = None,
) -> SpaceListing:
    """Every indexable item of one space, with its document-level metadata.

    ``attachments`` None: attachments are not indexed (their listing counts as complete
    and empty); likewise custom content when ``custom_types`` is empty.
    ``tree``: resolves folders, whiteboards, databases and embeds above pages (cached per
    run), so ancestors and breadcrumbs run through them. ``comments``: the run's global
    comment listing; the comments on this space's content become items too.
    """
    listing = SpaceListing(space)
    pages: list[Page] = _drain(conf.get_pages_by_space(space.id), "pages", listing, "page")
    blogs: list[BlogPost] = _drain(
        conf.get_blog_posts_by_space(space.id), "blog posts", listing, "blogpost"
    )
    customs: list[tuple[str, CustomContent]] = []
    if not custom_types:
        listing.complete["custom_content"] = True  # none indexed: any stored one goes
    for ctype in custom_types:
        got = _drain(conf.get_custom_content_by_space(space.id, ctype),
                     f"custom content {ctype}", listing, "custom_content", missing=ctype)
        customs += [(ctype, c) for c in got]

    parents = {str(p.id): (str(p.parent_id) if p.parent_id else None) for p in pages}
    titles = {str(p.id): p.title for p in pages}
    if tree is not None:
        above = [(str(p.id), parents[str(p.id)], p.parent_type) for p in pages]
        tree.extend(above, parents, titles)
    # container id -> (ancestors of the container incl. itself, its title)
    places: dict[str, tuple[list[str], str]] = {}

    def labels_for(kind: ContentType, cid: str) -> tuple[list[str], bool]:
        if kind == "custom_content":
            return [], True  # v2 offers no label -> custom content route
        if labels is None or kind == "attachment":
            return [], False  # fetched per item only if it must be rebuilt
        return labels.get((kind, cid), []), True

    def add(kind: ContentType, obj: Listed, *, ancestors: list[str], parent: str | None,
            container_title: str | None = None, ctype: str | None = None) -> Item:
        cid = str(obj.id)
        names, known = labels_for(kind, cid)
        crumbs = " › ".join(t for a in ancestors if (t := titles.get(a)))  # unknown: left out
        meta = item_metadata(
            kind, obj, space, site_url=site_url, labels=names, parent_id=parent,
            ancestors=ancestors, breadcrumbs=crumbs,
            container_title=container_title, custom_type=ctype,
        )
        item = Item(kind=kind, obj=obj, space=space, meta=meta, custom_type=ctype,
                    labels_known=known)
        listing.items.append(item)
        places[cid] = ([*ancestors, cid], obj.title)
        return item

    for p in pages:
        anc = ancestors_of(str(p.id), parents)
        add("page", p, ancestors=anc, parent=str(p.parent_id) if p.parent_id else None)
    for b in blogs:
        add("blogpost", b, ancestors=[], parent=None)
        titles[str(b.id)] = b.title
    for ctype, c in customs:
        container = c.page_id or c.blog_post_id or c.custom_content_id
        anc = places.get(str(container), ([], ""))[0] if container else []
        add("custom_content", c, ancestors=list(anc), parent=str(container) if container else None,
            ctype=ctype)
        titles[str(c.id)] = c.title

    if attachments is None:
        listing.complete["attachment"] = True  # not indexed: any stored one goes
    else:
        listing.complete["attachment"] = attachments_complete and all(
            listing.complete.get(k, True) for k in ("page", "blogpost", "custom_content")
        )
        for container_id, (anc, ctitle) in list(places.items()):
            for att in attachments.get(container_id, ()):
                titles.setdefault(container_id, ctitle)
                add("attachment", att, ancestors=anc, parent=container_id, container_title=ctitle)
    if comments is not None:
        add_comment_items(listing.items, comments, listing.complete, site_url)
    return listing

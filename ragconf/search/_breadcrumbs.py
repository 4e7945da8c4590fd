"""Strict mode: breadcrumbs show only the ancestors the reader can open.

Breadcrumbs are stored at sync time: the titles of the page's ancestors, from the service
account's view. Confluence's view restrictions are inherited, so a reader who can open a
page can normally open its ancestors too — but not always as the index remembers them: a
page moved out from under a restricted parent keeps that parent's title in its stored
breadcrumbs until the next sync. So in strict mode every ancestor is checked like a result
(same per-reader cache, same concurrent checks) and the title of one the reader can't open
is dropped. Failing to check hides the title (fail closed).

>>> redact_breadcrumbs(scope, results)        # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ragconf.index.types import Metadata

if TYPE_CHECKING:
    from ragconf.search.retrieve import DocumentResult

__all__ = ["redact_breadcrumbs"]

SEPARATOR = " › "

#: check(metadatas) -> {"type:id": visible}; the scope's batched, cached document check
Check = Callable[[Iterable[Metadata]], dict[str, bool]]


def _ancestry(md: Metadata) -> tuple[list[str], list[str]] | None:
    """(ancestor ids, their titles) aligned, or None when the stored pair doesn't align."""
    ids = [str(a) for a in md.get("ancestors") or ()]
    raw = md.get("breadcrumbs") or ""
    titles = raw.split(SEPARATOR) if isinstance(raw, str) and raw else list(raw or ())
    if not ids and not titles:
        return [], []
    if len(ids) != len(titles):
        return None
    return ids, [str(t).strip() for t in titles]


def _probe(kind: str, cid: str, md: Metadata) -> Metadata:
    return {"content_type": kind, "content_id": cid, "space_id": md.get("space_id")}


def redact_breadcrumbs(check: Check, results: Iterable[DocumentResult]) -> None:
    """Drop from each result's ``breadcrumbs`` the ancestor titles ``check`` says are hidden.

    Ancestors are pages, except the container of an attachment or custom content (the last
    ancestor, its ``parent_id``), which may be a blog post: a container hidden as a page is
    asked again as a blog post.
    """
    docs = [(doc, doc.chunks[0].metadata) for doc in results if doc.chunks]
    wanted: dict[str, Metadata] = {}
    for _, md in docs:
        for cid in (_ancestry(md) or ([], []))[0]:
            wanted.setdefault(f"page:{cid}", _probe("page", cid, md))
    seen = check(wanted.values()) if wanted else {}
    retry: dict[str, Metadata] = {}
    for _, md in docs:
        parent = str(md.get("parent_id") or "")
        contained = md.get("content_type") in ("attachment", "custom_content")
        if contained and parent and not seen.get(f"page:{parent}", False):
            retry.setdefault(f"blogpost:{parent}", _probe("blogpost", parent, md))
    if retry:
        seen.update(check(retry.values()))
    for doc, md in docs:
        _apply(doc, md, seen)


def _apply(doc: DocumentResult, md: Metadata, seen: dict[str, bool]) -> None:
    ancestry = _ancestry(md)
    shown = [t for t in _titles(md) if t]
    if not shown:
        return
    if ancestry is None:
        hidden = shown  # can't tell which title is whose: show none of them
    else:
        ids, titles = ancestry
        hidden = [t for cid, t in zip(ids, titles, strict=True) if t and not (
            seen.get(f"page:{cid}", False) or seen.get(f"blogpost:{cid}", False)
        )]
    if not hidden:
        return
    crumbs = list(doc.breadcrumbs)
    start = _find(crumbs, shown)
    if start is None:  # an unexpected layout: drop the hidden titles wherever they are
        for title in hidden:
            if title in crumbs:
                crumbs.remove(title)
    else:
        keep, pending = [], list(hidden)
        for title in shown:
            if pending and title == pending[0]:
                pending.pop(0)
            else:
                keep.append(title)
        crumbs[start : start + len(shown)] = keep
    doc.breadcrumbs = crumbs


def _titles(md: Metadata) -> list[str]:
    raw = md.get("breadcrumbs") or ""
    parts = raw.split(SEPARATOR) if isinstance(raw, str) else [str(x) for x in raw]
    return [p.strip() for p in parts]


def _find(crumbs: list[str], part: list[str]) -> int | None:
    for i in range(len(crumbs) - len(part) + 1):
        if crumbs[i : i + len(part)] == part:
            return i
    return None

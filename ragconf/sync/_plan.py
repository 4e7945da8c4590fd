"""The sync's plan, as pure functions: what the store holds + what Confluence lists -> what to do.

No I/O and no mutation: the engine reads the manifest, the stored chunk metadata and the
listings, and these functions return frozen answers it then carries out.

* :func:`plan_items` - per listed document, a :class:`Step`: ``new`` (not in the store),
  ``rebuild`` (new version, text-relevant change, a crash left it half-written, or
  ``full``), ``metadata`` (labels, breadcrumbs, space or parent changed: same text and
  vectors), ``unchanged``. When the label map could not be listed, a stored document keeps
  its stored labels (the step's item carries them).
* :func:`plan_deletions` - what the store holds that no complete listing saw any more.
  A kind in a space is deleted from only when its listing ran to the end; a space that is
  not listed at all only when the run listed every space (the space left the site).

>>> plan_deletions({}, seen=set(), complete={}, listed=set(), listed_all=True).chunk_ids
()
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from ragconf.index.keys import content_type_of, normalise_labels
from ragconf.index.types import ManifestEntry, Metadata
from ragconf.sync._documents import DOC_HASH, Item, StoredDoc, doc_hash, stored_doc

__all__ = ["Change", "Deletion", "DeletionPlan", "Step", "classify", "plan_deletions", "plan_items"]


class Change(StrEnum):
    """What a listed document needs."""

    NEW = "new"
    REBUILD = "rebuild"
    METADATA = "metadata"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Step:
    """One listed document and what to do with it."""

    item: Item
    change: Change
    #: (chunk id, text_hash) of the stored version, for vector reuse and stale-id deletes
    old_chunks: tuple[tuple[str, str], ...] = ()

    @property
    def old_ids(self) -> tuple[str, ...]:
        return tuple(cid for cid, _ in self.old_chunks)


#: document fields that appear in the chunk text (the title prefix; an attachment's
#: metadata section): when they change the chunks are rebuilt, with their vectors reused
_TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "attachment": ("title", "media_type", "file_size", "comment", "container_title", "labels"),
    # the heading says whether the thread is resolved; replies show their thread's state
    "comment": ("title", "resolution_status", "selection"),
}


def _text_changed(meta: Metadata, kind: str, stored: Metadata) -> bool:
    for name in _TEXT_FIELDS.get(kind, ("title",)):
        old, new = stored.get(name), meta.get(name)
        if name == "labels":
            old, new = normalise_labels(old), normalise_labels(new)
        if old != new:
            return True
    return False


def _with_stored_labels(item: Item, stored: StoredDoc) -> Item:
    """The item with the labels the store holds (the label map could not tell them)."""
    meta = {**item.meta, "labels": normalise_labels(stored.metadata.get("labels"))}
    meta[DOC_HASH] = doc_hash(meta)
    return replace(item, meta=meta)


def classify(
    item: Item, entry: ManifestEntry | None, metas: Mapping[str, Metadata], *, full: bool
) -> Step:
    """The step for one listed item, from its manifest entry and stored chunk metadata."""
    if entry is None:
        return Step(item, Change.NEW)
    chunk_ids = list(entry.get("chunk_ids", ()))
    old = tuple((c, str(metas.get(c, {}).get("text_hash", ""))) for c in chunk_ids)
    stored = stored_doc(item.kind, item.id, chunk_ids, metas)
    if stored is not None and not item.labels_known:
        item = _with_stored_labels(item, stored)
    new_hash = item.meta[DOC_HASH]
    if (
        full
        or stored is None  # a crash left it half-written
        or stored.metadata.get("version") != item.meta.get("version")
        or (stored.doc_hash != new_hash and _text_changed(item.meta, item.kind, stored.metadata))
    ):
        return Step(item, Change.REBUILD, old)
    if stored.doc_hash == new_hash:
        return Step(item, Change.UNCHANGED, old)
    return Step(item, Change.METADATA, old)


def plan_items(
    items: Iterable[Item],
    manifest: Mapping[str, ManifestEntry],
    metas: Mapping[str, Metadata],
    *,
    full: bool,
) -> tuple[Step, ...]:
    """A step per item; ``metas``: stored chunk metadata by chunk id (the items' chunks)."""
    return tuple(classify(it, manifest.get(it.key), metas, full=full) for it in items)


@dataclass(frozen=True)
class Deletion:
    """A stored document no complete listing saw any more."""

    key: str
    space_id: str
    chunk_ids: tuple[str, ...]


@dataclass(frozen=True)
class DeletionPlan:
    deletions: tuple[Deletion, ...] = ()
    #: listed spaces with stored documents left alone because a listing did not finish
    skipped: frozenset[str] = frozenset()

    @property
    def chunk_ids(self) -> tuple[str, ...]:
        return tuple(c for d in self.deletions for c in d.chunk_ids)


def plan_deletions(
    manifest: Mapping[str, ManifestEntry],
    *,
    seen: Collection[str],
    complete: Mapping[tuple[str, str], bool],
    listed: Collection[str],
    listed_all: bool,
) -> DeletionPlan:
    """Which stored documents to delete.

    ``seen``: document keys the listings returned; ``complete``: (space id, kind) ->
    whether that listing ran to the end (a missing pair counts as unfinished);
    ``listed``: the space ids this run listed; ``listed_all``: the run listed every
    visible space (so a stored space missing from it has gone).
    """
    doomed: list[Deletion] = []
    skipped: set[str] = set()
    for key, entry in manifest.items():
        if key in seen:
            continue
        space_id = str(entry.get("space_id") or "")
        if space_id in listed:
            kind = content_type_of(key)
            if not complete.get((space_id, kind), False):
                skipped.add(space_id)
                continue
        elif not listed_all:
            continue  # outside this run's scope
        doomed.append(Deletion(key, space_id, tuple(entry.get("chunk_ids", ()))))
    return DeletionPlan(tuple(doomed), frozenset(skipped))

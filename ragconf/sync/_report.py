"""``SyncReport``: what a sync did, filled in by the pipeline's threads (thread-safe).

Counts are recorded under the report's lock; the progress callback runs outside it (under
a lock of its own that only orders the callbacks), so a slow progress bar never holds up
a pipeline thread that is recording.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from ragconf.index.types import Metadata
from ragconf.sync._documents import Item

__all__ = ["Outcome", "Progress", "SpaceReport", "SyncReport"]

#: progress(stage, done, total): stage is "listing", "documents" or "chunks"; total may grow
Progress = Callable[[str, int, "int | None"], None]
_Stage = Literal["documents", "chunks"]


class Outcome(StrEnum):
    """What happened to one document; each is a count in :class:`SpaceReport`."""

    ADDED = "added"
    UPDATED = "updated"
    METADATA = "metadata"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    FAILED = "failed"


@dataclass
class SpaceReport:
    """Per-space counts for the summary table."""

    key: str
    id: str
    name: str = ""
    added: int = 0
    updated: int = 0
    metadata: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    #: deletions were skipped because an enumeration did not finish
    deletions_skipped: bool = False

    def add(self, outcome: Outcome, n: int = 1) -> None:
        """Count ``n`` documents with this outcome (callers hold the report's lock)."""
        match outcome:
            case Outcome.ADDED:
                self.added += n
            case Outcome.UPDATED:
                self.updated += n
            case Outcome.METADATA:
                self.metadata += n
            case Outcome.UNCHANGED:
                self.unchanged += n
            case Outcome.DELETED:
                self.deleted += n
            case Outcome.FAILED:
                self.failed += n

    def to_dict(self) -> Metadata:
        return {
            "key": self.key,
            "id": self.id,
            "name": self.name,
            "added": self.added,
            "updated": self.updated,
            "metadata_updated": self.metadata,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "failed": self.failed,
            "deletions_skipped": self.deletions_skipped,
        }


@dataclass
class SyncReport:
    """The outcome of ``Syncer.run()``.

    >>> r = SyncReport()
    >>> r.to_dict()["chunks_embedded"], r.ok
    (0, True)
    """

    spaces: dict[str, SpaceReport] = field(default_factory=dict)
    documents_seen: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    failed: list[Metadata] = field(default_factory=list)
    #: listings that failed after retries (space content, attachments, labels): what they
    #: would have changed or deleted is stale until a run lists them again
    listings_failed: list[Metadata] = field(default_factory=list)
    warnings: list[Metadata] = field(default_factory=list)
    duration_s: float = 0.0
    full: bool = False
    requests: int = 0
    #: the previous run on this data directory was interrupted (crash, kill)
    resumed: bool = False
    #: where the time went: listing (enumeration + classification, main thread) and the
    #: busy seconds of each pipeline stage (they overlap; embed includes the model load)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    progress: Progress | None = None
    _to_process: int = 0
    _processed: int = 0
    _to_embed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _progress_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- totals ---------------------------------------------------------------------------

    @property
    def added(self) -> int:
        return sum(s.added for s in self.spaces.values())

    @property
    def updated(self) -> int:
        return sum(s.updated for s in self.spaces.values())

    @property
    def metadata_updated(self) -> int:
        return sum(s.metadata for s in self.spaces.values())

    @property
    def unchanged(self) -> int:
        return sum(s.unchanged for s in self.spaces.values())

    @property
    def documents_deleted(self) -> int:
        return sum(s.deleted for s in self.spaces.values())

    @property
    def documents_changed(self) -> int:
        return self.added + self.updated + self.metadata_updated

    @property
    def changed_index(self) -> bool:
        """Whether the store was written (then the lexical index must be rebuilt)."""
        return bool(self.documents_changed or self.documents_deleted)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.listings_failed

    def to_dict(self) -> Metadata:
        return {
            "added": self.added,
            "updated": self.updated,
            "metadata_updated": self.metadata_updated,
            "unchanged": self.unchanged,
            "deleted": self.documents_deleted,
            "failed": list(self.failed),
            "listings_failed": list(self.listings_failed),
            "warnings": list(self.warnings),
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "seconds": round(self.duration_s, 3),
            "duration_s": round(self.duration_s, 3),
            "documents_seen": self.documents_seen,
            "documents_changed": self.documents_changed,
            "documents_deleted": self.documents_deleted,
            "full": self.full,
            "requests": self.requests,
            "resumed": self.resumed,
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "spaces": [s.to_dict() for s in self.spaces.values()],
        }

    # -- recording (called from the pipeline threads) --------------------------------------

    def space(self, space_id: str) -> SpaceReport:
        return self.spaces[space_id]

    def _notify(self, *stages: _Stage) -> None:
        """Tell the progress callback the current counts (never under ``_lock``)."""
        if self.progress is None:
            return
        with self._progress_lock:  # one callback at a time, each with the latest counts
            with self._lock:
                now = {"documents": (self._processed, self._to_process),
                       "chunks": (self.chunks_embedded, self._to_embed)}
            for stage in stages:
                self.progress(stage, *now[stage])

    def planned(self, documents: int, chunks: int = 0) -> None:
        with self._lock:
            self._to_process += documents
            self._to_embed += chunks
        if documents:
            self._notify("documents")
        if chunks:
            self._notify("chunks")

    def count(self, space_id: str, outcome: Outcome, n: int = 1) -> None:
        with self._lock:
            self.spaces[space_id].add(outcome, n)

    def done(self, item: Item, outcome: Outcome, *, reused: int = 0) -> None:
        with self._lock:
            self.spaces[item.space.id].add(outcome)
            self.chunks_reused += reused
            self._processed += 1
        self._notify("documents")

    def embedded(self, n: int) -> None:
        with self._lock:
            self.chunks_embedded += n
            self._to_embed = max(self._to_embed, self.chunks_embedded)
        self._notify("chunks")

    def fail(self, item: Item, error: BaseException | str) -> None:
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        with self._lock:
            self.failed.append(
                {"content_id": item.id, "content_type": item.kind, "title": item.title,
                 "space_key": item.space.key, "error": message}
            )
            self.spaces[item.space.id].add(Outcome.FAILED)
            self._processed += 1
        self._notify("documents")

    def listing_failed(self, listing: str, error: str, space_key: str | None = None) -> None:
        with self._lock:
            self.listings_failed.append(
                {"space_key": space_key, "listing": listing, "error": error}
            )

    def warn(self, message: str, item: Item | None = None) -> None:
        entry: Metadata = {"message": message}
        if item is not None:
            entry.update(content_id=item.id, content_type=item.kind, title=item.title)
        with self._lock:
            self.warnings.append(entry)

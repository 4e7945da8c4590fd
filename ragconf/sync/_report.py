"""``SyncReport``: what a sync did, filled in by the pipeline's threads (thread-safe)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Progress", "SpaceReport", "SyncReport"]

#: progress(stage, done, total): stage is "listing", "documents" or "chunks"; total may grow
Progress = Callable[[str, int, "int | None"], None]

ACTIONS = ("added", "updated", "metadata", "unchanged", "deleted", "failed")


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

    def to_dict(self) -> dict[str, Any]:
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
    failed: list[dict[str, Any]] = field(default_factory=list)
    #: listings that failed after retries (space content, attachments, labels): what they
    #: would have changed or deleted is stale until a run lists them again
    listings_failed: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
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

    # -- totals ---------------------------------------------------------------------------

    def _sum(self, attr: str) -> int:
        return sum(getattr(s, attr) for s in self.spaces.values())

    @property
    def added(self) -> int:
        return self._sum("added")

    @property
    def updated(self) -> int:
        return self._sum("updated")

    @property
    def metadata_updated(self) -> int:
        return self._sum("metadata")

    @property
    def unchanged(self) -> int:
        return self._sum("unchanged")

    @property
    def documents_deleted(self) -> int:
        return self._sum("deleted")

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

    def to_dict(self) -> dict[str, Any]:
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

    def _tick(self, stage: str, done: int, total: int | None) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def planned(self, documents: int, chunks: int = 0) -> None:
        with self._lock:
            self._to_process += documents
            self._to_embed += chunks
            if documents:
                self._tick("documents", self._processed, self._to_process)
            if chunks:
                self._tick("chunks", self.chunks_embedded, self._to_embed)

    def count(self, space_id: str, action: str, n: int = 1) -> None:
        with self._lock:
            sp = self.spaces[space_id]
            setattr(sp, action, getattr(sp, action) + n)

    def done(self, item: Any, action: str, *, embedded: int = 0, reused: int = 0) -> None:
        with self._lock:
            sp = self.spaces[item.space.id]
            setattr(sp, action, getattr(sp, action) + 1)
            self.chunks_reused += reused
            self._processed += 1
            self._tick("documents", self._processed, self._to_process)

    def embedded(self, n: int) -> None:
        with self._lock:
            self.chunks_embedded += n
            self._to_embed = max(self._to_embed, self.chunks_embedded)
            self._tick("chunks", self.chunks_embedded, self._to_embed)

    def fail(self, item: Any, error: BaseException | str) -> None:
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        with self._lock:
            self.failed.append(
                {"content_id": item.id, "content_type": item.kind, "title": item.title,
                 "space_key": item.space.key, "error": message}
            )
            self.spaces[item.space.id].failed += 1
            self._processed += 1
            self._tick("documents", self._processed, self._to_process)

    def listing_failed(self, listing: str, error: str, space_key: str | None = None) -> None:
        with self._lock:
            self.listings_failed.append(
                {"space_key": space_key, "listing": listing, "error": error}
            )

    def warn(self, message: str, item: Any = None) -> None:
        entry: dict[str, Any] = {"message": message}
        if item is not None:
            entry.update(content_id=item.id, content_type=item.kind, title=item.title)
        with self._lock:
            self.warnings.append(entry)

"""Incremental, crash-safe sync from Confluence into the vector store (and BM25 beside it).

One run:

1. take the data directory's lock (``state_dir``; a second sync refuses with
   ``SyncLockedError``, a dead holder's lock is taken over);
2. list the spaces in scope, the label -> content mapping, the attachments and the
   comments (site-wide listings, see ``_comments``);
3. per space, enumerate content without bodies and compare it with the store's manifest
   and the stored chunk metadata: new / changed (version, or a document a crash left
   half-written) -> fetch, convert, chunk, embed only chunks whose text hash is new;
   label, breadcrumb or move changes -> metadata rewrite with the stored vectors;
   unchanged -> nothing;
4. fetch/convert/embed/write overlap in a bounded pipeline (``_pipeline``); the people
   mentioned in a fetched batch that this run has not met yet are looked up in one bulk
   request, so mentions are indexed as "@Display Name" (``_users``);
5. delete what is gone - only in spaces whose enumeration finished, and spaces that
   disappeared only when the space listing itself succeeded;
6. rebuild the lexical index if anything changed, record ``last_sync_at``.

Truth lives in the store (chunk metadata), so a rerun after ``kill -9`` converges to
exactly the index a clean sync builds, on this machine or another.

>>> syncer = Syncer(conf, store, embedder, bm25, state_dir=data_dir / "sync")  # doctest: +SKIP
>>> report = syncer.run()                                                       # doctest: +SKIP
>>> report.to_dict()["chunks_embedded"]                                         # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragconf.confluence.urls import site_origin
from ragconf.sync._comments import CommentListing, list_comments
from ragconf.sync._documents import (
    DOC_HASH,
    Item,
    SpaceInfo,
    doc_hash,
    normalise_labels,
    stored_doc,
)
from ragconf.sync._enumerate import label_map, list_attachments, list_space
from ragconf.sync._pipeline import Pipeline
from ragconf.sync._report import Progress, SpaceReport, SyncReport
from ragconf.sync._state import SyncLock, SyncState
from ragconf.sync._tree import TreeNodes
from ragconf.sync._users import UserNames
from ragconf.sync._work import Job, Stages

__all__ = ["DEFAULT_CUSTOM_TYPES", "SpaceReport", "SyncReport", "Syncer"]

log = logging.getLogger("ragconf.sync")

#: custom content types indexed by default (the demo's calendar type has a storage body)
DEFAULT_CUSTOM_TYPES: tuple[str, ...] = ("ac:com.atlassian.confluence.plugins.calendar:calendar",)
BATCH = 250  # ids per body request: the API's maximum
ATTACHMENT_BATCH = 16  # downloads per job: bounds the bytes held in the queues
CLASSIFY_BATCH = 500  # stored chunk metadata read per store call


class Syncer:
    """Keep the index in step with Confluence; see the module docstring for one run.

    >>> from ragconf.index.embed import HashEmbedder                          # doctest: +SKIP
    >>> syncer = Syncer(conf, store, HashEmbedder(), None, state_dir=tmp / "sync",
    ...                 space_keys=["ENG"], attachments=False)               # doctest: +SKIP
    >>> syncer.run().to_dict()["added"]                                      # doctest: +SKIP
    """

    def __init__(
        self,
        confluence: Any,
        store: Any,
        embedder: Any,
        lexical: Any,
        *,
        state_dir: Path,
        chunker: Any = None,
        converter: Any = None,
        space_keys: Sequence[str] | None = None,
        attachments: bool = True,
        progress: Progress | None = None,
        custom_types: Sequence[str] = DEFAULT_CUSTOM_TYPES,
        site_url: str | None = None,
        users: Mapping[str, str] | None = None,
        fetch_workers: int = 4,
        embed_batch: int = 128,
        max_attachment_bytes: int = 20 * 1024 * 1024,
        extract: Callable[..., str | None] | None = None,
        comments: bool = True,
    ) -> None:
        self.conf, self.store, self.embedder, self.lexical = confluence, store, embedder, lexical
        self.state_dir = Path(state_dir)
        if chunker is None:
            from ragconf.index.chunk import Chunker

            chunker = Chunker(embedder.count_tokens)
        if converter is None:
            from ragconf.convert.storage import StorageConverter

            converter = StorageConverter(users)
        self.chunker, self.converter = chunker, converter
        # names given up front win over Confluence's; the rest are looked up each run
        known = getattr(converter, "users", None)
        self._known_users = dict(known) if isinstance(known, Mapping) else None
        self.space_keys = list(space_keys) if space_keys else None
        self.attachments = attachments
        self.progress = progress
        self.custom_types = list(custom_types)
        self.site_url = site_url or getattr(confluence, "origin", None) or site_origin(
            confluence.api_url
        )
        self.fetch_workers = fetch_workers
        self.embed_batch = embed_batch
        self.max_attachment_bytes = max_attachment_bytes
        self.extract = extract
        #: index footer and inline comments (and replies) as documents of their own
        self.comments = comments
        self.seen: set[str] = set()

    # -- one run ----------------------------------------------------------------------------

    def run(self, full: bool = False) -> SyncReport:
        """Sync once. ``full``: re-convert everything (unchanged text is still not re-embedded)."""
        started = time.monotonic()
        requests0 = _requests(self.conf)
        report = SyncReport(full=full, progress=self.progress)
        with SyncLock(self.state_dir):
            state = SyncState(self.state_dir)
            report.resumed = state.interrupted_run() is not None
            spaces, listed_all = self._spaces(report)
            state.begin([s.key for s in spaces], full=full)
            for s in spaces:
                report.spaces[s.id] = SpaceReport(key=s.key, id=s.id, name=s.name)
            scope = None if listed_all else [s.id for s in spaces]
            complete = self._sync_spaces(spaces, scope, full, report, state)
            finishing = time.perf_counter()
            self._delete_gone(scope, listed_all, complete, report)
            self._finish(report, spaces)
            report.stage_seconds["finish"] = time.perf_counter() - finishing
            report.duration_s = time.monotonic() - started
            report.requests = _requests(self.conf) - requests0
            state.finish({k: v for k, v in report.to_dict().items() if k != "warnings"})
        return report

    def _spaces(self, report: SyncReport) -> tuple[list[SpaceInfo], bool]:
        if self.space_keys:
            found = list(self.conf.get_spaces(keys=self.space_keys))
            for key in sorted(set(self.space_keys) - {s.key for s in found}):
                report.warn(f"space {key} was not found or is not visible; nothing in it changed")
            return [SpaceInfo(str(s.id), s.key, s.name or "") for s in found], False
        spaces = list(self.conf.get_spaces())  # a failure here aborts: nothing is deleted
        return [SpaceInfo(str(s.id), s.key, s.name or "") for s in spaces], True

    def _sync_spaces(
        self,
        spaces: list[SpaceInfo],
        scope: list[str] | None,
        full: bool,
        report: SyncReport,
        state: SyncState,
    ) -> dict[tuple[str, str], bool]:
        """Enumerate, classify and feed the pipeline; returns which listings completed."""
        started = time.perf_counter()
        manifest = self.store.manifest(scope)
        mapper = getattr(self.conf, "map_concurrent", None)
        labels = label_map(self.conf, [s.id for s in spaces], mapper) if spaces else {}
        if labels is None:
            report.warn("labels could not be listed; stored labels are kept this run")
        atts: dict[str, list[Any]] | None = None
        atts_ok = False
        if self.attachments:
            atts, atts_ok, problem = list_attachments(self.conf)
            if problem:
                report.warn(f"{problem}; attachment deletions are skipped this run")
        comments: CommentListing | None = None
        if self.comments:
            comments = list_comments(self.conf)
            if comments is not None and comments.problem:
                report.warn(f"{comments.problem}; comment deletions are skipped this run")
        tree = TreeNodes(self.conf)
        extract = self.extract
        if extract is None:
            from ragconf.convert.extract import extract_text

            extract = extract_text
        stages = Stages(
            self.conf, self.store, self.embedder, self.converter, self.chunker, report,
            extract=extract, max_attachment_bytes=self.max_attachment_bytes,
            users=self._user_names(),
        )
        pipeline = Pipeline(
            fetch=stages.fetch, convert=stages.convert, embed=stages.embed, write=stages.write,
            fetch_workers=self.fetch_workers, embed_batch=self.embed_batch,
        )
        complete: dict[tuple[str, str], bool] = {}
        self.seen = set()
        listing_s = 0.0
        custom_types = list(self.custom_types)
        prepare_s = time.perf_counter() - started
        pipeline.start()
        try:
            for space in spaces:
                started = time.perf_counter()
                listing = list_space(
                    self.conf, space, site_url=self.site_url, labels=labels,
                    custom_types=custom_types, attachments=atts, attachments_complete=atts_ok,
                    tree=tree, comments=comments,
                )
                for warning in tree.warnings:
                    report.warn(warning)
                tree.warnings.clear()
                for ctype in listing.unknown_types:  # not installed: don't ask every space
                    custom_types.remove(ctype)
                for warning in listing.warnings:
                    report.warn(warning)
                for kind, ok in listing.complete.items():
                    complete[(space.id, kind)] = ok
                report.documents_seen += len(listing.items)
                self.seen.update(it.key for it in listing.items)
                if self.progress is not None:
                    self.progress("listing", report.documents_seen, None)
                listing_s += time.perf_counter() - started
                self._plan(listing.items, manifest, full, report, pipeline, stages)
                state.space_done(space.key)
        except BaseException as exc:
            pipeline.abort(exc)
            raise
        finally:
            pipeline.close()
            report.stage_seconds = {"prepare": prepare_s, "listing": listing_s, **pipeline.busy}
        return complete

    def _plan(
        self,
        items: list[Item],
        manifest: Mapping[str, Mapping[str, Any]],
        full: bool,
        report: SyncReport,
        pipeline: Pipeline,
        stages: Stages,
    ) -> None:
        """Classify items against the store and submit fetch jobs for those that changed."""
        jobs: dict[tuple[str, str | None], list[Item]] = {}

        def submit(kind: str, ctype: str | None, batch: list[Item]) -> None:
            report.planned(len(batch))
            pipeline.submit(Job(kind, batch, ctype))

        def queue(kind: str, it: Item) -> None:
            key = (kind, it.custom_type)
            jobs.setdefault(key, []).append(it)
            limit = ATTACHMENT_BATCH if kind == "attachment" else BATCH
            if len(jobs[key]) >= limit:
                submit(kind, it.custom_type, jobs.pop(key))

        for start in range(0, len(items), CLASSIFY_BATCH):
            batch = items[start : start + CLASSIFY_BATCH]
            ids = [c for it in batch for c in (manifest.get(it.key) or {}).get("chunk_ids", ())]
            with stages.store_lock:
                metas = {s.id: s.metadata for s in self.store.get(ids)} if ids else {}
            for it in batch:
                action = self._classify(it, manifest.get(it.key), metas, full)
                if action == "unchanged":
                    report.count(it.space.id, "unchanged")
                else:
                    queue("metadata" if action == "metadata" else it.kind, it)
        for (kind, ctype), rest in jobs.items():
            submit(kind, ctype, rest)

    @staticmethod
    def _classify(
        it: Item, entry: Mapping[str, Any] | None, metas: Mapping[str, dict], full: bool
    ) -> str:
        """new | rebuild | metadata | unchanged, from the manifest and stored chunk metadata."""
        if entry is None:
            return "new"
        chunk_ids = list(entry.get("chunk_ids", ()))
        it.old_chunks = {c: str(metas.get(c, {}).get("text_hash", "")) for c in chunk_ids}
        stored = stored_doc(it.kind, it.id, chunk_ids, metas)
        from_map = it.labels_known
        if stored is not None and not from_map:  # no label map: keep the stored labels
            it.meta["labels"] = normalise_labels(stored.metadata.get("labels"))
            it.meta[DOC_HASH] = doc_hash(it.meta)
        if (
            full
            or stored is None  # a crash left it half-written
            or stored.metadata.get("version") != it.meta.get("version")
            or (stored.doc_hash != it.meta[DOC_HASH] and _text_changed(it, stored.metadata))
        ):
            it.labels_known = from_map  # a rebuild asks Confluence for the real labels
            return "rebuild"
        if stored.doc_hash == it.meta[DOC_HASH]:
            return "unchanged"
        return "metadata"  # labels, breadcrumbs, space or parent changed: same text

    def _user_names(self) -> UserNames | None:
        """This run's display-name cache, shared with the converter (None: it has no
        ``users`` mapping to fill, so looking names up would be wasted requests)."""
        if self._known_users is None:
            return None
        names = UserNames(self.conf, self._known_users)
        self.converter.users = names.names
        return names

    # -- deletions and the end of the run -------------------------------------------------

    def _delete_gone(
        self,
        scope: list[str] | None,
        listed_all: bool,
        complete: Mapping[tuple[str, str], bool],
        report: SyncReport,
    ) -> None:
        """Delete documents no complete listing saw any more (re-read: another worker may
        have moved one into its own space meanwhile)."""
        doomed: list[str] = []
        listed = set(report.spaces)
        for key, entry in self.store.manifest(scope).items():
            if key in self.seen:
                continue
            kind = key.split(":", 1)[0]
            space_id = str(entry.get("space_id", ""))
            if space_id in listed:
                if not complete.get((space_id, kind), False):
                    report.spaces[space_id].deletions_skipped = True
                    continue
            elif not listed_all:
                continue  # outside this run's scope
            elif space_id not in report.spaces:  # the space left a listing that succeeded
                report.spaces[space_id] = self._gone_space(space_id, entry)
            doomed += list(entry.get("chunk_ids", ()))
            report.count(space_id, "deleted")
        for start in range(0, len(doomed), 1000):
            self.store.delete(doomed[start : start + 1000])

    def _gone_space(self, space_id: str, entry: Mapping[str, Any]) -> SpaceReport:
        key = f"(space {space_id})"
        ids = list(entry.get("chunk_ids", ()))[:1]
        for s in self.store.get(ids) if ids else ():
            key = str(s.metadata.get("space_key") or key)
        return SpaceReport(key=key, id=space_id, name="(no longer visible)")

    def _finish(self, report: SyncReport, spaces: list[SpaceInfo]) -> None:
        if self.lexical is not None:
            # a run killed after writing chunks but before saving BM25 leaves it stale, and
            # its rerun may find nothing left to change: rebuild after any interrupted run
            stale = report.resumed or len(self.lexical) != self.store.count()
            if report.changed_index or stale:
                self.lexical.rebuild(self.store.iter_all())
                self.lexical.save()
        meta: dict[str, Any] = {}
        stamp = getattr(self.lexical, "stamp", None)
        if stamp:
            # API servers on other hosts reload their BM25 copy when this stamp moves
            meta["lexical_stamp"] = str(stamp)
        try:
            self.store.set_meta(
                **meta,
                last_sync_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                last_sync_spaces=",".join(s.key for s in spaces),
                last_sync_full=report.full,
            )
        except Exception as exc:  # bookkeeping only; the index itself is written
            report.warn(f"could not record last_sync_at ({type(exc).__name__}: {exc})")


#: document fields that appear in the chunk text (the title prefix; an attachment's
#: metadata section): when they change the chunks are rebuilt, with their vectors reused
_TEXT_FIELDS = {
    "attachment": ("title", "media_type", "file_size", "comment", "container_title", "labels"),
    # the heading says whether the thread is resolved; replies show their thread's state
    "comment": ("title", "resolution_status", "selection"),
}


def _text_changed(it: Item, stored: Mapping[str, Any]) -> bool:
    for name in _TEXT_FIELDS.get(it.kind, ("title",)):
        old, new = stored.get(name), it.meta.get(name)
        if name == "labels":
            old, new = normalise_labels(old), normalise_labels(new)
        if old != new:
            return True
    return False


def _requests(conf: Any) -> int:
    stats = getattr(conf, "stats", None) or {}
    return int(stats.get("requests", 0))

"""Incremental, crash-safe sync from Confluence into the vector store (and BM25 beside it).

One run:

1. take the data directory's lock (``state_dir``) and a lease in the store that excludes
   any overlapping sync on the same collection from any host (``_lease``; a second sync
   refuses with ``SyncLockedError``, a dead holder's lock is taken over);
2. list the spaces in scope, the label -> content mapping, the attachments and the
   comments (site-wide listings, see ``_comments``);
3. per space, enumerate content without bodies and plan it against the store's manifest
   and the stored chunk metadata (``_plan``, pure): new / changed (version, or a document
   a crash left half-written) -> fetch, convert, chunk, embed only chunks whose text hash
   is new; label, breadcrumb or move changes -> metadata rewrite with the stored vectors;
   unchanged -> nothing;
4. fetch/convert/embed/write overlap in a bounded pipeline (``_pipeline``); the people
   mentioned in a fetched batch that this run has not met yet are looked up in one bulk
   request, so mentions are indexed as "@Display Name" (``_users``);
5. delete what is gone - only in spaces whose enumeration finished, and spaces that
   disappeared only when the space listing itself succeeded; a kind the run does not
   index (attachments off, no custom types) is deleted as listed-empty;
6. rebuild the lexical index if anything changed, record ``last_sync_at`` and the
   lexical stamp in the store (a failure there fails the run: API servers on other hosts
   rely on that stamp to reload).

Truth lives in the store (chunk metadata), so a rerun after ``kill -9`` converges to
exactly the index a clean sync builds, on this machine or another.

>>> syncer = Syncer(conf, store, embedder, bm25, state_dir=data_dir / "sync")  # doctest: +SKIP
>>> report = syncer.run()                                                       # doctest: +SKIP
>>> report.to_dict()["chunks_embedded"]                                         # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ragconf.index.types import Embedder, LexicalIndex, ManifestEntry, Metadata
from ragconf.sync._comments import CommentListing, list_comments
from ragconf.sync._documents import Item, SpaceInfo
from ragconf.sync._enumerate import AttachmentMap, label_map, list_attachments, list_space
from ragconf.sync._lease import StoreLease
from ragconf.sync._lexical import LexicalSync
from ragconf.sync._pipeline import Pipeline
from ragconf.sync._plan import Change, Step, plan_deletions, plan_items
from ragconf.sync._report import Outcome, Progress, SpaceReport, SyncReport
from ragconf.sync._space_keys import unknown_spaces_error
from ragconf.sync._state import SyncLock, SyncState
from ragconf.sync._tree import TreeNodes
from ragconf.sync._users import UserNames
from ragconf.sync._work import Fetched, Job, JobKind, Stages
from ragconf.sync.protocols import (
    ContentSource,
    Converter,
    DocumentChunker,
    Extract,
    SyncStore,
)

__all__ = ["DEFAULT_CUSTOM_TYPES", "SpaceReport", "SyncReport", "Syncer"]

log = logging.getLogger("ragconf.sync")

#: custom content types indexed by default (the demo's calendar type has a storage body)
DEFAULT_CUSTOM_TYPES: tuple[str, ...] = ("ac:com.atlassian.confluence.plugins.calendar:calendar",)
BATCH = 250  # ids per body request: the API's maximum
ATTACHMENT_BATCH = 16  # downloads per job: bounds the bytes held in the queues
CLASSIFY_BATCH = 500  # stored chunk metadata read per store call


@dataclass
class _Listed:
    """What the listings of one run found: keys seen and which listings completed."""

    seen: set[str] = field(default_factory=set)
    #: (space id, kind) -> whether that listing ran to the end
    complete: dict[tuple[str, str], bool] = field(default_factory=dict)


class Syncer:
    """Keep the index in step with Confluence; see the module docstring for one run.

    >>> from ragconf.index.embed import HashEmbedder                          # doctest: +SKIP
    >>> syncer = Syncer(conf, store, HashEmbedder(), None, state_dir=tmp / "sync",
    ...                 space_keys=["ENG"], attachments=False)               # doctest: +SKIP
    >>> syncer.run().to_dict()["added"]                                      # doctest: +SKIP

    ``users``: display names known up front (account id -> name); they win over
    Confluence's, and the rest are looked up during the run when the converter declares
    ``uses_user_names``. ``lease_ttl_s``: how long the store lease outlives its holder.
    """

    def __init__(
        self,
        confluence: ContentSource,
        store: SyncStore,
        embedder: Embedder,
        lexical: LexicalIndex | None,
        *,
        state_dir: Path,
        chunker: DocumentChunker | None = None,
        converter: Converter | None = None,
        space_keys: Sequence[str] | None = None,
        attachments: bool = True,
        progress: Progress | None = None,
        custom_types: Sequence[str] = DEFAULT_CUSTOM_TYPES,
        site_url: str | None = None,
        users: Mapping[str, str] | None = None,
        fetch_workers: int = 4,
        embed_batch: int = 128,
        max_attachment_bytes: int = 20 * 1024 * 1024,
        extract: Extract | None = None,
        lease_ttl_s: float = 60.0,
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
        self.chunker: DocumentChunker = chunker
        self.converter: Converter = converter
        self.users = dict(users or {})
        self.space_keys = list(space_keys) if space_keys else None
        self.attachments = attachments
        self.progress = progress
        self.custom_types = list(custom_types)
        self.site_url = site_url or confluence.origin
        self.fetch_workers = fetch_workers
        self.embed_batch = embed_batch
        self.max_attachment_bytes = max_attachment_bytes
        self.extract = extract
        self.lease_ttl_s = lease_ttl_s
        #: index footer and inline comments (and replies) as documents of their own
        self.comments = comments
        self.seen: set[str] = set()
        self._lex = LexicalSync(lexical, store)

    # -- one run ----------------------------------------------------------------------------

    def run(self, full: bool = False) -> SyncReport:
        """Sync once. ``full``: re-convert everything (unchanged text is still not re-embedded)."""
        started = time.monotonic()
        requests0 = _requests(self.conf)
        report = SyncReport(full=full, progress=self.progress)
        with SyncLock(self.state_dir), StoreLease(
            self.store, self.space_keys, ttl_s=self.lease_ttl_s
        ) as lease:
            state = SyncState(self.state_dir)
            report.resumed = state.interrupted_run() is not None
            self._lex = LexicalSync(self.lexical, self.store)
            self._lex.prepare(report.resumed)
            spaces, listed_all = self._spaces(report)
            state.begin([s.key for s in spaces], full=full)
            for s in spaces:
                report.spaces[s.id] = SpaceReport(key=s.key, id=s.id, name=s.name)
            scope = None if listed_all else [s.id for s in spaces]
            with self._lex.run_batch():  # the lexical changes commit together, at the end
                listed = self._sync_spaces(spaces, scope, full, report, state, lease)
                finishing = time.perf_counter()
                lease.check()  # nothing is deleted or published by a sync that lost its lease
                self._delete_gone(scope, listed_all, listed, report)
            self._finish(report, spaces)
            report.stage_seconds["finish"] = time.perf_counter() - finishing
            report.duration_s = time.monotonic() - started
            report.requests = _requests(self.conf) - requests0
            state.finish({k: v for k, v in report.to_dict().items() if k != "warnings"})
        return report

    def _spaces(self, report: SyncReport) -> tuple[list[SpaceInfo], bool]:
        if self.space_keys:
            found = list(self.conf.get_spaces(keys=self.space_keys))
            missing = sorted(set(self.space_keys) - {s.key for s in found})
            if missing:  # a typo must not sync nothing, forever, with exit 0
                visible = [s.key for s in self.conf.get_spaces()]
                raise unknown_spaces_error(missing, visible)
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
        lease: StoreLease,
    ) -> _Listed:
        """Enumerate, plan and feed the pipeline; returns what the listings saw."""
        started = time.perf_counter()
        manifest = self._lex.manifest(scope)
        labels = label_map(self.conf, [s.id for s in spaces]) if spaces else {}
        if labels is None:
            report.warn("labels could not be listed; stored labels are kept this run")
            report.listing_failed("labels", "the label listing failed after retries")
        atts: AttachmentMap | None = None
        atts_ok = False
        if self.attachments:
            atts, atts_ok, problem = list_attachments(self.conf)
            if problem:
                report.warn(f"{problem}; attachment deletions are skipped this run")
                report.listing_failed("attachments", problem)
        # comments off: listed as complete and empty, so indexed ones are removed (as with
        # attachments off; the index follows the run's configuration)
        comments = CommentListing()
        if self.comments:
            comments = list_comments(self.conf)
            if comments.problem:
                report.warn(f"{comments.problem}; comment deletions are skipped this run")
                report.listing_failed("comments", comments.problem)
        tree = TreeNodes(self.conf)
        extract = self.extract
        if extract is None:
            from ragconf.convert.extract import extract_text

            extract = extract_text
        stages = Stages(
            self.conf, self.store, self.embedder, self.converter, self.chunker, report,
            extract=extract, max_attachment_bytes=self.max_attachment_bytes,
            users=self._user_names(), lexical=self._lex,
        )
        pipeline: Pipeline[Job, Fetched] = Pipeline(
            fetch=stages.fetch, convert=stages.convert, embed=stages.embed, write=stages.write,
            fetch_workers=self.fetch_workers, embed_batch=self.embed_batch,
        )
        listed = _Listed()
        self.seen = listed.seen
        listing_s = 0.0
        custom_types = list(self.custom_types)
        prepare_s = time.perf_counter() - started
        pipeline.start()
        try:
            for space in spaces:
                lease.check()
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
                for failure in listing.failures:  # the run fails: the index is going stale
                    report.listing_failed(**failure)
                for kind, ok in listing.complete.items():
                    listed.complete[(space.id, kind)] = ok
                report.documents_seen += len(listing.items)
                listed.seen.update(it.key for it in listing.items)
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
        return listed

    def _plan(
        self,
        items: list[Item],
        manifest: Mapping[str, ManifestEntry],
        full: bool,
        report: SyncReport,
        pipeline: Pipeline[Job, Fetched],
        stages: Stages,
    ) -> None:
        """Plan items against the store (``_plan``) and submit jobs for those that changed."""
        jobs: dict[tuple[JobKind, str | None], list[Step]] = {}

        def submit(kind: JobKind, ctype: str | None, steps: list[Step]) -> None:
            report.planned(len(steps))
            pipeline.submit(Job(kind, tuple(steps), ctype))

        def queue(kind: JobKind, step: Step) -> None:
            key = (kind, step.item.custom_type)
            jobs.setdefault(key, []).append(step)
            limit = ATTACHMENT_BATCH if kind == "attachment" else BATCH
            if len(jobs[key]) >= limit:
                submit(kind, step.item.custom_type, jobs.pop(key))

        for start in range(0, len(items), CLASSIFY_BATCH):
            batch = items[start : start + CLASSIFY_BATCH]
            ids = [c for it in batch for c in manifest.get(it.key, {}).get("chunk_ids", ())]
            with stages.store_lock:
                metas = self._lex.metadata(ids)
            for step in plan_items(batch, manifest, metas, full=full):
                if step.change is Change.UNCHANGED:
                    report.count(step.item.space.id, Outcome.UNCHANGED)
                elif step.change is Change.METADATA:
                    queue("metadata", step)
                else:
                    queue(step.item.kind, step)
        for (kind, ctype), rest in jobs.items():
            submit(kind, ctype, rest)

    def _user_names(self) -> UserNames | None:
        """This run's display-name lookups (None: the converter renders no names, so
        looking them up would be wasted requests)."""
        if not self.converter.uses_user_names:
            return None
        return UserNames(self.conf, self.users)

    # -- deletions and the end of the run -------------------------------------------------

    def _delete_gone(
        self,
        scope: list[str] | None,
        listed_all: bool,
        listed: _Listed,
        report: SyncReport,
    ) -> None:
        """Delete documents no complete listing saw any more (the manifest is re-read:
        another worker may have moved one into its own space meanwhile)."""
        plan = plan_deletions(
            self._lex.manifest(scope), seen=listed.seen, complete=listed.complete,
            listed=set(report.spaces), listed_all=listed_all,
        )
        for space_id in plan.skipped:
            report.spaces[space_id].deletions_skipped = True
        # a manifest read from the lexical index may name documents another worker has
        # moved out of this run's spaces in the store meanwhile: those stay
        there = set(self._lex.still_there(None if listed_all else scope, list(plan.chunk_ids)))
        doomed: list[str] = []
        for d in plan.deletions:
            if not there.intersection(d.chunk_ids):
                continue
            if d.space_id not in report.spaces:  # the space left a listing that succeeded
                report.spaces[d.space_id] = self._gone_space(d.space_id, d.chunk_ids)
            report.count(d.space_id, Outcome.DELETED)
            doomed += list(d.chunk_ids)
        for start in range(0, len(doomed), 1000):
            self.store.delete(doomed[start : start + 1000])
            self._lex.delete(doomed[start : start + 1000])

    def _gone_space(self, space_id: str, chunk_ids: Sequence[str]) -> SpaceReport:
        key = f"(space {space_id})"
        for s in self.store.get(list(chunk_ids[:1])) if chunk_ids else ():
            key = str(s.metadata.get("space_key") or key)
        return SpaceReport(key=key, id=space_id, name="(no longer visible)")

    def _finish(self, report: SyncReport, spaces: list[SpaceInfo]) -> None:
        meta: Metadata = {}
        if self.lexical is not None and not self._lex.incremental:
            # a run killed after writing chunks but before saving BM25 leaves it stale, and
            # its rerun may find nothing left to change: rebuild after any interrupted run
            stale = report.resumed or len(self.lexical) != self.store.count()
            if report.changed_index or stale:
                self.lexical.rebuild(self.store.iter_all())
                self.lexical.save()
        if self.lexical is not None and self.lexical.stamp:
            # API servers on other hosts reload their BM25 copy when this stamp moves
            meta["lexical_stamp"] = str(self.lexical.stamp)
        # not bookkeeping only: the stamp is how other hosts learn of this run's BM25, so
        # a failure here fails the run (StoreError) and the next run records it again
        self.store.set_meta(
            **meta,
            last_sync_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            last_sync_spaces=",".join(s.key for s in spaces),
            last_sync_full=report.full,
        )


def _requests(conf: ContentSource) -> int:
    return int(conf.stats.get("requests", 0))

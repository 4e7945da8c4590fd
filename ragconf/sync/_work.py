"""The four pipeline stage functions of a sync: fetch, convert+chunk, embed, write.

Each records per-document failures in the report and carries on; only a bug escapes
(and aborts the pipeline). Vectors are reused whenever a chunk's ``text_hash`` matches
one the document already had, so an edit re-embeds only the chunks whose text changed
and a title, label or move change embeds nothing.

Write order per document: its new chunks are upserted, then the chunk ids the new
version no longer has are deleted. Searches during a sync therefore see the old or the
new document, never neither; and a crash in between leaves chunks that disagree on
``doc_hash``/``chunk_count``, which the next run detects and rewrites.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragconf.confluence import AttachmentTooLargeError
from ragconf.errors import BadResponseError, ConfluenceError, NotFoundError
from ragconf.index.types import Chunk
from ragconf.sync._comments import COMMENT, COMMENT_KEYS, anchor_chunks, comment_document
from ragconf.sync._documents import (
    DOC_HASH,
    PENDING,
    Item,
    attachment_document,
    body_document,
    doc_hash,
    finalize_chunks,
    normalise_labels,
)
from ragconf.sync._pipeline import DocWork
from ragconf.sync._report import SyncReport
from ragconf.sync._users import UserNames

__all__ = ["DOC_KEYS", "Fetched", "Job", "Stages", "extractable"]

log = logging.getLogger("ragconf.sync")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT_TYPES = {"text/plain", "text/markdown", "text/x-markdown", "text/csv", "application/pdf", DOCX}
TEXT_EXTS = (".txt", ".md", ".markdown", ".csv", ".pdf", ".docx")
#: the document-level keys item_metadata() may set; a metadata update replaces all of them
DOC_KEYS = frozenset({
    "content_id", "content_type", "title", "url", "space_id", "space_key", "space_name",
    "labels", "parent_id", "ancestors", "breadcrumbs", "author_id", "version", "created_at",
    "updated_at", "updated_at_ts", "status", "media_type", "file_size", "comment",
    "container_title", "custom_type", DOC_HASH, *COMMENT_KEYS,
})


def extractable(att: Any) -> bool:
    """Whether an attachment's bytes are worth downloading (text we can extract)."""
    media = (att.media_type or "").split(";")[0].strip().lower()
    return media in TEXT_TYPES or (att.title or "").lower().endswith(TEXT_EXTS)


@dataclass
class Job:
    """Up to 250 items of one kind; ``kind`` "metadata" means: rewrite metadata only."""

    kind: str
    items: list[Item]
    custom_type: str | None = None


@dataclass
class Fetched:
    job: Job
    bodies: dict[str, str | None] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    #: item key -> text_hash -> stored vector (reuse)
    vectors: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: item key -> stored chunks of its previous version (metadata jobs: without vectors)
    stored: dict[str, list[Any]] = field(default_factory=dict)
    failed: dict[str, BaseException] = field(default_factory=dict)


class Stages:
    """Holds what the stages share; its bound methods are handed to the Pipeline."""

    def __init__(
        self,
        conf: Any,
        store: Any,
        embedder: Any,
        converter: Any,
        chunker: Any,
        report: SyncReport,
        *,
        extract: Callable[..., str | None],
        max_attachment_bytes: int,
        users: UserNames | None = None,
    ) -> None:
        self.conf, self.store, self.embedder = conf, store, embedder
        self.converter, self.chunker, self.report = converter, chunker, report
        self.extract = extract
        self.max_attachment_bytes = max_attachment_bytes
        self.users = users  # fills the converter's display names, batch by batch
        # one store call at a time: the writer and the fetchers share the client
        self.store_lock = threading.Lock()

    # -- fetch ------------------------------------------------------------------------------

    def fetch(self, job: Job) -> Fetched:
        out = Fetched(job)
        metadata_only = job.kind == "metadata"
        if not metadata_only:
            self._fetch_labels(job, out)
            if job.kind == "attachment":
                self._download(job, out)
            elif job.kind == COMMENT:
                self._comment_bodies(job, out)
            else:
                self._bodies(job, out)
                if self.users is not None:  # before this batch is converted
                    self.users.resolve(out.bodies.values(), self.report.warn)
        ids = [cid for it in job.items if it.key not in out.failed for cid in it.old_chunks]
        stored = self._stored(ids, out, job.items, vectors=not metadata_only) if ids else {}
        for it in job.items:
            out.stored[it.key] = [stored[c] for c in it.old_chunks if c in stored]
            out.vectors[it.key] = {
                str(s.metadata.get("text_hash")): s.embedding
                for s in out.stored[it.key]
                if s.embedding is not None
            }
        return out

    def _stored(
        self, ids: list[str], out: Fetched, items: list[Item], *, vectors: bool
    ) -> dict[str, Any]:
        try:
            with self.store_lock:
                return {s.id: s for s in self.store.get(ids, include_embeddings=vectors)}
        except Exception as exc:  # the store is down: these documents wait for the next run
            for it in items:
                out.failed.setdefault(it.key, exc)
            return {}

    def _bodies(self, job: Job, out: Fetched) -> None:
        todo = [it for it in job.items if it.key not in out.failed]
        self._bodies_of(job, todo, out)

    def _bodies_of(self, job: Job, items: list[Item], out: Fetched) -> None:
        """Bodies of up to 250 items in one request.

        A response Confluence garbles (truncated, not JSON) is retried in halves, so one
        poisonous page fails alone instead of taking 249 others with it; an outage (5xx,
        429, network, after the client's retries) fails the batch as it is.
        """
        ids = [it.id for it in items]
        try:
            if job.kind == "page":
                objs: Any = self.conf.get_pages(ids=ids, body_format="storage")
            elif job.kind == "blogpost":
                objs = self.conf.get_blog_posts(ids=ids, body_format="storage")
            else:
                objs = self.conf.get_custom_content(
                    job.custom_type, ids=ids, body_format="storage"
                )
            for obj in objs:
                out.bodies[str(obj.id)] = obj.body.storage_value
        except BadResponseError as exc:
            rest = [it for it in items if it.id not in out.bodies]
            if len(rest) > 1:
                half = len(rest) // 2
                self._bodies_of(job, rest[:half], out)
                self._bodies_of(job, rest[half:], out)
            else:
                for it in rest:
                    out.failed.setdefault(it.key, exc)
        except ConfluenceError as exc:
            for it in items:
                if it.id not in out.bodies:
                    out.failed.setdefault(it.key, exc)

    def _comment_bodies(self, job: Job, out: Fetched) -> None:
        """Comment bodies came with the listing; only their authors' names are looked up."""
        for it in job.items:
            out.bodies[it.id] = it.obj.body.storage_value or ""
        if self.users is not None:
            authors = {str(it.meta.get("author_id") or "") for it in job.items}
            self.users.resolve_ids(authors, self.report.warn)
            self.users.resolve(out.bodies.values(), self.report.warn)

    def _fetch_labels(self, job: Job, out: Fetched) -> None:
        """Items whose labels the label map could not tell get them one request each."""
        routes = {
            "page": self.conf.get_labels_by_page,
            "blogpost": self.conf.get_labels_by_blog_post,
            "attachment": self.conf.get_labels_by_attachment,
        }
        for it in job.items:
            if it.labels_known or it.kind not in routes:
                continue
            try:
                names = [label.name for label in routes[it.kind](it.id)]
            except ConfluenceError as exc:
                out.failed[it.key] = exc
                continue
            it.meta["labels"] = normalise_labels(names)
            it.meta[DOC_HASH] = doc_hash(it.meta)
            it.labels_known = True

    def _download(self, job: Job, out: Fetched) -> None:
        cap = self.max_attachment_bytes
        for it in job.items:
            att = it.obj
            if it.key in out.failed or not extractable(att):
                continue
            if att.file_size == 0:
                out.notes[it.key] = "zero-byte file: indexed by its metadata only"
                continue
            if att.file_size is not None and att.file_size > cap:
                out.notes[it.key] = _too_large(cap)
                continue
            try:
                data = self.conf.download_attachment(att, max_bytes=cap)
            except AttachmentTooLargeError:
                out.notes[it.key] = _too_large(cap)
                continue
            except NotFoundError:
                out.notes[it.key] = "download answered 404: indexed by its metadata only"
                continue
            except ConfluenceError as exc:
                out.failed[it.key] = exc
                continue
            if not data:
                out.notes[it.key] = "zero-byte file: indexed by its metadata only"
            else:
                out.data[it.key] = data

    # -- convert + chunk --------------------------------------------------------------------

    def convert(self, fetched: Fetched) -> list[DocWork]:
        docs: list[DocWork] = []
        planned_chunks = 0
        for it in fetched.job.items:
            if it.key in fetched.failed:
                self.report.fail(it, fetched.failed[it.key])
                continue
            try:
                work = self._convert_one(it, fetched)
            except Exception as exc:  # a bad document never stops the run
                log.debug("conversion of %s failed", it.key, exc_info=True)
                self.report.fail(it, exc)
                continue
            if work is not None:
                docs.append(work)
                planned_chunks += len(work.pending)
        if planned_chunks:
            self.report.planned(0, planned_chunks)
        return docs

    def _convert_one(self, it: Item, fetched: Fetched) -> DocWork | None:
        action = "updated" if it.old_chunks else "added"
        if fetched.job.kind == "metadata":
            return self._metadata_work(it, fetched.stored.get(it.key, []))
        if it.kind == "attachment":
            text = None
            data = fetched.data.get(it.key)
            if data is not None:
                try:
                    text = self.extract(data, it.obj.media_type or "", it.obj.title or "")
                except Exception as exc:
                    fetched.notes[it.key] = f"text extraction failed ({type(exc).__name__}: {exc})"
            if it.key in fetched.notes:
                self.report.warn(fetched.notes[it.key], it)
            doc = attachment_document(it, text)
        elif it.kind == COMMENT:
            names = self.users.names if self.users is not None else {}
            doc = comment_document(it, fetched.bodies.get(it.id) or "", self.converter, names)
        else:
            if it.id not in fetched.bodies:
                self.report.warn("gone before its body was fetched; left for the next run", it)
                self.report.done(it, "unchanged")
                return None
            doc = body_document(it, fetched.bodies[it.id] or "", self.converter)
        chunks = finalize_chunks(doc, self.chunker.chunk(doc))
        if it.kind == COMMENT:
            chunks = anchor_chunks(chunks)
        reuse = fetched.vectors.get(it.key, {})
        vectors = [reuse.get(str(c.metadata.get("text_hash"))) for c in chunks]
        new_ids = {c.id for c in chunks}
        stale = [cid for cid in it.old_chunks if cid not in new_ids]
        reused = sum(v is not None for v in vectors)
        work = DocWork(it, chunks, vectors, stale_ids=stale, action=action, reused=reused)
        work.removed = _removed_keys(fetched.stored.get(it.key, []), chunks)
        return work

    def _metadata_work(self, it: Item, stored: list[Any]) -> DocWork:
        """Same texts and vectors, new document-level metadata (labels, title, place, …)."""
        chunks = []
        for s in stored:
            meta = {k: v for k, v in s.metadata.items() if k not in DOC_KEYS}
            old_url, anchor = str(s.metadata.get("url", "")), str(meta.get("anchor_url", ""))
            meta.update(it.meta)
            if anchor.startswith(old_url):  # the fragment stays, the page URL may have moved
                meta["anchor_url"] = str(it.meta.get("url", "")) + anchor[len(old_url):]
            chunks.append(Chunk(id=s.id, text=s.text, metadata=meta))
        work = DocWork(it, chunks, [], action="metadata", reused=len(chunks))
        work.removed = _removed_keys(stored, chunks)
        return work

    # -- embed ------------------------------------------------------------------------------

    def embed(self, docs: list[DocWork]) -> list[DocWork]:
        texts = [d.chunks[i].text for d in docs for i in d.pending]
        try:
            vecs = self.embedder.embed_documents(texts)
        except Exception as exc:
            if len(docs) == 1:
                self.report.fail(docs[0].item, f"embedding failed ({type(exc).__name__}: {exc})")
                return []
            # isolate the document that breaks the batch; the others still get embedded
            return [d for one in docs for d in self.embed([one])]
        k = 0
        for d in docs:
            for i in d.pending:
                d.vectors[i] = np.asarray(vecs[k], dtype=np.float32)
                k += 1
        self.report.embedded(len(texts))
        return docs

    # -- write ------------------------------------------------------------------------------

    def write(self, docs: list[DocWork]) -> None:
        try:
            self._write(docs)
        except Exception as exc:
            if len(docs) == 1:
                self.report.fail(docs[0].item, exc)
                return
            for d in docs:  # find the one the store refuses; write the rest
                self.write([d])
            return
        for d in docs:
            self.report.done(d.item, d.action, reused=d.reused)

    def _write(self, docs: list[DocWork]) -> None:
        """Upsert new chunks, fix up metadata keys the new version dropped, delete stale ids.

        Chroma merges metadata on upsert, so a key the new version no longer has (labels
        removed, page moved to the root) must be deleted explicitly. Those chunks are
        upserted with a placeholder ``doc_hash`` that only the follow-up update replaces:
        a crash in between leaves the document visibly inconsistent, and it is redone.
        """
        body = [d for d in docs if d.action != "metadata"]
        chunks: list[Chunk] = []
        fix_ids: list[str] = []
        fixes: list[dict[str, Any]] = []
        for d in body:
            for c in d.chunks:
                gone = d.removed.get(c.id)
                if gone:
                    chunks.append(Chunk(c.id, c.text, {**c.metadata, DOC_HASH: PENDING}))
                    fix_ids.append(c.id)
                    fixes.append({**dict.fromkeys(gone), DOC_HASH: c.metadata[DOC_HASH]})
                else:
                    chunks.append(c)
        stale = [cid for d in body for cid in d.stale_ids]
        meta_ids = [c.id for d in docs if d.action == "metadata" for c in d.chunks]
        metas = [
            {**dict.fromkeys(d.removed.get(c.id, ())), **c.metadata}
            for d in docs
            if d.action == "metadata"
            for c in d.chunks
        ]
        with self.store_lock:
            if chunks:
                vectors = [np.asarray(v, dtype=np.float32) for d in body for v in d.vectors]
                self.store.upsert(chunks, np.vstack(vectors))  # new chunks first ...
            if fix_ids:
                self.store.update_metadata(fix_ids, fixes)
            if stale:
                self.store.delete(stale)  # ... then the ones the new version no longer has
            if meta_ids:
                self.store.update_metadata(meta_ids, metas)


def _too_large(cap: int) -> str:
    return f"larger than the {cap:,} byte cap: indexed by its metadata only"


def _removed_keys(old: list[Any], new: list[Chunk]) -> dict[str, list[str]]:
    """chunk id -> metadata keys its stored version has and the new one must lose."""
    old_keys = {s.id: set(s.metadata) for s in old}
    out: dict[str, list[str]] = {}
    for c in new:
        kept = {k for k, v in c.metadata.items() if v is not None and v != [] and v != ()}
        gone = sorted(old_keys.get(c.id, set()) - kept)
        if gone:
            out[c.id] = gone
    return out

"""The four pipeline stage functions of a sync: fetch, convert+chunk, embed, write.

Each records a document's *expected* failures in the report and carries on: Confluence
errors (after the client's retries), markup the converter rejects (``ConversionError``),
a file over the size cap (indexed by its metadata), a store or embedding error on that
document's data (``StoreError``, ``EmbeddingError``). Anything else is a bug: it aborts the
pipeline and the run fails loudly. Vectors are reused whenever a chunk's ``text_hash`` matches
one the document already had, so an edit re-embeds only the chunks whose text changed
and a title, label or move change embeds nothing.

The write order per document (new chunks first, then the stale ids) is ``_write``'s.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from ragconf.confluence import AttachmentTooLargeError
from ragconf.confluence._models_more import Comment
from ragconf.confluence.models import Attachment, BlogPost, CustomContent, Page
from ragconf.errors import (
    BadResponseError,
    ConfluenceError,
    ConversionError,
    EmbeddingError,
    NotFoundError,
    StoreError,
)
from ragconf.index.keys import normalise_labels
from ragconf.index.types import (
    Chunk,
    ContentType,
    Embedder,
    StoredChunk,
    Vector,
    VectorStore,
)
from ragconf.sync._comments import COMMENT, anchor_chunks, comment_document
from ragconf.sync._documents import (
    DOC_HASH,
    DOC_KEYS,
    Item,
    attachment_document,
    body_document,
    doc_hash,
    finalize_chunks,
)
from ragconf.sync._lexical import LexicalSync
from ragconf.sync._pipeline import DocWork
from ragconf.sync._plan import Step
from ragconf.sync._report import Outcome, SyncReport
from ragconf.sync._users import UserNames
from ragconf.sync._write import removed_keys, store_docs
from ragconf.sync.protocols import ContentSource, Converter, DocumentChunker, Extract

__all__ = ["DOC_KEYS", "Fetched", "Job", "JobKind", "Stages", "extractable"]

log = logging.getLogger("ragconf.sync")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT_TYPES = {"text/plain", "text/markdown", "text/x-markdown", "text/csv", "application/pdf", DOCX}
TEXT_EXTS = (".txt", ".md", ".markdown", ".csv", ".pdf", ".docx")

#: a job fetches bodies of one content type, or ("metadata") rewrites metadata only
JobKind = ContentType | Literal["metadata"]


def extractable(att: Attachment) -> bool:
    """Whether an attachment's bytes are worth downloading (text we can extract)."""
    media = (att.media_type or "").split(";")[0].strip().lower()
    return media in TEXT_TYPES or (att.title or "").lower().endswith(TEXT_EXTS)


@dataclass(frozen=True)
class Job:
    """Up to 250 planned documents of one kind."""

    kind: JobKind
    steps: tuple[Step, ...]
    custom_type: str | None = None


@dataclass
class Fetched:
    """What the fetch stage hands the converter (written by one fetch thread only)."""

    job: Job
    #: item key -> the item with its labels filled in (when they had to be fetched)
    items: dict[str, Item] = field(default_factory=dict)
    bodies: dict[str, str | None] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    #: display names of the people this batch's bodies mention (the converter's ``users``)
    names: dict[str, str] = field(default_factory=dict)
    #: item key -> text_hash -> stored vector (reuse)
    vectors: dict[str, dict[str, Vector]] = field(default_factory=dict)
    #: item key -> stored chunks of its previous version (metadata jobs: without vectors)
    stored: dict[str, list[StoredChunk]] = field(default_factory=dict)
    failed: dict[str, BaseException] = field(default_factory=dict)

    def item(self, step: Step) -> Item:
        return self.items.get(step.item.key, step.item)


class Stages:
    """Holds what the stages share; its bound methods are handed to the Pipeline."""

    def __init__(
        self,
        conf: ContentSource,
        store: VectorStore,
        embedder: Embedder,
        converter: Converter,
        chunker: DocumentChunker,
        report: SyncReport,
        *,
        extract: Extract,
        max_attachment_bytes: int,
        users: UserNames | None = None,
        lexical: LexicalSync | None = None,
    ) -> None:
        self.conf, self.store, self.embedder = conf, store, embedder
        self.converter, self.chunker, self.report = converter, chunker, report
        self.extract = extract
        self.max_attachment_bytes = max_attachment_bytes
        self.users = users  # looks up the display names each batch mentions
        self.lexical = lexical  # the run's lexical batch (sync._lexical.LexicalSync)
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
                    out.names = self.users.resolve(out.bodies.values(), self.report.warn)
        live = [st for st in job.steps if st.item.key not in out.failed]
        ids = [cid for st in live for cid in st.old_ids]
        stored = self._stored(ids, out, job.steps, vectors=not metadata_only) if ids else {}
        for st in job.steps:
            key = st.item.key
            out.stored[key] = [stored[c] for c in st.old_ids if c in stored]
            out.vectors[key] = {
                str(s.metadata.get("text_hash")): s.embedding
                for s in out.stored[key]
                if s.embedding is not None
            }
        return out

    def _stored(
        self, ids: list[str], out: Fetched, steps: Iterable[Step], *, vectors: bool
    ) -> dict[str, StoredChunk]:
        try:
            with self.store_lock:
                return {s.id: s for s in self.store.get(ids, include_embeddings=vectors)}
        except StoreError as exc:  # the store failed: these documents wait for the next run
            for st in steps:
                out.failed.setdefault(st.item.key, exc)
            return {}

    def _bodies(self, job: Job, out: Fetched) -> None:
        todo = [st.item for st in job.steps if st.item.key not in out.failed]
        self._bodies_of(job, todo, out)

    def _bodies_of(self, job: Job, items: list[Item], out: Fetched) -> None:
        """Bodies of up to 250 items in one request.

        A response Confluence garbles (truncated, not JSON) is retried in halves, so one
        poisonous page fails alone instead of taking 249 others with it; an outage (5xx,
        429, network, after the client's retries) fails the batch as it is.
        """
        ids = [it.id for it in items]
        try:
            objs: Iterable[Page | BlogPost | CustomContent]
            if job.kind == "page":
                objs = self.conf.get_pages(ids=ids, body_format="storage")
            elif job.kind == "blogpost":
                objs = self.conf.get_blog_posts(ids=ids, body_format="storage")
            else:
                objs = self.conf.get_custom_content(
                    str(job.custom_type), ids=ids, body_format="storage"
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
        items = [st.item for st in job.steps]
        for it in items:
            if isinstance(it.obj, Comment):
                out.bodies[it.id] = it.obj.body.storage_value or ""
        if self.users is not None:
            authors = {str(it.meta.get("author_id") or "") for it in items}
            # the heading names the author; the body may mention others
            out.names = {
                **self.users.resolve_ids(authors, self.report.warn),
                **self.users.resolve(out.bodies.values(), self.report.warn),
            }

    def _fetch_labels(self, job: Job, out: Fetched) -> None:
        """Items whose labels the label map could not tell get them one request each."""
        routes = {
            "page": self.conf.get_labels_by_page,
            "blogpost": self.conf.get_labels_by_blog_post,
            "attachment": self.conf.get_labels_by_attachment,
        }
        for st in job.steps:
            it = st.item
            if it.labels_known or it.kind not in routes:
                continue
            try:
                names = [label.name for label in routes[it.kind](it.id)]
            except ConfluenceError as exc:
                out.failed[it.key] = exc
                continue
            meta = {**it.meta, "labels": normalise_labels(names)}
            meta[DOC_HASH] = doc_hash(meta)
            out.items[it.key] = replace(it, meta=meta, labels_known=True)

    def _download(self, job: Job, out: Fetched) -> None:
        cap = self.max_attachment_bytes
        for st in job.steps:
            it, att = st.item, st.item.obj
            if not isinstance(att, Attachment) or it.key in out.failed or not extractable(att):
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
        for st in fetched.job.steps:
            it = fetched.item(st)
            if it.key in fetched.failed:
                self.report.fail(it, fetched.failed[it.key])
                continue
            try:
                work = self._convert_one(st, it, fetched)
            except ConversionError as exc:  # markup the converter rejects: this one fails
                log.debug("conversion of %s failed", it.key, exc_info=True)
                self.report.fail(it, exc)
                continue
            if work is not None:
                docs.append(work)
                planned_chunks += len(work.pending)
        if planned_chunks:
            self.report.planned(0, planned_chunks)
        return docs

    def _convert_one(self, st: Step, it: Item, fetched: Fetched) -> DocWork | None:
        action: Literal[Outcome.ADDED, Outcome.UPDATED] = (
            Outcome.UPDATED if st.old_chunks else Outcome.ADDED
        )
        if fetched.job.kind == "metadata":
            return self._metadata_work(it, fetched.stored.get(it.key, []))
        if isinstance(it.obj, Attachment):
            text = None
            data = fetched.data.get(it.key)
            if data is not None:
                try:
                    text = self.extract(data, it.obj.media_type or "", it.obj.title or "")
                except ConversionError as exc:  # extract_text itself never raises
                    fetched.notes[it.key] = f"text extraction failed ({type(exc).__name__}: {exc})"
            if it.key in fetched.notes:
                self.report.warn(fetched.notes[it.key], it)
            doc = attachment_document(it, text)
        elif it.kind == COMMENT:
            body = fetched.bodies.get(it.id) or ""
            doc = comment_document(it, body, self.converter, fetched.names)
        else:
            if it.id not in fetched.bodies:
                self.report.warn("gone before its body was fetched; left for the next run", it)
                self.report.done(it, Outcome.UNCHANGED)
                return None
            body = fetched.bodies[it.id] or ""
            doc = body_document(it, body, self.converter, fetched.names)
        chunks = finalize_chunks(doc, self.chunker.chunk(doc))
        if it.kind == COMMENT:
            chunks = anchor_chunks(chunks)
        elif isinstance(it.obj, Attachment) and fetched.data.get(it.key) is not None:
            # the file's own fingerprint, so search merges copies of one file without
            # reading their chunks per query (search._duplicates)
            digest = hashlib.sha256(fetched.data[it.key]).hexdigest()
            chunks = [Chunk(c.id, c.text, {**c.metadata, "content_sha256": digest}) for c in chunks]
        reuse = fetched.vectors.get(it.key, {})
        vectors = [reuse.get(str(c.metadata.get("text_hash"))) for c in chunks]
        new_ids = {c.id for c in chunks}
        stale = [cid for cid in st.old_ids if cid not in new_ids]
        reused = sum(v is not None for v in vectors)
        work = DocWork(it, chunks, vectors, stale_ids=stale, action=action, reused=reused)
        work.removed = removed_keys(fetched.stored.get(it.key, []), chunks)
        return work

    def _metadata_work(self, it: Item, stored: list[StoredChunk]) -> DocWork:
        """Same texts and vectors, new document-level metadata (labels, title, place, …)."""
        chunks = []
        for s in stored:
            meta = {k: v for k, v in s.metadata.items() if k not in DOC_KEYS}
            old_url, anchor = str(s.metadata.get("url", "")), str(meta.get("anchor_url", ""))
            meta.update(it.meta)
            if anchor.startswith(old_url):  # the fragment stays, the page URL may have moved
                meta["anchor_url"] = str(it.meta.get("url", "")) + anchor[len(old_url):]
            chunks.append(Chunk(id=s.id, text=s.text, metadata=meta))
        work = DocWork(it, chunks, [], action=Outcome.METADATA, reused=len(chunks))
        work.removed = removed_keys(stored, chunks)
        return work

    # -- embed ------------------------------------------------------------------------------

    def embed(self, docs: list[DocWork]) -> list[DocWork]:
        texts = [d.chunks[i].text for d in docs for i in d.pending]
        try:
            vecs = self.embedder.embed_documents(texts)
        except EmbeddingError as exc:
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
        except StoreError as exc:
            if len(docs) == 1:
                self.report.fail(docs[0].item, exc)
                return
            for d in docs:  # find the one the store refuses; write the rest
                self.write([d])
            return
        for d in docs:
            self.report.done(d.item, d.action, reused=d.reused)

    def _write(self, docs: list[DocWork]) -> None:
        with self.store_lock:
            store_docs(self.store, docs)
            if self.lexical is not None:  # the same changes, committed at the end of the run
                self.lexical.upsert([c for d in docs for c in d.chunks])
                self.lexical.delete(
                    [cid for d in docs if d.action is not Outcome.METADATA for cid in d.stale_ids]
                )


def _too_large(cap: int) -> str:
    return f"larger than the {cap:,} byte cap: indexed by its metadata only"

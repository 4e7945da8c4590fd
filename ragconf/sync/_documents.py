"""Confluence objects -> ``types.Document`` with the DESIGN §5 metadata.

The sync enumerates content without bodies first; :func:`item_metadata` turns one
listed object (plus its space, labels and place in the page tree) into the per-document
metadata, and :func:`doc_hash` fingerprints it. Every chunk of a document carries that
fingerprint and the document's chunk count, so the sync can tell from the store alone
whether a document is unchanged, needs only a metadata update, or was left half-written
by a crash (chunks disagreeing on the fingerprint, or missing/extra chunk ids).

>>> from ragconf.confluence.models import Page
>>> p = Page.model_validate({"id": "7", "title": "Home", "spaceId": "1",
...                          "version": {"number": 2}, "_links": {"webui": "/spaces/ENG/pages/7"}})
>>> m = item_metadata("page", p, SpaceInfo("1", "ENG", "Engineering"),
...                   site_url="https://acme.atlassian.net", labels=["b", "a"])
>>> m["url"], m["labels"], m["version"]
('https://acme.atlassian.net/wiki/spaces/ENG/pages/7', ['a', 'b'], 2)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeAlias, TypedDict

from ragconf.confluence._models_more import Comment  # the base of both comment kinds
from ragconf.confluence.models import Attachment, BlogPost, CustomContent, Page
from ragconf.errors import IndexingError
from ragconf.index.keys import chunk_key, doc_key, normalise_labels
from ragconf.index.types import Chunk, ContentType, Document, Metadata, Section, text_hash
from ragconf.sync.protocols import ConvertedDoc, Converter

__all__ = [
    "DOC_KEYS",
    "DocMeta",
    "Indexed",
    "Item",
    "Listed",
    "SpaceInfo",
    "StoredDoc",
    "absolute_url",
    "ancestors_of",
    "attachment_document",
    "body_document",
    "convert_body",
    "doc_hash",
    "finalize_chunks",
    "item_metadata",
    "normalise_labels",
    "stored_doc",
]

#: chunk metadata keys the sync adds beyond DESIGN §5 (used for change and crash detection)
DOC_HASH = "doc_hash"
CHUNK_COUNT = "chunk_count"
#: doc_hash of chunks whose write is not finished (see _work.Stages._write)
PENDING = "pending"

#: a listed Confluence object that becomes one document
Listed: TypeAlias = Page | BlogPost | CustomContent | Attachment
#: what an item can hold: listed content, or a comment on it (see ``_comments``)
Indexed: TypeAlias = Listed | Comment


class DocMeta(TypedDict, total=False):
    """The document-level metadata :func:`item_metadata` writes (DESIGN §5, + doc_hash).

    Every chunk of the document carries these keys; a metadata-only update replaces all
    of them (``DOC_KEYS``), so a key added here is covered there automatically.
    """

    content_id: str
    content_type: str
    title: str
    url: str
    space_id: str
    space_key: str
    space_name: str
    labels: list[str]
    parent_id: str | None
    ancestors: list[str]
    breadcrumbs: str | None
    author_id: str | None
    version: int
    created_at: str | None
    updated_at: str | None
    updated_at_ts: float | None
    status: str
    media_type: str | None
    file_size: int | None
    comment: str | None
    container_title: str | None
    custom_type: str
    doc_hash: str
    # comments only (see ``_comments``): what the comment is on, and its thread
    container_id: str
    container_type: str
    container_custom_type: str | None
    comment_kind: str
    parent_comment_id: str | None
    resolution_status: str | None
    selection: str | None
    comment_url: str


#: the document-level keys item_metadata() may set; a metadata update replaces all of them
DOC_KEYS: frozenset[str] = frozenset(DocMeta.__required_keys__ | DocMeta.__optional_keys__)


@dataclass(frozen=True)
class SpaceInfo:
    id: str
    key: str
    name: str = ""


@dataclass(frozen=True)
class Item:
    """One enumerated piece of content (no body yet) and the metadata it will carry.

    Frozen: the planner and the label fetch make changed copies (``dataclasses.replace``)
    instead of editing an item another thread may hold.
    """

    kind: ContentType
    obj: Indexed
    space: SpaceInfo
    meta: Metadata = field(default_factory=dict)
    custom_type: str | None = None
    #: False when the label mapping is unavailable for this item (fetched per item if needed)
    labels_known: bool = True

    @property
    def id(self) -> str:
        return str(self.obj.id)

    @property
    def key(self) -> str:
        return doc_key(self.kind, self.id)

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.obj.title or "")


@dataclass(frozen=True)
class StoredDoc:
    """What the store holds for one document, when its chunks are consistent."""

    doc_hash: str
    chunk_count: int
    metadata: Metadata  # chunk 0's metadata (the document-level fields)


def absolute_url(link: str | None, site_url: str, base: str | None = None) -> str:
    """``/spaces/ENG/pages/7`` -> ``https://site/wiki/spaces/ENG/pages/7``.

    webui links are relative to ``_links.base`` (which already ends in /wiki); list
    results carry no base, so the site origin + "/wiki" stands in for it.
    """
    if not link:
        return ""
    if link.startswith(("http://", "https://")):
        return link
    root = (base or site_url.rstrip("/") + "/wiki").rstrip("/")
    return root + (link if link.startswith("/") else "/" + link)


def ancestors_of(content_id: str, parents: Mapping[str, str | None]) -> list[str]:
    """Root-first ancestor ids from a child -> parent map (stops at unknown parents)."""
    out: list[str] = []
    seen = {content_id}
    parent = parents.get(content_id)
    while parent and parent not in seen:
        out.append(parent)
        seen.add(parent)
        parent = parents.get(parent)
    out.reverse()
    return out


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ts(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def item_metadata(
    kind: ContentType,
    obj: Listed,
    space: SpaceInfo,
    *,
    site_url: str,
    labels: Sequence[str] = (),
    parent_id: str | None = None,
    ancestors: Sequence[str] = (),
    breadcrumbs: str = "",
    container_title: str | None = None,
    custom_type: str | None = None,
) -> Metadata:
    """The document-level metadata (DESIGN §5) for one listed object, with its doc_hash."""
    version = obj.version
    updated = version.created_at or obj.created_at
    attachment = obj if isinstance(obj, Attachment) else None
    webui = obj.links.webui or (attachment.webui_link if attachment else None)
    own_author = None if isinstance(obj, Attachment) else obj.author_id
    author = own_author or version.author_id
    meta: DocMeta = {
        "content_id": str(obj.id),
        "content_type": kind,
        "title": str(obj.title or ""),
        "url": absolute_url(webui, site_url, obj.links.base),
        "space_id": space.id,
        "space_key": space.key,
        "space_name": space.name,
        "labels": normalise_labels(labels),
        "parent_id": parent_id,
        "ancestors": list(ancestors),
        "breadcrumbs": breadcrumbs or None,
        "author_id": author,
        "version": int(version.number or 1),
        "created_at": _iso(obj.created_at),
        "updated_at": _iso(updated),
        "updated_at_ts": _ts(updated),
        "status": str(obj.status or "current"),
    }
    if attachment is not None:
        meta["media_type"] = attachment.media_type
        meta["file_size"] = attachment.file_size
        meta["comment"] = attachment.comment or None
        meta["container_title"] = container_title
    if custom_type:
        meta["custom_type"] = custom_type
    out: Metadata = {k: v for k, v in meta.items() if v is not None}
    out[DOC_HASH] = doc_hash(out)
    return out


def doc_hash(meta: Mapping[str, object]) -> str:
    """Fingerprint of the document-level metadata (labels order-insensitive)."""
    clean = {k: v for k, v in meta.items() if k != DOC_HASH and v is not None}
    if "labels" in clean:
        clean["labels"] = normalise_labels(clean["labels"])
    raw = json.dumps(clean, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def stored_doc(
    content_type: str, content_id: str, chunk_ids: Sequence[str], metas: Mapping[str, Metadata]
) -> StoredDoc | None:
    """The stored document if its chunks are complete and agree, else None (rebuild it).

    Inconsistent means a crash interrupted its write: chunks from two versions, chunk
    ids missing, or extra chunk ids beyond the recorded count.
    """
    if not chunk_ids or any(cid not in metas for cid in chunk_ids):
        return None
    hashes = {metas[cid].get(DOC_HASH) for cid in chunk_ids}
    counts = {metas[cid].get(CHUNK_COUNT) for cid in chunk_ids}
    if len(hashes) != 1 or len(counts) != 1:
        return None
    (h,), (n,) = hashes, counts
    if not h or h == PENDING or not isinstance(n, int):
        return None
    expected = {chunk_key(content_type, content_id, i) for i in range(n)}
    if set(chunk_ids) != expected:
        return None
    first = metas[chunk_key(content_type, content_id, 0)]
    return StoredDoc(doc_hash=str(h), chunk_count=n, metadata=dict(first))


def convert_body(
    converter: Converter, xhtml: str, title: str, users: Mapping[str, str] | None
) -> ConvertedDoc:
    """``converter.convert``, with ``users`` only for a converter that declares
    ``uses_user_names`` (one that doesn't is called without them)."""
    if converter.uses_user_names:
        return converter.convert(xhtml or "", title=title, users=users)
    return converter.convert(xhtml or "", title=title)


def body_document(
    item: Item, xhtml: str, converter: Converter, users: Mapping[str, str] | None = None
) -> Document:
    """A page, blog post or custom content with its storage body converted to sections.

    ``users``: display names for the people the body mentions, for a converter that
    declares ``uses_user_names`` (one that doesn't is called without them).
    """
    converted = convert_body(converter, xhtml, item.title, users)
    return Document(
        content_id=item.id,
        content_type=item.kind,
        title=item.title,
        url=str(item.meta.get("url", "")),
        sections=list(converted.sections),
        metadata=dict(item.meta),
    )


def _size(n: int | None) -> str:
    if n is None:
        return "unknown size"
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit} ({n} bytes)"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover


def attachment_document(item: Item, extracted: str | None) -> Document:
    """An attachment: a metadata section (searchable by file name, page, labels) + its text."""
    m = item.meta
    lines = [
        f"File: {m.get('title', '')}",
        f"Media type: {m.get('media_type') or 'unknown'}",
        f"Size: {_size(m.get('file_size'))}",
    ]
    if m.get("comment"):
        lines.append(f"Comment: {m['comment']}")
    if m.get("container_title"):
        lines.append(f"Attached to: {m['container_title']}")
    if m.get("labels"):
        lines.append("Labels: " + ", ".join(m["labels"]))
    sections = [Section(heading_path=(), anchor=None, text="\n".join(lines))]
    if extracted and extracted.strip():
        sections.append(Section(heading_path=(), anchor=None, text=extracted.strip()))
    return Document(
        content_id=item.id,
        content_type="attachment",
        title=item.title,
        url=str(m.get("url", "")),
        sections=sections,
        metadata=dict(m),
    )


def finalize_chunks(doc: Document, chunks: Sequence[Chunk]) -> list[Chunk]:
    """Check the chunker's ids, give an empty document one title chunk, stamp chunk_count.

    A document must always own at least one chunk: otherwise it would look new on every
    run and be fetched again forever.
    """
    if not chunks:
        meta = dict(doc.metadata)
        meta.update(
            content_id=doc.content_id,
            content_type=doc.content_type,
            title=doc.title,
            url=doc.url,
            anchor_url=doc.url,
            heading_path="",
            chunk_index=0,
            text_hash=text_hash(""),
        )
        first = chunk_key(doc.content_type, doc.content_id, 0)
        chunks = [Chunk(id=first, text=doc.title, metadata=meta)]
    n = len(chunks)
    out = []
    for i, c in enumerate(chunks):
        if c.id != chunk_key(doc.content_type, doc.content_id, i):
            raise IndexingError(f"chunker returned id {c.id!r} at position {i}")
        out.append(Chunk(id=c.id, text=c.text, metadata={**c.metadata, CHUNK_COUNT: n}))
    return out

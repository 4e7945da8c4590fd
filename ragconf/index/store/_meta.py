"""Chunk metadata <-> what Chroma stores, and Chroma's answers -> manifests, stats, chunks.

Kept apart from store.py (and free of chromadb) so the rules are easy to read and test:
scalars only, None and empty lists dropped, lists as homogeneous string arrays (Chroma >= 1.5
stores array metadata and filters it with ``$contains``), datetimes as ISO strings, and
``updated_at_ts`` (epoch seconds, float) derived from ``updated_at`` for range filters.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ragconf.errors import StoreError
from ragconf.index.keys import doc_key
from ragconf.index.types import Chunk, ManifestEntry, StoredChunk

__all__ = [
    "chunk_ids_by_content",
    "collection_name",
    "manifest_from",
    "metadata_update",
    "metadata_updates",
    "parse_timestamp",
    "server_address",
    "stats_from",
    "stored_chunks",
    "to_chroma_metadata",
    "upsert_columns",
]

_MAX_NAME = 63


def collection_name(model_name: str, dimension: int) -> str:
    """``ragconf-<model slug>-<dim>-<hash8>``: one collection per embedding model, <= 63 chars."""
    digest = hashlib.sha256(f"{model_name}|{dimension}".encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", model_name.lower().rsplit("/", 1)[-1]).strip("-") or "model"
    tail = f"-{dimension}-{digest}"
    slug = slug[: _MAX_NAME - len("ragconf-") - len(tail)].strip("-")
    return f"ragconf-{slug}{tail}"


def server_address(chroma_url: str) -> tuple[str, int, bool, str]:
    """(host, port, ssl, location for messages) of a Chroma server URL; no scheme means http."""
    parts = urlsplit(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
    port = parts.port or (443 if parts.scheme == "https" else 8000)
    location = f"{parts.scheme}://{parts.hostname}:{port}"  # the port actually used
    return parts.hostname or "localhost", port, parts.scheme == "https", location


def parse_timestamp(value: Any) -> float | None:
    """Epoch seconds from an ISO-8601 string / datetime / number (naive means UTC)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _scalar(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def to_chroma_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``metadata`` that Chroma accepts; the input is not modified."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            items = [v for v in value if v is not None]
            if isinstance(value, (set, frozenset)):
                items = sorted(items, key=str)
            if not items:
                continue
            # Chroma arrays must be homogeneous; labels and ancestors are strings anyway
            out[str(key)] = [i if isinstance(i, str) else str(_scalar(i)) for i in items]
            continue
        out[str(key)] = _scalar(value)
    if "updated_at_ts" not in out and "updated_at" in out:
        ts = parse_timestamp(out["updated_at"])
        if ts is not None:
            out["updated_at_ts"] = ts
    if "updated_at_ts" in out and not isinstance(out["updated_at_ts"], bool):
        ts = parse_timestamp(out["updated_at_ts"])
        if ts is None:
            out.pop("updated_at_ts")
        else:
            out["updated_at_ts"] = ts
    return out


def metadata_update(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """An ``update`` payload: like to_chroma_metadata, but None / [] become None (= delete key)."""
    clean = to_chroma_metadata(metadata)
    for key, value in metadata.items():
        if key not in clean and (value is None or value == [] or value == ()):
            clean[str(key)] = None  # Chroma deletes a key updated to None
    return clean


def upsert_columns(
    chunks: Iterable[Chunk], embeddings: Any, dimension: int
) -> tuple[list[str], np.ndarray, list[str], list[dict[str, Any] | None]]:
    """(ids, float32 vectors, texts, Chroma metadata) for an upsert; StoreError if they clash."""
    chunks = list(chunks)
    vectors = np.asarray(embeddings, dtype=np.float32)
    if not chunks:
        return [], vectors, [], []
    if vectors.ndim != 2 or vectors.shape != (len(chunks), dimension):
        raise StoreError(
            f"upsert needs {len(chunks)} vectors of dimension {dimension}, "
            f"got shape {vectors.shape}"
        )
    ids = [c.id for c in chunks]
    if len(set(ids)) != len(ids):
        raise StoreError("upsert got the same chunk id twice")
    metas = [to_chroma_metadata(c.metadata) or None for c in chunks]
    return ids, vectors, [c.text for c in chunks], metas


def metadata_updates(
    ids: Sequence[str],
    metadatas: Sequence[Mapping[str, Any]],
    current: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """(id, update payload) pairs, empty payloads left out.

    ``current`` (id -> stored metadata) turns a merge into a replace: every stored key the
    new metadata does not give is removed.
    """
    updates = [metadata_update(md) for md in metadatas]
    if current is not None:
        for cid, upd in zip(ids, updates, strict=True):
            for key in current.get(cid, {}):
                upd.setdefault(key, None)
    return [(i, u) for i, u in zip(ids, updates, strict=True) if u]


def manifest_from(chunks: Iterable[StoredChunk]) -> dict[str, ManifestEntry]:
    """Per-document summary of chunk metadata, keyed ``"content_type:content_id"``.

    ``version`` is the lowest over a document's chunks, so a document caught half-way
    through a rewrite (a crash between writing new chunks and deleting old ones) looks
    stale and gets synced again.
    """
    docs: dict[str, ManifestEntry] = {}
    parts: dict[str, list[tuple[int, str]]] = {}
    for chunk in chunks:
        md = chunk.metadata
        key = doc_key(str(md.get("content_type")), str(md.get("content_id")))
        version = md.get("version")
        entry = docs.get(key)
        if entry is None:
            entry = docs[key] = {
                "version": version,
                "space_id": md.get("space_id"),
                "space_key": md.get("space_key"),
                "updated_at": md.get("updated_at"),
                "title": md.get("title"),
                "labels": list(md.get("labels") or []),
                "parent_id": md.get("parent_id"),
                "status": md.get("status"),
            }
        elif version is not None and (entry["version"] is None or version < entry["version"]):
            entry["version"] = version
        parts.setdefault(key, []).append((int(md.get("chunk_index", 0)), chunk.id))
    for key, entry in docs.items():
        entry["chunk_ids"] = [cid for _, cid in sorted(parts[key])]
        entry["version"] = int(entry["version"]) if entry["version"] is not None else None
    return docs


def chunk_ids_by_content(chunks: Iterable[StoredChunk]) -> dict[str, list[str]]:
    """content_id -> its chunk ids in ``chunk_index`` order."""
    found: dict[str, list[tuple[int, str]]] = {}
    for chunk in chunks:
        key = str(chunk.metadata.get("content_id"))
        found.setdefault(key, []).append((int(chunk.metadata.get("chunk_index", 0)), chunk.id))
    return {k: [cid for _, cid in sorted(v)] for k, v in found.items()}


def stats_from(metadatas: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """{"chunks", "documents", "by_space", "by_type"} over chunk metadata."""
    by_space: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    docs: set[str] = set()
    chunks = 0
    for md in metadatas:
        chunks += 1
        by_space[str(md.get("space_key") or "")] += 1
        by_type[str(md.get("content_type") or "")] += 1
        docs.add(doc_key(str(md.get("content_type")), str(md.get("content_id"))))
    return {
        "chunks": chunks,
        "documents": len(docs),
        "by_space": dict(sorted(by_space.items())),
        "by_type": dict(sorted(by_type.items())),
    }


def stored_chunks(res: Any, with_embeddings: bool) -> Iterator[StoredChunk]:
    """Chroma's columnar ``get`` answer -> StoredChunks."""
    ids = res["ids"]
    docs = res.get("documents") or [None] * len(ids)
    metas = res.get("metadatas") or [None] * len(ids)
    embs = res.get("embeddings") if with_embeddings else None
    for n, cid in enumerate(ids):
        emb = np.asarray(embs[n], dtype=np.float32) if embs is not None else None
        yield StoredChunk(id=cid, text=docs[n] or "", metadata=dict(metas[n] or {}), embedding=emb)

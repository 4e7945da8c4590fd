"""Chunk metadata <-> what Chroma stores, and SearchFilters -> a Chroma ``where`` clause.

Kept apart from store.py (and free of chromadb) so the rules are easy to read and test:
scalars only, None and empty lists dropped, lists as homogeneous string arrays (Chroma >= 1.5
stores array metadata and filters it with ``$contains``), datetimes as ISO strings, and
``updated_at_ts`` (epoch seconds, float) derived from ``updated_at`` for range filters.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from ragconf.index.types import Hit, SearchFilters, StoredChunk

_MAX_NAME = 63


def collection_name(model_name: str, dimension: int) -> str:
    """``ragconf-<model slug>-<dim>-<hash8>``: one collection per embedding model, <= 63 chars."""
    digest = hashlib.sha256(f"{model_name}|{dimension}".encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", model_name.lower().rsplit("/", 1)[-1]).strip("-") or "model"
    tail = f"-{dimension}-{digest}"
    slug = slug[: _MAX_NAME - len("ragconf-") - len(tail)].strip("-")
    return f"ragconf-{slug}{tail}"


__all__ = [
    "collection_name",
    "manifest_from",
    "metadata_update",
    "parse_timestamp",
    "post_filter",
    "stats_from",
    "stored_chunks",
    "to_chroma_metadata",
    "where_clause",
]


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


def post_filter(
    search: Callable[[int], list[Hit]],
    k: int,
    filters: SearchFilters,
    *,
    first: int,
    cap: int,
    strict: bool = False,
) -> tuple[list[Hit] | None, int, int]:
    """Filtered top-k from unfiltered top-n searches: (hits or None, rounds, last n).

    Starts at n = ``first`` and grows n to what the observed match rate says will fill k
    (x1.5), up to ``cap``. None means "use a ``where`` query": the filter is too rare to
    fill k within ``cap`` candidates. ``strict`` never gives up (returns what it found at
    ``cap``). The answer is exact (up to HNSW) when k matched, or the whole collection was
    seen: every matching chunk outside the top-n is farther than all inside it.
    """
    n, rounds = first, 0
    while True:
        rounds += 1
        found = search(n)
        matched = [h for h in found if filters.matches(h.metadata)]
        exhausted = len(found) < n
        capped = n >= cap
        if len(matched) >= k or exhausted or (capped and strict):
            return matched[:k], rounds, n
        rate = len(matched) / len(found)
        want = math.ceil(1.5 * k / rate) if rate > 0 else math.inf
        if capped or (want > cap and not strict):
            return None, rounds, n
        n = min(max(int(want) if want < math.inf else n * 4, n * 2), cap)


def where_clause(filters: SearchFilters) -> dict[str, Any] | None:
    """The Chroma ``where`` equivalent of ``filters.matches`` (None: nothing to filter)."""
    parts: list[dict[str, Any]] = []
    if filters.space_keys:
        parts.append({"space_key": {"$in": list(filters.space_keys)}})
    if filters.space_ids is not None:
        parts.append({"space_id": {"$in": list(filters.space_ids)}})
    if filters.content_types:
        parts.append({"content_type": {"$in": list(filters.content_types)}})
    if filters.labels:
        labels = [{"labels": {"$contains": label}} for label in dict.fromkeys(filters.labels)]
        parts.append(labels[0] if len(labels) == 1 else {"$or": labels})
    if filters.updated_after is not None:
        parts.append({"updated_at_ts": {"$gte": _filter_ts(filters.updated_after)}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _filter_ts(value: datetime) -> float:
    # SearchFilters.matches uses datetime.timestamp(); a naive datetime is local time there,
    # so use the same conversion here to keep both legs identical
    return float(value.timestamp())


def manifest_from(chunks: Iterable[StoredChunk]) -> dict[str, dict[str, Any]]:
    """Per-document summary of chunk metadata, keyed ``"content_type:content_id"``.

    ``version`` is the lowest over a document's chunks, so a document caught half-way
    through a rewrite (a crash between writing new chunks and deleting old ones) looks
    stale and gets synced again.
    """
    docs: dict[str, dict[str, Any]] = {}
    parts: dict[str, list[tuple[int, str]]] = {}
    for chunk in chunks:
        md = chunk.metadata
        key = f"{md.get('content_type')}:{md.get('content_id')}"
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
        docs.add(f"{md.get('content_type')}:{md.get('content_id')}")
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

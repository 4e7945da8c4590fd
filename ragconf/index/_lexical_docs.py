"""The SQLite lexical index as a document store: what the sync reads from it instead of
scanning the vector store (the manifest: per document version, chunk ids, space; chunks'
metadata), and what a vectors-only store reads (``ragconf.index.store._lean``).

The functions take a connection inside the caller's read transaction (one snapshot);
``DocumentReads`` holds the index's methods over them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from ragconf.index._lexical_sql import chunk_metadata
from ragconf.index._lexical_state import Ids, State
from ragconf.index.types import ManifestEntry, Metadata, SearchFilters, StoredChunk

__all__ = ["DocumentReads", "chunk_ids", "chunks_metadata", "content_chunk_ids", "manifest"]

_MANIFEST = (
    "SELECT c.cid, json_extract(b.meta, '$.content_type'), "
    "json_extract(b.meta, '$.content_id'), json_extract(b.meta, '$.version'), "
    "s.space_id, s.space_key, coalesce(json_extract(c.meta, '$.chunk_index'), 0) "
    "FROM chunks c JOIN bases b ON b.id=c.base JOIN spaces s ON s.code=b.space"
)


def manifest(conn: sqlite3.Connection, space_ids: Sequence[str] | None) -> dict[str, ManifestEntry]:
    """``"type:id"`` -> {"version", "chunk_ids", "space_id", "space_key"}: the fields of the
    store's manifest that the sync reads, from SQL alone (no JSON parsed in Python).
    ``version`` is the lowest over a document's chunks, as in the store's manifest."""
    sql, args = _MANIFEST, [] if space_ids is None else [str(x) for x in space_ids]
    if space_ids is not None:
        if not args:
            return {}
        sql += f" WHERE s.space_id IN ({','.join('?' * len(args))})"
    docs: dict[str, ManifestEntry] = {}
    low: dict[str, int | None] = {}
    parts: dict[str, list[tuple[int, str]]] = {}
    for cid, ctype, content_id, version, sid, skey, index in conn.execute(sql, args):
        key = f"{ctype}:{content_id}"
        if key not in docs:
            docs[key] = {"space_id": sid, "space_key": skey}
            low[key] = version
        elif version is not None:
            lowest = low[key]
            if lowest is None or version < lowest:
                low[key] = version
        parts.setdefault(key, []).append((int(index), cid))
    for key, entry in docs.items():
        entry["chunk_ids"] = [cid for _, cid in sorted(parts[key])]
        v = low[key]
        entry["version"] = int(v) if v is not None else None
    return docs


def chunks_metadata(
    conn: sqlite3.Connection, *, ids: Sequence[str] | None = None
) -> Iterator[StoredChunk]:
    """Chunks (``ids``, or all) with their full metadata and no text."""
    sql = "SELECT c.cid, c.meta, b.meta FROM chunks c JOIN bases b ON b.id=c.base"
    if ids is None:
        groups: list[list[str]] = [[]]
    else:
        wanted = list(dict.fromkeys(ids))
        groups = [wanted[i : i + 500] for i in range(0, len(wanted), 500)]
    cache: dict[str, dict[str, Any]] = {}
    for part in groups:
        if ids is not None and not part:
            continue
        clause = f" WHERE c.cid IN ({','.join('?' * len(part))})" if ids is not None else ""
        for cid, own, base in conn.execute(sql + clause, part):
            shared = cache.get(base)
            if shared is None:
                if len(cache) > 1000:  # a document's chunks come together; bound the memory
                    cache.clear()
                shared = cache[base] = json.loads(base)
            yield StoredChunk(cid, "", chunk_metadata(shared, json.loads(own)))


def content_chunk_ids(conn: sqlite3.Connection, content_ids: Sequence[str]) -> dict[str, list[str]]:
    """content_id -> its chunk ids in ``chunk_index`` order (content without chunks left out)."""
    wanted = list(dict.fromkeys(str(c) for c in content_ids))
    found: dict[str, list[tuple[int, str]]] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        marks = ",".join("?" * len(part))
        rows = conn.execute(
            "SELECT c.cid, CAST(json_extract(b.meta, '$.content_id') AS TEXT), "
            "coalesce(json_extract(c.meta, '$.chunk_index'), 0) FROM chunks c "
            "JOIN bases b ON b.id=c.base "
            f"WHERE CAST(json_extract(b.meta, '$.content_id') AS TEXT) IN ({marks})",
            part,
        )
        for cid, content_id, index in rows:
            found.setdefault(content_id, []).append((int(index), cid))
    return {k: [cid for _, cid in sorted(v)] for k, v in found.items()}


def chunk_ids(conn: sqlite3.Connection) -> list[str]:
    """Every chunk id in the index."""
    return [row[0] for row in conn.execute("SELECT cid FROM chunks")]


class DocumentReads:
    """SqliteLexicalIndex's reads of the documents it keeps: what the sync reads instead of
    scanning the vector store, and what a vectors-only store reads (``store._lean``)."""

    _ids: Ids
    _state: State

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # SqliteLexicalIndex's

    def _catch_up(self) -> None:
        raise NotImplementedError  # SqliteLexicalIndex's

    # -- what the sync reads instead of scanning the vector store ---------------------------

    def manifest(self, space_ids: Sequence[str] | None = None) -> dict[str, ManifestEntry]:
        """``"type:id"`` -> {"version", "chunk_ids", "space_id", "space_key"} (see
        ``_lexical_docs.manifest``)."""
        with self._read() as conn:
            return manifest(conn, space_ids)

    def iter_metadata(self) -> Iterator[StoredChunk]:
        """Every chunk with its metadata, without text."""
        with self._read() as conn:
            yield from chunks_metadata(conn)

    def metadata(self, ids: Sequence[str]) -> dict[str, Metadata]:
        """chunk id -> its full metadata (no text), for those ids this index holds."""
        with self._read() as conn:
            return {c.id: c.metadata for c in chunks_metadata(conn, ids=ids)}

    # -- what a vectors-only store reads (``ChromaStore.attach_documents``) -----------------

    def chunk_ids(self) -> list[str]:
        with self._read() as conn:
            return chunk_ids(conn)

    def ids_for_content(self, content_ids: Sequence[str]) -> dict[str, list[str]]:
        with self._read() as conn:
            return content_chunk_ids(conn, content_ids)

    def matching_ids(self, filters: SearchFilters) -> list[str]:
        """Every chunk id passing ``filters`` (a dense search's candidates for a rare filter)."""
        self._catch_up()
        st = self._state
        id_of = self._ids.id_of
        return [id_of[int(row)] for row in np.flatnonzero(st.row_mask(filters))]

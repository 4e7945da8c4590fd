"""Chunks, vectors and metadata in Chroma: embedded on disk, or on a Chroma server.

>>> store = open_store(Path(".ragconf"), model_name=emb.model_name, dimension=emb.dimension)
>>> store.upsert(chunks, emb.embed_documents([c.text for c in chunks]))
>>> hits = store.query(emb.embed_query("reset password"), k=5,
...                    filters=SearchFilters(space_keys=("ENG",)))

This is the only module that imports chromadb, and Chroma's columnar answers become
ragconf's own ``Hit`` / ``StoredChunk`` objects here and nowhere else.

Filtered search: a Chroma ``where`` query costs 80-220 ms at 100k rows, an unfiltered one a
few ms. So ``query`` with filters first asks Chroma for an oversampled unfiltered top-n and
filters in Python (``SearchFilters.matches``), growing n while the observed match rate says
that will fill k cheaply, and only falls back to the ``where`` query for rare filters.
``last_query`` and ``query_counts`` say which path answered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ragconf.errors import StoreError
from ragconf.index._store_meta import (
    collection_name,
    manifest_from,
    metadata_update,
    post_filter,
    stats_from,
    stored_chunks,
    to_chroma_metadata,
    where_clause,
)
from ragconf.index.types import Chunk, Hit, SearchFilters, StoredChunk

__all__ = ["DEFAULT_HNSW", "ChromaStore", "collection_name", "open_store"]

log = logging.getLogger(__name__)

#: HNSW settings fixed at collection creation (ef_search can change later). Measured on
#: 100k MiniLM-like vectors: recall@10 vs exact >= 0.95 (see tests/contracts and the report).
DEFAULT_HNSW: dict[str, Any] = {
    "space": "cosine",
    "max_neighbors": 32,
    "ef_construction": 200,
    "ef_search": 128,
}
_SCHEMA = 1


def open_store(
    data_dir: Path,
    *,
    chroma_url: str | None = None,
    model_name: str,
    dimension: int,
    max_batch_size: int | None = None,
    hnsw: dict[str, Any] | None = None,
    **options: Any,
) -> ChromaStore:
    """Embedded Chroma under ``data_dir/"chroma"``, or the Chroma server at ``chroma_url``.

    ``options`` go to ChromaStore (``filter_strategy``, ``oversample``, ``max_candidates``).
    """
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        parts = urlsplit(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        location = f"{parts.scheme}://{parts.hostname}:{parts.port or 8000}"
        try:
            client = chromadb.HttpClient(
                host=parts.hostname or "localhost",
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {location}: {exc}",
                hint=(
                    "start it (`chroma run --path ./chroma-data --port 8000`), fix "
                    "RAGCONF_CHROMA_URL, or unset it to use the embedded store"
                ),
            ) from exc
    else:
        path = Path(data_dir).expanduser().resolve() / "chroma"
        location = f"embedded:{path}"
        try:
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path), settings=settings)
        except Exception as exc:
            raise StoreError(
                f"cannot open the embedded Chroma store at {path}: {exc}",
                hint="set RAGCONF_DATA_DIR to a writable directory (or use RAGCONF_CHROMA_URL)",
            ) from exc
    return ChromaStore(
        client,
        model_name=model_name,
        dimension=dimension,
        location=location,
        max_batch_size=max_batch_size,
        hnsw=hnsw,
        **options,
    )


class ChromaStore:
    """One Chroma collection per embedding model; implements ``types.VectorStore``.

    >>> store = open_store(tmp_path, model_name="hash-64", dimension=64)   # doctest: +SKIP
    >>> store.count()                                                      # doctest: +SKIP
    0

    ``filter_strategy``: "auto" (post-filter, then ``where``), "post" or "where" (forced; for
    benchmarks and tests). ``max_batch_size`` lowers Chroma's own batch limit.
    """

    def __init__(
        self,
        client: Any,
        *,
        model_name: str,
        dimension: int,
        location: str,
        max_batch_size: int | None = None,
        hnsw: dict[str, Any] | None = None,
        oversample: int = 8,
        max_candidates: int = 2000,
        filter_strategy: str = "auto",
    ) -> None:
        if filter_strategy not in ("auto", "post", "where"):
            raise ValueError("filter_strategy must be auto, post or where")
        self._client = client
        self.model_name = model_name
        self.dimension = int(dimension)
        self.location = location
        self.name = collection_name(model_name, dimension)
        self.oversample = oversample
        self.max_candidates = max_candidates
        self.filter_strategy = filter_strategy
        self.hnsw = {**DEFAULT_HNSW, **(hnsw or {})}
        with self._errors("get_max_batch_size"):
            limit = int(client.get_max_batch_size())
        self.max_batch_size = min(limit, max_batch_size) if max_batch_size else limit
        #: how the last query was answered: {"strategy", "rounds", "candidates"}
        self.last_query: dict[str, Any] = {}
        #: strategy -> number of queries it answered
        self.query_counts: Counter[str] = Counter()
        self._generation = 0
        self._stats_cache: tuple[tuple[Any, ...], float, dict[str, Any]] | None = None
        self._lock = threading.Lock()
        with self._errors("open collection"):
            self._col = client.get_or_create_collection(
                self.name,
                configuration={"hnsw": dict(self.hnsw)},
                metadata={
                    "ragconf_model": model_name,
                    "ragconf_dimension": self.dimension,
                    "ragconf_schema": _SCHEMA,
                },
                embedding_function=None,
            )
        self._check_collection()

    def __repr__(self) -> str:
        return f"ChromaStore({self.location!r}, collection={self.name!r})"

    def configuration(self) -> dict[str, Any]:
        """The collection's HNSW configuration as Chroma reports it."""
        with self._errors("get collection"):
            col = self._client.get_collection(self.name, embedding_function=None)
        return dict((col.configuration or {}).get("hnsw") or {})

    def close(self) -> None:
        """Release the client (SQLite handles; the HTTP connection pool of a server client)."""
        try:
            self._client.close()
            # chromadb's HTTP client (and its admin client) never close their httpx pools
            for client in (self._client, getattr(self._client, "_admin_client", None)):
                session = getattr(getattr(client, "_server", None), "_session", None)
                if session is not None and hasattr(session, "close"):
                    session.close()
        except Exception:  # closing is best effort
            log.debug("closing the Chroma client failed", exc_info=True)

    def __enter__(self) -> ChromaStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def drop(self) -> None:
        """Delete this model's collection with everything in it (tests, ``--full`` rebuilds)."""
        with self._errors("delete collection"):
            self._client.delete_collection(self.name)
        self._generation += 1

    def _check_collection(self) -> None:
        meta = self._col.metadata or {}
        dim = meta.get("ragconf_dimension")
        if dim is not None and int(dim) != self.dimension:
            raise StoreError(
                f"collection {self.name} holds {dim}-dimensional vectors, not {self.dimension}"
            )
        # ef_search is the one HNSW knob Chroma lets us change after creation
        current = ((self._col.configuration or {}).get("hnsw") or {}).get("ef_search")
        want = self.hnsw.get("ef_search")
        if want and current and int(current) != int(want):
            with self._errors("set ef_search"):
                self._col.modify(configuration={"hnsw": {"ef_search": int(want)}})

    @contextmanager
    def _errors(self, op: str) -> Iterator[None]:
        """Any failure inside Chroma (server gone, disk full, bad input) -> StoreError."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"Chroma {op} failed ({self.location}): {exc}") from exc

    def _batches(self, n: int) -> Iterator[slice]:
        for start in range(0, n, self.max_batch_size):
            yield slice(start, min(n, start + self.max_batch_size))

    # -- writes ------------------------------------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        chunks = list(chunks)
        vectors = np.asarray(embeddings, dtype=np.float32)
        if not chunks:
            return
        if vectors.ndim != 2 or vectors.shape != (len(chunks), self.dimension):
            raise StoreError(
                f"upsert needs {len(chunks)} vectors of dimension {self.dimension}, "
                f"got shape {vectors.shape}"
            )
        ids = [c.id for c in chunks]
        if len(set(ids)) != len(ids):
            raise StoreError("upsert got the same chunk id twice")
        metas = [to_chroma_metadata(c.metadata) or None for c in chunks]
        docs = [c.text for c in chunks]
        for part in self._batches(len(chunks)):
            with self._errors("upsert"):
                self._col.upsert(
                    ids=ids[part],
                    embeddings=vectors[part],
                    documents=docs[part],
                    metadatas=metas[part],  # type: ignore[arg-type]
                )
        self._generation += 1

    def update_metadata(
        self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]], *, replace: bool = False
    ) -> None:
        """Change metadata without touching vectors or text.

        Merge by default: keys not given stay; a value of None or [] removes the key.
        ``replace=True`` makes each given dict the chunk's whole metadata.
        """
        ids = list(ids)
        if len(ids) != len(metadatas):
            raise StoreError("update_metadata needs one metadata dict per id")
        updates = [metadata_update(md) for md in metadatas]
        if replace:
            current = {c.id: c.metadata for c in self.get(ids)}
            for cid, upd in zip(ids, updates, strict=True):
                for key in current.get(cid, {}):
                    upd.setdefault(key, None)
        pairs = [(i, u) for i, u in zip(ids, updates, strict=True) if u]
        for part in self._batches(len(pairs)):
            with self._errors("update"):
                self._col.update(
                    ids=[p[0] for p in pairs[part]],
                    metadatas=[p[1] for p in pairs[part]],  # type: ignore[misc]
                )
        self._generation += 1

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(ids))
        for part in self._batches(len(ids)):
            with self._errors("delete"):
                self._col.delete(ids=ids[part])
        if ids:
            self._generation += 1

    # -- reads -------------------------------------------------------------------------------

    def count(self) -> int:
        with self._errors("count"):
            n = int(self._col.count())
        return n

    def get(self, ids: Sequence[str], *, include_embeddings: bool = False) -> list[StoredChunk]:
        """The stored chunks for ``ids``, in the order asked; unknown ids are left out."""
        ids = list(dict.fromkeys(ids))
        include = ["documents", "metadatas"] + (["embeddings"] if include_embeddings else [])
        found: dict[str, StoredChunk] = {}
        for part in self._batches(len(ids)):
            with self._errors("get"):
                res = self._col.get(ids=ids[part], include=include)
            found.update((c.id, c) for c in stored_chunks(res, include_embeddings))
        return [found[i] for i in ids if i in found]

    def iter_all(self, *, batch_size: int = 1000) -> Iterator[StoredChunk]:
        """Every chunk, page by page (text + metadata, no vectors)."""
        yield from self._scan(["documents", "metadatas"], None, batch_size)

    def _scan(
        self, include: list[str], where: dict[str, Any] | None, batch_size: int
    ) -> Iterator[StoredChunk]:
        size = max(1, min(batch_size, self.max_batch_size))
        offset = 0
        while True:
            with self._errors("get"):
                res = self._col.get(where=where, limit=size, offset=offset, include=include)
            page = list(stored_chunks(res, "embeddings" in include))
            yield from page
            if len(page) < size:
                return
            offset += size

    def text_hashes(self, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        ids = list(dict.fromkeys(ids))
        for part in self._batches(len(ids)):
            with self._errors("get"):
                res = self._col.get(ids=ids[part], include=["metadatas"])
            for cid, md in zip(res["ids"], res["metadatas"] or [], strict=False):
                if md and md.get("text_hash") is not None:
                    out[cid] = str(md["text_hash"])
        return out

    def ids_for_content(self, content_ids: Sequence[str]) -> dict[str, list[str]]:
        """content_id -> its chunk ids (by chunk_index); content without chunks is left out."""
        wanted = list(dict.fromkeys(str(c) for c in content_ids))
        found: dict[str, list[tuple[int, str]]] = {}
        for start in range(0, len(wanted), 500):
            where = {"content_id": {"$in": wanted[start : start + 500]}}
            for chunk in self._scan(["metadatas"], where, self.max_batch_size):
                key = str(chunk.metadata.get("content_id"))
                found.setdefault(key, []).append(
                    (int(chunk.metadata.get("chunk_index", 0)), chunk.id)
                )
        return {k: [cid for _, cid in sorted(v)] for k, v in found.items()}

    def manifest(self, space_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """``"type:id"`` -> {"version", "chunk_ids", "space_id", "updated_at", ...} from chunks.

        ``version`` is the lowest over the document's chunks, so a document caught half-way
        through a rewrite (a crash between writing new chunks and deleting old ones) looks
        stale and gets synced again.
        """
        wheres: list[dict[str, Any] | None] = [None]
        if space_ids is not None:
            sids = list(dict.fromkeys(str(s) for s in space_ids))
            if not sids:
                return {}
            wheres = [{"space_id": {"$in": sids[i : i + 500]}} for i in range(0, len(sids), 500)]
        metas = (
            chunk
            for where in wheres
            for chunk in self._scan(["metadatas"], where, self.max_batch_size)
        )
        return manifest_from(metas)

    def get_meta(self) -> dict[str, Any]:
        """Collection-level metadata (model, dimension, last_sync_at, lexical_stamp, ...)."""
        with self._errors("get collection"):
            col = self._client.get_collection(self.name, embedding_function=None)
        return dict(col.metadata or {})

    def set_meta(self, **values: Any) -> None:
        """Merge ``values`` into the collection metadata (None removes a key)."""
        with self._lock:
            meta = self.get_meta()
            for key, value in values.items():
                if value is None:
                    meta.pop(key, None)
                else:
                    meta[key] = value
            with self._errors("modify collection"):
                # modify() replaces the metadata; the HNSW configuration is separate and stays
                self._col.modify(metadata=to_chroma_metadata(meta))

    def stats(self, *, max_age_s: float = 3600.0) -> dict[str, Any]:
        """{"chunks", "documents", "by_space", "by_type"}.

        A full metadata scan (seconds at 100k chunks), so the answer is cached until this
        store writes, the chunk count changes or a sync records a new ``last_sync_at``.
        """
        key = (self._generation, self.count(), self.get_meta().get("last_sync_at"))
        cached = self._stats_cache
        if cached and cached[0] == key and time.monotonic() - cached[1] < max_age_s:
            return cached[2]
        out = stats_from(c.metadata for c in self._scan(["metadatas"], None, self.max_batch_size))
        self._stats_cache = (key, time.monotonic(), out)
        return out

    # -- search ------------------------------------------------------------------------------

    def query(
        self, embedding: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """The ``k`` nearest chunks (score = cosine similarity) that pass ``filters``."""
        if k <= 0:
            return []
        vec = self._vector(embedding)
        if filters is None or filters.empty:
            hits = self._search(vec, k, None)
            self._record("unfiltered", 1, k)
            return hits
        if filters.space_ids is not None and not filters.space_ids:
            self._record("empty", 0, 0)
            return []
        rounds = 0
        if self.filter_strategy != "where":
            post, rounds, n = post_filter(
                lambda n: self._search(vec, n, None),
                k,
                filters,
                first=max(k * self.oversample, 32),
                cap=self.max_candidates,
                strict=self.filter_strategy == "post",
            )
            if post is not None:
                self._record("post", rounds, n)
                return post
        hits = self._search(vec, k, where_clause(filters))
        self._record("where", rounds + 1, k)
        return hits

    def query_ids(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest chunk ids with their cosine similarity; unfiltered, nothing else read.

        The search's fast dense path (``ragconf.search._dense``): the ANN part of a Chroma
        query takes about a millisecond at 100k chunks, reading documents and metadata back
        ~0.2 ms per row, so those are read only for the chunks that end up shown.
        """
        if k <= 0:
            return []
        vec = self._vector(embedding)
        with self._errors("query"):
            res = self._col.query(query_embeddings=vec[None, :], n_results=k, include=["distances"])
        ids = res["ids"][0]
        dists = (res.get("distances") or [[]])[0] or [0.0] * len(ids)
        out = [(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=True)]
        out.sort(key=lambda p: (-p[1], p[0]))  # deterministic order on ties
        self._record("ids", 1, k)
        return out

    def _vector(self, embedding: np.ndarray) -> np.ndarray:
        vec = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if vec.shape[0] != self.dimension:
            raise StoreError(f"query vector has dimension {vec.shape[0]}, not {self.dimension}")
        return vec

    def _search(self, vec: np.ndarray, n: int, where: dict[str, Any] | None) -> list[Hit]:
        with self._errors("query"):
            res = self._col.query(
                query_embeddings=vec[None, :],
                n_results=n,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        ids = res["ids"][0]
        docs = (res.get("documents") or [[]])[0] or [""] * len(ids)
        metas = (res.get("metadatas") or [[]])[0] or [{}] * len(ids)
        dists = (res.get("distances") or [[]])[0] or [0.0] * len(ids)
        hits = [
            Hit(id=i, score=1.0 - float(d), text=t or "", metadata=dict(m or {}))
            for i, t, m, d in zip(ids, docs, metas, dists, strict=True)
        ]
        hits.sort(key=lambda h: (-h.score, h.id))  # deterministic order on ties
        return hits

    def _record(self, strategy: str, rounds: int, candidates: int) -> None:
        self.last_query = {"strategy": strategy, "rounds": rounds, "candidates": candidates}
        self.query_counts[strategy] += 1

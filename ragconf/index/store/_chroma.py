"""ChromaStore, the adapter between ragconf and Chroma (see ``ragconf.index.store``)."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np

from ragconf.errors import StoreError
from ragconf.index.store._lean import FULL, VECTORS, kept_keys
from ragconf.index.store._leases import ChromaLeases
from ragconf.index.store._meta import (
    collection_name,
    metadata_updates,
    stored_chunks,
    to_chroma_metadata,
    upsert_columns,
)
from ragconf.index.store._query import FILTER_STRATEGIES, ChromaSearch, IdsCache
from ragconf.index.store._reads import ChromaReads
from ragconf.index.types import Chunk, Metadata, StoredChunk

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
    tenant: str | None = None,
    database: str | None = None,
    token: str | None = None,
    token_header: str = "Authorization",
    **options: Any,
) -> ChromaStore:
    """Embedded Chroma under ``data_dir/"chroma"``, or the Chroma server at ``chroma_url``.

    ``tenant``, ``database`` and ``token`` (sent in ``token_header``) apply to a server
    only. ``options`` go to ChromaStore (``filter_strategy``, ``oversample``,
    ``max_candidates``).
    """
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        from ragconf.index.store._client import server_client

        client, location = server_client(
            chroma_url, tenant=tenant, database=database, token=token, token_header=token_header
        )
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
    store = ChromaStore(
        client,
        model_name=model_name,
        dimension=dimension,
        location=location,
        max_batch_size=max_batch_size,
        hnsw=hnsw,
        **options,
    )
    if not chroma_url:
        store._embedded_path = path
    return store


class ChromaStore(ChromaSearch, ChromaLeases, ChromaReads):
    """One Chroma collection per embedding model; implements ``types.VectorStore`` and
    ``types.LeaseStore`` (the sync lock's records, in a small collection beside it).

    >>> store = open_store(tmp_path, model_name="hash-64", dimension=64)   # doctest: +SKIP
    >>> store.count()                                                      # doctest: +SKIP
    0

    ``filter_strategy``: "auto" (post-filter, then ``where``), "post" or "where" (forced; for
    benchmarks and tests). ``max_batch_size`` lowers Chroma's own batch limit.

    ``layout`` applies to a collection this call creates: "full" (text and metadata in
    Chroma) or "vectors" (ids and vectors only; the lexical index named with
    :meth:`attach_documents` keeps the rest, see ``_lean``). An existing collection keeps
    the layout it was created with.
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
        layout: str = FULL,
    ) -> None:
        if filter_strategy not in FILTER_STRATEGIES:
            raise ValueError("filter_strategy must be auto, post or where")
        if layout not in (FULL, VECTORS):
            raise ValueError("layout must be full or vectors")
        self._docs = None
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
        self._ids_cache = IdsCache()
        self._stats_cache: tuple[tuple[Any, ...], float, dict[str, Any]] | None = None
        self._lock = threading.Lock()
        self._lease_lock = threading.Lock()
        # a server answers over the network (and other hosts write to it): more slack
        self.lease_settle_s = 0.1 if location.startswith("embedded:") else 0.5
        self._embedded_path: Path | None = None
        self._reopens = 0
        self._retired: list[Any] = []
        with self._errors("open collection"):
            self._col = client.get_or_create_collection(
                self.name,
                configuration={"hnsw": dict(self.hnsw)},
                metadata={
                    "ragconf_model": model_name,
                    "ragconf_dimension": self.dimension,
                    "ragconf_schema": _SCHEMA,
                    "ragconf_layout": layout,
                },
                embedding_function=None,
            )
        # a collection from before layouts (no key) keeps text and metadata
        self.layout = str((self._col.metadata or {}).get("ragconf_layout") or FULL)
        self._check_collection()

    def __repr__(self) -> str:
        return f"ChromaStore({self.location!r}, collection={self.name!r})"

    @property
    def sees_other_writers(self) -> bool:
        """Whether queries see vectors another process wrote. A Chroma server: yes. The
        embedded client loads a collection's HNSW index once and never sees another
        process's additions (its count and get do): call :meth:`reopen` after such a sync."""
        return self._embedded_path is None

    def reopen(self) -> None:
        """Open the embedded collection afresh so queries see every write so far.

        Chroma caches one client per path string, so the new client opens the same folder
        under a path spelled differently (``chroma/./.``); the client before the previous
        one is closed (a query may still be running on the previous one). Costs one load
        of the HNSW index (about 0.13 s for 20,000 384-d vectors here).
        """
        if self._embedded_path is None:
            return
        import chromadb
        from chromadb.config import Settings

        with self._lock:
            self._reopens += 1
            alias = str(self._embedded_path) + "/." * self._reopens
            settings = Settings(anonymized_telemetry=False, allow_reset=False)
            with self._errors("reopen"):
                client = chromadb.PersistentClient(path=alias, settings=settings)
                col = client.get_collection(self.name, embedding_function=None)
            for old in self._retired[:-1]:
                with suppress(Exception):
                    old.close()
            self._retired = [*self._retired[-1:], self._client]
            self._client, self._col = client, col
            self._generation += 1

    def configuration(self) -> dict[str, Any]:
        """The collection's HNSW configuration as Chroma reports it."""
        with self._errors("get collection"):
            col = self._client.get_collection(self.name, embedding_function=None)
        return dict((col.configuration or {}).get("hnsw") or {})

    def close(self) -> None:
        """Release the client (SQLite handles; the HTTP connection pool of a server client)."""
        try:
            for old in self._retired:
                old.close()
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
        ids, vectors, docs, metas = upsert_columns(chunks, embeddings, self.dimension)
        if not ids:
            return
        for part in self._batches(len(ids)):
            with self._errors("upsert"):
                if self.vectors_only:  # the lexical index keeps text and metadata
                    self._col.upsert(
                        ids=ids[part],
                        embeddings=vectors[part],
                        metadatas=[kept_keys(m) for m in metas[part]],  # type: ignore[misc]
                    )
                    continue
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
        current = {c.id: c.metadata for c in self.get(ids)} if replace else None
        if self.vectors_only:  # the rest lives in the lexical index (the sync's batch)
            metadatas = [kept_keys(m, removals=True) or {} for m in metadatas]
            current = {i: kept_keys(m) or {} for i, m in (current or {}).items()} or None
        pairs = metadata_updates(ids, metadatas, current)
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
        if self.vectors_only:
            return self._lean_get(ids, include_embeddings)
        include = ["documents", "metadatas"] + (["embeddings"] if include_embeddings else [])
        found: dict[str, StoredChunk] = {}
        for part in self._batches(len(ids)):
            with self._errors("get"):
                res = self._col.get(ids=ids[part], include=include)
            found.update((c.id, c) for c in stored_chunks(res, include_embeddings))
        return [found[i] for i in ids if i in found]

    def get_meta(self) -> Metadata:
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

"""Chunks, vectors and metadata in Chroma: embedded on disk, or on a Chroma server.

>>> store = open_store(Path(".ragconf"), model_name=emb.model_name, dimension=emb.dimension)
>>> store.upsert(chunks, emb.embed_documents([c.text for c in chunks]))
>>> hits = store.query(emb.embed_query("reset password"), k=5,
...                    filters=SearchFilters(space_keys=("ENG",)))

This package is the only place that imports chromadb (an import-linter contract says so).
Chroma's columnar answers become ragconf's own ``Hit`` / ``StoredChunk`` objects here and
nowhere else: ``_chroma`` holds the adapter, ``_meta`` the metadata encoding, manifests and
stats, ``_query`` the search strategy (``query`` / ``query_ids``), ``_reads`` the scans
(every chunk, manifests, stats), ``_lean`` the vectors-only layout of an embedded
collection (text and metadata in the lexical index beside it), ``_client`` the server
client (tenant, database, token).
"""

from ragconf.index.store._chroma import DEFAULT_HNSW, ChromaStore, collection_name, open_store
from ragconf.index.store._client import DEFAULT_DATABASE, DEFAULT_TENANT, TOKEN_HEADERS

__all__ = [
    "DEFAULT_DATABASE",
    "DEFAULT_HNSW",
    "DEFAULT_TENANT",
    "TOKEN_HEADERS",
    "ChromaStore",
    "collection_name",
    "open_store",
]

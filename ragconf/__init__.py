"""ragconf: Confluence Cloud to RAG.

A read-only Confluence REST v2 connector, incremental indexing into Chroma, and a hybrid
search API with links back to the source. The public names below are imported lazily, so
``import ragconf`` stays instant and pulls in neither torch nor chromadb until you touch
a name that needs them::

    from ragconf import Confluence, ConfluenceService

    with Confluence("https://acme.atlassian.net", username="me@acme.com", token="…") as conf:
        for space in ConfluenceService(conf).list_spaces(limit=10):
            print(space.key, space.name)

    from ragconf import Settings, Retriever, SearchFilters
    # see the README ("Using ragconf as a library") for syncing and searching
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ragconf._version import __version__

# public name -> module that defines it. Resolved on first attribute access (PEP 562).
_LAZY: dict[str, str] = {
    # connector
    "Confluence": "ragconf.confluence",
    "ConfluenceService": "ragconf.confluence",
    # models (typed Confluence objects)
    "Attachment": "ragconf.confluence.models",
    "BlogPost": "ragconf.confluence.models",
    "CurrentUser": "ragconf.confluence.models",
    "CustomContent": "ragconf.confluence.models",
    "Label": "ragconf.confluence.models",
    "Page": "ragconf.confluence.models",
    "Space": "ragconf.confluence.models",
    "Task": "ragconf.confluence.models",
    # errors
    "AuthenticationError": "ragconf.errors",
    "BadResponseError": "ragconf.errors",
    "ConfigurationError": "ragconf.errors",
    "ConfluenceError": "ragconf.errors",
    "ConversionError": "ragconf.errors",
    "EmbeddingError": "ragconf.errors",
    "EndpointNotFoundError": "ragconf.errors",
    "HTTPStatusError": "ragconf.errors",
    "IndexingError": "ragconf.errors",
    "InvalidQueryError": "ragconf.errors",
    "InvalidRequestError": "ragconf.errors",
    "NotFoundError": "ragconf.errors",
    "PermissionDeniedError": "ragconf.errors",
    "RagconfError": "ragconf.errors",
    "RateLimitedError": "ragconf.errors",
    "ServerError": "ragconf.errors",
    "StoreError": "ragconf.errors",
    "SyncLockedError": "ragconf.errors",
    "TransportError": "ragconf.errors",
    # settings
    "Settings": "ragconf.settings",
    # index pipeline
    "Chunk": "ragconf.index.types",
    "Document": "ragconf.index.types",
    "Hit": "ragconf.index.types",
    "SearchFilters": "ragconf.index.types",
    "Section": "ragconf.index.types",
    "StorageConverter": "ragconf.convert",
    "Chunker": "ragconf.index.chunk",
    "HashEmbedder": "ragconf.index.embed",
    "SentenceTransformerEmbedder": "ragconf.index.embed",
    "ChromaStore": "ragconf.index.store",
    "open_store": "ragconf.index.store",
    "BM25Index": "ragconf.index.lexical",
    "SqliteLexicalIndex": "ragconf.index.lexical_sqlite",
    "Syncer": "ragconf.sync",
    "SyncReport": "ragconf.sync",
    # search + API
    "DocumentResult": "ragconf.search.retrieve",
    "Retriever": "ragconf.search.retrieve",
    "SearchResult": "ragconf.search.retrieve",
    "build_context": "ragconf.search.context",
    "create_app": "ragconf.api.app",
    # simulator
    "Faults": "ragconf.simulator",
    "SimulatorServer": "ragconf.simulator",
    "Site": "ragconf.simulator",
    "demo_site": "ragconf.simulator",
}

__all__ = [
    "Attachment",
    "AuthenticationError",
    "BM25Index",
    "BadResponseError",
    "BlogPost",
    "ChromaStore",
    "Chunk",
    "Chunker",
    "ConfigurationError",
    "Confluence",
    "ConfluenceError",
    "ConfluenceService",
    "ConversionError",
    "CurrentUser",
    "CustomContent",
    "Document",
    "DocumentResult",
    "EmbeddingError",
    "EndpointNotFoundError",
    "Faults",
    "HTTPStatusError",
    "HashEmbedder",
    "Hit",
    "IndexingError",
    "InvalidQueryError",
    "InvalidRequestError",
    "Label",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "RagconfError",
    "RateLimitedError",
    "Retriever",
    "SearchFilters",
    "SearchResult",
    "Section",
    "SentenceTransformerEmbedder",
    "ServerError",
    "Settings",
    "SimulatorServer",
    "Site",
    "Space",
    "SqliteLexicalIndex",
    "StorageConverter",
    "StoreError",
    "SyncLockedError",
    "SyncReport",
    "Syncer",
    "Task",
    "TransportError",
    "__version__",
    "build_context",
    "create_app",
    "demo_site",
    "open_store",
]

if TYPE_CHECKING:  # static analysers and IDEs see the real objects
    from ragconf.api.app import create_app
    from ragconf.confluence import Confluence, ConfluenceService
    from ragconf.confluence.models import (
        Attachment,
        BlogPost,
        CurrentUser,
        CustomContent,
        Label,
        Page,
        Space,
        Task,
    )
    from ragconf.convert import StorageConverter
    from ragconf.errors import (
        AuthenticationError,
        BadResponseError,
        ConfigurationError,
        ConfluenceError,
        ConversionError,
        EmbeddingError,
        EndpointNotFoundError,
        HTTPStatusError,
        IndexingError,
        InvalidQueryError,
        InvalidRequestError,
        NotFoundError,
        PermissionDeniedError,
        RagconfError,
        RateLimitedError,
        StoreError,
        SyncLockedError,
        TransportError,
    )
    from ragconf.index.chunk import Chunker
    from ragconf.index.embed import HashEmbedder, SentenceTransformerEmbedder
    from ragconf.index.lexical import BM25Index
    from ragconf.index.lexical_sqlite import SqliteLexicalIndex
    from ragconf.index.store import ChromaStore, open_store
    from ragconf.index.types import Chunk, Document, Hit, SearchFilters, Section
    from ragconf.search.context import build_context
    from ragconf.search.retrieve import DocumentResult, Retriever, SearchResult
    from ragconf.settings import Settings
    from ragconf.simulator import (
        Faults,
        SimulatorServer,
        Site,
        demo_site,
    )
    from ragconf.sync import Syncer, SyncReport


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'ragconf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # cache: the next access is a plain global lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Build the heavy parts (client, embedder, store, lexical index) from Settings.

Lives at the edge beside settings: only ``cli`` and ``api`` call it, and it passes plain
arguments down so core code never sees Settings or the environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragconf.confluence import Confluence
    from ragconf.index.embed import SentenceTransformerEmbedder
    from ragconf.index.lexical import BM25Index
    from ragconf.index.store import ChromaStore
    from ragconf.settings import Settings

__all__ = ["make_confluence", "make_embedder", "open_index", "open_lexical", "open_store"]


def make_confluence(settings: Settings, *, auth: str | None = None) -> Confluence:
    """A Confluence client for the configured site (or for ``auth`` on its behalf)."""
    from ragconf.confluence import Confluence
    from ragconf.errors import ConfigurationError

    if not settings.api_url:
        raise ConfigurationError("no Confluence endpoint configured (RAGCONF_CONFLUENCE_URL)")
    return Confluence(
        settings.api_url,
        auth=auth or settings.authorization(),
        max_retry_after=settings.max_retry_after_s,
        rate=settings.request_rate,
        max_concurrency=settings.max_concurrency,
    )


def make_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The configured embedder; the model itself loads lazily on first use (warm_up).

    The model spec ``hash`` or ``hash:DIM`` gives the deterministic HashEmbedder (no model
    at all): tests and crash trials run the real CLI with it in seconds.
    """
    from ragconf.index.embed import HashEmbedder, SentenceTransformerEmbedder

    spec = (settings.embed_model or "").strip()
    if spec == "hash" or spec.startswith("hash:"):
        dim = spec.partition(":")[2]
        if dim and not dim.isdigit():
            from ragconf.errors import ConfigurationError

            raise ConfigurationError(f"RAGCONF_EMBED_MODEL={spec!r}: use 'hash' or 'hash:DIM'")
        return HashEmbedder(int(dim) if dim else 64)  # type: ignore[return-value]
    return SentenceTransformerEmbedder(settings.embed_model, device=settings.embed_device)


def open_store(settings: Settings, *, model_name: str, dimension: int) -> ChromaStore:
    """Embedded Chroma under the data dir, or a Chroma server when RAGCONF_CHROMA_URL is set."""
    from ragconf.index.store import open_store as _open

    return _open(
        settings.data_dir,
        chroma_url=settings.chroma_url,
        model_name=model_name,
        dimension=dimension,
        **settings.chroma_options(),
    )


def store_key(settings: Settings) -> str | None:
    """What names the collection's server: the URL, plus tenant and database when set.

    The BM25 index beside a collection is keyed by it, so two databases on one server
    never share one (and a default setup keeps its existing path).
    """
    url = settings.chroma_url
    if not url or not (settings.chroma_tenant or settings.chroma_database):
        return url
    from ragconf.index.store import DEFAULT_DATABASE, DEFAULT_TENANT

    tenant = settings.chroma_tenant or DEFAULT_TENANT
    database = settings.chroma_database or DEFAULT_DATABASE
    return f"{url.rstrip('/')}|{tenant}|{database}"


def open_lexical(settings: Settings, *, model_name: str) -> BM25Index:
    """The BM25 index that sits beside the store (one per collection)."""
    from ragconf.index.lexical import BM25Index, lexical_path

    return BM25Index(lexical_path(settings.data_dir, store_key(settings), model_name))


def open_index(settings: Settings) -> tuple[SentenceTransformerEmbedder, ChromaStore, BM25Index]:
    """The configured embedder with the store and BM25 index of its model (what sync writes)."""
    embedder = make_embedder(settings)
    store = open_store(settings, model_name=embedder.model_name, dimension=embedder.dimension)
    return embedder, store, open_lexical(settings, model_name=embedder.model_name)

"""Build the heavy parts (client, embedder, store, lexical index) from Settings.

Lives at the edge beside settings: only ``cli`` and ``api`` call it, and it passes plain
arguments down so core code never sees Settings or the environment.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragconf.confluence import Confluence
    from ragconf.index.embed import SentenceTransformerEmbedder
    from ragconf.index.lexical_sqlite import SqliteLexicalIndex
    from ragconf.index.store import ChromaStore
    from ragconf.settings import Settings

__all__ = [
    "make_confluence",
    "make_embedder",
    "open_index",
    "open_lexical",
    "open_store",
    "private_umask",
    "secure_data_dir",
]

log = logging.getLogger("ragconf")

#: what the data directory and everything in it may be: the owner's alone (it holds the
#: text of restricted pages)
_GROUP_OTHER = stat.S_IRWXG | stat.S_IRWXO


def private_umask() -> None:
    """Make every file this process creates from now on owner-only (0600 files, 0700 dirs).

    Called by the CLI entry point: Chroma's SQLite files, the BM25 index and the sync
    state are created by code that takes the process umask.
    """
    old = os.umask(0o077)
    os.umask(old | 0o077)


def secure_data_dir(path: Path | str) -> Path:
    """Create the data directory 0700, or tighten one an older ragconf left 0755.

    A directory that was open to others gets everything inside made owner-only too. A
    directory we don't own (a mounted volume) is left as it is, with a warning.
    """
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        if stat.S_IMODE(path.stat().st_mode) & _GROUP_OTHER:
            for root, dirs, files in os.walk(path):
                for name in (*dirs, *files):
                    _owner_only(Path(root) / name)
            _owner_only(path)
    except PermissionError:
        log.warning("could not make %s private (chmod 700): it is not ours", path)
    return path


def _owner_only(path: Path) -> None:
    if path.is_symlink():
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & _GROUP_OTHER:
        path.chmod(mode & ~_GROUP_OTHER)


#: ``ragconf verify`` diagnoses unreachable sites (VPN, firewall): it must answer in
#: seconds, not after the patient budget a sync uses (30 s per attempt, 180 s per request)
QUICK_TIMEOUT_S = 8.0
QUICK_DEADLINE_S = 20.0


def make_confluence(
    settings: Settings, *, auth: str | None = None, quick: bool = False
) -> Confluence:
    """A Confluence client for the configured site (or for ``auth`` on its behalf).

    ``quick``: a short budget per request (one retry, ``QUICK_TIMEOUT_S`` per attempt,
    ``QUICK_DEADLINE_S`` in all), for the connection check.
    """
    from ragconf.confluence import Confluence
    from ragconf.errors import ConfigurationError

    if not settings.api_url:
        raise ConfigurationError("no Confluence endpoint configured (RAGCONF_CONFLUENCE_URL)")
    budget: dict[str, Any] = {}
    if quick:
        budget = {"timeout": QUICK_TIMEOUT_S, "max_retries": 1, "deadline": QUICK_DEADLINE_S}
    return Confluence(
        settings.api_url,
        auth=auth or settings.authorization(),
        max_retry_after=settings.max_retry_after_s,
        rate=settings.request_rate,
        max_concurrency=settings.max_concurrency,
        **budget,
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


def open_store(
    settings: Settings,
    *,
    model_name: str,
    dimension: int,
    documents: SqliteLexicalIndex | None = None,
) -> ChromaStore:
    """Embedded Chroma under the data dir, or a Chroma server when RAGCONF_CHROMA_URL is set.

    A new embedded collection keeps vectors only: its text and metadata live in the
    lexical index beside it (``documents``; opened here when not given). A Chroma server
    keeps everything, since API replicas on other hosts rebuild their index from it.
    """
    from ragconf.index.store import open_store as _open

    secure_data_dir(settings.data_dir)
    store = _open(
        settings.data_dir,
        chroma_url=settings.chroma_url,
        model_name=model_name,
        dimension=dimension,
        layout="full" if settings.chroma_url else "vectors",
        **settings.chroma_options(),
    )
    if store.vectors_only:
        store.attach_documents(documents or open_lexical(settings, model_name=model_name))
    return store


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


def open_lexical(settings: Settings, *, model_name: str) -> SqliteLexicalIndex:
    """The lexical index that sits beside the store (one per collection, on this host)."""
    from ragconf.index.lexical_sqlite import SqliteLexicalIndex, lexical_db_path

    secure_data_dir(settings.data_dir)
    return SqliteLexicalIndex(lexical_db_path(settings.data_dir, store_key(settings), model_name))


def open_index(
    settings: Settings,
) -> tuple[SentenceTransformerEmbedder, ChromaStore, SqliteLexicalIndex]:
    """The configured embedder with the store and BM25 index of its model (what sync writes)."""
    embedder = make_embedder(settings)
    lexical = open_lexical(settings, model_name=embedder.model_name)
    store = open_store(
        settings, model_name=embedder.model_name, dimension=embedder.dimension, documents=lexical
    )
    return embedder, store, lexical

"""The serving path's cheap parts: the store's answer cache, the ranking slots, dependencies
that stay on the event loop, and the collector settled once the model is loaded."""

from __future__ import annotations

import inspect
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest

from ragconf.api import deps
from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.store import ChromaStore, open_store
from ragconf.index.types import Chunk, Hit, SearchFilters
from ragconf.search.retrieve import Retriever

TEXTS = {
    "page:1:0": "deploy runbook: roll back a failed release",
    "page:2:0": "holiday calendar for the support team",
    "page:3:0": "ledger reconciliation at month end",
    "page:4:0": "upload error ERR-4031 on large attachments",
}


def _chunks(texts: dict[str, str], space: str = "ENG") -> list[Chunk]:
    out = []
    for cid, text in texts.items():
        _, content_id, _ = cid.split(":")
        out.append(Chunk(id=cid, text=text, metadata={
            "content_id": content_id, "content_type": "page", "space_key": space,
            "space_id": "1", "title": text.split(":")[0], "version": 1, "chunk_index": 0,
        }))  # fmt: skip
    return out


class CountingCollection:
    """Chroma's collection with its ``query`` calls counted."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.queries = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def query(self, **kwargs: Any) -> Any:
        self.queries += 1
        return self._inner.query(**kwargs)


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[HashEmbedder, ChromaStore, CountingCollection]]:
    emb = HashEmbedder(dimension=64)
    store = open_store(tmp_path, model_name=emb.model_name, dimension=emb.dimension)
    chunks = _chunks(TEXTS)
    store.upsert(chunks, emb.embed_documents([c.text for c in chunks]))
    col = CountingCollection(store._col)
    store._col = col
    yield emb, store, col
    store.close()


def retriever_over(embedded: Any, lexical: BM25Index, mode: str = "bm25", **kw: Any) -> Retriever:
    """A retriever over the fixture's store, with ``lexical`` built from it."""
    emb, store, _ = embedded
    lexical.rebuild(store.iter_all())
    return Retriever(store, emb, lexical, mode=mode, **kw)


# -- the answer cache of query_ids -------------------------------------------------------------


def test_a_repeated_dense_query_costs_no_chroma_call(embedded: Any) -> None:
    emb, store, col = embedded
    vec = emb.embed_query("roll back a release")
    first = store.query_ids(vec, 3)
    assert col.queries == 1
    again = store.query_ids(vec, 3)
    assert again == first and col.queries == 1
    again.clear()  # the caller's copy: the cached answer is untouched
    assert store.query_ids(vec, 3) == first
    assert store.query_ids(vec, 2) == first[:2]  # the start of a larger answer
    assert col.queries == 1
    store.query_ids(emb.embed_query("holiday"), 3)
    assert col.queries == 2


def test_a_larger_k_asks_again_unless_the_whole_collection_came_back(embedded: Any) -> None:
    emb, store, col = embedded
    vec = emb.embed_query("ledger")
    store.query_ids(vec, 2)
    assert len(store.query_ids(vec, 3)) == 3 and col.queries == 2  # more than it has
    everything = store.query_ids(vec, 10)  # 4 chunks: the whole collection
    assert len(everything) == len(TEXTS) and col.queries == 3
    assert store.query_ids(vec, 50) == everything and col.queries == 3


def test_a_write_or_a_reopen_makes_the_store_ask_chroma_again(embedded: Any) -> None:
    emb, store, col = embedded
    vec = emb.embed_query("quarterly budget planning")
    before = [cid for cid, _ in store.query_ids(vec, 1)]
    new = _chunks({"page:9:0": "quarterly budget planning"})
    store.upsert(new, emb.embed_documents([c.text for c in new]))
    assert [cid for cid, _ in store.query_ids(vec, 1)] == ["page:9:0"] != before
    store.delete(["page:9:0"])
    assert [cid for cid, _ in store.query_ids(vec, 1)] == before
    asked = col.queries
    store.reopen()  # another process's sync becomes visible here: nothing cached survives
    store._col = col = CountingCollection(store._col)
    store.query_ids(vec, 1)
    assert col.queries == 1 and asked == 3


def test_a_store_that_sees_other_writers_is_never_cached(tmp_path: Path) -> None:
    # a client handed in (not opened on a data dir) is treated like a server's: another
    # host may write to it at any time, so every query goes to Chroma
    emb = HashEmbedder(dimension=64)
    client = chromadb.EphemeralClient()
    store = ChromaStore(client, model_name=emb.model_name, dimension=emb.dimension,
                        location="test:ephemeral")  # fmt: skip
    assert store.sees_other_writers
    chunks = _chunks(TEXTS)
    store.upsert(chunks, emb.embed_documents([c.text for c in chunks]))
    col = CountingCollection(store._col)
    store._col = col
    vec = emb.embed_query("ledger")
    for _ in range(3):
        store.query_ids(vec, 2)
    assert col.queries == 3
    store.drop()


def test_the_cache_keeps_few_and_small_answers(embedded: Any) -> None:
    emb, store, col = embedded
    store._ids_cache.entries, store._ids_cache.max_k = 2, 3
    vecs = [emb.embed_query(t) for t in ("a", "b", "c")]
    for v in vecs:
        store.query_ids(v, 2)
    store.query_ids(vecs[0], 2)  # evicted by the third: asked again
    assert col.queries == 4
    store.query_ids(vecs[2], 2)  # still there
    assert col.queries == 4
    for _ in range(2):
        store.query_ids(emb.embed_query("d"), 4)  # k above max_k: never kept
    assert col.queries == 6


def test_a_repeated_filtered_search_is_answered_from_the_cache(
    embedded: Any, tmp_path: Path
) -> None:
    col = embedded[2]
    retriever = retriever_over(embedded, BM25Index(tmp_path / "bm25"), mode="dense")
    filters = SearchFilters(space_keys=("ENG",))
    first = retriever.search("roll back a release", k=2, filters=filters)
    asked = col.queries
    for _ in range(3):
        again = retriever.search("roll back a release", k=2, filters=filters)
        assert [d.content_id for d in again.results] == [d.content_id for d in first.results]
    assert col.queries == asked


# -- ranking slots -----------------------------------------------------------------------------


class SlowLexical(BM25Index):
    """A real BM25 index whose searches take a while and count how many run at once."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.now = self.most = 0
        self._count = threading.Lock()

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[Hit]:
        with self._count:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        try:
            return super().search(query, k, filters)
        finally:
            with self._count:
                self.now -= 1


@pytest.mark.parametrize("slots", [1, 2, None])
def test_ranking_slots_bound_the_searches_past_the_encoder(
    embedded: Any, tmp_path: Path, slots: int | None
) -> None:
    lexical = SlowLexical(tmp_path / "bm25")
    retriever = retriever_over(embedded, lexical, ranking_slots=slots)
    threads = [threading.Thread(target=retriever.search, args=("ledger",)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    if slots is None:
        assert lexical.most > 2  # unbounded: they overlap
    else:
        assert lexical.most == slots


def test_a_search_waiting_on_a_permission_check_holds_no_ranking_slot(
    embedded: Any, tmp_path: Path
) -> None:
    # strict permissions ask Confluence from inside a search: with one slot, a reader whose
    # check hangs must not stop another reader's search
    retriever = retriever_over(embedded, BM25Index(tmp_path / "bm25"), ranking_slots=1)
    release = threading.Event()

    def slow_allow(metadata: dict[str, Any]) -> bool:
        assert release.wait(30)
        return True

    stuck = threading.Thread(target=retriever.search, args=("ledger",),
                             kwargs={"allow": slow_allow})  # fmt: skip
    stuck.start()
    time.sleep(0.2)
    done = threading.Event()
    other = threading.Thread(target=lambda: (retriever.search("ledger"), done.set()))
    other.start()
    try:
        assert done.wait(10), "a search waited for another reader's permission check"
    finally:
        release.set()
        stuck.join(30)
        other.join(30)


# -- the event loop and the collector -------------------------------------------------------


def test_request_dependencies_do_not_take_a_thread() -> None:
    # FastAPI runs a plain `def` dependency on its thread pool: a thread hop per request
    for dep in (deps.get_services, deps.get_settings, deps.get_retriever,
                deps.get_permissions, deps.require_api_key):  # fmt: skip
        assert inspect.iscoroutinefunction(dep), dep.__name__


def _freeze_count_after_startup(settle: bool, tmp_path: Path) -> int:
    code = f"""
import gc, sys
from fastapi.testclient import TestClient
from ragconf.api.app import create_app
from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.store import open_store
from ragconf.settings import Settings
emb = HashEmbedder(dimension=64)
store = open_store({str(tmp_path)!r}, model_name=emb.model_name, dimension=emb.dimension)
app = create_app(Settings(), embedder=emb, store=store,
                 lexical=BM25Index({str(tmp_path / "bm25")!r}),
                 settle_gc={settle})
with TestClient(app) as client:
    assert client.get("/search", params={{"q": "x"}}).status_code == 200
    print(gc.get_freeze_count())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    return int(out.stdout.strip().splitlines()[-1])


def test_serve_settles_the_collector_once_loaded(tmp_path: Path) -> None:
    assert _freeze_count_after_startup(True, tmp_path / "a") > 10_000
    # an app in someone else's process (tests, notebooks) leaves their collector alone
    assert _freeze_count_after_startup(False, tmp_path / "b") == 0


def test_search_still_answers_after_many_cached_queries(embedded: Any) -> None:
    emb, store, _ = embedded
    vec = np.asarray(emb.embed_query("ledger"), dtype=np.float32)
    answers = {tuple(store.query_ids(vec, 2)) for _ in range(50)}
    assert len(answers) == 1

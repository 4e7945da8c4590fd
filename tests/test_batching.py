"""Micro-batching of query encoding (ragconf.index.batching) and its wiring into the API.

Batching is proven by counting encoder calls, never by timing: a gate holds the encoder
inside its first call while other callers queue up behind it, then opens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from ragconf.api.app import create_app
from ragconf.api.server import ApiServer
from ragconf.index.batching import BatchingEmbedder, Coalescer
from ragconf.index.embed import HashEmbedder, SentenceTransformerEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.store import open_store
from ragconf.index.types import Embedder
from ragconf.settings import Settings
from tests.test_retrieve import _chunks

QUERIES = [
    "how do I roll back a failed deployment",
    "on-call escalation policy",
    "ERR-4031 when uploading an attachment",
    "",
    "release 2.14.3 (2024-05-01): fixed SSO login loop on Safari 17",
    "Überprüfung der Zugriffsrechte — naïve café, 東京",
    "parental leave",
    " ".join(["The deployment pipeline builds, tests and ships every service."] * 60),
]


class Gated:
    """An Embedder that records every batch call and can hold it at a gate."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []
        self.threads: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_on: str | None = None

    @property
    def model_name(self) -> str:
        return str(self.inner.model_name)

    @property
    def dimension(self) -> int:
        return int(self.inner.dimension)

    def warm_up(self) -> None:
        self.inner.warm_up()

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        self.threads.append(threading.get_ident())
        self.entered.set()
        assert self.gate.wait(60), "the test never opened the gate"
        if self.fail_on is not None and self.fail_on in texts:
            raise RuntimeError("encoder failure")
        return self.inner.embed_queries(texts)  # type: ignore[no-any-return]


def _wait_for(cond: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def _run_held(emb: BatchingEmbedder, gated: Gated, first: str, others: list[str]) -> dict[str, Any]:
    """``first`` enters the encoder and is held there while ``others`` queue up."""
    out: dict[str, Any] = {}

    def call(text: str) -> None:
        try:
            out[text] = emb.embed_query(text)
        except Exception as exc:
            out[text] = exc

    gated.gate.clear()
    leader = threading.Thread(target=call, args=(first,))
    leader.start()
    assert gated.entered.wait(30)
    threads = [threading.Thread(target=call, args=(t,)) for t in others]
    for t in threads:
        t.start()
    _wait_for(lambda: emb._batcher.waiting == len(set(others)), "the callers to queue")
    gated.gate.set()
    for t in [leader, *threads]:
        t.join(30)
    return out


def test_concurrent_queries_share_one_encoder_call() -> None:
    gated = Gated(HashEmbedder(64))
    emb = BatchingEmbedder(gated, cache_size=0)
    others = [f"{q} #{i}" for i, q in enumerate(QUERIES)]
    got = _run_held(emb, gated, "the first query", others)
    # the first call ran alone (the encoder was idle); all the rest waited and ran together
    assert [len(c) for c in gated.calls] == [1, len(others)]
    assert sorted(gated.calls[1]) == sorted(others)
    assert emb.stats.runs == 2 and emb.stats.largest == len(others)
    plain = HashEmbedder(64)
    for text in ["the first query", *others]:
        np.testing.assert_allclose(got[text], plain.embed_query(text), atol=1e-6)


def test_an_idle_encoder_runs_at_once_in_the_callers_thread() -> None:
    gated = Gated(HashEmbedder(64))
    emb = BatchingEmbedder(gated, cache_size=0)
    for q in QUERIES[:3]:
        emb.embed_query(q)
    assert gated.calls == [[q] for q in QUERIES[:3]]
    assert gated.threads == [threading.get_ident()] * 3  # no batching thread, no hand-off


def test_batches_are_capped_at_max_batch() -> None:
    gated = Gated(HashEmbedder(64))
    emb = BatchingEmbedder(gated, cache_size=0, max_batch=3)
    others = [f"q{i}" for i in range(7)]
    got = _run_held(emb, gated, "first", others)
    assert sorted(len(c) for c in gated.calls) == [1, 1, 3, 3]
    assert sorted(t for c in gated.calls[1:] for t in c) == sorted(others)
    assert all(isinstance(v, np.ndarray) for v in got.values())


def test_same_text_in_one_batch_is_encoded_once_and_every_caller_gets_it() -> None:
    gated = Gated(HashEmbedder(64))
    emb = BatchingEmbedder(gated, cache_size=0)
    got: list[np.ndarray] = []
    gated.gate.clear()
    lead = threading.Thread(target=lambda: got.append(emb.embed_query("lead")))
    lead.start()
    assert gated.entered.wait(30)
    threads = [
        threading.Thread(target=lambda: got.append(emb.embed_query("same"))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    _wait_for(lambda: emb._batcher.waiting == 4, "the callers to queue")
    gated.gate.set()
    for t in [lead, *threads]:
        t.join(30)
    assert gated.calls == [["lead"], ["same"]]
    assert len(got) == 5


def test_an_encoder_error_reaches_its_batch_and_the_next_batch_still_runs() -> None:
    gated = Gated(HashEmbedder(64))
    emb = BatchingEmbedder(gated, cache_size=0)
    gated.fail_on = "boom"
    got = _run_held(emb, gated, "first", ["a", "boom", "b"])
    assert isinstance(got["first"], np.ndarray)
    for text in ("a", "boom", "b"):  # one batch: each of its callers sees the failure
        assert isinstance(got[text], RuntimeError)
    gated.fail_on = None
    assert emb.embed_query("after") is not None  # the batcher is not stuck
    assert gated.calls[-1] == ["after"]


def test_the_cache_skips_the_encoder_and_evicts_the_least_recently_used() -> None:
    gated = Gated(HashEmbedder(64))
    emb = BatchingEmbedder(gated, cache_size=2)
    a = emb.embed_query("a")
    emb.embed_query("b")
    assert emb.embed_query("a") is a  # a hit, and "a" is now the most recently used
    emb.embed_query("c")  # evicts "b"
    emb.embed_query("a")
    emb.embed_query("b")
    assert gated.calls == [["a"], ["b"], ["c"], ["b"]]
    assert emb.cache_hits == 2
    with pytest.raises(ValueError):
        a[0] = 1.0  # a shared cached vector cannot be changed by one caller


def test_without_batching_each_call_encodes_alone_concurrently() -> None:
    gated = Gated(HashEmbedder(64))
    emb = BatchingEmbedder(gated, batching=False, cache_size=0)
    gated.gate.clear()
    threads = [threading.Thread(target=emb.embed_query, args=(q,)) for q in ("x", "y", "z")]
    for t in threads:
        t.start()
    _wait_for(lambda: len(gated.calls) == 3, "three concurrent encoder calls")
    gated.gate.set()
    for t in threads:
        t.join(30)
    assert sorted(gated.calls) == [["x"], ["y"], ["z"]]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Coalescer(lambda items: items, max_batch=0)
    with pytest.raises(ValueError):
        Coalescer(lambda items: items, window_ms=-1)
    with pytest.raises(ValueError):
        BatchingEmbedder(HashEmbedder(8), cache_size=-1)
    short = Coalescer(lambda items: items[:-1])
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        short.submit("x")


def test_wrapper_is_an_embedder_and_embed_queries_matches() -> None:
    emb = BatchingEmbedder(HashEmbedder(64))
    assert isinstance(emb, Embedder)
    many = emb.embed_queries(QUERIES)
    assert many.shape == (len(QUERIES), 64) and many.dtype == np.float32
    assert emb.embed_queries([]).shape == (0, 64)
    assert emb.query_count >= len(QUERIES)  # the wrapped embedder's attribute


# -- the real model through ONNX Runtime ------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory: pytest.TempPathFactory) -> SentenceTransformerEmbedder:
    emb = SentenceTransformerEmbedder(
        query_backend="onnx", onnx_cache_dir=tmp_path_factory.mktemp("onnx")
    )
    emb.warm_up()
    return emb


def test_onnx_batches_give_each_caller_its_unbatched_vector(
    onnx_embedder: SentenceTransformerEmbedder,
) -> None:
    alone = {q: onnx_embedder.embed_query(q) for q in QUERIES}
    batch = onnx_embedder.embed_queries(QUERIES)  # padded to the longest (truncated) text
    for i, q in enumerate(QUERIES):
        np.testing.assert_allclose(batch[i], alone[q], atol=1e-6)
    # and through the batcher, with real concurrent callers coalesced into one call
    gated = Gated(onnx_embedder)
    emb = BatchingEmbedder(gated, cache_size=0)
    got = _run_held(emb, gated, QUERIES[0], QUERIES[1:])
    assert [len(c) for c in gated.calls] == [1, len(QUERIES) - 1]
    for q in QUERIES:
        np.testing.assert_allclose(got[q], alone[q], atol=1e-6)


def test_torch_embed_queries_matches_embed_query(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    batch = real_embedder.embed_queries(QUERIES)
    for i, q in enumerate(QUERIES):
        np.testing.assert_allclose(batch[i], real_embedder.embed_query(q), atol=1e-5)


# -- wired into the API ---------------------------------------------------------------------


@pytest.fixture
def parts(tmp_path: Path) -> tuple[HashEmbedder, Any, BM25Index]:
    emb = HashEmbedder(dimension=64)
    store = open_store(tmp_path, model_name=emb.model_name, dimension=emb.dimension)
    chunks = _chunks()
    store.upsert(chunks, emb.embed_documents([c.text for c in chunks]))
    bm25 = BM25Index(tmp_path / "bm25")
    bm25.rebuild(store.iter_all())
    return emb, store, bm25


@pytest.fixture
def served(parts: tuple[Any, ...]) -> Iterator[tuple[ApiServer, Gated, Any]]:
    emb, store, bm25 = parts
    gated = Gated(emb)
    app = create_app(Settings(), embedder=gated, store=store, lexical=bm25)
    with ApiServer(app) as server:
        yield server, gated, app
    store.close()


def test_concurrent_http_searches_are_encoded_together(
    served: tuple[ApiServer, Gated, Any],
) -> None:
    server, gated, app = served
    batcher = app.state.services.embedder
    assert isinstance(batcher, BatchingEmbedder)
    queries = [f"release upload {i}" for i in range(6)]
    status: dict[str, int] = {}

    def search(q: str) -> None:
        status[q] = httpx.get(server.base_url + "/search", params={"q": q}, timeout=60).status_code

    gated.gate.clear()
    first = threading.Thread(target=search, args=("deploy runbook",))
    first.start()
    assert gated.entered.wait(30)
    threads = [threading.Thread(target=search, args=(q,)) for q in queries]
    for t in threads:
        t.start()
    _wait_for(lambda: batcher._batcher.waiting == len(queries), "six searches to queue")
    gated.gate.set()
    for t in [first, *threads]:
        t.join(60)
    assert set(status.values()) == {200}
    assert [len(c) for c in gated.calls] == [1, len(queries)]
    # asked again: answered from the vector cache, no encoder call
    assert httpx.get(server.base_url + "/search", params={"q": queries[0]}).status_code == 200
    assert len(gated.calls) == 2


def test_batching_and_cache_can_be_turned_off(parts: tuple[Any, ...]) -> None:
    from fastapi.testclient import TestClient

    emb, store, bm25 = parts
    settings = Settings(query_batching=False, query_cache_size=0)
    app = create_app(settings, embedder=emb, store=store, lexical=bm25)
    with TestClient(app) as client:
        assert app.state.services.embedder is emb
        assert client.get("/search", params={"q": "release"}).status_code == 200
    store.close()


# -- dense queries sharing Chroma calls -------------------------------------------------------


class GatedCollection:
    """Chroma's collection, with its ``query`` calls recorded and held at a gate."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[tuple[int, int]] = []  # (vectors, n_results) per Chroma query
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def query(self, **kwargs: Any) -> Any:
        self.calls.append((len(kwargs["query_embeddings"]), kwargs["n_results"]))
        self.entered.set()
        assert self.gate.wait(60)
        return self._inner.query(**kwargs)


def test_concurrent_dense_queries_share_chroma_calls(parts: tuple[Any, ...]) -> None:
    emb, store, _ = parts
    texts = ["deploy runbook", "release notes", "holiday calendar", "upload error", "ledger"]
    vecs = [emb.embed_query(t) for t in texts]
    ks = [3, 5, 3, 5, 3]
    alone = [store.query_ids(v, k) for v, k in zip(vecs, ks, strict=True)]
    store._ids_cache.clear()  # asked again: to Chroma, not the answer cache
    store.batch_queries(max_batch=32)
    col = GatedCollection(store._col)
    store._col = col
    got: dict[int, Any] = {}

    def ask(i: int) -> None:
        got[i] = store.query_ids(vecs[i], ks[i])

    col.gate.clear()
    first = threading.Thread(target=ask, args=(0,))
    first.start()
    assert col.entered.wait(30)
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(1, len(texts))]
    for t in threads:
        t.start()
    _wait_for(lambda: store._ids_batcher.waiting == len(texts) - 1, "the queries to queue")
    col.gate.set()
    for t in [first, *threads]:
        t.join(30)
    # the first alone; then one Chroma query per distinct k for the four that waited
    assert col.calls[0] == (1, 3)
    assert sorted(col.calls[1:]) == [(2, 3), (2, 5)]
    for i in range(len(texts)):
        assert got[i] == alone[i]
    store.close()

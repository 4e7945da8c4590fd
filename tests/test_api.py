"""The HTTP API in-process (TestClient): routes, validation, errors, keys, limits, CORS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragconf.api.app import create_app
from ragconf.api.deps import OpenScope, get_retriever
from ragconf.errors import StoreError
from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.store import ChromaStore, open_store
from ragconf.index.types import SearchFilters
from ragconf.settings import Settings
from tests.test_retrieve import _chunks

RESULT_FIELDS = {
    "content_id", "content_type", "title", "url", "anchor_url", "space_key", "labels",
    "breadcrumbs", "updated_at", "score", "snippet", "snippet_plain", "sections",
}  # fmt: skip


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[HashEmbedder, ChromaStore, BM25Index]:
    data = tmp_path_factory.mktemp("api")
    emb = HashEmbedder(dimension=256)
    store = open_store(data, model_name=emb.model_name, dimension=emb.dimension)
    chunks = _chunks()
    store.upsert(chunks, emb.embed_documents([c.text for c in chunks]))
    store.set_meta(last_sync_at="2024-06-01T00:00:00Z")
    bm25 = BM25Index(data / "bm25")
    bm25.rebuild(store.iter_all())
    return emb, store, bm25


def _client(parts: tuple[Any, ...], **settings: Any) -> TestClient:
    emb, store, bm25 = parts
    app = create_app(Settings(**settings), embedder=emb, store=store, lexical=bm25)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(parts: tuple[Any, ...]) -> Iterator[TestClient]:
    with _client(parts) as c:
        yield c


def test_get_search_returns_documents_with_the_contract_fields(client: TestClient) -> None:
    r = client.get("/search", params={"q": "ERR-4031 upload rejected", "k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == "ERR-4031 upload rejected" and body["mode"] == "hybrid"
    assert body["took_ms"] >= 0 and "total_ms" in body["timings"]
    top = body["results"][0]
    assert set(top) == RESULT_FIELDS
    assert top["content_id"] == "101"
    assert top["anchor_url"].endswith("/pages/101#Deployrunbook-Errorcodes")
    assert len(body["results"]) <= 3


def test_post_search_gives_the_same_answer_as_get(client: TestClient) -> None:
    params = {"q": "release upload", "k": 5, "space": "ENG,HR", "type": ["page", "blogpost"]}
    got = client.get("/search", params=params).json()
    posted = client.post(
        "/search", json={"q": "release upload", "k": 5, "space": ["ENG", "HR"],
                         "type": ["page", "blogpost"]},
    ).json()  # fmt: skip
    assert [d["content_id"] for d in got["results"]] == [d["content_id"] for d in posted["results"]]
    assert {d["space_key"] for d in got["results"]} <= {"ENG", "HR"}
    assert {d["content_type"] for d in got["results"]} <= {"page", "blogpost"}
    alias = client.post("/search", json={"query": "release upload", "k": 5}).json()
    assert alias["results"]


@pytest.mark.parametrize(
    ("params", "allowed"),
    [
        ({"space": "HR"}, {"102", "401"}),
        ({"space": ["OPS", "HR"]}, {"102", "401", "501", "502"}),
        ({"label": "runbook,calendar"}, {"101", "401"}),
        ({"type": "attachment"}, {"att301"}),
        ({"updated_after": "2024-02-15"}, {"101", "201"}),
        ({"updated_after": "2024-05-01T00:00:00Z"}, {"201"}),
    ],
)
def test_each_filter_narrows(client: TestClient, params: dict[str, Any], allowed: set[str]) -> None:
    q = "upload release rollback laptop calendar coffee machine august badge limits"
    r = client.get("/search", params={"q": q, "k": 20, **params})
    assert r.status_code == 200, r.text
    found = {d["content_id"] for d in r.json()["results"]}
    assert found and found <= allowed


@pytest.mark.parametrize(
    "params",
    [
        {"q": "ok", "k": 0},
        {"q": "ok", "k": 101},
        {"q": "ok", "k": "ten"},
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 2001},
        {},
        {"q": "ok", "type": "wiki"},
        {"q": "ok", "updated_after": "last tuesday"},
        {"q": "ok", "updated_after": "2024-13-45"},
        {"q": "ok", "mode": "fuzzy"},
    ],
)
def test_bad_search_parameters_get_a_clear_422(client: TestClient, params: dict[str, Any]) -> None:
    r = client.get("/search", params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "ValidationError"
    assert body["message"] and "Traceback" not in body["message"]
    assert "x" * 100 not in r.text  # the offending input is not echoed back


@pytest.mark.parametrize(
    "body",
    [
        {"q": "ok", "k": 1000},
        {"q": "ok", "type": ["page", "wiki"]},
        {"q": "ok", "unknown": 1},
        {"q": 5},
        {"k": 3},
        [],
    ],
)
def test_bad_post_bodies_get_422(client: TestClient, body: Any) -> None:
    r = client.post("/search", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "ValidationError"


def test_malformed_json_is_a_422_not_a_500(client: TestClient) -> None:
    r = client.post("/search", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"] == "ValidationError"


def test_context_cites_only_what_it_contains_and_fits_the_budget(client: TestClient) -> None:
    r = client.post("/context", json={"query": "upload release rollback", "k": 4, "max_tokens": 60})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tokens"] <= 60 and body["max_tokens"] == 60
    assert body["tokenizer"] == "hash-256"
    ns = [c["n"] for c in body["citations"]]
    assert ns == list(range(1, len(ns) + 1)) and ns
    for c in body["citations"]:
        assert f"[{c['n']}] {c['title']} — {c['url']}" in body["context"]
    assert body["context"].count("\n[") + 1 == len(ns)


@pytest.mark.parametrize(
    "body",
    [{"query": "", "k": 3}, {"query": "ok", "max_tokens": 5}, {"query": "ok", "k": 0}, {"k": 1}],
)
def test_bad_context_requests_get_422(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/context", json=body).status_code == 422


def test_health_ready_and_stats(client: TestClient, parts: tuple[Any, ...]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    stats = client.get("/stats").json()
    store = parts[1]
    assert stats["chunks"] == store.count() == stats["lexical_chunks"]
    assert stats["by_space"] == {"ENG": 4, "HR": 2, "OPS": 2}
    assert stats["by_type"]["page"] == 5 and stats["by_type"]["attachment"] == 1
    assert stats["last_sync_at"] == "2024-06-01T00:00:00Z"
    assert stats["model"] == "hash-256" and stats["store"].startswith("embedded:")


def test_readyz_is_503_on_an_empty_index(tmp_path: Path) -> None:
    emb = HashEmbedder(dimension=32)
    store = open_store(tmp_path, model_name=emb.model_name, dimension=emb.dimension)
    app = create_app(Settings(), embedder=emb, store=store, lexical=BM25Index(tmp_path / "b"))
    with TestClient(app) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["index_present"] is False and r.json()["problems"]
        assert c.get("/search", params={"q": "anything"}).json()["results"] == []


def test_api_keys_are_required_when_configured(parts: tuple[Any, ...]) -> None:
    secret = "sk-sentinel-0123456789"
    with _client(parts, api_keys=["other-key-1", secret]) as c:
        r = c.get("/search", params={"q": "upload"})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"] == "UnauthorizedError"
        bad = c.get("/search", params={"q": "upload"}, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        basic = c.get("/search", params={"q": "upload"}, headers={"Authorization": secret})
        assert basic.status_code == 401
        ok = {"Authorization": f"Bearer {secret}"}
        assert c.get("/search", params={"q": "upload"}, headers=ok).status_code == 200
        assert c.post("/context", json={"query": "upload"}).status_code == 401
        assert c.post("/context", json={"query": "upload"}, headers=ok).status_code == 200
        assert c.get("/stats").status_code == 401
        stats = c.get("/stats", headers=ok)
        assert stats.status_code == 200 and secret not in stats.text
        assert c.get("/healthz").status_code == 200
        assert c.get("/openapi.json").status_code == 200


def test_oversized_bodies_are_refused(client: TestClient) -> None:
    r = client.post("/search", json={"q": "a" * 70_000})
    assert r.status_code == 413
    assert r.json()["error"] == "BodyTooLarge"

    def stream() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
        yield b'{"q": "'
        for _ in range(80):
            yield b"a" * 1024
        yield b'"}'

    chunked = client.post("/search", content=stream(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413
    assert chunked.json()["error"] == "BodyTooLarge"


def test_cors_follows_the_configured_origins(parts: tuple[Any, ...]) -> None:
    with _client(parts, cors_origins=["https://intranet.example"]) as c:
        pre = {"Origin": "https://intranet.example", "Access-Control-Request-Method": "GET"}
        r = c.options("/search", headers=pre)
        assert r.headers.get("access-control-allow-origin") == "https://intranet.example"
        evil = c.get("/search", params={"q": "x"}, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers


def test_ragconf_errors_become_json_with_their_status(parts: tuple[Any, ...]) -> None:
    def broken() -> None:
        raise StoreError("Chroma is down")

    with _client(parts) as c:
        c.app.dependency_overrides[get_retriever] = broken  # type: ignore[attr-defined]
        r = c.get("/search", params={"q": "upload"})
    assert r.status_code == 503
    assert r.json()["error"] == "StoreError" and r.json()["hint"]


def test_permission_scope_narrows_and_post_checks(parts: tuple[Any, ...]) -> None:
    class OnlyEngWithoutRunbook(OpenScope):  # a custom scope: OpenScope has the defaults
        def narrow(self, filters: SearchFilters) -> SearchFilters:
            return replace(filters, space_ids=("sp-ENG",))

        @property
        def allow(self) -> Any:  # type: ignore[override]
            return lambda md: md.get("content_id") != "101"

    with _client(parts) as c:
        c.app.state.permission_resolver = lambda request: OnlyEngWithoutRunbook()  # type: ignore[attr-defined]
        body = c.get("/search", params={"q": "upload release ERR-4031 laptop", "k": 20}).json()
        ctx = c.post("/context", json={"query": "ERR-4031 upload", "k": 5}).json()
    ids = {d["content_id"] for d in body["results"]}
    assert ids and ids <= {"201", "att301"}
    assert all(cit["content_id"] in {"201", "att301"} for cit in ctx["citations"])


def test_openapi_documents_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/search", "/context", "/healthz", "/readyz", "/stats"} <= set(spec["paths"])
    params = {p["name"] for p in spec["paths"]["/search"]["get"]["parameters"]}
    assert {"q", "k", "space", "label", "type", "updated_after"} <= params
    assert client.get("/docs").status_code == 200


def test_background_bm25_rebuilds_do_not_pile_up_copies_on_disk(tmp_path: Path) -> None:
    """An API reading a Chroma server rebuilds BM25 after each remote sync; old copies go."""
    from ragconf.api.app import _rebuilder
    from ragconf.index.lexical import BM25Index
    from ragconf.index.store import open_store
    from tests.contracts.test_vector_store import make_chunks

    chunks = make_chunks(n_docs=6, per_doc=2)
    store = open_store(tmp_path / "data", model_name="hash", dimension=64)
    store.upsert(chunks, HashEmbedder().embed_documents([c.text for c in chunks]))
    folder = tmp_path / "lexical"
    rebuild = _rebuilder(BM25Index(folder), store)
    for _ in range(4):
        fresh = rebuild()
    assert len(fresh) == len(chunks)
    assert not list(folder.glob(".stage-*"))
    assert len(list(folder.glob("v-*"))) <= 3
    assert len(BM25Index(folder)) == len(chunks)  # a restart loads the last rebuild
    store.close()

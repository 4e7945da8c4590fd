"""The HTTP API under hostile input: generated requests, oversized bodies, API keys.

* schemathesis generates requests from the app's own OpenAPI document (in-process ASGI,
  a fixed seed, a bounded number of examples per operation): none gets a 5xx, and every
  4xx carries a JSON ``{"error", "message"}`` body;
* bodies over the limit are refused with 413, by header and while streaming;
* API keys are compared in constant time (``hmac.compare_digest`` over every key), and
  odd keys (non-ASCII, huge, empty) get 401, never 500.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from ragconf.api import deps
from ragconf.api.app import MAX_BODY_BYTES, create_app
from ragconf.confluence import Confluence
from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.store import open_store
from ragconf.settings import Settings
from ragconf.simulator import DEMO_TOKEN, DEMO_USER, SimulatorServer, Site
from ragconf.sync.engine import Syncer

KEY = "hardening-key-0c9e2b"


def small_site() -> Site:
    site = Site()
    site.add_space("ENG", "Engineering")
    site.add_space("OPS", "Operations")
    for i in range(12):
        site.add_page("ENG" if i % 2 else "OPS", f"Runbook {i}",
                      f"<h2>Deploy</h2><p>Deploy service {i} with the canary pipeline.</p>"
                      f"<h2>Rollback</h2><p>Roll back service {i} if errors rise.</p>",
                      labels=[f"team{i % 3}"])
    site.add_blog_post("ENG", "Release notes", "<p>We shipped the ledger.</p>")
    return site


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Any]]:
    data = tmp_path_factory.mktemp("hardening")
    emb = HashEmbedder(64)
    store = open_store(data, model_name=emb.model_name, dimension=emb.dimension)
    lexical = BM25Index(data / "bm25")
    with SimulatorServer(small_site()) as sim, Confluence(
        sim.base_url, username=DEMO_USER, token=DEMO_TOKEN
    ) as conf:
        assert Syncer(conf, store, emb, lexical, state_dir=data, custom_types=[]).run().ok
    yield emb, store, lexical


@pytest.fixture(scope="module")
def client(index: tuple[Any, Any, Any]) -> Iterator[TestClient]:
    emb, store, lexical = index
    app = create_app(Settings(), embedder=emb, store=store, lexical=lexical)
    with TestClient(app, raise_server_exceptions=False) as c:  # runs the lifespan
        yield c


@pytest.fixture(scope="module")
def api_schema(index: tuple[Any, Any, Any]) -> Any:
    # an app of its own: schemathesis runs (and ends) the lifespan of the app it calls
    emb, store, lexical = index
    app = create_app(Settings(), embedder=emb, store=store, lexical=lexical)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


OPERATIONS = [("GET", "/search"), ("POST", "/search"), ("POST", "/context"),
              ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/stats")]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests_never_get_a_server_error(
    api_schema: Any, method: str, path: str
) -> None:
    """Up to 50 schema-conforming examples per operation, the same ones on every run."""
    operation = api_schema[path][method]
    calls: list[int] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=50, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = case.call()
        calls.append(response.status_code)
        assert response.status_code < 500, (method, path, response.text[:500])
        if 400 <= response.status_code < 500:
            body = response.json()
            assert body.get("error") and body.get("message"), body

    check()
    assert calls and any(code == 200 for code in calls), calls[:20]


def test_the_schema_covers_the_public_routes(api_schema: Any) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {"/search", "/context", "/healthz", "/readyz", "/stats"} <= paths
    params = {p["name"] for p in api_schema.raw_schema["paths"]["/search"]["get"]["parameters"]}
    assert "X-Confluence-Authorization" in params  # the reader's credentials are documented


# -- request size limits ------------------------------------------------------------------


def test_oversized_bodies_get_413(client: TestClient) -> None:
    big = json.dumps({"q": "deploy", "padding": "x" * (MAX_BODY_BYTES + 10)})
    r = client.post("/search", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "BodyTooLarge"

    def stream() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield b'{"q": "deploy", "padding": "'
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b"x" * 4096
        yield b'"}'

    r = client.post("/context", content=stream(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/search", content=b"{}" + b" " * 10,
                    headers={"content-type": "application/json",
                             "content-length": str(10**12)})
    assert r.status_code == 413


def test_long_and_odd_input_gets_4xx_not_5xx(client: TestClient) -> None:
    cases = [
        client.get("/search", params={"q": "x" * 5000}),
        client.get("/search", params={"q": "deploy", "k": "1e9"}),
        client.get("/search", params={"q": "deploy", "updated_after": "2024-13-45"}),
        client.post("/search", content=b"\xff\xfe not json",
                    headers={"content-type": "application/json"}),
        client.post("/search", json=["not", "an", "object"]),
        client.post("/context", json={"query": "deploy", "max_tokens": 10**9}),
    ]
    for r in cases:
        assert 400 <= r.status_code < 500, r.text
        assert r.json().get("message"), r.text
    # noncharacters are a query like any other
    assert client.get("/search", params={"q": "\ud7ff\ufffe deploy"}).status_code == 200


# -- API keys --------------------------------------------------------------------------------


def test_api_keys_are_compared_in_constant_time() -> None:
    tree = ast.parse(textwrap.dedent(inspect.getsource(deps.check_api_key)))
    calls = [ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert "hmac.compare_digest" in calls
    secret_names = {"supplied", "given", "key", "keys", "header"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):  # no ==, != or `in` on the key: they short-circuit
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            assert not names & secret_names, ast.unparse(node)
        # every key is compared, whichever matches (no early exit from the loop)
        assert not isinstance(node, (ast.Break, ast.Return)) or isinstance(node, ast.Return)
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.For)]
    assert loops and not any(isinstance(n, (ast.Break, ast.Return, ast.Raise))
                             for loop in loops for n in ast.walk(loop))


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic " + KEY, "Bearer " + KEY + "x", "Bearer " + KEY[:-1],
     "Bearer ключ-🔑", "Bearer " + "k" * 10_000, "bearer  " + KEY + "\t"],
)
def test_wrong_or_odd_api_keys_get_401(index: tuple[Any, Any, Any], header: str) -> None:
    emb, store, lexical = index
    app = create_app(Settings(api_keys=[KEY, "second-key"]), embedder=emb, store=store,
                     lexical=lexical)
    with TestClient(app, raise_server_exceptions=False) as c:
        headers = {b"Authorization": header.encode()} if header else {}  # raw UTF-8 bytes
        r = c.get("/search", params={"q": "deploy"}, headers=headers)
        if header.strip().lower().startswith("bearer") and header.split()[1:] == [KEY]:
            assert r.status_code == 200  # surrounding whitespace is tolerated
            return
        assert r.status_code == 401, r.text
        assert r.headers.get("www-authenticate") == "Bearer"
        assert KEY not in r.text and "second-key" not in r.text


def test_the_right_api_keys_open_the_api(index: tuple[Any, Any, Any], tmp_path: Path) -> None:
    emb, store, lexical = index
    app = create_app(Settings(api_keys=[KEY, "second-key"]), embedder=emb, store=store,
                     lexical=lexical)
    with TestClient(app, raise_server_exceptions=False) as c:
        for key in (KEY, "second-key"):
            r = c.get("/search", params={"q": "deploy"}, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200 and r.json()["results"]
        assert c.get("/healthz").status_code == 200  # probes stay open
        assert c.get("/stats").status_code == 401


# -- caching and header handling (issue 12, items 5 and 6) ----------------------------------


def _keyed(index: tuple[Any, Any, Any]) -> TestClient:
    emb, store, lexical = index
    app = create_app(Settings(api_keys=[KEY]), embedder=emb, store=store, lexical=lexical)
    return TestClient(app, raise_server_exceptions=False)


def test_key_protected_answers_are_never_cached_and_vary_on_credentials(
    index: tuple[Any, Any, Any],
) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    with _keyed(index) as c:
        answers = [
            c.get("/search", params={"q": "deploy"}, headers=auth),
            c.post("/search", json={"q": "deploy"}, headers=auth),
            c.post("/context", json={"query": "deploy"}, headers=auth),
            c.get("/stats", headers=auth),
            c.get("/search", params={"q": "deploy"}),  # the 401 too
        ]
        for r in answers:
            assert r.headers.get("cache-control") == "no-store", (r.url, r.headers)
            vary = {v.strip().lower() for v in r.headers.get("vary", "").split(",")}
            assert {"authorization", "x-confluence-authorization"} <= vary, r.headers
        assert c.get("/openapi.json").headers.get("cache-control") is None  # same for all


@pytest.mark.parametrize("name", ["X-Confluence-Authorization", "Authorization"])
def test_duplicate_credential_headers_get_400(client: TestClient, name: str) -> None:
    headers = [(name, "Basic Zmlyc3Q6b25l"), (name, "Basic c2Vjb25kOnR3bw==")]
    r = client.get("/search", params={"q": "deploy"}, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "DuplicateHeader" and "Zmlyc3Q6b25l" not in r.text


def test_trailing_slash_is_answered_without_a_host_built_redirect(client: TestClient) -> None:
    r = client.get("/search/", params={"q": "deploy"}, headers={"Host": "evil.example"},
                   follow_redirects=False)
    assert r.status_code == 200 and "location" not in r.headers, r.headers
    assert r.json()["results"]
    assert "evil.example" not in r.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_head_works_on_the_probes(client: TestClient, path: str) -> None:
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]


def test_options_and_405_list_every_method_of_the_path(client: TestClient) -> None:
    r = client.options("/search")
    assert r.status_code == 204
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST", "HEAD"}
    r = client.put("/search", json={"q": "deploy"})
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}
    assert client.options("/context").headers["allow"].startswith(("OPTIONS", "POST"))


# -- small API gaps (issue 12, item 19) -----------------------------------------------------


def test_openapi_declares_the_api_key_scheme_when_keys_are_on(
    index: tuple[Any, Any, Any],
) -> None:
    with _keyed(index) as c:
        doc = c.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    (name, scheme), = schemes.items()
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for path, method in [("/search", "get"), ("/search", "post"), ("/context", "post"),
                         ("/stats", "get")]:
        assert doc["paths"][path][method]["security"] == [{name: []}], (path, method)
    for path in ("/healthz", "/readyz"):  # the probes stay open
        assert "security" not in doc["paths"][path]["get"]


def test_openapi_claims_no_scheme_without_keys(client: TestClient) -> None:
    assert "securitySchemes" not in client.get("/openapi.json").json().get("components", {})


def test_get_search_schema_states_the_enforced_limits(client: TestClient) -> None:
    params = {p["name"]: p["schema"]
              for p in client.get("/openapi.json").json()["paths"]["/search"]["get"]["parameters"]}
    assert (params["q"]["minLength"], params["q"]["maxLength"]) == (1, 2000)
    assert (params["k"]["minimum"], params["k"]["maximum"]) == (1, 100)
    modes = next(s for s in params["mode"]["anyOf"] if "enum" in s)["enum"]
    assert sorted(modes) == ["bm25", "dense", "hybrid"]


def test_malformed_json_says_so(client: TestClient) -> None:
    r = client.post("/search", content=b'{"q": "deploy",,}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 422
    message = r.json()["message"]
    assert "not valid JSON" in message and not message.startswith("1"), message


@pytest.mark.parametrize("value", ["1700000000", "2024", "true"])
def test_updated_after_numbers_are_refused_alike_on_get_and_post(
    client: TestClient, value: str
) -> None:
    got = client.get("/search", params={"q": "deploy", "updated_after": value})
    posted = client.post("/search", json={"q": "deploy", "updated_after": json.loads(value)})
    assert got.status_code == posted.status_code == 422, (got.text, posted.text)
    assert "updated_after" in got.json()["message"] and "updated_after" in posted.json()["message"]


def test_empty_updated_after_means_no_filter_on_get_and_post(client: TestClient) -> None:
    got = client.get("/search", params={"q": "deploy", "updated_after": ""})
    posted = client.post("/search", json={"q": "deploy", "updated_after": ""})
    assert got.status_code == posted.status_code == 200
    assert [d["content_id"] for d in got.json()["results"]] == [
        d["content_id"] for d in posted.json()["results"]
    ]


@pytest.mark.parametrize("raw", ["q=%FF%FE", "q=deploy%C3", "q=%00", "q=deploy%00now"])
def test_undecodable_bytes_and_nul_are_not_a_query(client: TestClient, raw: str) -> None:
    r = client.get("/search?" + raw)
    assert r.status_code in (400, 422), r.text
    assert r.json()["message"]


def test_nul_in_a_json_query_is_refused(client: TestClient) -> None:
    for path, field in (("/search", "q"), ("/context", "query")):
        r = client.post(path, json={field: "deploy\u0000"})
        assert r.status_code == 422, r.text


@pytest.mark.parametrize(("setting", "tokens"), [(3, 3), (None, 4 * (os.cpu_count() or 1))])
def test_searches_share_a_pool_of_their_own(
    index: tuple[Any, Any, Any], setting: int | None, tokens: int
) -> None:
    # a few threads serve searches faster than FastAPI's 40 on two cores (bench/load.py),
    # and a slow /answer cannot take them; more requests than threads just wait their turn
    from concurrent.futures import ThreadPoolExecutor

    emb, store, lexical = index
    app = create_app(Settings(search_concurrency=setting), embedder=emb, store=store,
                     lexical=lexical)  # fmt: skip
    with TestClient(app) as c:
        assert app.state.search_limiter.total_tokens == tokens
        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(lambda i: c.get("/search", params={"q": f"x {i}"}), range(24)))
        assert {r.status_code for r in codes} == {200}
        assert app.state.search_limiter.borrowed_tokens == 0

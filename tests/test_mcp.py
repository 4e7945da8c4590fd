"""The MCP server through the official SDK's own client, over stdio and streamable HTTP.

stdio: ``ragconf mcp`` as a subprocess on a data dir synced from the demo site (HashEmbedder).
HTTP: ``/mcp`` on a real uvicorn server from ``create_app``, with API keys and strict
permissions, the reader's credentials in ``X-Confluence-Authorization``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from ragconf.api.app import create_app
from ragconf.api.server import ApiServer
from ragconf.confluence.urls import basic_auth
from ragconf.search.permissions import USER_AUTH_HEADER
from ragconf.settings import Settings
from ragconf.simulator import (
    DEMO_TOKEN,
    DEMO_USER,
    GUEST_TOKEN,
    GUEST_USER,
    SimulatorServer,
    demo_site,
)
from tests.llm_support import DemoIndex, demo_index

PHRASE = "Promote the replica with the least replication lag using patronictl"
HIDDEN_Q = "leadership offsite budget compensation bands salary"
GUEST_AUTH = basic_auth(GUEST_USER, GUEST_TOKEN)
ADMIN_AUTH = basic_auth(DEMO_USER, DEMO_TOKEN)
TOOLS = {"search", "fetch_document", "list_spaces"}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(demo_site()) as server:
        yield server


@pytest.fixture(scope="module")
def index(sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> DemoIndex:
    return demo_index(tmp_path_factory.mktemp("mcp"), sim.base_url)


def _guest_hidden(index: DemoIndex, sim: SimulatorServer) -> dict[str, dict[str, Any]]:
    kinds = (("pages", "page"), ("blogposts", "blogpost"), ("attachments", "attachment"),
             ("custom_content", "custom_content"))  # fmt: skip
    visible = {f"{t}:{i}" for kind, t in kinds for i in sim.site.visible_ids(GUEST_USER, kind)}
    return {k: md for k, md in index.docs.items() if k not in visible}


async def _session(client: Client, hidden_q: str = HIDDEN_Q) -> dict[str, Any]:
    """What the tests look at, from one client session."""
    tools = {t.name for t in (await client.list_tools()).tools}
    found = await client.call_tool("search", {"query": PHRASE, "k": 3})
    hidden = await client.call_tool("search", {"query": hidden_q, "k": 20})
    spaces = await client.call_tool("list_spaces", {})
    out: dict[str, Any] = {"tools": tools, "search": found, "hidden": hidden, "spaces": spaces}
    if not found.is_error and found.structured_content["results"]:
        url = found.structured_content["results"][0]["url"]
        out["doc"] = await client.call_tool("fetch_document", {"id_or_url": url})
    out["bad"] = await client.call_tool("fetch_document", {"id_or_url": "not a page"})
    out["typo"] = await client.call_tool("search", {"query": "x", "type": ["wiki"]})
    return out


def _stdio(index: DemoIndex, **env: str) -> StdioServerParameters:
    base = {
        "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd()),
        "RAGCONF_DATA_DIR": str(index.data_dir),
        "RAGCONF_EMBED_MODEL": "hash:64",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "XDG_CONFIG_HOME": str(index.data_dir / "no-config"),
    }
    return StdioServerParameters(
        command=sys.executable,
        args=["-c", "from ragconf.cli import main; main()", "mcp"],
        env={**base, **env},
        cwd=str(index.data_dir),
    )


def test_stdio_lists_the_tools_and_searches(index: DemoIndex) -> None:
    async def go() -> dict[str, Any]:
        async with Client(_stdio(index), read_timeout_seconds=120) as client:
            return await _session(client)

    got = anyio.run(go)
    assert got["tools"] == TOOLS  # no `answer` without an LLM
    results = got["search"].structured_content["results"]
    assert results[0]["title"] == "Runbook: Postgres failover"
    assert results[0]["url"] and results[0]["anchor_url"].startswith(results[0]["url"])
    assert "**" not in results[0]["snippet"]  # agents get plain text
    doc = got["doc"].structured_content
    assert doc["title"] == "Runbook: Postgres failover" and "patronictl" in doc["text"]
    assert doc["links"]["url"] == results[0]["url"]
    assert any(
        s["anchor_url"].startswith(doc["links"]["url"] + "#") for s in doc["links"]["sections"]
    )
    keys = {s["key"] for s in got["spaces"].structured_content["spaces"]}
    assert {"ENG", "OPS", "HR", "LEAD"} <= keys  # the service account's view
    assert (
        got["bad"].is_error and "not a content id or a Confluence URL" in got["bad"].content[0].text
    )
    assert got["typo"].is_error and "unknown content type 'wiki'" in got["typo"].content[0].text


def test_stdio_in_strict_mode_answers_as_the_configured_reader(
    index: DemoIndex, sim: SimulatorServer
) -> None:
    hidden = _guest_hidden(index, sim)
    env = {"RAGCONF_PERMISSIONS": "strict", "RAGCONF_CONFLUENCE_URL": sim.base_url,
           "RAGCONF_READER_AUTHORIZATION": GUEST_AUTH}  # fmt: skip

    async def go(params: StdioServerParameters) -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=120) as client:
            return await _session(client)

    got = anyio.run(go, _stdio(index, **env))
    shown = {f"{r['content_type']}:{r['content_id']}"
             for r in got["hidden"].structured_content["results"]}  # fmt: skip
    assert shown and not shown & set(hidden)
    keys = {s["key"] for s in got["spaces"].structured_content["spaces"]}
    assert keys and not keys & {"HR", "LEAD"}
    assert all("chunks" not in s for s in got["spaces"].structured_content["spaces"])
    # as the admin, the same question does reach hidden documents: the check can fail
    admin = anyio.run(go, _stdio(index, **{**env, "RAGCONF_READER_AUTHORIZATION": ADMIN_AUTH}))
    admin_shown = {f"{r['content_type']}:{r['content_id']}"
                   for r in admin["hidden"].structured_content["results"]}  # fmt: skip
    assert admin_shown & set(hidden)


async def _http(url: str, headers: dict[str, str]) -> dict[str, Any]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        out = await _session(client)
        return out


@pytest.fixture(scope="module")
def http_server(index: DemoIndex, sim: SimulatorServer) -> Iterator[str]:
    settings = Settings(confluence_url=sim.base_url, permissions="strict", api_keys="k1")
    app = create_app(settings, embedder=index.embedder, store=index.store, lexical=index.lexical)
    with ApiServer(app) as server:
        yield server.base_url + "/mcp"


def test_http_honours_api_keys_and_the_readers_credentials(
    http_server: str, index: DemoIndex, sim: SimulatorServer
) -> None:
    hidden = _guest_hidden(index, sim)
    key = {"Authorization": "Bearer k1"}
    accept = {"Accept": "application/json, text/event-stream"}
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    # no key, a wrong key, a key but no reader: refused before MCP, as on /search
    for headers in ({}, {"Authorization": "Bearer nope"}, key):
        r = httpx.post(http_server, json=ping, headers={**headers, **accept})
        assert r.status_code == 401, r.text
    with pytest.raises(BaseException):  # noqa: B017 - the SDK wraps the 401 in a task group
        anyio.run(_http, http_server, {})

    got = anyio.run(_http, http_server, {**key, USER_AUTH_HEADER: GUEST_AUTH})
    assert got["tools"] == TOOLS
    assert got["search"].structured_content["results"][0]["title"] == "Runbook: Postgres failover"
    shown = {f"{r['content_type']}:{r['content_id']}"
             for r in got["hidden"].structured_content["results"]}  # fmt: skip
    assert shown and not shown & set(hidden)
    keys = {s["key"] for s in got["spaces"].structured_content["spaces"]}
    assert keys and not keys & {"HR", "LEAD"}

    admin = anyio.run(_http, http_server, {**key, USER_AUTH_HEADER: ADMIN_AUTH})
    admin_shown = {f"{r['content_type']}:{r['content_id']}"
                   for r in admin["hidden"].structured_content["results"]}  # fmt: skip
    assert admin_shown & set(hidden)


def test_http_fetch_document_of_a_hidden_page_is_not_found_for_the_reader(
    http_server: str, index: DemoIndex, sim: SimulatorServer
) -> None:
    hidden_url = next(md["url"] for md in _guest_hidden(index, sim).values()
                      if md["content_type"] == "page")  # fmt: skip

    async def fetch(auth: str) -> Any:
        headers = {"Authorization": "Bearer k1", USER_AUTH_HEADER: auth}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(http_server, http_client=http)) as client,
        ):
            return await client.call_tool("fetch_document", {"id_or_url": hidden_url})

    guest = anyio.run(fetch, GUEST_AUTH)
    assert guest.is_error and "that you may view" in guest.content[0].text
    admin = anyio.run(fetch, ADMIN_AUTH)
    assert not admin.is_error and admin.structured_content["links"]["url"] == hidden_url


def test_http_refuses_a_foreign_host_name_without_api_keys(index: DemoIndex) -> None:
    app = create_app(Settings(), embedder=index.embedder, store=index.store, lexical=index.lexical)
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    accept = {"Accept": "application/json, text/event-stream"}
    with ApiServer(app) as server:
        evil = httpx.post(server.base_url + "/mcp", json=body,
                          headers={**accept, "Host": "evil.example:8000"})  # fmt: skip
        ok = httpx.post(server.base_url + "/mcp", json=body, headers=accept)
    assert evil.status_code == 421 and "loopback host" in evil.json()["message"]
    assert ok.status_code != 421


def test_http_answers_with_or_without_a_trailing_slash(index: DemoIndex) -> None:
    app = create_app(Settings(), embedder=index.embedder, store=index.store, lexical=index.lexical)
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "test", "version": "1"}}}  # fmt: skip
    accept = {"Accept": "application/json, text/event-stream"}
    with ApiServer(app) as server:
        got = {path: httpx.post(server.base_url + path, json=init, headers=accept)
               for path in ("/mcp", "/mcp/")}  # fmt: skip
    for path, r in got.items():
        assert r.status_code == 200, (path, r.status_code, r.text)
        assert "serverInfo" in r.text, path

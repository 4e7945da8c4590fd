"""Real HTTP servers that speak the OpenAI chat API, for the /answer and MCP tests.

- :class:`ScriptedLLM`: a tiny FastAPI app (served by uvicorn) whose answers, failures and
  delays each test sets; it records every request body (the prompts) and header.
- :class:`CapturingProxy`: a pass-through proxy in front of a real LLM server (llama.cpp's)
  that records the prompts and can append text (e.g. a bad citation) to the real answer.
- :func:`demo_index`: the demo site synced with the HashEmbedder into ``data_dir``, laid
  out as ``ragconf serve``/``ragconf mcp`` find it with ``RAGCONF_EMBED_MODEL=hash:64``.
- :func:`sse_events`: parse a ``text/event-stream`` body into ``(event, data)`` pairs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ragconf.api.server import ApiServer

Reply = str | Callable[[dict[str, Any]], str]


@dataclass
class ScriptedLLM:
    """``mode``: ok | status (answers ``status`` with an OpenAI error body) | slow (sleeps
    ``delay_s`` first) | midstream (a few tokens, then an error event) | cutoff (a few
    tokens, then the stream just ends) | garbage (HTML)."""

    reply: Reply = "The answer [1]."
    mode: str = "ok"
    status: int = 500
    error_message: str = "the model exploded"
    delay_s: float = 0.0
    piece: int = 3  # characters per streamed delta: citations arrive split up
    ignore_stream: bool = False  # answer a streaming request with one JSON completion
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    server: ApiServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.base_url + "/v1"

    def __enter__(self) -> ScriptedLLM:
        self.server = ApiServer(self._app()).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.stop()

    def prompt(self, i: int = -1) -> str:
        """All message contents of request ``i``, joined."""
        return "\n".join(m["content"] for m in self.requests[i]["messages"])

    def _text(self, body: dict[str, Any]) -> str:
        return self.reply(body) if callable(self.reply) else self.reply

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.mode == "status":
                return JSONResponse(
                    {"error": {"message": self.error_message, "type": "server_error"}},
                    status_code=self.status,
                )
            if self.mode == "garbage":
                return Response("<html>proxy error</html>", media_type="text/html")
            text = self._text(body)
            if not body.get("stream") or self.ignore_stream:
                return JSONResponse(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "model": "scripted-1",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                    }
                )
            return StreamingResponse(self._stream(text), media_type="text/event-stream")

        return app

    async def _stream(self, text: str) -> AsyncIterator[str]:
        pieces = [text[i : i + self.piece] for i in range(0, len(text), self.piece)]
        if self.mode in ("midstream", "cutoff"):
            pieces = pieces[:3]
        for piece in pieces:
            event = {
                "model": "scripted-1",
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            yield f"data: {json.dumps(event)}\n\n"
            await asyncio.sleep(0)
        if self.mode == "midstream":
            yield f"data: {json.dumps({'error': {'message': 'out of memory'}})}\n\n"
            return
        if self.mode == "cutoff":  # the connection ends: no finish_reason, no [DONE]
            return
        done = {
            "model": "scripted-1",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        yield f"data: {json.dumps(done)}\n\n"
        yield "data: [DONE]\n\n"


class CapturingProxy:
    """Forwards ``/v1/*`` to ``upstream`` and records each chat request body.

    ``inject``: text appended to every answer (as one more stream delta, or to the whole
    message), to check that ragconf removes a citation the real model never could have
    been asked for.
    """

    def __init__(self, upstream: str, inject: str = "") -> None:
        self.upstream = upstream.rstrip("/")
        self.inject = inject
        self.requests: list[dict[str, Any]] = []
        self.server = ApiServer(self._app())

    @property
    def url(self) -> str:
        return self.server.base_url + "/v1"

    def __enter__(self) -> CapturingProxy:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def prompt(self, i: int = -1) -> str:
        return "\n".join(m["content"] for m in self.requests[i]["messages"])

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            client = httpx.AsyncClient(timeout=600)
            req = client.build_request("POST", f"{self.upstream}/v1/chat/completions", json=body)
            upstream = await client.send(req, stream=True)
            if not body.get("stream") or upstream.status_code >= 400:
                data = await upstream.aread()
                await upstream.aclose()
                await client.aclose()
                if upstream.status_code < 400 and self.inject:
                    doc = json.loads(data)
                    doc["choices"][0]["message"]["content"] += self.inject
                    data = json.dumps(doc).encode()
                return Response(
                    data,
                    status_code=upstream.status_code,
                    media_type=upstream.headers.get("content-type"),
                )

            async def relay() -> AsyncIterator[bytes]:
                try:
                    async for line in upstream.aiter_lines():
                        if line.strip() == "data: [DONE]" and self.inject:
                            extra = {"choices": [{"index": 0, "delta": {"content": self.inject}}]}
                            yield f"data: {json.dumps(extra)}\n\n".encode()
                        yield (line + "\n").encode()
                finally:
                    await upstream.aclose()
                    await client.aclose()

            return StreamingResponse(relay(), media_type="text/event-stream")

        return app


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            out.append((name, json.loads("\n".join(data))))
    return out


@dataclass
class DemoIndex:
    data_dir: Path
    embedder: Any
    store: Any
    lexical: Any
    docs: dict[str, dict[str, Any]]  # "type:id" -> chunk-0 metadata


def demo_index(data_dir: Path, sim_url: str) -> DemoIndex:
    """Sync the simulator at ``sim_url`` (as the admin) with ``hash:64`` into ``data_dir``."""
    from ragconf.confluence import Confluence
    from ragconf.index.embed import HashEmbedder
    from ragconf.index.lexical_sqlite import SqliteLexicalIndex, lexical_db_path
    from ragconf.index.store import open_store
    from ragconf.simulator import DEMO_TOKEN, DEMO_USER
    from ragconf.sync import Syncer

    emb = HashEmbedder(dimension=64)
    store = open_store(data_dir, model_name=emb.model_name, dimension=emb.dimension)
    lexical = SqliteLexicalIndex(lexical_db_path(data_dir, None, emb.model_name))  # as the CLI
    with Confluence(sim_url, username=DEMO_USER, token=DEMO_TOKEN) as conf:
        report = Syncer(conf, store, emb, lexical, state_dir=data_dir).run()
    assert report.ok, report.failed
    docs = {
        key: store.get(entry["chunk_ids"][:1])[0].metadata
        for key, entry in store.manifest().items()
    }
    return DemoIndex(data_dir, emb, store, lexical, docs)

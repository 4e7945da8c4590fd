"""``POST /answer`` (an LLM answer with validated citations) and ``GET /spaces``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ragconf.api import _tools
from ragconf.api.deps import ApiKeyDep, PermissionsDep, RetrieverDep, ServicesDep
from ragconf.api.schemas import ErrorResponse
from ragconf.api.schemas_answer import AnswerRequest, AnswerResponse, SpacesResponse
from ragconf.search.answer import (
    AnswerStream,
    ChatClient,
    LLMNotConfiguredError,
    answer,
    prepare,
)

__all__ = ["router", "sse_event"]

router = APIRouter(
    tags=["answer"],
    dependencies=[ApiKeyDep],
    responses={
        401: {"model": ErrorResponse, "description": "API key or reader credentials missing"},
        422: {"model": ErrorResponse, "description": "invalid parameters"},
    },
)


def sse_event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _llm(request: Request) -> ChatClient:
    llm: ChatClient | None = getattr(request.app.state, "llm", None)
    if llm is None:
        raise LLMNotConfiguredError("answers are off: no LLM is configured (RAGCONF_LLM_URL)")
    return llm


def _events(stream: AnswerStream) -> Iterator[str]:
    try:
        for name, data in stream.events():
            yield sse_event(name, data)
    finally:  # also when the client goes away mid-answer
        stream.close()


@router.post(
    "/answer",
    response_model=AnswerResponse,
    summary="Answer a question with an LLM, citing the wiki",
    responses={
        200: {
            "description": "the answer; with `stream: true` a `text/event-stream`",
            "content": {"text/event-stream": {}},
        },
        502: {"model": ErrorResponse, "description": "the LLM failed or could not be reached"},
        503: {"model": ErrorResponse, "description": "no LLM configured (RAGCONF_LLM_URL)"},
        504: {"model": ErrorResponse, "description": "the LLM did not answer in time"},
    },
)
def answer_route(
    req: AnswerRequest, request: Request, retriever: RetrieverDep, permissions: PermissionsDep
) -> Any:
    """Retrieve as ``/search`` does (same filters and permissions), pack the passages by
    relevance, and ask the configured OpenAI-compatible model.

    Only passages the caller may open are given to the model. A ``[n]`` naming no passage
    is removed (``removed_citations``). When no passage matches the question the model is
    not asked (``found: false``) and the answer lists the nearest pages. With
    ``stream: true`` the events are ``sources``, ``token`` (``{"text"}``)…, then ``done``
    (this response's JSON) — or ``error`` if the model fails mid-answer.
    """
    llm = _llm(request)
    prepared = prepare(
        retriever,
        req.query,
        k=req.k,
        context_tokens=req.context_tokens,
        filters=permissions.narrow(req.filters()),
        allow=permissions.allow,
        mode=req.mode,
    )
    if req.stream:
        # opens the LLM request now: a failing model is a 502/504, not a broken stream
        stream = AnswerStream(prepared, llm, max_tokens=req.max_tokens, temperature=req.temperature)
        return StreamingResponse(
            _events(stream),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    result = answer(prepared, llm, max_tokens=req.max_tokens, temperature=req.temperature)
    return AnswerResponse.model_validate(result.to_dict())


@router.get("/spaces", response_model=SpacesResponse, summary="Indexed spaces")
def spaces(services: ServicesDep, permissions: PermissionsDep) -> SpacesResponse:
    """The indexed spaces the caller may view (key, name; chunk counts except in strict
    permission mode)."""
    return SpacesResponse.model_validate(_tools.list_spaces(services, permissions))

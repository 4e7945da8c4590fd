"""``POST /context``: citable passages for an LLM prompt."""

from __future__ import annotations

import time

from fastapi import APIRouter

from ragconf.api.deps import ApiKeyDep, PermissionsDep, RetrieverDep
from ragconf.api.routes.search import reported_ms, scoped_caller
from ragconf.api.schemas import ContextRequest, ContextResponse, ErrorResponse
from ragconf.search.context import build_context

__all__ = ["router"]

router = APIRouter(
    tags=["context"],
    dependencies=[ApiKeyDep],
    responses={
        401: {"model": ErrorResponse, "description": "API key missing or wrong"},
        422: {"model": ErrorResponse, "description": "invalid parameters"},
    },
)


@router.post("/context", response_model=ContextResponse, summary="LLM context with citations")
def context(
    req: ContextRequest, retriever: RetrieverDep, permissions: PermissionsDep
) -> ContextResponse:
    """Numbered passages ``[n] Title — url`` packed under ``max_tokens``.

    Tokens are counted with the embedding model's tokenizer (named in ``tokenizer``);
    ``citations`` list exactly the documents that appear in ``context``, numbered from 1.
    """
    t0 = time.perf_counter()
    pack = build_context(
        retriever,
        req.query,
        k=req.k,
        max_tokens=req.max_tokens,
        filters=permissions.narrow(req.filters()),
        allow=permissions.allow,
        mode=req.mode,
    )
    data = pack.to_dict()
    data["took_ms"] = reported_ms(t0, scoped_caller(permissions))
    return ContextResponse.model_validate(data)

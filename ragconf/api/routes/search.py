"""``GET /search`` and ``POST /search``."""

from __future__ import annotations

import time
from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from ragconf.api._tools import scoped_search
from ragconf.api.deps import ApiKeyDep, PermissionScope, PermissionsDep, RetrieverDep
from ragconf.api.schemas import ErrorResponse, ModeName, SearchRequest, SearchResponse
from ragconf.search.retrieve import MAX_K, MAX_QUERY_CHARS

__all__ = ["router"]

router = APIRouter(
    tags=["search"],
    dependencies=[ApiKeyDep],
    responses={
        401: {"model": ErrorResponse, "description": "API key missing or wrong"},
        422: {"model": ErrorResponse, "description": "invalid parameters"},
        503: {"model": ErrorResponse, "description": "the index is not available"},
    },
)


def run_search(
    req: SearchRequest, retriever: RetrieverDep, permissions: PermissionsDep
) -> SearchResponse:
    t0 = time.perf_counter()
    res = scoped_search(
        retriever, permissions, req.q, k=req.k, filters=req.filters(), mode=req.mode
    )
    scoped = scoped_caller(permissions)
    return SearchResponse.model_validate(
        {
            "query": res.query,
            "mode": res.mode,
            "took_ms": reported_ms(t0, scoped),
            "results": [d.to_dict() for d in res.results],
            # the per-leg breakdown could tell a reader how much hidden content a query met
            "timings": {} if scoped else res.timings,
        }
    )


def scoped_caller(permissions: PermissionScope) -> bool:
    """Whether results are scoped to a reader's permissions (``spaces``/``strict``)."""
    return permissions.mode != "off"


def reported_ms(since: float, scoped: bool) -> float:
    """Milliseconds since ``since``: whole milliseconds for a permission-scoped caller."""
    ms = (time.perf_counter() - since) * 1000
    return float(round(ms)) if scoped else round(ms, 3)


async def in_search_pool(request: Request, req: SearchRequest, retriever: RetrieverDep,
                         permissions: PermissionsDep) -> SearchResponse:
    """``run_search`` on a worker thread, at most ``search_concurrency`` at once.

    A search is short and mostly holds the GIL; dozens of them interleaved on two cores
    spend their time handing the GIL over (measured: 172 req/s with FastAPI's 40 threads,
    231 with 8). Its own limiter also keeps slow routes (an LLM answer) from taking the
    threads searches need.
    """
    return await anyio.to_thread.run_sync(
        partial(run_search, req, retriever, permissions),
        limiter=getattr(request.app.state, "search_limiter", None),  # None: anyio's default
    )


@router.get("/search", response_model=SearchResponse, summary="Search (query string)")
async def search_get(
    request: Request,
    retriever: RetrieverDep,
    permissions: PermissionsDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            description=f"the question or keywords (1..{MAX_QUERY_CHARS} characters)",
        ),
    ],
    k: Annotated[int, Query(ge=1, le=MAX_K, description=f"documents to return (1..{MAX_K})")] = 10,
    space: Annotated[
        list[str] | None, Query(description="space keys; repeat or comma-separate")
    ] = None,
    label: Annotated[list[str] | None, Query(description="labels (any); repeatable")] = None,
    type: Annotated[
        list[str] | None,
        Query(description="page, blogpost, attachment, custom_content, comment; repeatable"),
    ] = None,
    ancestor: Annotated[
        list[str] | None,
        Query(description="only content below this page or folder id; repeatable (any)"),
    ] = None,
    updated_after: Annotated[
        str | None, Query(description="ISO date or datetime, e.g. 2024-05-01")
    ] = None,
    mode: Annotated[ModeName | None, Query(description="hybrid (default), dense or bm25")] = None,
) -> SearchResponse:
    """Documents that answer ``q``, best first, each with a link to its best section."""
    try:
        req = SearchRequest.model_validate(
            {
                "q": q,
                "k": k,
                "space": space or [],
                "label": label or [],
                "type": type or [],
                "ancestor": ancestor or [],
                "updated_after": updated_after,
                "mode": mode,
            }
        )
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    return await in_search_pool(request, req, retriever, permissions)


@router.post("/search", response_model=SearchResponse, summary="Search (JSON body)")
async def search_post(
    request: Request, req: SearchRequest, retriever: RetrieverDep, permissions: PermissionsDep
) -> SearchResponse:
    """The same as ``GET /search`` with the parameters in a JSON body (lists for filters)."""
    return await in_search_pool(request, req, retriever, permissions)

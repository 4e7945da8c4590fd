"""``GET /search`` and ``POST /search``."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from ragconf.api.deps import ApiKeyDep, PermissionsDep, RetrieverDep
from ragconf.api.schemas import ErrorResponse, SearchRequest, SearchResponse
from ragconf.search.retrieve import MAX_K, MAX_QUERY_CHARS, SearchResult

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
    filters = permissions.narrow(req.filters())
    res: SearchResult = retriever.search(
        req.q, k=req.k, filters=filters, mode=req.mode, allow=permissions.allow
    )
    took = round((time.perf_counter() - t0) * 1000, 3)
    return SearchResponse.model_validate(
        {
            "query": res.query,
            "mode": res.mode,
            "took_ms": took,
            "results": [d.to_dict() for d in res.results],
            "timings": res.timings,
        }
    )


@router.get("/search", response_model=SearchResponse, summary="Search (query string)")
def search_get(
    retriever: RetrieverDep,
    permissions: PermissionsDep,
    q: Annotated[
        str, Query(description=f"the question or keywords (1..{MAX_QUERY_CHARS} characters)")
    ],
    k: Annotated[int, Query(description=f"documents to return (1..{MAX_K})")] = 10,
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
    mode: Annotated[str | None, Query(description="hybrid (default), dense or bm25")] = None,
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
    return run_search(req, retriever, permissions)


@router.post("/search", response_model=SearchResponse, summary="Search (JSON body)")
def search_post(
    req: SearchRequest, retriever: RetrieverDep, permissions: PermissionsDep
) -> SearchResponse:
    """The same as ``GET /search`` with the parameters in a JSON body (lists for filters)."""
    return run_search(req, retriever, permissions)

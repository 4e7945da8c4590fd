"""``/healthz`` (process up), ``/readyz`` (model loaded, index present), ``/stats``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ragconf.api.deps import ApiKeyDep, PermissionsDep, ServicesDep
from ragconf.api.schemas import ErrorResponse, HealthResponse, ReadyResponse, StatsResponse

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse, summary="Liveness")
def healthz() -> HealthResponse:
    """Always 200 while the process serves requests (no auth, no I/O)."""
    return HealthResponse()


def _lexical_len(services: Any) -> int:
    try:
        return len(services.lexical.current)
    except Exception:
        return 0


@router.get(
    "/readyz",
    response_model=ReadyResponse,
    summary="Readiness",
    responses={503: {"model": ReadyResponse, "description": "not ready"}},
)
def readyz(request: Request) -> Any:
    """200 when the model is loaded and the index holds chunks; 503 (same body) otherwise."""
    services = getattr(request.app.state, "services", None)
    problems: list[str] = []
    chunks = 0
    if services is None:
        problems.append("starting: model and index not loaded yet")
        body = ReadyResponse(
            ready=False,
            model_loaded=False,
            index_present=False,
            chunks=0,
            lexical_chunks=0,
            problems=problems,
        )
        return JSONResponse(body.model_dump(), status_code=503)
    try:
        chunks = services.store.count()
    except Exception as exc:  # the store being unreachable is exactly what readyz reports
        problems.append(f"store unavailable ({type(exc).__name__})")
    if chunks == 0 and not problems:
        problems.append("the index is empty: run `ragconf sync`")
    if not services.model_loaded:
        problems.append("the embedding model is not loaded")
    settings = getattr(request.app.state, "settings", None)
    # readyz is unauthenticated: with permission-aware search a total would leak hidden content
    reveal = getattr(settings, "permissions", "off") == "off"
    body = ReadyResponse(
        ready=not problems,
        model_loaded=services.model_loaded,
        index_present=chunks > 0,
        chunks=chunks if reveal else None,
        lexical_chunks=_lexical_len(services) if reveal else None,
        problems=problems,
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get(
    "/stats",
    response_model=StatsResponse,
    summary="Index statistics",
    dependencies=[ApiKeyDep],
    responses={401: {"model": ErrorResponse}},
)
def stats(services: ServicesDep, permissions: PermissionsDep) -> StatsResponse:
    """Chunks per space and content type, last sync time, model and store location.

    Never includes credentials: the store location is a path or a server URL without userinfo.
    """
    store: Any = services.store
    raw: dict[str, Any] = store.stats() if hasattr(store, "stats") else {"chunks": store.count()}
    scoped = getattr(permissions, "scoped_stats", None)
    if callable(scoped):  # permission modes: count only what the reader may see
        raw = scoped(store, raw)
    meta: dict[str, Any] = {}
    if hasattr(store, "get_meta"):
        meta = dict(store.get_meta() or {})
    location = str(getattr(store, "location", "unknown"))
    return StatsResponse(
        documents=raw.get("documents"),
        chunks=int(raw.get("chunks", 0)),
        by_space={str(k): int(v) for k, v in (raw.get("by_space") or {}).items()},
        by_type={str(k): int(v) for k, v in (raw.get("by_type") or {}).items()},
        lexical_chunks=int(raw.get("lexical_chunks", _lexical_len(services))),
        last_sync_at=meta.get("last_sync_at"),
        model=services.embedder.model_name,
        dimension=services.embedder.dimension,
        store=_strip_userinfo(location),
    )


def _strip_userinfo(location: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    if "://" not in location:
        return location
    parts = urlsplit(location)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))

"""The FastAPI application: ``create_app(settings)``.

>>> from ragconf.api.app import create_app
>>> from ragconf.settings import Settings
>>> app = create_app(Settings())          # doctest: +SKIP
>>> # uvicorn.run(app, host="127.0.0.1", port=8000)

The lifespan warms the embedder (loads the model), opens the vector store and loads the
BM25 index once per process; tests pass ready ``embedder``/``store``/``lexical`` objects.
Errors: every :class:`RagconfError` becomes ``{"error", "message", "hint"}`` with the
error's ``http_status``; validation problems become 422 with a readable message; anything
else becomes a generic 500 without internals. When ``settings.api_keys`` is set, every
route except ``/healthz``, ``/readyz`` and the docs needs ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from ragconf import __version__
from ragconf.api._extras import extras_lifespan, install_extras
from ragconf.api.deps import Services
from ragconf.errors import RagconfError
from ragconf.index.types import Embedder, LexicalIndex, VectorStore
from ragconf.search._lexical_holder import LexicalHolder
from ragconf.search.retrieve import Retriever
from ragconf.settings import Settings

__all__ = [
    "MAX_BODY_BYTES",
    "create_app",
    "make_permission_engine",
    "open_services",
    "serving_app",
    "settle_garbage_collector",
]

log = logging.getLogger(__name__)

#: request bodies above this size are refused with 413 (search/context bodies are tiny)
MAX_BODY_BYTES = 64 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(RagconfError):
    http_status = 413
    default_hint = f"request bodies are limited to {MAX_BODY_BYTES // 1024} KiB"


class BodySizeLimit:
    """ASGI middleware: refuse bodies over ``limit`` bytes, by header or while streaming."""

    def __init__(self, app: Callable[..., Awaitable[None]], limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = False
                if too_big:
                    await _error_response(BodyTooLarge("the request body is too large"))(
                        scope, receive, send
                    )
                    return
        # Bodies here are small JSON documents: buffer up to the limit, then replay. (Raising
        # from inside receive() would surface as FastAPI's generic 400 "error parsing body".)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # a disconnect: let the app see it
            body = message.get("body", b"")
            size += len(body)
            if size > self.limit:
                await _error_response(BodyTooLarge("the request body is too large"))(
                    scope, receive, send
                )
                return
            chunks.append(body)
            if not message.get("more_body", False):
                message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                break
        first: Message | None = message

        async def replay() -> Message:
            nonlocal first
            if first is not None:
                out, first = first, None
                return out
            return await receive()

        await self.app(scope, replay, send)


def _error_response(exc: RagconfError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else {}
    headers.update(getattr(exc, "http_headers", None) or {})  # e.g. Retry-After on a 429
    body = {"error": type(exc).__name__, "message": exc.message, "hint": exc.hint}
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


def _validation_message(errors: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    details = []
    parts = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query")]
        where = ".".join(loc) or "request"
        msg = str(e.get("msg", "invalid value"))
        # pydantic prefixes messages of ValueError-based checks; ours read better without
        msg = msg.removeprefix("Value error, ")
        if e.get("type") == "json_invalid":  # loc is a character offset, not a field
            where, msg = "body", f"not valid JSON (near character {loc[-1] if loc else 0})"
        parts.append(f"{where}: {msg}")
        # the offending input is not echoed back: it may be huge, or something secret
        details.append({"loc": loc, "msg": msg, "type": e.get("type")})
    return "; ".join(parts) or "invalid request", details


def _install_handlers(app: FastAPI) -> None:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own 400 (unparsable body), 404 and 405 in the same shape as ours
        return JSONResponse(
            {"error": "HTTPError", "message": str(exc.detail), "hint": None},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RagconfError)
    async def _ragconf_error(request: Request, exc: RagconfError) -> JSONResponse:
        if exc.http_status >= 500:
            log.warning("%s on %s: %s", type(exc).__name__, request.url.path, exc.message)
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _validation_message(list(exc.errors()))
        return JSONResponse(
            {
                "error": "ValidationError",
                "message": message,
                "hint": "see /docs for the parameters and their limits",
                "detail": details,
            },
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # logged by type only: an exception's text can carry request data
        log.error("unexpected %s on %s", type(exc).__name__, request.url.path)
        return JSONResponse(
            {"error": "InternalError", "message": "internal error", "hint": None},
            status_code=500,
        )


def open_services(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    lexical: LexicalIndex | None = None,
) -> Services:
    """Build (or take) the embedder, store and lexical index and wire the retriever."""
    from ragconf import runtime

    if embedder is None:
        embedder = _make_embedder(settings)
    embedder.warm_up()
    if settings.query_batching or settings.query_cache_size:
        from ragconf.index.batching import BatchingEmbedder

        # concurrent searches share encoder runs (see ragconf.index.batching)
        embedder = BatchingEmbedder(
            embedder,
            batching=settings.query_batching,
            max_batch=settings.query_batch_max,
            window_ms=settings.query_batch_window_ms,
            cache_size=settings.query_cache_size,
        )
    load: Callable[[], LexicalIndex] | None = None
    if lexical is None:
        model_name = embedder.model_name

        def load() -> LexicalIndex:
            return runtime.open_lexical(settings, model_name=model_name)

        lexical = load()
    if store is None:
        store = runtime.open_store(
            settings,
            model_name=embedder.model_name,
            dimension=embedder.dimension,
            documents=lexical,  # type: ignore[arg-type]
        )
    batch_queries = getattr(store, "batch_queries", None)
    if settings.query_batching and callable(batch_queries):
        batch_queries(settings.query_batch_max)  # concurrent dense queries share Chroma calls
    reopen = None if getattr(store, "sees_other_writers", True) else getattr(store, "reopen", None)
    holder = LexicalHolder(
        lexical, store=store, load=load, rebuild=_rebuilder(lexical, store), on_change=reopen
    )
    # past the query encoder, one search per core at a time (see Retriever)
    retriever = Retriever(store, embedder, holder, ranking_slots=os.cpu_count() or 1)
    return Services(settings, embedder, store, holder, retriever, model_loaded=True)


def _make_embedder(settings: Settings) -> Embedder:
    """The configured model, with the ONNX query path cached under the data dir.

    A short query costs a few ms in ONNX Runtime against tens in torch on a small CPU; the
    embedder verifies the export against torch and falls back to torch by itself.
    """
    from ragconf.index.embed import SentenceTransformerEmbedder

    if (settings.embed_model or "").startswith("hash"):  # the test embedder ("hash:DIM")
        from ragconf import runtime

        return runtime.make_embedder(settings)
    return SentenceTransformerEmbedder(
        settings.embed_model,
        device=settings.embed_device,
        onnx_cache_dir=Path(settings.data_dir) / "onnx",
    )


def _rebuilder(lexical: LexicalIndex, store: VectorStore) -> Callable[[], LexicalIndex]:
    """Rebuild a fresh index of the same class from the store's chunks (a background job)."""

    def rebuild() -> LexicalIndex:
        if getattr(store, "vectors_only", False):
            # the index is the store's document copy: the next sync (which holds the
            # lease) reconciles the two; a server only reads
            return lexical
        if lexical.capabilities.documents:
            # the store was synced from another host: copy what differs (O(changed) writes)
            from ragconf.index.lexical_sqlite import reconcile

            reconcile(lexical, store)
            return lexical
        path = getattr(lexical, "path", None)
        fresh: Any = type(lexical)(path) if path is not None else type(lexical)()  # type: ignore[call-arg]
        fresh.rebuild(store.iter_all())
        stamp = _store_meta(store).get("lexical_stamp")
        if stamp is not None and hasattr(fresh, "stamp") and not callable(fresh.stamp):
            with suppress(AttributeError):
                fresh.stamp = stamp
        # rebuild() stages its texts on disk; saving makes that the live version and lets
        # save() clear older ones, so repeated rebuilds don't pile up copies on this host
        save = getattr(fresh, "save", None)
        if callable(save):
            try:
                save()
            except Exception as exc:  # serving from the staged copy still works
                log.warning("could not persist the rebuilt BM25 index: %s", exc)
        return fresh  # type: ignore[no-any-return]

    return rebuild


def _store_meta(store: Any) -> dict[str, Any]:
    try:
        return dict(store.get_meta() or {})
    except Exception:
        return {}


def make_permission_engine(settings: Settings) -> Any:
    """RAGCONF_PERMISSIONS=spaces|strict: the engine that asks Confluence as each reader
    (None when off). Short timeouts and few retries, since a person is waiting."""
    if settings.permissions == "off":
        return None
    from ragconf.confluence import Confluence
    from ragconf.errors import ConfigurationError
    from ragconf.search.permissions import PermissionEngine

    api_url = settings.api_url
    if not api_url:
        raise ConfigurationError(
            f"RAGCONF_PERMISSIONS={settings.permissions} needs the Confluence endpoint "
            "(RAGCONF_CONFLUENCE_URL) to check what each reader may see"
        )

    def reader_client(auth: str) -> Confluence:
        return Confluence(
            api_url,
            auth=auth,
            timeout=10.0,
            max_retries=2,
            max_retry_after=5.0,
            backoff_base=0.2,
            backoff_max=2.0,
            max_concurrency=8,
        )

    return PermissionEngine(
        settings.permissions, reader_client, cache_s=settings.permission_cache_s
    )


def _install_permissions(app: FastAPI, settings: Settings) -> None:
    """Scope each request to the reader's Confluence view (``make_permission_engine``).

    The reader's credentials come in ``X-Confluence-Authorization`` (see
    ``ragconf.search.permissions``).
    """
    engine = make_permission_engine(settings)
    if engine is None:
        return
    from ragconf.search.permissions import USER_AUTH_HEADER

    app.state.permission_engine = engine
    app.state.permission_resolver = lambda request: engine.scope(
        request.headers.get(USER_AUTH_HEADER), request.client.host if request.client else None
    )


def create_app(
    settings: Settings | None = None,
    *,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    lexical: LexicalIndex | None = None,
    settle_gc: bool = False,
) -> FastAPI:
    """The ragconf search API. Pass ``embedder``/``store``/``lexical`` to use ready objects.

    ``settle_gc``: the app owns its process (``ragconf serve``): once the model and index
    are loaded, see :func:`settle_garbage_collector`.
    """
    settings = settings or Settings()  # type: ignore[call-arg]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread  # binds anyio too (CapacityLimiter below)

        # model loading and store opening block; keep them off the event loop
        services = await anyio.to_thread.run_sync(
            lambda: open_services(settings, embedder=embedder, store=store, lexical=lexical)
        )
        app.state.services = services
        if settle_gc:
            settle_garbage_collector()
        app.state.search_limiter = anyio.CapacityLimiter(
            settings.search_concurrency or 4 * (os.cpu_count() or 1)
        )
        try:
            async with extras_lifespan(app):  # /mcp sessions, the LLM client
                yield
        finally:
            app.state.services = None
            close = getattr(services.store, "close", None)
            if callable(close) and store is None:  # a store passed in belongs to the caller
                close()

    app = FastAPI(
        title="ragconf",
        version=__version__,
        summary="Hybrid search and LLM context over a Confluence Cloud site",
        lifespan=lifespan,
        docs_url=None,  # served from local files by install_extras: no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.services = None
    _install_handlers(app)
    _install_permissions(app, settings)

    from ragconf.api.routes import context, health, search

    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(context.router)
    install_extras(app, settings)  # /answer, /spaces, /mcp, the page at /, offline /docs

    from ragconf.api._http import HttpHygiene

    app.router.redirect_slashes = False  # _http answers /search/ itself, without a redirect
    app.add_middleware(BodySizeLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(HttpHygiene, routes=app)
    if settings.api_keys:
        from ragconf.api._openapi import document_api_keys

        document_api_keys(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Confluence-Authorization"],
        )
    return app


def serving_app() -> FastAPI:
    """The app of a ``ragconf serve --workers N`` process (uvicorn's factory)."""
    return create_app(settle_gc=True)


def settle_garbage_collector() -> None:
    """Keep what is loaded out of the cycle collector's full passes.

    A loaded model and index leave millions of long-lived objects (torch, transformers,
    the lexical state); every full collection walked them all, stopping every thread for
    tens of milliseconds: under load that was the p99 (bench/load.py, 2 cores: 250-475 ms
    with the default collector, 167-173 ms with collections disabled). ``gc.freeze`` moves
    them to a generation the collector never scans; garbage made per request is still
    collected.
    """
    import gc

    gc.collect()
    gc.freeze()

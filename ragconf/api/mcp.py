"""The MCP server (official ``mcp`` SDK, 2.x ``MCPServer``): tools over the search index.

Tools: ``search`` (query, k, filters), ``fetch_document`` (the indexed text of a page by
id or URL, with its links), ``list_spaces``, and ``answer`` when an LLM is configured.
Served two ways:

* ``ragconf serve`` mounts it at ``/mcp`` (streamable HTTP): API keys and
  ``X-Confluence-Authorization`` work exactly as on the REST routes (``mount_mcp``);
* ``ragconf mcp`` runs it over stdio for desktop clients (``build_mcp_server`` with a
  fixed scope: the reader's credentials come from the command line or environment).

>>> server = build_mcp_server(lambda: services, lambda h: OpenScope())  # doctest: +SKIP
>>> server.run("stdio")                                                 # doctest: +SKIP
"""

# No `from __future__ import annotations` here: the SDK reads the tools' annotations at
# definition time, and `Context` is imported inside build_mcp_server (mcp loads lazily).
import ipaddress
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from ragconf import __version__
from ragconf.api import _tools
from ragconf.api.deps import PermissionScope, Services
from ragconf.api.schemas import search_filters
from ragconf.errors import RagconfError
from ragconf.search.answer import DEFAULT_ANSWER_TOKENS, MAX_ANSWER_TOKENS
from ragconf.search.context import MAX_CONTEXT_K, MAX_CONTEXT_TOKENS, MIN_CONTEXT_TOKENS
from ragconf.search.retrieve import MAX_K, MAX_QUERY_CHARS

if TYPE_CHECKING:
    from fastapi import FastAPI
    from mcp.server import MCPServer

    from ragconf.search.answer import ChatClient

__all__ = ["MCP_PATH", "build_mcp_server", "mcp_lifespan", "mount_mcp"]

MCP_PATH = "/mcp"

ScopeFor = Callable[[Mapping[str, str] | None], PermissionScope]  # headers -> scope

INSTRUCTIONS = (
    "Search an organisation's Confluence wiki. Use `search` to find pages (each result has a "
    "url and anchor_url to cite), `fetch_document` to read one page whole, `list_spaces` to "
    "see which spaces are indexed{answer}. Results are limited to what the user may view."
)

Query = Annotated[
    str, Field(min_length=1, max_length=MAX_QUERY_CHARS, description="question or keywords")
]
Filter = Annotated[list[str] | None, Field(description="any of these (space keys, labels, types)")]
After = Annotated[str | None, Field(description="only documents modified after this ISO date")]


def build_mcp_server(
    services: Callable[[], Services],
    scope_for: ScopeFor,
    llm: "ChatClient | None" = None,
) -> "MCPServer":
    """An ``MCPServer`` whose tools run against ``services()`` within ``scope_for(headers)``.

    ``headers`` are the HTTP request's headers (None over stdio). Blocking work runs in
    the SDK's worker threads (the tools are plain functions).
    """
    from mcp.server import MCPServer
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver.exceptions import ToolError

    # MCPServer() calls logging.basicConfig with its own handler; the CLI and the app's
    # host own the logging setup, so the root logger is put back as it was
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    server = MCPServer(
        "ragconf",
        version=__version__,
        instructions=INSTRUCTIONS.format(answer=", `answer` for a cited answer" if llm else ""),
        log_level="WARNING",
    )
    root.handlers[:] = handlers
    root.setLevel(level)

    def scope(ctx: Context) -> PermissionScope:
        try:
            headers = ctx.headers
        except Exception:  # stdio: no HTTP request behind the message
            headers = None
        return scope_for(headers)

    def run(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            return fn()
        except RagconfError as exc:  # the model reads the message and the fix
            raise ToolError(str(exc)) from None

    @server.tool(description="Search the wiki; results best first with links and snippets.")
    def search(
        query: Query,
        ctx: Context,
        k: Annotated[int, Field(ge=1, le=MAX_K, description="how many documents")] = 5,
        space: Filter = None,
        label: Filter = None,
        type: Filter = None,
        updated_after: After = None,
        ancestor: Filter = None,
    ) -> dict[str, Any]:
        def go() -> dict[str, Any]:
            filters = search_filters(space, label, type, updated_after, ancestor)
            return _tools.search(services(), scope(ctx), query, k, filters)

        return run(go)

    @server.tool(description="The indexed text of one page (by content id or URL), with links.")
    def fetch_document(
        id_or_url: Annotated[
            str, Field(min_length=1, max_length=2000, description="a content_id or page URL")
        ],
        ctx: Context,
    ) -> dict[str, Any]:
        return run(lambda: _tools.fetch_document(services(), scope(ctx), id_or_url))

    @server.tool(description="The indexed Confluence spaces (key, name) you may view.")
    def list_spaces(ctx: Context) -> dict[str, Any]:
        return run(lambda: _tools.list_spaces(services(), scope(ctx)))

    if llm is not None:
        from ragconf.search.answer import answer as make_answer
        from ragconf.search.answer import prepare

        @server.tool(description="Answer a question from the wiki, citing passages as [n].")
        def answer(
            question: Query,
            ctx: Context,
            k: Annotated[int, Field(ge=1, le=MAX_CONTEXT_K, description="documents")] = 5,
            space: Filter = None,
            label: Filter = None,
            type: Filter = None,
            updated_after: After = None,
            ancestor: Filter = None,
            max_tokens: Annotated[
                int, Field(ge=1, le=MAX_ANSWER_TOKENS, description="longest answer (tokens)")
            ] = DEFAULT_ANSWER_TOKENS,
            context_tokens: Annotated[
                int,
                Field(
                    ge=MIN_CONTEXT_TOKENS,
                    le=MAX_CONTEXT_TOKENS,
                    description="budget for the passages given to the model",
                ),
            ] = 1500,
        ) -> dict[str, Any]:
            def go() -> dict[str, Any]:
                filters = search_filters(space, label, type, updated_after, ancestor)
                sc = scope(ctx)
                prepared = prepare(
                    services().retriever,
                    question,
                    k=k,
                    context_tokens=context_tokens,
                    filters=sc.narrow(filters),
                    allow=sc.allow,
                )
                return make_answer(prepared, llm, max_tokens=max_tokens).to_dict()

            return run(go)

    return server


# -- HTTP: mounted on the API -------------------------------------------------------------


class _Guard:
    """The ``/mcp`` endpoint: the REST routes' API-key and reader checks, a DNS-rebinding
    check, then the SDK's streamable HTTP app (replaced on each lifespan: a session
    manager runs only once)."""

    def __init__(self) -> None:
        self.target: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from starlette.requests import Request

        from ragconf.api.deps import check_api_key

        request = Request(scope)
        try:
            check_api_key(request)
        except RagconfError as exc:
            await _error(exc.http_status, type(exc).__name__, exc.message, exc.hint)(
                scope, receive, send
            )
            return
        if not _host_ok(request):
            await _error(
                421,
                "MisdirectedRequest",
                "a request that arrives on a loopback address must name a loopback host",
                "use http://127.0.0.1:<port>/mcp or http://localhost:<port>/mcp, or set "
                "RAGCONF_API_KEYS to serve other host names",
            )(scope, receive, send)
            return
        engine = getattr(request.app.state, "permission_engine", None)
        if engine is not None:  # spaces/strict: no reader, no tools (as on /search)
            import anyio.to_thread

            from ragconf.search.permissions import USER_AUTH_HEADER

            try:
                await anyio.to_thread.run_sync(engine.scope, request.headers.get(USER_AUTH_HEADER))
            except RagconfError as exc:
                await _error(exc.http_status, type(exc).__name__, exc.message, exc.hint)(
                    scope, receive, send
                )
                return
        if self.target is None:
            await _error(503, "StoreError", "the MCP server is still starting", None)(
                scope, receive, send
            )
            return
        await self.target(scope, receive, send)


def _error(status: int, error: str, message: str, hint: str | None) -> Any:
    from starlette.responses import Response

    body = json.dumps({"error": error, "message": message, "hint": hint})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_ok(request: Any) -> bool:
    """DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends ``Host: evil.example``.

    Served on a loopback address without API keys, ``/mcp`` answers only requests that
    name a loopback host (what the SDK does by default for 127.0.0.1); with API keys the
    attacker has no key anyway.
    """
    if request.app.state.settings.api_keys:
        return True
    server = request.scope.get("server") or ("", 0)
    if not _is_loopback(str(server[0])):
        return True
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return _is_loopback(name)


def mount_mcp(app: "FastAPI") -> None:
    """Add ``/mcp`` to the API; ``mcp_lifespan(app)`` must run inside the app's lifespan."""
    from starlette.routing import Route

    guard = _Guard()
    app.state.mcp_guard = guard
    # clients are configured with either spelling; a 404 for "/mcp/" reads as "no MCP here"
    for path in (MCP_PATH, MCP_PATH + "/"):
        app.router.routes.append(Route(path, endpoint=guard, include_in_schema=False))


@asynccontextmanager
async def mcp_lifespan(app: "FastAPI") -> AsyncIterator[None]:
    """Build the MCP server for this run of the app and run its session manager."""
    from mcp.server.transport_security import TransportSecuritySettings

    from ragconf.api.deps import services_of
    from ragconf.search.permissions import USER_AUTH_HEADER, OpenScope

    guard: _Guard | None = getattr(app.state, "mcp_guard", None)
    if guard is None:
        yield
        return

    class _Req:  # get_services wants something with .app
        def __init__(self) -> None:
            self.app = app

    def services() -> Services:
        return services_of(_Req())  # type: ignore[arg-type]

    def scope_for(headers: Mapping[str, str] | None) -> PermissionScope:
        engine = getattr(app.state, "permission_engine", None)
        if engine is None:
            return OpenScope()
        value = _header(headers, USER_AUTH_HEADER)
        return engine.scope(value)  # type: ignore[no-any-return]

    server = build_mcp_server(services, scope_for, getattr(app.state, "llm", None))
    # host checks are done by _Guard (the SDK's only know one fixed bind address)
    starlette_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        # no session state in this process: each request stands alone, so any worker or
        # replica behind a load balancer can answer it (the tools need only its headers)
        stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    endpoint = next(r for r in starlette_app.routes if getattr(r, "path", None) == MCP_PATH)
    async with server.session_manager.run():
        guard.target = endpoint.app  # type: ignore[attr-defined]
        try:
            yield
        finally:
            guard.target = None


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        low = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == low), None)
    return value

"""HTTP details every response gets right, in one ASGI middleware (``HttpHygiene``).

* **Caching.** Answers depend on who asks (API key, the reader's Confluence credentials),
  so every response except the docs carries ``Cache-Control: no-store`` and
  ``Vary: Authorization, X-Confluence-Authorization``: a shared cache must never hand one
  reader's results to another.
* **Ambiguous credentials.** A request with two ``Authorization`` or two
  ``X-Confluence-Authorization`` headers gets 400: which one counts would depend on the
  proxy in front, and a silent "first wins" lets one smuggle past another.
* **No redirects built from ``Host``.** ``/search/`` is answered as ``/search`` instead of
  a redirect whose absolute ``Location`` comes from a header the client controls.
* **HEAD and OPTIONS.** ``HEAD`` works wherever ``GET`` does (probes use it);
  ``OPTIONS`` and 405 answers list every method of the path in ``Allow``.
* **Query strings are UTF-8.** Bytes that don't decode (``q=%FF%FE``) get 400 instead of
  becoming replacement characters that are searched for.

>>> app.add_middleware(HttpHygiene, routes=app)          # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

__all__ = ["NO_STORE_EXEMPT", "HttpHygiene", "allowed_methods", "flat_routes"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: the same for everyone, so caching them is fine
NO_STORE_EXEMPT = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
#: headers that carry credentials: one of each, or 400
_SINGLE = (b"authorization", b"x-confluence-authorization")
_VARY = "Authorization, X-Confluence-Authorization"


def flat_routes(routes: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(full path, route) of every route of an app or router, included routers opened up."""
    out: list[tuple[str, Any]] = []
    for route in getattr(routes, "routes", ()):
        inner = getattr(route, "original_router", None)  # FastAPI's included-router wrapper
        if inner is not None:
            context = getattr(route, "include_context", None)
            out += flat_routes(inner, prefix + str(getattr(context, "prefix", "") or ""))
        elif getattr(route, "path", None) is not None:
            out.append((prefix + route.path, route))
    return out


def _route_methods(routes: Any, path: str) -> set[str]:
    """Methods the routes at ``path`` declare themselves."""
    out: set[str] = set()
    for full, route in flat_routes(routes):
        prefix = full[: len(full) - len(route.path)]
        regex = getattr(route, "path_regex", None)
        if regex is not None and path.startswith(prefix) and regex.match(path[len(prefix) :]):
            out |= set(getattr(route, "methods", None) or ())
    return out


def allowed_methods(routes: Any, path: str) -> list[str]:
    """Every method some route of ``routes`` (an app or router) serves at ``path``."""
    methods = _route_methods(routes, path)
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return sorted(methods)


def _json_error(status: int, error: str, message: str, hint: str) -> Callable[..., Awaitable[None]]:
    body = json.dumps({"error": error, "message": message, "hint": hint}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]

    async def respond(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return respond


def _query_is_utf8(raw: bytes) -> bool:
    for part in raw.replace(b";", b"&").split(b"&"):
        try:
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


class HttpHygiene:
    """ASGI middleware; ``routes`` is the FastAPI app (read for each path's methods)."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, routes: Any) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        for name in _SINGLE:
            if sum(1 for key, _ in headers if key.lower() == name) > 1:
                shown = name.decode().title()
                await _json_error(
                    400, "DuplicateHeader", f"the request has more than one {shown} header",
                    f"send exactly one {shown} header",
                )(scope, receive, send)
                return
        if not _query_is_utf8(scope.get("query_string") or b""):
            await _json_error(
                400, "BadQueryString", "the query string is not valid UTF-8",
                "percent-encode the parameters as UTF-8 (e.g. with urllib.parse.urlencode)",
            )(scope, receive, send)
            return
        path = scope.get("path") or "/"
        allowed = allowed_methods(self.routes, path)
        if path != "/" and path.endswith("/"):
            bare = path.rstrip("/") or "/"
            bare_allowed = allowed_methods(self.routes, bare)
            if bare_allowed and not allowed:  # answer it here; never redirect via Host
                scope = {**scope, "path": bare, "raw_path": bare.encode()}
                path, allowed = bare, bare_allowed
        method = scope.get("method", "GET")
        if method == "OPTIONS" and allowed and "OPTIONS" not in _route_methods(self.routes, path):
            await self._options(allowed, send)
            return
        head = method == "HEAD" and "GET" in allowed
        if head:
            scope = {**scope, "method": "GET"}
        private = path not in NO_STORE_EXEMPT

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = [(k, v) for k, v in message.get("headers", [])]
                names = {k.lower() for k, _ in out}
                if message.get("status") == 405 and allowed:
                    out = [(k, v) for k, v in out if k.lower() != b"allow"]
                    out.append((b"allow", ", ".join(allowed).encode()))
                if private:
                    if b"cache-control" not in names:
                        out.append((b"cache-control", b"no-store"))
                    out = _add_vary(out)
                message = {**message, "headers": out}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}  # Content-Length stays that of GET
            await send(message)

        await self.app(scope, receive, wrapped)

    @staticmethod
    async def _options(allowed: list[str], send: Send) -> None:
        headers = [
            (b"allow", ", ".join(allowed).encode()),
            (b"content-length", b"0"),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _add_vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    current = [v.decode("latin-1") for k, v in headers if k.lower() == b"vary"]
    names = [n.strip() for v in current for n in v.split(",") if n.strip()]
    for extra in _VARY.split(", "):
        if extra.lower() not in {n.lower() for n in names}:
            names.append(extra)
    rest = [(k, v) for k, v in headers if k.lower() != b"vary"]
    return [*rest, (b"vary", ", ".join(names).encode("latin-1"))]

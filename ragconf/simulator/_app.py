"""The simulator's ASGI app: auth, the request context, list responses, error bodies.

Routes live in ``_routes_*.py`` and register on the router passed to them. Handlers are
plain functions of a :class:`Ctx` run under the site lock; JSON is serialised once, with
orjson when it is installed (it is several times faster on big pages of bodies).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragconf.simulator._access import Visible
from ragconf.simulator._faults import FaultMiddleware, Faults, Stats
from ragconf.simulator._model import User
from ragconf.simulator._paging import Listing, decode_cursor, encode_cursor, next_link, take
from ragconf.simulator._params import ApiError, Query, check_id
from ragconf.simulator._shapes import Shaper
from ragconf.simulator._site import Site

__all__ = ["Ctx", "Env", "api_get", "create_app", "faults_hit", "json_response"]

try:  # optional speed-up; the stdlib encoder gives the same bytes modulo whitespace
    import orjson

    def _dumps(data: Any) -> bytes:
        return orjson.dumps(data)
except ImportError:  # pragma: no cover - orjson ships with chromadb

    def _dumps(data: Any) -> bytes:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


UNAUTHORIZED_BODY = b"Client must be authenticated to access this resource."
_LISTING_CACHE_SIZE = 256


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps(data), status_code=status, headers=headers,
                    media_type="application/json")


def _unauthorized() -> Response:
    return Response(UNAUTHORIZED_BODY, status_code=401, media_type="text/plain",
                    headers={"WWW-Authenticate": 'Basic realm="Confluence"'})


@dataclass
class Env:
    """Per-app settings, reachable from every request as ``request.app.state.env``."""

    site: Site
    download_redirect: bool = True
    clamp_limit: int | bool = False
    media_secret: str = ""
    public_html: bool = True

    @property
    def page_cap(self) -> int | None:
        """Most items per page (``clamp_limit=N``), or None for "as many as asked"."""
        cap = self.clamp_limit
        return cap if not isinstance(cap, bool) and cap > 0 else None


def authenticate(request: Request, site: Site) -> User | None:
    """Basic ``email:token`` or ``Bearer token``; None when missing or wrong."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        email, sep, token = decoded.partition(":")
        return site.user_for(email, token) if sep else None
    if scheme.lower() == "bearer":
        return site.user_for(None, value.strip())
    return None


class Ctx:
    """One authenticated request: the site, the user, typed query access, shapes."""

    def __init__(self, request: Request, env: Env, user: User) -> None:
        self.request = request
        self.env = env
        self.site = env.site
        self.user = user
        self.q = Query(request.query_params.multi_items(),
                       clamp_limit=bool(env.clamp_limit),
                       page_cap=env.page_cap)
        self.path = request.url.path
        origin = f"{request.url.scheme}://{request.url.netloc}"
        self.origin = origin
        self.shape = Shaper(env.site, origin + "/wiki")
        self._vis: Visible | None = None

    @property
    def faults(self) -> Faults | None:
        faults: Faults | None = self.request.app.state.faults
        return faults if faults is not None and faults.applies(self.path) else None

    @property
    def vis(self) -> Visible:
        if self._vis is None:
            self._vis = self.site.visible(self.user)
        return self._vis

    def param_id(self, name: str = "id") -> str:
        return check_id(self.request.path_params[name])

    def sort(self, allowed: Iterable[str], default: str) -> tuple[str, bool, str]:
        """(sort field, descending?, the raw value) from ``sort`` (fields ± a leading -)."""
        options = tuple(allowed)
        value = self.q.enum("sort", [*options, *("-" + o for o in options)])
        if value is None:
            return default, False, ""
        return value.lstrip("-"), value.startswith("-"), value

    def page(
        self,
        key: tuple[Any, ...],
        items: Callable[[], Iterable[Any]],
        render: Callable[[Any], dict[str, Any]],
        *,
        sort: tuple[str, bool, str] = ("id", False, ""),
        default_limit: int = 25,
        min_limit: int = 1,
    ) -> Response:
        """A cursor-paged list response (``results`` + ``_links`` + ``Link`` header)."""
        field, desc, token = sort
        limit = self.q.limit(default_limit, min_limit)
        cursor = self.q.string("cursor")
        after = decode_cursor(cursor, token) if cursor else None
        cache = self.site.cache("listings")
        cache_key = (self.user.email, self.path, key, field)
        listing = cache.get(cache_key)
        if listing is None:
            listing = Listing.build(list(items()), field)
            if len(cache) >= _LISTING_CACHE_SIZE:
                cache.clear()
            cache[cache_key] = listing
        faults = self.faults
        nonce = 0
        if faults is not None and faults.roll(faults.empty_page_rate):
            # an empty page that still carries next, at the same position (fresh cursor)
            faults_hit(self, "empty_page")
            results: list[Any] = []
            last, more = after, True
            nonce = faults.randint(1, 1 << 30)
        else:
            if faults is not None and limit > 1 and faults.roll(faults.short_page_rate):
                faults_hit(self, "short_page")
                limit = faults.randint(1, limit - 1)
            results, last, more = take(listing, desc=desc, after=after, limit=limit)
        base = self.origin + "/wiki"
        links: dict[str, str] = {}
        headers: dict[str, str] = {}
        if more:
            if faults is not None and faults.cursor_loop:
                faults_hit(self, "cursor_loop")
                new_cursor = cursor or encode_cursor(token, None)
            else:
                new_cursor = encode_cursor(token, last, nonce)
            links["next"] = next_link(self.path, self.q.items, new_cursor)
            headers["Link"] = f'<{links["next"]}>; rel="next", <{base}>; rel="base"'
        else:
            headers["Link"] = f'<{base}>; rel="base"'
        links["base"] = base
        return json_response(
            {"results": [render(item) for item in results], "_links": links}, headers=headers
        )


def faults_hit(ctx: Ctx, kind: str) -> None:
    ctx.request.app.state.stats.faults[kind] += 1


Handler = Callable[[Ctx], Any]


def api_get(router: APIRouter, path: str) -> Callable[[Handler], Handler]:
    """Register ``fn(ctx)`` as an authenticated GET route answering v2 errors."""

    def decorator(fn: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            env: Env = request.app.state.env
            user = authenticate(request, env.site)
            if user is None:
                return _unauthorized()
            try:
                with env.site.lock:
                    result = fn(Ctx(request, env, user))
            except ApiError as exc:
                return json_response(exc.body(), exc.status)
            if isinstance(result, Response):
                return result
            return json_response(result)

        endpoint.__name__ = fn.__name__
        router.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)
        return fn

    return decorator


def create_app(
    site: Site,
    faults: Faults | None = None,
    *,
    admin: bool = True,
    download_redirect: bool = True,
    clamp_limit: int | bool = False,
    public_html: bool = True,
) -> FastAPI:
    """The Confluence Cloud simulator as a FastAPI app.

    >>> from ragconf.simulator import demo_site
    >>> app = create_app(demo_site(), Faults(latency_s=0.02))

    Routes: ``/wiki/api/v2/…`` (read-only v2), ``/wiki/rest/api/user/current`` and
    ``/wiki/rest/api/user/bulk`` (v1),
    ``/wiki/download/attachments/…`` (302 to ``/_media/…`` unless
    ``download_redirect=False``), and ``/_admin/…`` mutations when ``admin`` is true.
    ``clamp_limit``: answer ``limit`` > 250 with 250 items instead of a 400; an int N
    also caps every page at N items (with ``next``), below the requested limit.
    ``public_html``: serve the HTML view of pages (``_links.webui``) without credentials.
    Every route answers ``HEAD`` as it answers ``GET``, and ``/wiki`` answers carry
    ``X-RateLimit-*`` headers (see :class:`Faults` ``quota``).
    """
    from ragconf.simulator import (
        _html,
        _routes_comments,
        _routes_content,
        _routes_extra,
        _routes_other,
        _routes_tree,
    )
    from ragconf.simulator._headers import HeadMiddleware, QuotaMiddleware

    app = FastAPI(title="ragconf Confluence simulator", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.env = Env(site=site, download_redirect=download_redirect,
                        clamp_limit=clamp_limit, media_secret=secrets.token_hex(16),
                        public_html=public_html)
    app.state.faults = faults
    app.state.stats = Stats()
    v2 = APIRouter(prefix="/wiki/api/v2")
    _routes_content.register(v2)
    _routes_other.register_v2(v2)
    _routes_tree.register(v2)
    _routes_comments.register(v2)
    _routes_extra.register(v2)
    # what the v2 router serves, for the test that walks every GET path of the spec
    app.state.api_paths = sorted({getattr(route, "path", "") for route in v2.routes})
    app.include_router(v2)
    root = APIRouter()
    _routes_other.register_root(root)
    _html.register(root)
    app.include_router(root)
    if admin:
        from ragconf.simulator import _admin

        app.include_router(_admin.router())

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/wiki/api/v2") and exc.status_code == 404:
            return json_response(ApiError(404, "NOT_FOUND", "Not Found").body(), 404)
        if exc.status_code == 405:
            return json_response(
                ApiError(405, "METHOD_NOT_ALLOWED", "Method Not Allowed").body(), 405)
        return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain")

    # the last added runs first: HEAD becomes GET before faults and quota see it
    app.add_middleware(QuotaMiddleware, state=app.state)
    app.add_middleware(FaultMiddleware, state=app.state)
    app.add_middleware(HeadMiddleware)
    return app


"""The parts of the API around search: ``/answer`` + ``/spaces``, ``/mcp``, the search page
at ``/`` and offline API docs at ``/docs``.

Nothing here loads from a CDN: the page is plain HTML/JS/CSS shipped in
``ragconf/api/static``, and the Swagger UI bundle comes from the ``fastapi-offline``
package, so the docs and the page work on an air-gapped network. (ReDoc is not offered:
its bundle fetches a logo from its CDN.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from ragconf.settings import Settings

__all__ = ["STATIC_DIR", "extras_lifespan", "install_extras"]

STATIC_DIR = Path(__file__).parent / "static"
_DOCS_ASSETS = "/docs-assets"


def install_extras(app: FastAPI, settings: Settings) -> None:
    from ragconf.api.mcp import mount_mcp
    from ragconf.api.routes import answer

    app.state.llm = _make_llm(settings)
    app.include_router(answer.router)
    mount_mcp(app)
    _install_docs(app)
    _install_page(app, settings)


def _make_llm(settings: Settings) -> object | None:
    if not settings.llm_url:
        return None
    from ragconf.search.answer import ChatClient

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return ChatClient(
        settings.llm_url, model=settings.llm_model, api_key=key, timeout_s=settings.llm_timeout_s
    )


@asynccontextmanager
async def extras_lifespan(app: FastAPI) -> AsyncIterator[None]:
    from ragconf.api.mcp import mcp_lifespan

    try:
        async with mcp_lifespan(app):
            yield
    finally:
        llm = getattr(app.state, "llm", None)
        close = getattr(llm, "close", None)
        if callable(close):
            close()


def _install_docs(app: FastAPI) -> None:
    """Swagger UI from local files (create_app turns FastAPI's CDN pages off)."""
    from fastapi.openapi.docs import (
        get_swagger_ui_html,
        get_swagger_ui_oauth2_redirect_html,
    )

    assets = _docs_assets()
    app.mount(_DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} — API docs",
            oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
            swagger_js_url=f"{root}{_DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{_DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{_DOCS_ASSETS}/favicon.png",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def _docs_assets() -> str:
    import fastapi_offline

    return str(Path(fastapi_offline.__file__).parent / "static")


def _install_page(app: FastAPI, settings: Settings) -> None:
    """The search page: ``/`` plus its script and style under ``/ui``."""
    app.mount("/ui", StaticFiles(directory=STATIC_DIR), name="ui")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/ui-config", include_in_schema=False)
    async def ui_config(request: Request) -> JSONResponse:
        # what the page needs to show the right fields; no secrets, no counts
        s: Settings = request.app.state.settings
        return JSONResponse(
            {
                "answers": getattr(request.app.state, "llm", None) is not None,
                "api_key_required": bool(s.api_keys),
                "permissions": s.permissions,
            }
        )

"""The OpenAPI document says what the server enforces: the API-key scheme when keys are on.

With ``RAGCONF_API_KEYS`` set, ``/docs`` gets an *Authorize* button (an HTTP bearer
scheme) and every operation that needs the key lists it under ``security``; without keys
the document claims nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ragconf.api._http import flat_routes

__all__ = ["SCHEME", "document_api_keys"]

SCHEME = "ApiKey"


def _needs_key(route: Any, check: Any) -> bool:
    stack = list(getattr(getattr(route, "dependant", None), "dependencies", ()))
    while stack:
        dep = stack.pop()
        if dep.call is check:
            return True
        stack.extend(dep.dependencies)
    return False


def document_api_keys(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare the bearer scheme on the key-protected operations."""
    from ragconf.api.deps import require_api_key

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary,
            description=app.description, routes=app.routes,
        )
        schema.setdefault("components", {})["securitySchemes"] = {
            SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "description": "one of the keys in RAGCONF_API_KEYS",
            }
        }
        for path, route in flat_routes(app):
            if not _needs_key(route, require_api_key):
                continue
            item = schema.get("paths", {}).get(path, {})
            for method in getattr(route, "methods", ()) or ():
                operation = item.get(method.lower())
                if operation is not None:
                    operation["security"] = [{SCHEME: []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

"""Typed dependencies of the routes; tests override them with ``app.dependency_overrides``.

``Services`` is built once by the app's lifespan and kept on ``app.state.services``.
The permission seam: ``PermissionsDep`` gives each request a :class:`PermissionScope` that
may narrow the search filters (e.g. to the space ids the caller can see) and post-check each
document's metadata. The default scope changes nothing (``RAGCONF_PERMISSIONS=off``); a
resolver placed on ``app.state.permission_resolver`` (``request -> PermissionScope``)
replaces it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import anyio.to_thread
from fastapi import Depends, Header, Request

from ragconf.errors import RagconfError, StoreError
from ragconf.index.types import Embedder, SearchFilters, VectorStore
from ragconf.search._lexical_holder import LexicalHolder
from ragconf.search.permissions import OpenScope
from ragconf.search.retrieve import DocumentResult, Retriever
from ragconf.settings import Settings

__all__ = [
    "ApiKeyDep",
    "OpenScope",
    "PermissionScope",
    "PermissionsDep",
    "RetrieverDep",
    "Services",
    "ServicesDep",
    "SettingsDep",
    "UnauthorizedError",
    "check_api_key",
    "get_permissions",
    "get_retriever",
    "get_services",
    "get_settings",
    "require_api_key",
    "services_of",
]


class UnauthorizedError(RagconfError):
    """The API requires a key (RAGCONF_API_KEYS is set) and the request had none or a wrong one."""

    http_status = 401
    exit_code = 4
    default_hint = "send `Authorization: Bearer <key>` with one of the keys in RAGCONF_API_KEYS"


@dataclass
class Services:
    """The heavy parts, opened once per process by the lifespan."""

    settings: Settings
    embedder: Embedder
    store: VectorStore
    lexical: LexicalHolder
    retriever: Retriever
    model_loaded: bool = False


class PermissionScope(Protocol):
    """What one request may see. ``allow`` None means every document that matches;
    ``mode`` is ``off`` for the service account's view, else ``spaces`` or ``strict``."""

    mode: str

    def narrow(self, filters: SearchFilters) -> SearchFilters: ...

    @property
    def allow(self) -> Callable[[dict[str, Any]], bool] | None: ...

    def redact_breadcrumbs(self, results: list[DocumentResult]) -> None: ...


def services_of(request: Request) -> Services:
    """The running app's services (a 503 while the lifespan is still loading them)."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise StoreError("the search service is still starting", hint="retry in a moment")
    return services


# The dependencies are ``async def`` although nothing in them awaits: FastAPI runs a plain
# ``def`` dependency on its thread pool, a thread hop per dependency per request (five for
# a search: a quarter of the event loop's time under load, and GIL hand-overs).


async def get_services(request: Request) -> Services:
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_retriever(services: ServicesDep) -> Retriever:
    return services.retriever


RetrieverDep = Annotated[Retriever, Depends(get_retriever)]


async def get_permissions(
    request: Request,
    x_confluence_authorization: Annotated[
        str | None,
        Header(
            alias="X-Confluence-Authorization",
            description="the reader's own Confluence credentials ('Basic …' or 'Bearer …'); "
            "required when RAGCONF_PERMISSIONS is spaces or strict, ignored when off",
        ),
    ] = None,
) -> PermissionScope:
    # the resolver reads the header from the request itself; the parameter documents it
    resolver = getattr(request.app.state, "permission_resolver", None)
    if resolver is None:
        return OpenScope()
    # resolving a reader may ask Confluence (blocking HTTP): on a worker thread
    return await anyio.to_thread.run_sync(resolver, request)  # type: ignore[no-any-return]


PermissionsDep = Annotated[PermissionScope, Depends(get_permissions)]


async def require_api_key(request: Request) -> None:
    """The API key check as a dependency (see :func:`check_api_key`)."""
    check_api_key(request)


def check_api_key(request: Request) -> None:
    """When API keys are configured, demand ``Authorization: Bearer <key>``.

    Every configured key is compared in constant time (``hmac.compare_digest``), and all of
    them are compared, so timing tells nothing about which key nearly matched.
    """
    keys: list[str] = list(request.app.state.settings.api_keys or [])
    if not keys:
        return
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise UnauthorizedError("an API key is required")
    supplied = given.strip().encode("utf-8")
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(supplied, key.encode("utf-8"))
    if not ok:
        raise UnauthorizedError("the API key is not valid")


ApiKeyDep = Depends(require_api_key)

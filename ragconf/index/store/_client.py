"""The Chroma server client: address, tenant, database and token, and what fails clearly.

Chroma's distributed and hosted deployments serve many tenants, each with databases; the
single-node ``chroma run`` has ``default_tenant`` / ``default_database`` and creates more
through its admin API. The token travels the way Chroma's own clients send it (their
``TokenAuthClientProvider``): ``Authorization: Bearer <token>`` by default, or
``X-Chroma-Token: <token>`` (what Chroma Cloud expects).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ragconf.errors import StoreError
from ragconf.index.store._meta import server_address

__all__ = ["DEFAULT_DATABASE", "DEFAULT_TENANT", "TOKEN_HEADERS", "server_client"]

DEFAULT_TENANT = "default_tenant"
DEFAULT_DATABASE = "default_database"
TOKEN_HEADERS = ("Authorization", "X-Chroma-Token")


def server_location(chroma_url: str, tenant: str | None, database: str | None) -> str:
    """``http://host:port``, plus ``/tenants/T/databases/D`` when either is not the default."""
    _host, _port, _ssl, location = server_address(chroma_url)
    tenant, database = tenant or DEFAULT_TENANT, database or DEFAULT_DATABASE
    if (tenant, database) == (DEFAULT_TENANT, DEFAULT_DATABASE):
        return location
    return f"{location}/tenants/{tenant}/databases/{database}"


def server_client(
    chroma_url: str,
    *,
    tenant: str | None = None,
    database: str | None = None,
    token: str | None = None,
    token_header: str = "Authorization",
) -> tuple[Any, str]:
    """A connected ``chromadb.HttpClient`` and the location to name in messages.

    Raises StoreError when the server is unreachable, refuses the token, or lacks the
    tenant or database; the token never appears in the message.
    """
    import chromadb
    from chromadb.config import Settings

    if token_header not in TOKEN_HEADERS:
        raise StoreError(
            f"unknown Chroma token header {token_header!r}",
            hint=f"use one of {', '.join(TOKEN_HEADERS)}",
        )
    host, port, ssl, base = server_address(chroma_url)
    location = server_location(chroma_url, tenant, database)
    _check_database(
        base, location, tenant or DEFAULT_TENANT, database or DEFAULT_DATABASE, token, token_header
    )
    auth: dict[str, Any] = {}
    if token:
        auth = {
            "chroma_client_auth_provider": "chromadb.auth.token_authn.TokenAuthClientProvider",
            "chroma_client_auth_credentials": token,
            "chroma_auth_token_transport_header": token_header,
        }
    try:
        settings = Settings(anonymized_telemetry=False, allow_reset=False, **auth)
        client = chromadb.HttpClient(
            host=host,
            port=port,
            ssl=ssl,
            settings=settings,
            tenant=tenant or DEFAULT_TENANT,
            database=database or DEFAULT_DATABASE,
        )
        client.heartbeat()
    except Exception as exc:
        message = str(exc)
        if token:
            message = message.replace(token, "***")
        what, hint = _explain(message, tenant, database)
        raise StoreError(
            f"{what} the Chroma server at {location}: {type(exc).__name__}: {message}",
            hint=hint,
        ) from None  # the cause may carry request headers, i.e. the token
    return client, location


def _check_database(
    base: str,
    location: str,
    tenant: str,
    database: str,
    token: str | None,
    token_header: str,
) -> None:
    """Ask for the database before chromadb does: a chromadb client that fails to open
    leaves its HTTP connection pool behind, and its errors are vaguer than these."""
    import httpx

    headers = {}
    if token:
        headers[token_header] = f"Bearer {token}" if token_header == "Authorization" else token
    path = f"/api/v2/tenants/{quote(tenant, safe='')}/databases/{quote(database, safe='')}"
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=15.0) as http:
            status = http.get(path).status_code
    except httpx.HTTPError as exc:
        what, hint = _explain(str(exc), None, None)
        raise StoreError(f"{what} the Chroma server at {location}: {exc}", hint=hint) from None
    if status in (401, 403):
        what, hint = _explain(str(status), tenant, database)
    elif status == 404:
        what, hint = _explain("tenant", tenant, database)
    elif status >= 400:
        what, hint = "an error from", f"the server answered HTTP {status}"
    else:
        return
    raise StoreError(f"{what} the Chroma server at {location} (HTTP {status})", hint=hint)


def _explain(message: str, tenant: str | None, database: str | None) -> tuple[str, str]:
    text = message.lower()
    if "tenant" in text or "database" in text:
        return "no such tenant or database on", (
            f"check RAGCONF_CHROMA_TENANT ({tenant or DEFAULT_TENANT}) and "
            f"RAGCONF_CHROMA_DATABASE ({database or DEFAULT_DATABASE}); they must exist on "
            "the server (create them with chromadb.AdminClient)"
        )
    if any(w in text for w in ("401", "403", "unauthor", "forbidden", "permission")):
        return "not allowed by", "check RAGCONF_CHROMA_TOKEN (and RAGCONF_CHROMA_TOKEN_HEADER)"
    return "cannot reach", (
        "start it (`chroma run --path ./chroma-data --port 8000`), fix RAGCONF_CHROMA_URL, "
        "or unset it to use the embedded store"
    )

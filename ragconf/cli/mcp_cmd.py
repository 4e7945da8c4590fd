"""``ragconf mcp``: the MCP server over stdio, for desktop clients (Claude Desktop, Cursor)."""

from __future__ import annotations

from typing import Any

import typer

from ragconf.cli._output import get_settings

__all__ = ["mcp"]


def mcp(
    reader_authorization: str = typer.Option(
        None,
        "--reader-authorization",
        envvar="RAGCONF_READER_AUTHORIZATION",
        metavar="'Basic …'|'Bearer …'",
        help="The reader's Confluence credentials, needed when RAGCONF_PERMISSIONS is "
        "spaces or strict (like the X-Confluence-Authorization header over HTTP).",
        show_default=False,
    ),
) -> None:
    """Serve the MCP tools (search, fetch_document, list_spaces, answer) over stdio.

    Reads and writes JSON-RPC on stdin/stdout; logs go to stderr. The same tools are served
    over streamable HTTP at /mcp by `ragconf serve`.
    """
    from ragconf.api.app import make_permission_engine, open_services
    from ragconf.api.mcp import build_mcp_server
    from ragconf.cli.ask_cmd import _llm
    from ragconf.search.permissions import OpenScope

    settings = get_settings()
    engine = make_permission_engine(settings)
    if engine is not None:
        # check the credentials now: a desktop client shows a failed start more clearly
        # than a failing first tool call
        engine.scope(reader_authorization)
    services = open_services(settings)

    def scope_for(headers: Any) -> Any:
        return OpenScope() if engine is None else engine.scope(reader_authorization)

    llm = _llm(settings) if settings.llm_url else None
    server = build_mcp_server(lambda: services, scope_for, llm)
    try:
        server.run("stdio")
    finally:
        if llm is not None:
            llm.close()
        close = getattr(services.store, "close", None)
        if callable(close):
            close()


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command("mcp")(mcp)

"""``ragconf serve``: the search API on uvicorn."""

from __future__ import annotations

import typer

from ragconf.cli._output import fail, get_settings
from ragconf.cli._serving import listen, with_demo_index

__all__ = ["serve"]


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the search API, the search page at /, MCP at /mcp and API docs at /docs.

    Loads the model and index once. /answer and the MCP `answer` tool need RAGCONF_LLM_URL.
    Uses the demo's index (<data dir>/demo) when it is the only one.
    """
    import uvicorn

    from ragconf.api.app import create_app

    settings = with_demo_index(get_settings())
    sock = listen(host, port)  # a busy or forbidden port fails here, before the model loads
    base = f"http://{host}:{port}"
    typer.echo(f"ragconf on {base} — search page: {base}/ (API docs: /docs, MCP: /mcp)", err=True)
    # access logs carry query strings, never headers, so API keys stay out of them
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host=host, port=port, log_level=log_level)
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        fail(f"The API could not start on {host}:{port} (see the log above).", 1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command()(serve)

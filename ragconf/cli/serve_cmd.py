"""``ragconf serve``: the search API on uvicorn."""

from __future__ import annotations

import typer

from ragconf.cli._app import app, get_settings

__all__ = ["serve"]


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the search API, the search page at /, MCP at /mcp and API docs at /docs.

    Loads the model and index once. /answer and the MCP `answer` tool need RAGCONF_LLM_URL.
    """
    import uvicorn

    from ragconf.api.app import create_app

    settings = get_settings()
    base = f"http://{host}:{port}"
    typer.echo(f"ragconf on {base} — search page: {base}/ (API docs: /docs, MCP: /mcp)", err=True)
    # access logs carry query strings, never headers, so API keys stay out of them
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)

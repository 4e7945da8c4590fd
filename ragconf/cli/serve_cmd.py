"""``ragconf serve``: the search API on uvicorn."""

from __future__ import annotations

import typer

from ragconf.cli._output import get_settings

__all__ = ["serve"]


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the search API (OpenAPI docs at /docs). Loads the model and index once."""
    import uvicorn

    from ragconf.api.app import create_app

    settings = get_settings()
    typer.echo(f"ragconf API on http://{host}:{port} (docs: /docs)", err=True)
    # access logs carry query strings, never headers, so API keys stay out of them
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command()(serve)

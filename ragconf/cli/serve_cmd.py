"""``ragconf serve``: the search API on uvicorn."""

from __future__ import annotations

import os

import typer

from ragconf.cli._output import fail, get_settings
from ragconf.cli._serving import listen, with_demo_index

__all__ = ["serve"]


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="Server processes sharing the port; each loads the model and opens the index "
        "(~300 MB). For machines with more than 2 cores.",
    ),
) -> None:
    """Serve the search API, the search page at /, MCP at /mcp and API docs at /docs.

    Loads the model and index once. /answer and the MCP `answer` tool need RAGCONF_LLM_URL.
    Uses the demo's index (<data dir>/demo) when it is the only one.

    Examples:

        ragconf serve                        # http://127.0.0.1:8000/
        ragconf serve --host 0.0.0.0 --port 8080 --workers 2
    """
    import uvicorn

    from ragconf.api.app import create_app

    settings = with_demo_index(get_settings())
    sock = listen(host, port)  # a busy or forbidden port fails here, before the model loads
    base = f"http://{host}:{port}"
    typer.echo(f"ragconf on {base} — search page: {base}/ (API docs: /docs, MCP: /mcp)", err=True)
    # access logs carry query strings, never headers, so API keys stay out of them
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        # each worker builds its app from the environment (spawned, not forked): the data
        # dir goes along because it may be the demo's
        os.environ["RAGCONF_DATA_DIR"] = str(settings.data_dir)
        config = uvicorn.Config(
            "ragconf.api.app:serving_app", factory=True, host=host, port=port,
            log_level=log_level, workers=workers,
        )  # fmt: skip
        try:
            Multiprocess(config, sockets=[sock]).run()
        finally:
            sock.close()
        return
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, settle_gc=True), host=host, port=port, log_level=log_level
        )
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

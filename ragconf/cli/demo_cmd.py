"""``ragconf demo``: the whole product on embedded defaults, in one command.

1. Starts the simulator's demo site in a background thread, whatever is configured (a
   configured site is used only with ``--site``: a demo must never write the real index).
2. Syncs it into embedded Chroma under the data dir, with progress bars.
3. Prints three example searches with their links.
4. Serves the HTTP API until Ctrl-C, which stops the API and the simulator.

The demo index lives in ``<data dir>/demo`` so demo pages never mix with a real site's index;
with ``--site`` the configured site is synced into the data dir itself.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from ragconf.cli._output import fail, get_settings

__all__ = ["DEMO_QUERIES", "demo", "serving_line"]

#: example searches the demo wiki answers: a paraphrase, exact terms, a question
DEMO_QUERIES: tuple[str, ...] = (
    "how do we release to production",
    "payments gateway returning 5xx errors",
    "the pager went off, who do I escalate to",
)

#: the simulator's port in the demo: fixed, so links in the index stay valid across runs
DEMO_SIMULATOR_PORT = 8090


def serving_line(host: str, port: int) -> str:
    """The line ``ragconf demo`` and ``make demo`` print once the API answers."""
    base = f"http://{host}:{port}"
    return (
        f"Serving ragconf on {base} — search page: {base}/ (API docs: {base}/docs, "
        f"MCP: {base}/mcp) — Ctrl-C to stop"
    )


def demo(
    host: str = typer.Option(
        "127.0.0.1", "--host", metavar="HOST", help="Interface the API listens on."
    ),
    port: int = typer.Option(
        8000, "--port", metavar="PORT", min=1, max=65535, help="Port the API listens on."
    ),
    simulator_port: int = typer.Option(
        DEMO_SIMULATOR_PORT,
        "--simulator-port",
        metavar="PORT",
        min=0,
        max=65535,
        help="Port of the demo Confluence simulator (a free one is used when it is taken).",
    ),
    site: bool = typer.Option(
        False,
        "--site",
        help="Use the configured Confluence site (RAGCONF_CONFLUENCE_URL) instead of the "
        "simulator, and its index in the data dir.",
    ),
    query: list[str] | None = typer.Option(
        None,
        "--query",
        "-q",
        metavar="TEXT",
        help="Example search to run (repeatable); default: three samples.",
    ),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the API after syncing."),
) -> None:
    """Run the demo: simulator -> sync -> example searches -> API on :8000.

    Needs no configuration, and leaves a configured site and its index alone: the demo
    index lives in <data dir>/demo. With --site, the same steps run against the configured
    site (RAGCONF_CONFLUENCE_URL and credentials) and its index.
    """
    settings = get_settings()
    if serve and not _port_free(host, port):
        fail(f"Port {port} on {host} is in use; pick another with `--port`.", 2)
    queries: Sequence[str] = tuple(query) if query else DEMO_QUERIES
    if site and not settings.configured:
        from ragconf.errors import ConfigurationError

        raise ConfigurationError("--site needs a configured Confluence site")
    simulated = not site

    with contextlib.ExitStack() as stack:
        if simulated:
            settings = _start_simulator(stack, settings, simulator_port)
        else:
            typer.echo(f"Using the Confluence site at {settings.api_url}")

        embedder, store, lexical = _sync(settings)
        _example_searches(store, embedder, lexical, queries)
        if not serve:
            return
        _serve(settings, host, port, embedder=embedder, store=store, lexical=lexical)
        if simulated:
            typer.echo("Stopping the simulator…")
    typer.echo("Stopped.")


def _port_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now (checked before the long sync, not after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _start_simulator(stack: contextlib.ExitStack, settings: Any, port: int) -> Any:
    """Start the demo site in a thread; return settings pointing at it and at the demo index."""
    from ragconf.simulator import DEMO_TOKEN, DEMO_USER, SimulatorServer, demo_site

    if port and not _port_free("127.0.0.1", port):
        # taken (another demo?): any free port works; the demo index is then rebuilt
        port = 0
    sim = stack.enter_context(SimulatorServer(demo_site(), port=port))
    typer.echo(f"Started the Confluence simulator (demo site) at {sim.base_url}")
    typer.echo(f"  demo credentials: {DEMO_USER} / {DEMO_TOKEN}")

    demo_dir = Path(settings.data_dir) / "demo"
    _reset_if_origin_changed(demo_dir, sim.base_url)
    return get_settings(
        confluence_url=sim.api_url,
        confluence_username=DEMO_USER,
        confluence_token=DEMO_TOKEN,
        data_dir=demo_dir,
    )


def _reset_if_origin_changed(demo_dir: Path, origin: str) -> None:
    """Links in the index embed the simulator's origin; a new origin means a fresh index."""
    marker = demo_dir / "simulator-origin"
    if demo_dir.exists() and (not marker.exists() or marker.read_text().strip() != origin):
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(origin + "\n")


def _sync(settings: Any) -> tuple[Any, Any, Any]:
    """Sync the site into the store the way ``ragconf sync`` does (same bars, same summary)."""
    from ragconf import runtime
    from ragconf.cli._sync_output import CALENDAR_TYPE, print_summary, progress_bars
    from ragconf.sync import Syncer

    embedder, store, lexical = runtime.open_index(settings)
    typer.echo(f"Syncing into {store.location} (model: {embedder.model_name})")
    with runtime.make_confluence(settings) as conf, progress_bars(True) as on_progress:
        syncer = Syncer(
            conf,
            store,
            embedder,
            lexical,
            state_dir=Path(settings.data_dir),
            progress=on_progress,
            custom_types=(CALENDAR_TYPE,),
        )
        report = syncer.run()
    summary = report.to_dict()
    print_summary(summary, location=store.location)
    if summary.get("documents_seen", 0) == 0:
        typer.echo(
            "Nothing is visible to this account. Check its access to spaces in the Confluence UI.",
            err=True,
        )
    return embedder, store, lexical


def _example_searches(store: Any, embedder: Any, lexical: Any, queries: Sequence[str]) -> None:
    from ragconf.search.retrieve import Retriever

    retriever = Retriever(store, embedder, lexical, mode="hybrid")
    typer.echo("")
    for q in queries:
        res = retriever.search(q, k=3)
        typer.echo(f"Search: {q}")
        if not res.results:
            typer.echo("  (no results)")
        for i, doc in enumerate(res.results, 1):
            space = f" [{doc.space_key}]" if doc.space_key else ""
            typer.echo(f"  {i}. {doc.title}{space}  score {doc.score:.3f}")
            typer.echo(f"     {doc.anchor_url or doc.url}")
        typer.echo("")


def _serve(settings: Any, host: str, port: int, **parts: Any) -> None:
    """Serve the API in the foreground; return after Ctrl-C once uvicorn has shut down."""
    import uvicorn

    from ragconf.api.app import create_app

    api = create_app(settings, **parts)
    server = uvicorn.Server(
        uvicorn.Config(api, host=host, port=port, log_level="warning", lifespan="on")
    )

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            typer.echo(serving_line(host, port))

    threading.Thread(target=announce, name="ragconf-demo-announce", daemon=True).start()
    # uvicorn re-raises the SIGINT it captured after a graceful shutdown: that is the
    # normal way out of the demo, not an error
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        fail(f"The API could not start on {host}:{port}.", 1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command("demo")(demo)

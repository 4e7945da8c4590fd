"""``ragconf simulate``: a local Confluence Cloud (REST v2) to develop and demo against.

Examples:

    ragconf simulate                                   # demo wiki on http://127.0.0.1:8090
    ragconf simulate --corpus beir:../shared/data/scifact --port 8091
    ragconf simulate --corpus html:./site-export
    ragconf simulate --corpus synthetic:20000 --latency 20
    ragconf simulate --rate-limit-rate 0.3 --retry-after 1 --error-rate 0.05 --seed 7
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ragconf.cli._output import fail

__all__ = ["load_corpus", "simulate"]


def load_corpus(spec: str, *, beir_spaces: int = 4, limit: int | None = None) -> Any:
    """``demo`` | ``beir:DIR`` | ``html:DIR`` | ``synthetic:N`` -> a simulator Site."""
    from ragconf import simulator

    kind, _, arg = spec.partition(":")
    if kind == "demo" and not arg:
        return simulator.demo_site()
    if kind == "beir" and arg:
        return simulator.beir_site(Path(arg), spaces=beir_spaces, limit=limit)
    if kind == "html" and arg:
        return simulator.html_site(Path(arg))
    if kind == "synthetic" and arg.isdigit():
        return simulator.synthetic_site(int(arg), spaces=beir_spaces)
    raise ValueError(f"unknown corpus {spec!r}: use demo, beir:DIR, html:DIR or synthetic:N")


def simulate(
    port: int = typer.Option(
        8090, "--port", min=0, max=65535, help="TCP port (0 picks a free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    corpus: str = typer.Option(
        "demo", "--corpus", help="demo | beir:DIR | html:DIR | synthetic:N."
    ),
    spaces: int = typer.Option(4, "--spaces", help="Spaces for beir:/synthetic: corpora."),
    limit: int | None = typer.Option(None, "--limit", help="Load at most N BEIR documents."),
    latency: float = typer.Option(0.0, "--latency", help="Added latency per request, in ms."),
    error_rate: float = typer.Option(0.0, "--error-rate", help="Share of 5xx answers (0..1)."),
    rate_limit_rate: float = typer.Option(
        0.0, "--rate-limit-rate", help="Share of 429 answers (0..1)."
    ),
    retry_after: str = typer.Option(
        "1", "--retry-after", help="Retry-After of 429/503 (e.g. 1, or 9223372036854775807)."
    ),
    reset_rate: float = typer.Option(0.0, "--reset-rate", help="Share of connection resets."),
    truncate_rate: float = typer.Option(
        0.0, "--truncate-rate", help="Share of bodies cut off mid-way."
    ),
    non_json_rate: float = typer.Option(
        0.0, "--non-json-rate", help="Share of 200 answers with an HTML body."
    ),
    empty_page_rate: float = typer.Option(
        0.0, "--empty-page-rate", help="Share of list pages that are empty but carry next."
    ),
    short_page_rate: float = typer.Option(
        0.0, "--short-page-rate", help="Share of list pages shorter than limit."
    ),
    cursor_loop: bool = typer.Option(
        False, "--cursor-loop", help="next links repeat the same cursor forever."
    ),
    fault_paths: str | None = typer.Option(
        None, "--fault-paths", help="Regex: only matching paths get faults."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the fault RNG."),
    direct_downloads: bool = typer.Option(
        False, "--direct-downloads", help="Serve attachment bytes directly instead of a 302."
    ),
    no_admin: bool = typer.Option(False, "--no-admin", help="Do not mount the /_admin routes."),
    clamp_limit: int | None = typer.Option(
        None,
        "--clamp-limit",
        min=1,
        max=250,
        help="Return at most N items per list page, below the requested limit "
        "(next links still follow), as the real service sometimes does.",
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve a simulated Confluence Cloud site (REST v2) until Ctrl-C.

    Prints the base URL, the demo accounts and the environment variables that point
    ragconf at it. Faults are off unless asked for; they can also be changed while it
    runs with POST /_admin/faults (JSON, same names as the Faults fields).

    Examples:

    \b
      ragconf simulate
      ragconf simulate --corpus beir:../shared/data/scifact --port 8091
      ragconf simulate --corpus synthetic:20000 --latency 20
      ragconf simulate --rate-limit-rate 0.3 --retry-after 1 --error-rate 0.05 --seed 7
    """
    from ragconf.simulator import (
        DEMO_TOKEN,
        DEMO_USER,
        GUEST_TOKEN,
        GUEST_USER,
        Faults,
        SimulatorServer,
    )

    try:
        site = load_corpus(corpus, beir_spaces=spaces, limit=limit)
    except (ValueError, FileNotFoundError) as exc:
        fail(f"Error: {exc}", 2)
    faults = Faults(
        latency_s=latency / 1000.0,
        error_rate=error_rate,
        rate_limit_rate=rate_limit_rate,
        retry_after=retry_after,
        reset_rate=reset_rate,
        truncate_rate=truncate_rate,
        non_json_rate=non_json_rate,
        empty_page_rate=empty_page_rate,
        short_page_rate=short_page_rate,
        cursor_loop=cursor_loop,
        seed=seed,
        paths=fault_paths,
    )
    server = SimulatorServer(
        site,
        faults,
        port,
        host=host,
        admin=not no_admin,
        download_redirect=not direct_downloads,
        log_level=log_level,
        clamp_limit=clamp_limit or False,
    )
    try:
        server.start()
    except OSError as exc:
        fail(f"Error: cannot listen on {host}:{port}: {exc}", 2)
    counts = site.state()["counts"]
    lines = [
        f"Confluence simulator ({corpus}) on {server.base_url}",
        f"  API:     {server.api_url}",
        f"  content: {counts['spaces']} spaces, {counts['pages']} pages, "
        f"{counts['blogposts']} blog posts, {counts['attachments']} attachments",
        f"  admin:   {DEMO_USER} / {DEMO_TOKEN}   (sees everything)",
        f"  guest:   {GUEST_USER} / {GUEST_TOKEN}   (sees fewer spaces)",
        "",
        "Point ragconf at it:",
        f"  export RAGCONF_CONFLUENCE_URL={server.api_url}",
        f"  export RAGCONF_CONFLUENCE_USERNAME={DEMO_USER}",
        f"  export RAGCONF_CONFLUENCE_TOKEN={DEMO_TOKEN}",
        "",
        "Press Ctrl-C to stop.",
    ]
    typer.echo("\n".join(lines))
    server.serve_forever()


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command()(simulate)

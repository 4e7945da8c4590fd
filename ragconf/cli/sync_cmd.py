"""``ragconf sync``: bring the index in step with Confluence (incremental, crash-safe).

Progress bars go to stderr; the per-space summary table (or ``--json``) to stdout.
Exit code 3 when some documents failed (they are listed; the rest was indexed), 9 when
another sync holds the data directory.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from ragconf.cli._app import app, emit_json, get_settings, redact

__all__ = ["sync"]

CALENDAR_TYPE = "ac:com.atlassian.confluence.plugins.calendar:calendar"
_STAGES = {"listing": "listing", "documents": "documents", "chunks": "embedding"}


@app.command("sync")
def sync(
    space: list[str] | None = typer.Option(
        None, "--space", "-s", metavar="KEY", help="Sync only this space (repeatable)."
    ),
    full: bool = typer.Option(
        False,
        "--full",
        help="Re-enumerate and re-convert everything; unchanged chunk text is still not "
        "re-embedded.",
    ),
    no_attachments: bool = typer.Option(
        False, "--no-attachments", help="Skip attachments (neither fetched nor removed)."
    ),
    custom_type: list[str] | None = typer.Option(
        None,
        "--custom-type",
        metavar="TYPE",
        help=f"Custom content type to index (repeatable; default {CALENDAR_TYPE}).",
    ),
    batch_size: int = typer.Option(
        128, "--batch-size", min=1, metavar="N", help="Chunks per embedding call."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Sync Confluence into the index: only changed content is fetched and re-embedded.

    Label, title and move changes update metadata without embedding; trashed, purged and
    no-longer-visible content is removed (only after a complete listing of its space).
    """
    from ragconf import runtime
    from ragconf.index.sync import Syncer

    settings = get_settings()
    conf = runtime.make_confluence(settings)  # first: a configuration error needs no model
    embedder, store, lexical = runtime.open_index(settings)
    try:
        with conf, _progress_bars(not quiet) as on_progress:
            syncer = Syncer(
                conf,
                store,
                embedder,
                lexical,
                state_dir=Path(settings.data_dir),
                space_keys=space or None,
                attachments=not no_attachments,
                progress=on_progress,
                custom_types=custom_type or (CALENDAR_TYPE,),
                embed_batch=batch_size,
            )
            report = syncer.run(full=full)
    finally:
        store.close()
    summary = report.to_dict()
    if as_json:
        emit_json(summary)
    else:
        _print_summary(summary, location=store.location)
    if summary["failed"]:
        raise typer.Exit(3)


def _print_summary(summary: dict[str, Any], *, location: str) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console(highlight=False, soft_wrap=True, markup=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)
    table = Table(title=f"Sync into {location}", title_justify="left")
    for col in ("space", "added", "updated", "metadata", "unchanged", "deleted", "failed"):
        table.add_column(col, justify="left" if col == "space" else "right")
    for sp in summary["spaces"]:
        name = sp["key"] + (" (deletions skipped)" if sp.get("deletions_skipped") else "")
        table.add_row(
            name,
            *(
                str(sp[k])
                for k in ("added", "updated", "metadata_updated", "unchanged", "deleted", "failed")
            ),
        )
    out.print(table)
    out.print(
        f"{summary['chunks_embedded']} chunks embedded, {summary['chunks_reused']} reused, "
        f"{summary['requests']} requests, {summary['seconds']:.1f} s"
    )
    for w in summary["warnings"][:20]:
        where = f"{w.get('title')} ({w.get('content_id')}): " if w.get("content_id") else ""
        err.print(redact(f"warning: {where}{w['message']}"))
    if len(summary["warnings"]) > 20:
        err.print(f"… and {len(summary['warnings']) - 20} more warnings (see --json)")
    for f in summary["failed"]:
        err.print(
            redact(f"failed: {f['title']} ({f['content_type']} {f['content_id']}): {f['error']}")
        )
    if summary["failed"]:
        err.print(
            f"{len(summary['failed'])} documents failed and were skipped; the rest is indexed. "
            "Rerun `ragconf sync` to retry them."
        )


@contextlib.contextmanager
def _progress_bars(enabled: bool) -> Iterator[Any]:
    """A thread-safe ``progress(stage, done, total)`` callback drawing rich bars on stderr."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bars = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, Any] = {}
    lock = threading.Lock()  # the syncer reports from its worker threads

    def on_progress(stage: str, done: int, total: int | None) -> None:
        with lock:
            if stage not in tasks:
                tasks[stage] = bars.add_task(_STAGES.get(stage, stage), total=total)
            bars.update(tasks[stage], completed=done, total=total)

    with bars:
        yield on_progress

"""``ragconf sync``: bring the index in step with Confluence (incremental, crash-safe).

Progress bars go to stderr; the per-space summary table (or ``--json``) to stdout.
Exit code 3 when some documents or listings failed (they are listed; the rest was
indexed), 6 for a ``--space`` that is not visible, 9 when another sync holds the data
directory.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ragconf.cli._output import emit_json, get_settings
from ragconf.cli._sync_output import CALENDAR_TYPE, print_summary, progress_bars

__all__ = ["sync"]



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
        False,
        "--no-attachments",
        help="Skip attachments (not fetched; ones indexed earlier are removed).",
    ),
    no_comments: bool = typer.Option(
        False,
        "--no-comments",
        help="Skip footer and inline comments (not listed; ones indexed earlier are removed).",
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
    from ragconf.sync import Syncer

    settings = get_settings()
    conf = runtime.make_confluence(settings)  # first: a configuration error needs no model
    embedder, store, lexical = runtime.open_index(settings)
    try:
        with conf, progress_bars(not quiet) as on_progress:
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
                comments=not no_comments,
            )
            report = syncer.run(full=full)
    finally:
        store.close()
    summary = report.to_dict()
    if as_json:
        emit_json(summary)
    else:
        print_summary(summary, location=store.location)
    if summary["failed"] or summary["listings_failed"]:
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command("sync")(sync)

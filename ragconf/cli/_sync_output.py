"""How a sync looks in a terminal: progress bars while it runs, a summary table after.

Shared by ``ragconf sync`` and ``ragconf demo``; imports nothing from ``ragconf.cli`` but
``_output``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from ragconf.cli._output import redact

__all__ = ["CALENDAR_TYPE", "print_summary", "progress_bars"]

CALENDAR_TYPE = "ac:com.atlassian.confluence.plugins.calendar:calendar"
_STAGES = {"listing": "listing", "documents": "documents", "chunks": "embedding"}


def print_summary(summary: dict[str, Any], *, location: str) -> None:
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
    for f in summary.get("listings_failed", ()):
        where = f"space {f['space_key']}: " if f.get("space_key") else ""
        err.print(redact(f"failed: {where}listing {f['listing']}: {f['error']}"))
    if summary["failed"]:
        err.print(
            f"{len(summary['failed'])} documents failed and were skipped; the rest is indexed. "
            "Rerun `ragconf sync` to retry them."
        )
    if summary.get("listings_failed"):
        err.print(
            f"{len(summary['listings_failed'])} listings failed: changes and deletions in them "
            "were not picked up. Rerun `ragconf sync` once Confluence answers."
        )


@contextlib.contextmanager
def progress_bars(enabled: bool) -> Iterator[Any]:
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

"""Option declarations shared by several commands (imports nothing from ``ragconf.cli``).

Typer reads a parameter's default as its declaration, so one ``typer.Option`` object can serve
every command that takes ``--json``, ``--limit`` or ``--space``.
"""

from __future__ import annotations

import typer

__all__ = ["CAL", "ID", "JSON", "LIMIT", "PAGE_SIZE", "SORT", "SPACE"]

CAL = "ac:com.atlassian.confluence.plugins.calendar:calendar"

# shared options (typer reads the defaults as option declarations)
LIMIT = typer.Option(None, "--limit", "-n", min=1, help="At most this many items.", metavar="N")
JSON = typer.Option(False, "--json", help="One JSON array of objects in the API's field names.")
PAGE_SIZE = typer.Option(
    250,
    "--page-size",
    min=1,
    max=250,
    help="Items per request (the API allows 1..250).",
    metavar="N",
)
SORT = typer.Option(
    None, "--sort", help="asc, desc, or an API sort key such as -modified-date.", metavar="KEY"
)
SPACE = typer.Option(None, "--space", "-s", help="Space key (repeatable).", metavar="KEY")
ID = typer.Option(
    None, "--id", help="Only these ids (repeatable, or comma-separated).", metavar="ID"
)

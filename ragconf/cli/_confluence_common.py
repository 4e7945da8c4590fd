"""Shared pieces of the listing commands: options, space-key resolution, table/JSON output."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import typer

from ragconf.cli._options import CAL, ID, JSON, LIMIT, PAGE_SIZE, SORT, SPACE
from ragconf.cli._output import emit_json, get_settings, redact

if TYPE_CHECKING:
    from ragconf.confluence import Confluence, ConfluenceModel
    from ragconf.settings import Settings

__all__ = [
    "CAL",
    "ID",
    "JSON",
    "LIMIT",
    "PAGE_SIZE",
    "SORT",
    "SPACE",
    "emit",
    "open_confluence",
    "space_ids",
    "split",
]


def split(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for raw in values for v in raw.split(",") if v.strip()]


def open_confluence() -> tuple[Settings, Confluence]:
    from ragconf.runtime import make_confluence

    settings = get_settings()
    return settings, make_confluence(settings)


def space_ids(conf: Confluence, keys: Sequence[str] | None) -> list[str] | None:
    """``--space KEY`` -> space ids (the API addresses spaces by id), via ``/spaces?keys=``."""
    wanted = split(keys)
    if not wanted:
        return None
    found = {s.key: s.id for s in conf.get_spaces(keys=wanted)}
    for key in wanted:
        if key not in found:
            from ragconf.errors import NotFoundError

            raise NotFoundError(
                f"no space with key {key!r} is visible to this account",
                hint="check the key (case matters) and the account's space permissions "
                "in the Confluence UI; `ragconf spaces` lists what is visible",
            )
    return [found[k] for k in wanted]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat(timespec="minutes")).replace("+00:00", "Z")
    return str(value)


def _space_keys(conf: Confluence | None, rows: list[Any]) -> dict[str, str]:
    """Space id -> key for the table's Space column (one ``/spaces?ids=`` call per 250)."""
    ids = sorted({str(r.space_id) for r in rows if getattr(r, "space_id", None)})
    if conf is None or not ids:
        return {}
    return {s.id: s.key for s in conf.get_spaces(ids=ids)}


def emit(
    what: str,
    settings: Settings,
    items: Iterable[ConfluenceModel],
    columns: list[tuple[str, Callable[[Any], Any]]],
    as_json: bool,
    conf: Confluence | None = None,
) -> None:
    """Print the rows (table or JSON); say so on stderr when nothing is visible.

    A column named "Space" shows the space key (resolved through ``conf``) for the id
    its getter returns: keys are what people recognise.
    """
    rows = list(items)
    if as_json:
        emit_json([item.to_api() for item in rows])
    elif rows:
        from rich.console import Console
        from rich.table import Table

        keys = _space_keys(conf, rows) if any(n == "Space" for n, _ in columns) else {}
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for name, _ in columns:
            table.add_column(name, overflow="fold")
        for item in rows:
            cells = []
            for name, get in columns:
                value = get(item)
                cells.append(_cell(keys.get(str(value), value) if name == "Space" else value))
            table.add_row(*cells)
        # markup off: titles such as "[DRAFT] Plan" are text, not rich style tags
        console = Console(width=max(120, Console().width), highlight=False, markup=False)
        with console.capture() as captured:
            console.print(table)
        lines = [line.rstrip() for line in captured.get().splitlines()]
        typer.echo(redact("\n".join(lines)))
    if not rows:
        who = settings.confluence_username or "this account"
        typer.echo(
            redact(
                f"No {what} visible to {who} at {settings.api_url}. If you expected some, check "
                "the account's access (space permissions, page restrictions) in the Confluence UI."
            ),
            err=True,
        )

"""``ragconf search "question"``: the API's search from the command line."""

from __future__ import annotations

from typing import Any

import typer

from ragconf.cli._output import emit_json, get_settings

__all__ = ["search"]


def search(
    question: str = typer.Argument(..., help="What to look for, in plain words."),
    space: list[str] = typer.Option(None, "--space", "-s", help="Space key (repeatable)."),
    label: list[str] = typer.Option(None, "--label", "-l", help="Label (repeatable; any)."),
    type_: list[str] = typer.Option(
        None,
        "--type",
        "-t",
        help="page, blogpost, attachment, custom_content or comment (repeatable).",
    ),
    ancestor: list[str] = typer.Option(
        None,
        "--ancestor",
        "-a",
        metavar="ID",
        help="Only content below this page or folder id (repeatable; any).",
    ),
    updated_after: str = typer.Option(
        None, "--updated-after", help="Only documents modified after this ISO date/datetime."
    ),
    k: int = typer.Option(10, "-k", "--k", help="How many documents (1..100)."),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid, dense or bm25."),
    as_json: bool = typer.Option(False, "--json", help="JSON with the API's result fields."),
) -> None:
    """Search the local index: a table of score, title, space and link, or --json.

    Uses the demo's index (<data dir>/demo) when it is the only one.
    """
    from ragconf.api.schemas import search_filters
    from ragconf.search.retrieve import validate_query

    filters = search_filters(space, label, type_, updated_after, ancestor)
    validate_query(question, k, mode)  # fail fast, before the model loads
    retriever = _open_retriever()
    res = retriever.search(question, k=k, filters=filters, mode=mode)
    if not res.results and space:
        _check_spaces(retriever, space)
    if as_json:
        emit_json(
            {
                "query": res.query,
                "mode": res.mode,
                "took_ms": res.timings.get("total_ms"),
                "results": [d.to_dict() for d in res.results],
            }
        )
        return
    _print_table(res.results)


def _check_spaces(retriever: Any, keys: list[str]) -> None:
    """Nothing found in spaces the index does not hold: say so (a typo, or a space not
    synced yet), rather than "no results" with exit 0."""
    from ragconf.errors import InvalidQueryError

    indexed = sorted(k for k in (retriever.store.stats().get("by_space") or {}) if k)
    unknown = [k for k in dict.fromkeys(keys) if k not in indexed]
    if unknown:
        raise InvalidQueryError(
            f"the index holds no space {', '.join(unknown)}",
            hint=f"indexed spaces: {', '.join(indexed) or 'none'}; space keys are "
            "case-sensitive; `ragconf sync --space KEY` indexes another one",
        )


def _open_retriever() -> Any:
    from ragconf.api.app import open_services
    from ragconf.cli._serving import has_index, with_demo_index
    from ragconf.errors import ConfigurationError

    settings = with_demo_index(get_settings())
    if not settings.chroma_url and not has_index(settings.data_dir):
        # opening the store would create an empty one, and every search would find nothing
        raise ConfigurationError(
            f"there is no index in {settings.data_dir} yet",
            hint="run `ragconf sync` to index your site (or `ragconf demo` for the demo), "
            "or point RAGCONF_DATA_DIR / RAGCONF_CHROMA_URL at an existing index",
        )
    return open_services(settings).retriever


def _print_table(results: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(markup=False)  # titles like "[DRAFT] Plan" are text, not style tags
    if not results:
        console.print("No results. (Is the index synced? Try `ragconf sync`.)")
        return
    table = Table(show_lines=False)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("title")
    table.add_column("space", no_wrap=True)
    table.add_column("url", overflow="fold")
    for d in results:
        copies = len(getattr(d, "places", ()) or ()) - 1
        title = d.title
        if copies > 0:  # one file attached in several places: one row
            title += f" (also attached in {copies} more place{'s' if copies > 1 else ''})"
        table.add_row(f"{d.score:.3f}", title, d.space_key or "", d.anchor_url or d.url)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command()(search)

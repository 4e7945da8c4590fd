"""``ragconf tree`` (a space's content hierarchy) and ``ragconf folders``.

The tree nests pages, folders, whiteboards, databases and Smart Link embeds as Confluence's
sidebar does; ``--json`` prints the same nesting as ``[{"id", "type", "title", "status",
"children": [...]}]``. A node marked ``…`` (``"truncated": true``) has children that
``--depth`` or ``--limit`` left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from ragconf.cli._confluence_common import (
    JSON,
    LIMIT,
    PAGE_SIZE,
    SPACE,
    emit,
    open_confluence,
    space_ids,
    split,
)
from ragconf.cli._output import emit_json, redact

if TYPE_CHECKING:
    from ragconf.confluence import TreeNode

__all__ = ["folders", "tree"]

_TYPES = "page, folder, whiteboard, database or embed"


def _render(title: str, roots: list[TreeNode]) -> None:
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    def label(node: TreeNode) -> Text:
        text = Text(node.title or "(untitled)", style="bold" if node.type != "page" else "")
        text.append(f"  {node.type} {node.id}", style="dim")
        if node.status and node.status != "current":
            text.append(f" ({node.status})", style="dim")
        if node.truncated:
            text.append(" …", style="dim")
        return text

    def grow(branch: Tree, node: TreeNode) -> None:
        child = branch.add(label(node))
        for sub in node.children:
            grow(child, sub)

    top = Tree(Text(title, style="bold"), guide_style="dim")
    for root in roots:
        grow(top, root)
    console = Console(width=max(120, Console().width), highlight=False)
    with console.capture() as captured:
        console.print(top)
    typer.echo(redact("\n".join(line.rstrip() for line in captured.get().splitlines())))


def tree(
    space: str = typer.Option(
        None, "--space", "-s", help="Space key: the whole space.", metavar="KEY"
    ),
    root: str = typer.Option(None, "--root", help="Only the tree below this id.", metavar="ID"),
    type: str = typer.Option(
        "page", "--type", "-t", help=f"The --root's type: {_TYPES}.", metavar="TYPE"
    ),
    depth: int = typer.Option(
        None, "--depth", "-d", min=1, help="At most this many levels below the roots.", metavar="N"
    ),
    limit: int = typer.Option(
        None, "--limit", "-n", min=1, help="At most this many nodes in all.", metavar="N"
    ),
    page_size: int = PAGE_SIZE,
    as_json: bool = typer.Option(
        False, "--json", help="A JSON array of root nodes, each with nested children."
    ),
) -> None:
    """Print a space's content tree: pages, folders, whiteboards, databases and embeds.

    Roots are the space's top-level pages (homepage first); siblings are in sidebar order.

    Examples:

    \b
      ragconf tree --space ENG
      ragconf tree --space ENG --depth 2
      ragconf tree --root 98305 --type folder --json
    """
    if not space and not root:
        raise typer.BadParameter("give --space KEY, or --root ID (with --type)")
    from ragconf.confluence import ConfluenceService

    settings, conf = open_confluence()
    conf.page_size = page_size
    with conf:
        svc = ConfluenceService(conf)
        if root:
            roots = [svc.content_tree(root, type, max_depth=depth, limit=limit)]
            title = f"{roots[0].type} {roots[0].id}"
        else:
            found = conf.get_space_by_key(space)
            roots = svc.space_tree(found, max_depth=depth, limit=limit)
            title = f"{found.name} ({found.key})"
    if as_json:
        emit_json([node.to_api() for node in roots])
    elif roots:
        _render(title, roots)
    if not roots:
        who = settings.confluence_username or "this account"
        typer.echo(
            redact(
                f"No content visible to {who} in space {space}. If you expected some, check "
                "the account's space permissions in the Confluence UI."
            ),
            err=True,
        )


_FOLDER_COLUMNS: list[tuple[str, Any]] = [
    ("ID", lambda f: f.id),
    ("Title", lambda f: f.title),
    ("Space", lambda f: f.space_id),
    ("Parent", lambda f: f"{f.parent_type or ''} {f.parent_id or ''}".strip()),
    ("Status", lambda f: f.status),
    ("Version", lambda f: f.version.number),
    ("Updated", lambda f: f.version.created_at),
]
_CHILD_COLUMNS: list[tuple[str, Any]] = [
    ("ID", lambda c: c.id),
    ("Type", lambda c: c.type),
    ("Title", lambda c: c.title),
    ("Status", lambda c: c.status),
    ("Position", lambda c: c.child_position),
]


def folders(
    id: list[str] = typer.Option(
        None, "--id", help="These folders (repeatable, or comma-separated).", metavar="ID"
    ),
    space: list[str] = SPACE,
    children: str = typer.Option(
        None, "--children", help="The direct children of this folder (every type).", metavar="ID"
    ),
    ancestors: str = typer.Option(
        None, "--ancestors", help="The ancestors of this folder, highest first.", metavar="ID"
    ),
    limit: int = LIMIT,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """Show folders by id or every folder of a space, or a folder's children or ancestors.

    REST v2 has no folder listing, so --space walks the space's tree.

    Examples:

    \b
      ragconf folders --space ENG
      ragconf folders --id 98305 --json
      ragconf folders --children 98305
      ragconf folders --ancestors 98305
    """
    given = [bool(id), bool(space), bool(children), bool(ancestors)]
    if sum(given) != 1:
        raise typer.BadParameter("give one of --id, --space, --children, --ancestors")
    from ragconf.confluence import ConfluenceService

    settings, conf = open_confluence()
    conf.page_size = page_size
    with conf:
        svc = ConfluenceService(conf)
        if children:
            kids = svc.list_children(children, "folder", limit=limit)
            emit("children", settings, kids, _CHILD_COLUMNS, as_json, conf)
        elif ancestors:
            chain = svc.list_ancestors(ancestors, "folder")[:limit]
            columns = [("ID", lambda a: a.id), ("Type", lambda a: a.type)]
            emit("ancestors", settings, chain, columns, as_json, conf)
        elif id:
            found = svc.list_folders(ids=split(id), limit=limit)
            emit("folders", settings, found, _FOLDER_COLUMNS, as_json, conf)
        else:
            found = []
            for space_id in space_ids(conf, space) or []:
                room = None if limit is None else limit - len(found)
                if room == 0:
                    break
                found.extend(svc.list_folders(space_id=space_id, limit=room))
            emit("folders", settings, found, _FOLDER_COLUMNS, as_json, conf)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command()(tree)
    app.command()(folders)

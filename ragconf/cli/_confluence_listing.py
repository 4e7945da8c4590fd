"""The listing commands: ``ragconf spaces|pages|blogposts|labels|attachments|custom-content|tasks``.

Each prints a table, or with ``--json`` one JSON array of objects in the API's own field
names. An empty listing is not an error: it is said on stderr (exit 0), with the usual
reason (the account can't see it) and where to check. Registered by ``confluence_cmds``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import typer

from ragconf.cli._confluence_common import (
    CAL,
    ID,
    JSON,
    LIMIT,
    PAGE_SIZE,
    SORT,
    SPACE,
    emit,
    open_confluence,
    space_ids,
    split,
)

if TYPE_CHECKING:
    from ragconf.confluence import Confluence

__all__ = [
    "attachments",
    "blogposts",
    "custom_content",
    "labels",
    "pages",
    "spaces",
    "tasks",
]

# -- shared parts -------------------------------------------------------------------------------

Columns = list[tuple[str, Callable[[Any], Any]]]

# options of both pages and blogposts (typer reads the defaults as option declarations)
TITLE = typer.Option(None, "--title", help="Exact title.", metavar="TITLE")
BODY_FORMAT = typer.Option(
    None, "--body-format", help="storage or atlas_doc_format.", metavar="FORMAT"
)


def _list(
    what: str,
    columns: Columns,
    fetch: Callable[[Confluence], Iterable[Any]],
    *,
    page_size: int,
    as_json: bool,
) -> None:
    """Connect, ``fetch`` the items and print them: the tail of every listing command."""
    settings, conf = open_confluence()
    conf.page_size = page_size
    with conf:
        emit(what, settings, fetch(conf), columns, as_json, conf)


def _content(
    method: str,
    space: Sequence[str] | None,
    id: Sequence[str] | None,
    title: str | None,
    status: Sequence[str] | None,
    sort: str | None,
    body_format: str | None,
    limit: int | None,
) -> Callable[[Confluence], Iterable[Any]]:
    """The fetch of ``pages`` and ``blogposts`` (same filters, in their options' order)."""

    def fetch(conf: Confluence) -> Iterable[Any]:
        found: Iterable[Any] = getattr(conf, method)(
            ids=split(id),
            space_ids=space_ids(conf, space),
            title=title,
            status=split(status),
            sort=sort,
            body_format=body_format,
            limit=limit,
        )
        return found

    return fetch


# -- listings -----------------------------------------------------------------------------------

_CONTENT_COLUMNS: Columns = [
    ("ID", lambda x: x.id),
    ("Title", lambda x: x.title),
    ("Space", lambda x: x.space_id),
    ("Status", lambda x: x.status),
    ("Version", lambda x: x.version.number),
    ("Updated", lambda x: x.version.created_at),
]


def spaces(
    id: list[str] = ID,
    key: list[str] = typer.Option(
        None, "--key", "-k", help="Space key (repeatable).", metavar="KEY"
    ),
    type: str = typer.Option(
        None, "--type", help="global, personal, collaboration, …", metavar="TYPE"
    ),
    status: str = typer.Option(None, "--status", help="current or archived.", metavar="STATUS"),
    sort: str = SORT,
    limit: int = LIMIT,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """List the spaces this account can see.

    Example:  ragconf spaces --status current --sort name --json
    """
    columns: Columns = [
        ("ID", lambda s: s.id),
        ("Key", lambda s: s.key),
        ("Name", lambda s: s.name),
        ("Type", lambda s: s.type),
        ("Status", lambda s: s.status),
    ]
    _list(
        "spaces",
        columns,
        lambda conf: conf.get_spaces(
            ids=split(id), keys=split(key), sort=sort, status=status, type=type, limit=limit
        ),
        page_size=page_size,
        as_json=as_json,
    )


def pages(
    space: list[str] = SPACE,
    id: list[str] = ID,
    title: str = TITLE,
    status: list[str] = typer.Option(
        None, "--status", help="current, archived, trashed, deleted (repeatable).", metavar="STATUS"
    ),
    sort: str = SORT,
    body_format: str = BODY_FORMAT,
    limit: int = LIMIT,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """List pages (all visible spaces, or --space KEY).

    Example:  ragconf pages --space ENG --sort -modified-date --limit 20
    """
    fetch = _content("get_pages", space, id, title, status, sort, body_format, limit)
    _list("pages", _CONTENT_COLUMNS, fetch, page_size=page_size, as_json=as_json)


def blogposts(
    space: list[str] = SPACE,
    id: list[str] = ID,
    title: str = TITLE,
    status: list[str] = typer.Option(
        None, "--status", help="current, trashed, deleted.", metavar="STATUS"
    ),
    sort: str = SORT,
    body_format: str = BODY_FORMAT,
    limit: int = LIMIT,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """List blog posts (all visible spaces, or --space KEY).

    Example:  ragconf blogposts --space ENG --sort desc --json
    """
    fetch = _content("get_blog_posts", space, id, title, status, sort, body_format, limit)
    _list("blog posts", _CONTENT_COLUMNS, fetch, page_size=page_size, as_json=as_json)


def labels(
    prefix: str = typer.Option(
        None, "--prefix", help="global, my, team or system.", metavar="PREFIX"
    ),
    id: list[str] = typer.Option(
        None, "--id", help="Only these label ids (repeatable).", metavar="ID"
    ),
    page: str = typer.Option(None, "--page", help="Labels of this page id.", metavar="ID"),
    blogpost: str = typer.Option(
        None, "--blogpost", help="Labels of this blog post id.", metavar="ID"
    ),
    space: str = typer.Option(
        None, "--space", "-s", help="Labels of this space key.", metavar="KEY"
    ),
    attachment: str = typer.Option(
        None, "--attachment", help="Labels of this attachment id.", metavar="ID"
    ),
    sort: str = SORT,
    limit: int = LIMIT,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """List labels: all of them, or those of one page, blog post, space or attachment.

    Example:  ragconf labels --page 65601 --prefix global
    """
    targets = [t for t in (page, blogpost, space, attachment) if t]
    if len(targets) > 1:
        raise typer.BadParameter("give at most one of --page, --blogpost, --space, --attachment")

    def fetch(conf: Confluence) -> Iterator[Any]:
        if page:
            return conf.get_labels_by_page(page, prefix=prefix, sort=sort, limit=limit)
        if blogpost:
            return conf.get_labels_by_blog_post(blogpost, prefix=prefix, sort=sort, limit=limit)
        if space:
            (space_id,) = space_ids(conf, [space]) or [space]
            return conf.get_labels_by_space(space_id, prefix=prefix, sort=sort, limit=limit)
        if attachment:
            return conf.get_labels_by_attachment(attachment, sort=sort, limit=limit)
        return conf.get_labels(prefix=prefix, sort=sort, label_ids=split(id), limit=limit)

    columns: Columns = [
        ("ID", lambda x: x.id),
        ("Name", lambda x: x.name),
        ("Prefix", lambda x: x.prefix),
    ]
    _list("labels", columns, fetch, page_size=page_size, as_json=as_json)


def attachments(
    filename: str = typer.Option(None, "--filename", help="Exact file name.", metavar="NAME"),
    media_type: str = typer.Option(
        None, "--media-type", help="e.g. application/pdf", metavar="TYPE"
    ),
    status: list[str] = typer.Option(
        None, "--status", help="current, archived, trashed.", metavar="STATUS"
    ),
    page: str = typer.Option(None, "--page", help="Attachments of this page id.", metavar="ID"),
    blogpost: str = typer.Option(
        None, "--blogpost", help="Attachments of this blog post id.", metavar="ID"
    ),
    sort: str = SORT,
    limit: int = LIMIT,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """List attachments (site-wide, or of one page or blog post).

    Example:  ragconf attachments --media-type application/pdf --sort -modified-date
    """
    if page and blogpost:
        raise typer.BadParameter("give --page or --blogpost, not both")

    def fetch(conf: Confluence) -> Iterator[Any]:
        common: dict[str, Any] = {
            "filename": filename,
            "media_type": media_type,
            "sort": sort,
            "status": split(status),
            "limit": limit,
        }
        if page:
            return conf.get_attachments_by_page(page, **common)
        if blogpost:
            return conf.get_attachments_by_blog_post(blogpost, **common)
        return conf.get_attachments(**common)

    columns: Columns = [
        ("ID", lambda a: a.id),
        ("File", lambda a: a.title),
        ("Media type", lambda a: a.media_type),
        ("Bytes", lambda a: a.file_size),
        ("Container", lambda a: a.container_id),
        ("Status", lambda a: a.status),
    ]
    _list("attachments", columns, fetch, page_size=page_size, as_json=as_json)


def custom_content(
    type: str = typer.Option(
        ..., "--type", "-t", help=f"The app's module key, e.g. {CAL}", metavar="TYPE"
    ),
    space: list[str] = SPACE,
    id: list[str] = ID,
    sort: str = SORT,
    body_format: str = typer.Option(
        None, "--body-format", help="raw, storage, atlas_doc_format.", metavar="FORMAT"
    ),
    limit: int = LIMIT,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """List custom content of one type, such as calendars.

    Example:  ragconf custom-content --type ac:com.atlassian.confluence.plugins.calendar:calendar
    """
    columns: Columns = [
        ("ID", lambda c: c.id),
        ("Title", lambda c: c.title),
        ("Space", lambda c: c.space_id),
        ("Status", lambda c: c.status),
        ("Version", lambda c: c.version.number),
    ]
    _list(
        "custom content of this type",
        columns,
        lambda conf: conf.get_custom_content(
            type,
            space_id=space_ids(conf, space),
            ids=split(id),
            sort=sort,
            body_format=body_format,
            limit=limit,
        ),
        page_size=page_size,
        as_json=as_json,
    )


def tasks(
    space: list[str] = SPACE,
    assigned_to: list[str] = typer.Option(
        None, "--assigned-to", help="Account id of the assignee (repeatable).", metavar="ACCOUNT"
    ),
    status: str = typer.Option(None, "--status", help="complete or incomplete.", metavar="STATUS"),
    due_from: str = typer.Option(
        None, "--due-from", help="Due on or after (YYYY-MM-DD).", metavar="DATE"
    ),
    due_to: str = typer.Option(
        None, "--due-to", help="Due on or before (YYYY-MM-DD).", metavar="DATE"
    ),
    page: list[str] = typer.Option(
        None, "--page", help="Tasks on this page id (repeatable).", metavar="ID"
    ),
    limit: int = LIMIT,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """List inline tasks (filters: space, assignee, status, due dates, page).

    Example:  ragconf tasks --status incomplete --due-to 2026-06-30 --json
    """
    from ragconf.confluence import to_epoch_ms

    for name, value in (("--due-from", due_from), ("--due-to", due_to)):
        try:
            to_epoch_ms(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=name) from None
    columns: Columns = [
        ("ID", lambda t: t.id),
        ("Status", lambda t: t.status),
        ("Assigned to", lambda t: t.assigned_to),
        ("Due", lambda t: t.due_at),
        ("Page", lambda t: t.page_id or t.blog_post_id),
        ("Space", lambda t: t.space_id),
    ]
    _list(
        "tasks",
        columns,
        lambda conf: conf.get_tasks(
            space_id=space_ids(conf, space),
            assigned_to=split(assigned_to),
            status=status,
            due_from=due_from,
            due_to=due_to,
            page_ids=split(page),
            limit=limit,
        ),
        page_size=page_size,
        as_json=as_json,
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command()(spaces)
    app.command()(pages)
    app.command()(blogposts)
    app.command()(labels)
    app.command()(attachments)
    app.command("custom-content")(custom_content)
    app.command()(tasks)

"""``ragconf comments``: footer and inline comments, site-wide or of one page, blog post,
attachment or custom content, the replies to one comment, or comments by id.

A table by default (the Text column is the highlighted selection of an inline comment, else
the start of the body); ``--json`` prints the API's objects plus ``"kind"`` (footer|inline).
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import typer

from ragconf.cli._confluence_common import LIMIT, PAGE_SIZE, emit, open_confluence, split
from ragconf.cli._output import emit_json

if TYPE_CHECKING:
    from ragconf.confluence import Comment

__all__ = ["comments"]

_TAG = re.compile(r"<[^>]+>")
_TEXT_MAX = 60


def snippet(comment: Comment) -> str:
    """What a person recognises a comment by: the highlighted text, else the body's start."""
    selection = getattr(getattr(comment, "properties", None), "inline_original_selection", None)
    if selection:
        text = f"«{selection}»"
    else:
        text = html.unescape(_TAG.sub(" ", comment.body.storage_value or ""))
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_MAX else text[: _TEXT_MAX - 1] + "…"


def _state(comment: Comment) -> str:
    resolution = getattr(comment, "resolution_status", None)
    return f"{comment.status}/{resolution}" if resolution else comment.status


_COLUMNS: list[tuple[str, Any]] = [
    ("ID", lambda c: c.id),
    ("Kind", lambda c: c.kind),
    ("On", lambda c: " ".join(c.container) if c.container else ""),
    ("Reply to", lambda c: c.parent_comment_id),
    ("Status", _state),
    ("Author", lambda c: c.author_id),
    ("Updated", lambda c: c.version.created_at),
    ("Text", snippet),
]


def comments(
    page: str = typer.Option(None, "--page", help="Comments on this page id.", metavar="ID"),
    blogpost: str = typer.Option(
        None, "--blogpost", help="Comments on this blog post id.", metavar="ID"
    ),
    attachment: str = typer.Option(
        None, "--attachment", help="Comments on this attachment id (footer only).", metavar="ID"
    ),
    custom_content: str = typer.Option(
        None, "--custom-content", help="Comments on this custom content id.", metavar="ID"
    ),
    replies_to: str = typer.Option(
        None,
        "--replies-to",
        help="Replies to this comment id (needs --inline or --footer).",
        metavar="ID",
    ),
    id: list[str] = typer.Option(
        None, "--id", help="These comments by id (repeatable, or comma-separated).", metavar="ID"
    ),
    inline: bool = typer.Option(False, "--inline", help="Inline comments only."),
    footer: bool = typer.Option(False, "--footer", help="Footer comments only."),
    resolution: list[str] = typer.Option(
        None,
        "--resolution",
        help="open, reopened, resolved or dangling (repeatable; implies --inline).",
        metavar="STATE",
    ),
    status: list[str] = typer.Option(
        None,
        "--status",
        help="current, trashed, … (repeatable; with --page or --blogpost).",
        metavar="STATUS",
    ),
    sort: str = typer.Option(
        None, "--sort", help="asc, desc (creation order) or -modified-date …", metavar="KEY"
    ),
    body_format: str = typer.Option(
        "storage", "--body-format", help="storage or atlas_doc_format.", metavar="FORMAT"
    ),
    limit: int = LIMIT,
    page_size: int = PAGE_SIZE,
    as_json: bool = typer.Option(
        False, "--json", help='One JSON array of the API\'s objects, each with "kind" added.'
    ),
) -> None:
    """List comments: site-wide, on one page/blog post/attachment/custom content, or replies.

    Without --inline or --footer both kinds are listed (footer first).

    Examples:

    \b
      ragconf comments --page 65601
      ragconf comments --page 65601 --inline --resolution open
      ragconf comments --replies-to 4521 --inline --json
      ragconf comments --footer --sort -modified-date --limit 20
      ragconf comments --id 4521,4522
    """
    if inline and footer:
        raise typer.BadParameter("give --inline or --footer, not both (neither means both)")
    targets = {
        "page": page,
        "blogpost": blogpost,
        "attachment": attachment,
        "custom_content": custom_content,
        "comment": replies_to,
    }
    given = {k: v for k, v in targets.items() if v}
    if len(given) + bool(id) > 1:
        raise typer.BadParameter(
            "give at most one of --page, --blogpost, --attachment, --custom-content, "
            "--replies-to, --id"
        )
    kind = "inline" if inline else "footer" if footer else None
    if resolution and footer:
        raise typer.BadParameter("footer comments have no resolution; drop --footer")
    if replies_to and kind is None and not resolution:
        raise typer.BadParameter("--replies-to needs --inline or --footer (the parent's kind)")
    if status and not (page or blogpost):
        raise typer.BadParameter("--status filters the comments of a --page or --blogpost")

    from ragconf.confluence import ConfluenceService

    settings, conf = open_confluence()
    conf.page_size = page_size
    with conf:
        svc = ConfluenceService(conf)
        found: list[Comment]
        if id:
            ids = split(id) or []
            found = [svc.get_comment(i, kind, body_format=body_format) for i in ids[:limit]]
        else:
            (select, target) = next(iter(given.items()), (None, None))
            found = svc.list_comments(
                select=select,
                id=target,
                kind=kind,
                resolution_status=split(resolution),
                body_format=body_format,
                limit=limit,
                status=split(status),
                sort=sort,
            )
        if as_json and found:
            emit_json([{**c.to_api(), "kind": c.kind} for c in found])
        else:
            emit("comments", settings, found, _COLUMNS, as_json, conf)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command()(comments)

"""Every command, registered explicitly and in the order ``ragconf --help`` lists them.

The shape of simonw/llm's ``register_commands``: command modules define plain functions and a
``register(app)``; nothing registers as a side effect of being imported.
"""

from __future__ import annotations

import typer

from ragconf.cli import (
    _confluence_listing,
    ask_cmd,
    comment_cmds,
    confluence_cmds,
    demo_cmd,
    mcp_cmd,
    search_cmds,
    serve_cmd,
    simulate_cmd,
    sync_cmd,
    tree_cmds,
)

__all__ = ["register_commands"]


def register_commands(app: typer.Typer) -> None:
    """Add every ragconf command to ``app``: connect, list, index, search, serve, try."""
    confluence_cmds.register(app)  # configure, verify
    _confluence_listing.register(app)  # spaces, pages, blogposts, labels, ...
    comment_cmds.register(app)  # comments
    tree_cmds.register(app)  # tree, folders
    sync_cmd.register(app)
    search_cmds.register(app)
    ask_cmd.register(app)
    serve_cmd.register(app)
    mcp_cmd.register(app)
    simulate_cmd.register(app)
    demo_cmd.register(app)

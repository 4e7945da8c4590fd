"""Import every command module so its commands register on the app."""

from ragconf.cli import (  # noqa: F401
    ask_cmd,
    confluence_cmds,
    demo_cmd,
    mcp_cmd,
    search_cmds,
    serve_cmd,
    simulate_cmd,
    sync_cmd,
)

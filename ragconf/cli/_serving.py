"""What ``serve``, ``search`` and ``demo`` share: listening sockets and finding the index.

* :func:`listen` binds ``host:port`` before anything slow happens and turns a busy, invalid
  or forbidden port into one clear line and exit 2 (uvicorn would exit 3, which means
  "sync finished with failed documents" here, or listen on a random port for 99999).
* :func:`with_demo_index` lets ``ragconf search``/``serve`` use the demo's index
  (``<data dir>/demo``) when it is the only one, instead of creating an empty store.

Imports nothing from ``ragconf.cli`` but ``_output``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import typer

from ragconf.cli._output import fail, get_settings

__all__ = ["has_index", "listen", "with_demo_index"]


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket on ``host:port``, or exit 2 saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except (OSError, OverflowError) as exc:
        sock.close()
        reason = getattr(exc, "strerror", None) or str(exc)
        fail(f"Error: cannot listen on {host}:{port}: {reason}. Pick another with --port.", 2)
    sock.set_inheritable(True)
    return sock


def has_index(data_dir: Path | str) -> bool:
    """Whether an embedded index exists under ``data_dir`` (without creating one)."""
    return (Path(data_dir) / "chroma").is_dir()


def with_demo_index(settings: Any) -> Any:
    """``settings`` pointed at the demo index when the data dir has none of its own.

    Only for the embedded store: a Chroma server is always used as configured.
    """
    if settings.chroma_url or has_index(settings.data_dir):
        return settings
    demo = Path(settings.data_dir) / "demo"
    if not has_index(demo):
        return settings
    typer.echo(
        f"Using the demo index in {demo} (there is no index of your own yet: "
        "`ragconf sync` builds one)",
        err=True,
    )
    return get_settings(data_dir=demo)

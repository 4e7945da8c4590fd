"""Setup and small helpers shared by the bench scripts.

Each script is run as ``python bench/NAME.py`` from the repository root, so this
directory is ``sys.path[0]`` and the scripts import this module as a top-level one:

    from _common import ROOT, free_port, machine_info, stderr_log

Importing it sets the offline/telemetry environment defaults (before anything imports
transformers or chromadb) and puts the repository root on ``sys.path`` (so ``ragconf``
and ``bench.*`` import even without the editable install).
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# the bundled model must load offline, and Chroma must not phone home
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def open_embedded(
    data_dir: Path,
    model_name: str,
    dimension: int,
    lexical_path: Path | None = None,
    layout: str = "vectors",
) -> tuple[Any, Any]:
    """(store, lexical index) of an embedded data dir, as ``ragconf sync`` opens them: a new
    collection keeps vectors only, its text and metadata in the lexical index (``layout``
    "full" builds the layout of a Chroma server, or of a data dir from before, to compare)."""
    from ragconf.index.lexical_sqlite import SqliteLexicalIndex, lexical_db_path
    from ragconf.index.store import open_store

    lexical = SqliteLexicalIndex(lexical_path or lexical_db_path(data_dir, None, model_name))
    store = open_store(data_dir, model_name=model_name, dimension=dimension, layout=layout)
    if store.vectors_only:
        store.attach_documents(lexical)
    return store, lexical


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (for a server subprocess)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine_info(**extra: Any) -> dict[str, Any]:
    """The ``machine`` entry of a bench's JSON output: CPUs, Python, platform, ``extra``."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        **extra,
    }


def stderr_log(tag: str, *, quiet: bool = False) -> Callable[[str], None]:
    """A progress logger writing ``[tag] msg`` lines to stderr (silent when ``quiet``)."""

    def log(msg: str) -> None:
        if not quiet:
            print(f"[{tag}] {msg}", file=sys.stderr, flush=True)

    return log

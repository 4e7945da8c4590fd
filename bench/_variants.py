"""Helpers of bench/load.py: server settings as variants, medians, a process's CPU time.

parse_variant("off:RAGCONF_QUERY_CACHE_SIZE=0")  # ("off", {"RAGCONF_QUERY_CACHE_SIZE": "0"})
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

__all__ = ["cpu_seconds", "median_of", "parse_variant"]


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` and its live descendants so far, all
    threads (Linux /proc; ``ragconf serve --workers N`` serves from child processes)."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0.0
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        total += sum(cpu_seconds(int(child)) for child in children)
    return total


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    """``NAME:VAR=VALUE,VAR=VALUE`` -> (NAME, {VAR: VALUE}); ``NAME:`` = the defaults."""
    name, sep, rest = spec.partition(":")
    if not sep or not name:
        raise SystemExit(f"--variant {spec!r}: use NAME:VAR=VALUE,VAR=VALUE (or NAME:)")
    env: dict[str, str] = {}
    for item in filter(None, (x.strip() for x in rest.split(","))):
        var, eq, value = item.partition("=")
        if not eq or not var.isidentifier():
            raise SystemExit(f"--variant {spec!r}: {item!r} is not VAR=VALUE")
        env[var] = value
    return name, env


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = (
        "requests_per_s",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
        "server_cpu_ms_per_request",
        "client_cpu_ms_per_request",
    )
    out: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["errors"] = sum(r["errors"] for r in runs)
    return out

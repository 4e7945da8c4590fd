"""`ragconf demo` end to end, as a user runs it: simulator -> sync (real model) -> example
searches -> the API, then Ctrl-C stops everything cleanly."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from ragconf.cli.demo_cmd import serving_line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ragconf() -> list[str]:
    script = Path(sys.executable).with_name("ragconf")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ragconf.cli import main; main()"]


def test_serving_line_is_the_documented_one() -> None:
    assert serving_line("127.0.0.1", 8000) == (
        "Serving ragconf on http://127.0.0.1:8000 — search page: http://127.0.0.1:8000/ "
        "(API docs: http://127.0.0.1:8000/docs, MCP: http://127.0.0.1:8000/mcp) — Ctrl-C to stop"
    )


def test_demo_refuses_a_taken_port_before_syncing() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [*_ragconf(), "demo", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 2
    assert f"Port {port}" in proc.stderr and "--port" in proc.stderr
    assert "Syncing" not in proc.stdout  # it failed fast, before the long part


@pytest.mark.slow
def test_demo_serves_search_with_links_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, sim_port = _free_port(), _free_port()
    env = {**os.environ, "RAGCONF_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    env.pop("RAGCONF_CONFLUENCE_URL", None)
    with subprocess.Popen(
        [*_ragconf(), "demo", "--port", str(port), "--simulator-port", str(sim_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    ) as proc:
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            _exercise(proc, lines, port, sim_port)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            reader.join(timeout=30)
    # both the API and the simulator are gone
    for p in (port, sim_port):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{p}/healthz", timeout=5)


def _exercise(
    proc: subprocess.Popen[str], lines: queue.Queue[str | None], port: int, sim_port: int
) -> None:
    """Wait for the serving line, query the API, then Ctrl-C."""
    seen: list[str] = []
    want = serving_line("127.0.0.1", port)
    deadline = time.monotonic() + 900
    while want not in "".join(seen):
        line = lines.get(timeout=max(1.0, deadline - time.monotonic()))
        assert line is not None, "demo exited early:\n" + "".join(seen)
        seen.append(line)
    out = "".join(seen)
    # the simulator started, the sync ran, three example searches printed with links
    assert f"http://127.0.0.1:{sim_port}" in out
    assert out.count("Search: ") == 3, out
    assert f"http://127.0.0.1:{sim_port}/wiki/" in out.split("Search: ", 1)[1]

    res = httpx.get(
        f"http://127.0.0.1:{port}/search", params={"q": "release to production"}, timeout=60
    )
    assert res.status_code == 200, res.text
    results = res.json()["results"]
    assert results, res.json()
    for r in results:
        assert r["url"].startswith(f"http://127.0.0.1:{sim_port}/wiki/"), r
        assert r["anchor_url"].startswith(r["url"]), r
    assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30).status_code == 200

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    rest = []
    while (line := lines.get(timeout=30)) is not None:
        rest.append(line)
    assert "Stopped." in "".join(rest)


def test_demo_site_uses_the_configured_site_instead_of_the_simulator(tmp_path: Path) -> None:
    """With --site (and RAGCONF_CONFLUENCE_URL set), the demo syncs that site into the data
    dir itself. Without --site it stays a demo: tests/test_cli_hardening.py."""
    from ragconf.simulator import DEMO_TOKEN, DEMO_USER, SimulatorServer, Site

    site = Site()
    site.add_space("ACME", "Acme wiki", homepage=False)
    site.add_page("ACME", "Ledger runbook", "<h1>Restart</h1><p>Restart the ledger service.</p>")
    site.add_page("ACME", "Holiday calendar", "<p>Public holidays in Lisbon.</p>")
    data = tmp_path / "data"
    with SimulatorServer(site) as real:
        env = {
            **os.environ,
            "RAGCONF_CONFLUENCE_URL": real.base_url,
            "RAGCONF_CONFLUENCE_USERNAME": DEMO_USER,
            "RAGCONF_CONFLUENCE_TOKEN": DEMO_TOKEN,
            "RAGCONF_DATA_DIR": str(data),
            "HF_HUB_OFFLINE": "1",
        }
        proc = subprocess.run(
            [*_ragconf(), "demo", "--site", "--no-serve", "-q", "how do I restart the ledger"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=600,
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "simulator" not in proc.stdout.lower()
    assert f"Using the Confluence site at {real.base_url}/wiki/api/v2/" in proc.stdout
    search = proc.stdout.split("Search: how do I restart the ledger", 1)[1]
    assert "1. Ledger runbook [ACME]" in search
    assert f"{real.base_url}/wiki/spaces/ACME/pages/" in search
    assert DEMO_TOKEN not in proc.stdout + proc.stderr
    # the real site's index lives in the data dir itself, not in the demo's corner of it
    assert (data / "chroma").exists() and not (data / "demo").exists()

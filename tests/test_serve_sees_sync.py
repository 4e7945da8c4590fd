"""A running ``ragconf serve`` answers from each new index version: both legs, no restart.

The README's cron recipe as a user runs it: ``ragconf serve`` (a real uvicorn process) on
the embedded store, the simulator's ``/_admin`` routes change the site (a page added, one
edited, one moved to another space, one purged), then ``ragconf sync`` runs in another
process. Within 10 s of the sync ending, dense, BM25 and hybrid results all show each
change. The hash embedder (``RAGCONF_EMBED_MODEL=hash:384``) makes a made-up word a strong
dense match for the one page that contains it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragconf.simulator import DEMO_TOKEN, DEMO_USER, SimulatorServer

RAGCONF = str(Path(sys.executable).parent / "ragconf")
MODES = ("dense", "bm25", "hybrid")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(sim: SimulatorServer, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
    env.update(
        RAGCONF_CONFLUENCE_URL=sim.base_url, RAGCONF_CONFLUENCE_USERNAME=DEMO_USER,
        RAGCONF_CONFLUENCE_TOKEN=DEMO_TOKEN, RAGCONF_DATA_DIR=str(data),
        RAGCONF_EMBED_MODEL="hash:384", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
    )  # fmt: skip
    return env


def _sync(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([RAGCONF, "sync", "--json", "--quiet"], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _admin(sim: SimulatorServer, action: str, **body: Any) -> dict[str, Any]:
    r = httpx.post(f"{sim.base_url}/_admin/{action}", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _start_server(env: dict[str, str], work: Path) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [RAGCONF, "serve", "--port", str(port)], env=env, cwd=work,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "ragconf serve did not become ready"
        time.sleep(0.2)


def _results(client: httpx.Client, q: str, mode: str) -> list[dict[str, Any]]:
    r = client.get("/search", params={"q": q, "k": 5, "mode": mode})
    assert r.status_code == 200, r.text
    return r.json()["results"]  # type: ignore[no-any-return]


def _top(client: httpx.Client, q: str, mode: str) -> dict[str, Any] | None:
    found = _results(client, q, mode)
    return found[0] if found else None


def _eventually(check: Any, what: str, within_s: float = 10.0) -> None:
    """Poll ``check()`` until it is true; fail naming ``what`` after ``within_s``."""
    deadline = time.monotonic() + within_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last is True:
            return
        time.sleep(0.25)
    pytest.fail(f"not seen within {within_s:.0f} s of the sync: {what} (last: {last!r})")


def test_a_running_server_answers_from_each_sync(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    env = _env(simulator, tmp_path / "data")
    edited = _admin(
        simulator,
        "add_page",
        space_key="ENG",
        title="Widget calibration",
        body="<p>Amberwhisk. The amberwhisk amberwhisk procedure.</p>",
    )["id"]
    doomed = _admin(
        simulator,
        "add_page",
        space_key="ENG",
        title="Old escalation list",
        body="<p>Velvetkraken velvetkraken velvetkraken.</p>",
    )["id"]
    moved = _admin(
        simulator,
        "add_page",
        space_key="ENG",
        title="Shared glossary",
        body="<p>Copperlantern copperlantern copperlantern.</p>",
    )["id"]
    _sync(env)
    proc, base = _start_server(env, tmp_path)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for mode in MODES:  # the starting point, as the server loaded it
                top = {
                    w: _top(client, w, mode) or {}
                    for w in ("velvetkraken", "amberwhisk", "copperlantern")
                }
                assert top["velvetkraken"].get("content_id") == doomed, (mode, top)
                assert top["amberwhisk"].get("content_id") == edited, (mode, top)
                assert top["copperlantern"].get("space_key") == "ENG", (mode, top)

            added = _admin(
                simulator,
                "add_page",
                space_key="ENG",
                title="Quuxnebula rollout",
                body="<p>Quuxnebula quuxnebula quuxnebula.</p>",
            )["id"]
            _admin(
                simulator,
                "edit",
                content_id=edited,
                body="<p>Glimmerfox. The glimmerfox glimmerfox procedure.</p>",
            )
            _admin(simulator, "move", content_id=moved, space_key="OPS")
            _admin(simulator, "purge", content_id=doomed)
            report = _sync(env)
            assert report["added"] >= 1 and report["deleted"] >= 1

            def shows_changes(mode: str) -> Any:
                got = {
                    "added": (_top(client, "quuxnebula", mode) or {}).get("content_id"),
                    "edited": (_top(client, "glimmerfox", mode) or {}).get("content_id"),
                    "moved": (_top(client, "copperlantern", mode) or {}).get("space_key"),
                    "deleted": [r["content_id"] for r in _results(client, "velvetkraken", mode)],
                    "old text": (_top(client, "amberwhisk", mode) or {}).get("snippet_plain", ""),
                }
                ok = (
                    got["added"] == added
                    and got["edited"] == edited
                    and got["moved"] == "OPS"
                    and doomed not in got["deleted"]
                    and "amberwhisk" not in str(got["old text"])
                )
                return True if ok else got

            for mode in MODES:
                _eventually(lambda mode=mode: shows_changes(mode), f"{mode} results")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()

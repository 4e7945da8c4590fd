"""The CLI where reviews found it wanting (issue 12): private files, failures that must not
exit 0, typos in ``--space``, port handling. Real subprocesses against a live simulator,
with the deterministic ``hash`` embedder so each run takes seconds.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from ragconf.simulator import SimulatorServer
from tests.test_sync_cli import RAGCONF, cli_env
from tests.test_sync_support import build_site


def ragconf(sim: SimulatorServer | None, data: Path, *args: str,
            timeout: float = 300, **extra: str) -> subprocess.CompletedProcess[str]:
    if sim is not None:
        env = cli_env(sim, data, RAGCONF_EMBED_MODEL="hash", **extra)
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
        env.update(RAGCONF_DATA_DIR=str(data), RAGCONF_EMBED_MODEL="hash", **extra)
    return subprocess.run([RAGCONF, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=data.parent)


# -- item 4: the index is private -------------------------------------------------------------


def _open_to_others(root: Path) -> list[str]:
    out = []
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            out.append(f"{oct(mode)} {path.relative_to(root)}")
    return out


def test_the_data_dir_and_every_file_in_it_are_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    site, _ = build_site()
    with SimulatorServer(site) as sim:
        done = ragconf(sim, data, "sync", "--quiet", "--json")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.name == "chroma.sqlite3" for p in files), files
    assert _open_to_others(data) == []


def test_an_old_world_readable_data_dir_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "old").mkdir(parents=True)
    (data / "old" / "docs.jsonl").write_text("restricted text\n")
    for path in (data, data / "old"):
        path.chmod(0o755)
    (data / "old" / "docs.jsonl").chmod(0o644)
    site, _ = build_site()
    with SimulatorServer(site) as sim:
        done = ragconf(sim, data, "sync", "--quiet", "--json")
    assert done.returncode == 0, done.stderr
    assert _open_to_others(data) == []


def _json(proc: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(proc.stdout)  # type: ignore[no-any-return]



# -- items 10 and 12: a documented code for persistent 5xx; verify's short budget ------------


def test_persistent_5xx_exits_with_its_documented_code(tmp_path: Path) -> None:
    from ragconf.simulator import Faults

    site, _ = build_site()
    with SimulatorServer(site, faults=Faults(error_rate=1.0, error_statuses=(500,))) as sim:
        done = ragconf(sim, tmp_path / "data", "verify")
    assert done.returncode == 10, (done.returncode, done.stderr)
    assert "500" in done.stderr and "Traceback" not in done.stderr


class SilentServer:
    """Accepts TCP connections and never answers (a firewall that black-holes, a hung proxy)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[object] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)  # held open, never read or answered

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()  # type: ignore[attr-defined]


def test_verify_gives_up_on_a_silent_host_after_a_short_budget(tmp_path: Path) -> None:
    from ragconf.runtime import QUICK_DEADLINE_S

    server = SilentServer()
    try:
        # the old budget (30 s x 9 attempts) runs into this guard; the new one ends well before
        done = ragconf(None, tmp_path / "data", "verify", timeout=QUICK_DEADLINE_S * 4,
                       RAGCONF_CONFLUENCE_URL=f"http://127.0.0.1:{server.port}",
                       RAGCONF_CONFLUENCE_USERNAME="me@acme.com",
                       RAGCONF_CONFLUENCE_TOKEN="tok-silent")
    finally:
        server.close()
    assert done.returncode == 8, (done.returncode, done.stderr)
    assert "Timeout" in done.stderr and "tok-silent" not in done.stderr
    assert 1 <= len(server.accepted) <= 2  # one retry at most


# -- item 9: a failed listing fails the run ---------------------------------------------------


def test_failed_listings_exit_3_and_show_in_json(tmp_path: Path) -> None:
    from ragconf.simulator import Faults

    site, _ = build_site()
    with SimulatorServer(site) as sim:
        first = ragconf(sim, tmp_path / "data", "sync", "--quiet", "--json")
        assert first.returncode == 0, first.stderr
        # every space's page listing fails: 503 with a Retry-After beyond the cap ends
        # each request at once (a plain 500 does the same after minutes of retries)
        sim.faults = Faults(error_rate=1.0, error_statuses=(503,), retry_after="3600",
                            paths=r"/spaces/\d+/pages$")
        done = ragconf(sim, tmp_path / "data", "sync", "--quiet", "--json")
        table = ragconf(sim, tmp_path / "data", "sync", "--quiet")
    assert done.returncode == 3, done.stderr
    summary = _json(done)
    assert summary["failed"] == []  # no document failed: the listings did
    failed = {(f["space_key"], f["listing"]) for f in summary["listings_failed"]}
    assert failed == {("ENG", "pages"), ("OPS", "pages")}
    assert all("ServerError" in f["error"] for f in summary["listings_failed"])
    assert table.returncode == 3
    assert "listing pages" in table.stderr and "listings failed" in table.stderr


# -- item 13: an unknown --space is an error ---------------------------------------------------


def test_an_unknown_space_exits_6_with_the_visible_keys(tmp_path: Path) -> None:
    site, _ = build_site()
    with SimulatorServer(site) as sim:
        done = ragconf(sim, tmp_path / "data", "sync", "--quiet", "--space", "NOPE")
        wrong_case = ragconf(sim, tmp_path / "data", "sync", "--quiet", "--space", "eng",
                             "--space", "OPS")
    assert done.returncode == 6, done.stderr
    assert "'NOPE'" in done.stderr and "ENG, OPS" in done.stderr
    assert wrong_case.returncode == 6, wrong_case.stderr
    assert "did you mean 'ENG'" in wrong_case.stderr and "case-sensitive" in wrong_case.stderr
    assert "nothing was synced" in done.stderr


# -- items 16 and 17: the demo stays a demo, and its index is found ---------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_ignores_a_configured_site_and_search_serve_find_its_index(tmp_path: Path) -> None:
    from ragconf.simulator import Site

    real_site = Site()
    real_site.add_space("ACME", "Acme wiki", homepage=False)
    real_site.add_page("ACME", "Ledger runbook", "<p>Restart the ledger service.</p>")
    data = tmp_path / "data"
    with SimulatorServer(real_site) as real:  # "configured" with `ragconf configure`
        demo = ragconf(real, data, "demo", "--no-serve", "--simulator-port", str(_free_port()),
                       "-q", "how do we release to production")
        assert real.request_count == 0  # the real site was not touched
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Started the Confluence simulator" in demo.stdout
    assert "Using the Confluence site" not in demo.stdout
    assert (data / "demo" / "chroma").is_dir() and not (data / "chroma").exists()

    found = ragconf(None, data, "search", "release to production", "--json")
    assert found.returncode == 0, found.stderr
    assert "demo index" in found.stderr
    assert _json(found)["results"], found.stdout
    assert not (data / "chroma").exists()  # no empty store was created beside it

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
    env.update(RAGCONF_DATA_DIR=str(data), RAGCONF_EMBED_MODEL="hash")
    with subprocess.Popen([RAGCONF, "serve", "--port", str(port), "--log-level", "warning"],
                          env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as server:
        try:
            body = _wait_for_search(port, "release to production", server)
        finally:
            server.terminate()
            server.wait(timeout=60)
    assert body["results"]
    assert not (data / "chroma").exists()


def _wait_for_search(port: int, q: str, server: subprocess.Popen[str]) -> dict:
    import time

    import httpx

    for _ in range(600):
        assert server.poll() is None, server.communicate()
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/search", params={"q": q}, timeout=30)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]
    raise AssertionError("the API did not come up")


def test_search_without_any_index_says_so_and_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    done = ragconf(None, data, "search", "anything")
    assert done.returncode == 2, done.stderr
    assert "no index" in done.stderr and "ragconf sync" in done.stderr
    assert list(data.iterdir()) == []


# -- item 18: serve validates its port ---------------------------------------------------------


def test_serve_reports_busy_and_invalid_ports_with_exit_2(tmp_path: Path) -> None:
    import socket

    data = tmp_path / "data"
    data.mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = ragconf(None, data, "serve", "--port", str(port))
    assert taken.returncode == 2, taken.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr
    assert "Traceback" not in taken.stderr
    for bad in ("99999", "-1", "0"):
        done = ragconf(None, data, "serve", "--port", bad)
        assert done.returncode == 2, (bad, done.stderr)
        assert "--port" in done.stderr and "Traceback" not in done.stderr

"""``ragconf serve --workers 2``: two processes behind one port, each answering from the
same index, and each seeing a sync that ran in a third process.

Searches mostly hold Python's GIL, so one process serves about one core's worth
(bench/load.py); more workers are how the API uses more cores. Every worker must still
follow the index: a page a sync adds shows up from whichever worker answers. And ``/mcp``
must not keep sessions in one worker's memory: an MCP client's requests land on either.
"""

from __future__ import annotations

import random
import string
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from ragconf.simulator import SimulatorServer
from tests.test_serve_sees_sync import RAGCONF, _admin, _env, _eventually, _free_port, _sync


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _search(base: str, q: str, mode: str) -> list[str]:
    # a fresh connection per request, so the kernel spreads them over the workers
    r = httpx.get(base + "/search", params={"q": q, "k": 3, "mode": mode}, timeout=30)
    assert r.status_code == 200, r.text
    return [hit["content_id"] for hit in r.json()["results"]]


def _mcp_calls(url: str, n: int) -> list[int]:
    """One MCP client (initialize, then ``n`` concurrent ``tools/list``), each request on a
    new connection. A session kept in one worker's memory would be unknown to the other:
    404 "Session not found" for about half of them."""
    head = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    init = httpx.post(url, headers=head, timeout=30, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "1"}},
    })  # fmt: skip
    assert init.status_code == 200, init.text
    head["mcp-protocol-version"] = "2025-06-18"
    if "mcp-session-id" in init.headers:
        head["mcp-session-id"] = init.headers["mcp-session-id"]

    def tools_list(i: int) -> int:
        body = {"jsonrpc": "2.0", "id": i + 2, "method": "tools/list"}
        return httpx.post(url, headers=head, json=body, timeout=30).status_code

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(tools_list, range(n)))


def test_two_workers_share_the_port_and_both_follow_the_index(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    env = _env(simulator, tmp_path / "data")
    _sync(env)
    port = _free_port()
    proc = subprocess.Popen(
        [RAGCONF, "serve", "--port", str(port), "--workers", "2", "--log-level", "warning"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        ready = 0
        while ready < 20:  # both workers up: 20 readiness answers in a row
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "ragconf serve --workers 2 did not start"
            try:
                ok = httpx.get(base + "/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                ok = False
            ready = ready + 1 if ok else 0
            time.sleep(0.05 if ok else 0.3)
        workers = [c for c in _children(proc.pid)
                   if "ragconf" in Path(f"/proc/{c}/cmdline").read_text()
                   or "multiprocessing" in Path(f"/proc/{c}/cmdline").read_text()]  # fmt: skip
        assert len(workers) >= 2, workers

        word = "zephyrquill" + "".join(random.choices(string.ascii_lowercase, k=8))
        added = _admin(simulator, "add_page", space_key="ENG", title=f"{word} guide",
                       body=f"<p>{word} {word} {word}.</p>")["id"]  # fmt: skip
        _sync(env)

        def every_answer_has_it() -> object:
            # both legs: the lexical index and the vector store are followed separately
            modes = ["bm25", "dense"] * 12
            with ThreadPoolExecutor(8) as pool:
                found = list(pool.map(lambda m: _search(base, word, m), modes))
            return True if all(str(added) in f for f in found) else found

        _eventually(every_answer_has_it, "the added page, from every worker")
        assert _mcp_calls(base + "/mcp", 40) == [200] * 40
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) is not None
        if proc.stdout is not None:
            proc.stdout.close()

"""Sync cost as the site grows: full, no-change and 10-edited re-syncs on ``synthetic:N``.

    .venv/bin/python bench/scale.py                  # N = 5,000 and 50,000 (minutes)
    .venv/bin/python bench/scale.py --sizes 5000     # one size

Per size: ``ragconf simulate --corpus synthetic:N`` in a subprocess, then three
``ragconf sync --json`` runs into a fresh embedded data dir with the hash embedder
(``RAGCONF_EMBED_MODEL=hash:384``: 384-d vectors like the default model, no model cost):

1. ``full``: the first sync;
2. ``nochange``: nothing changed;
3. ``edited``: 10 pages edited through the simulator's ``/_admin/edit``.

Each run reports its wall time (process start to exit, interpreter start-up included), the
requests it sent (from the sync's own report), its stage seconds and its peak RSS (the
child's ``ru_maxrss``). After the runs: bytes on disk per chunk, everything in the data
dir included (Chroma's SQLite and HNSW files, the lexical index, sync state).

Prints ONE JSON object, with the acceptance checks of issue 14 at 50,000 pages:
edited <= 1.2 x nochange, nochange <= 15 s, <= 4 KB per chunk, requests <= ceil(items/250)
+ O(changes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import free_port, machine_info, stderr_log

RAGCONF = str(Path(sys.executable).parent / "ragconf")
USER, TOKEN = "demo@ragconf.dev", "demo-token"


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"simulator exited with {proc.returncode}")
        try:
            if httpx.get(url + "/_admin/state", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("simulator did not start in time")
        time.sleep(0.3)


def _du(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _sync(env: dict[str, str]) -> dict[str, Any]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [RAGCONF, "sync", "--json", "--quiet"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"sync exited {proc.returncode}: {err.decode()[-2000:]}")
    report = json.loads(out)
    return {
        "wall_s": round(wall, 2),
        "sync_s": report.get("duration_s"),
        "requests": report.get("requests"),
        "documents_seen": report.get("documents_seen"),
        "chunks_embedded": report.get("chunks_embedded"),
        "stage_seconds": {k: round(v, 2) for k, v in (report.get("stage_seconds") or {}).items()},
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def run_size(n: int, work: Path, log: Any) -> dict[str, Any]:
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sim = subprocess.Popen(
        [RAGCONF, "simulate", "--corpus", f"synthetic:{n}", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_ready(url, sim, 600)
        data = work / f"data-{n}"
        env = {
            **os.environ,
            "RAGCONF_CONFLUENCE_URL": url,
            "RAGCONF_CONFLUENCE_USERNAME": USER,
            "RAGCONF_CONFLUENCE_TOKEN": TOKEN,
            "RAGCONF_EMBED_MODEL": "hash:384",
            "RAGCONF_DATA_DIR": str(data),
        }
        out: dict[str, Any] = {"pages": n}
        log(f"{n}: full sync")
        out["full"] = _sync(env)
        log(f"{n}: no-change re-sync")
        out["nochange"] = _sync(env)
        state = httpx.get(url + "/_admin/state", timeout=30).json()
        space_ids = list(state["spaces"].values())
        pages = httpx.get(
            url + "/wiki/api/v2/pages", params={"limit": 250, "space-id": space_ids[0]},
            auth=(USER, TOKEN), timeout=60,
        ).json()["results"]  # fmt: skip
        for page in pages[:: max(1, len(pages) // 10)][:10]:
            r = httpx.post(
                url + "/_admin/edit",
                timeout=30,
                json={
                    "content_id": page["id"],
                    "body": f"<p>Edited at {time.time()}: rollback.</p>",
                },
            )
            r.raise_for_status()
        log(f"{n}: 10-edited re-sync")
        out["edited"] = _sync(env)
        chunks = int(out["full"]["chunks_embedded"] or n)
        size = _du(data)
        out["disk"] = {
            "bytes": size,
            "chunks": chunks,
            "bytes_per_chunk": round(size / max(chunks, 1)),
            "by_part": {p.name: _du(p) if p.is_dir() else p.stat().st_size for p in data.iterdir()},
        }
        items = int(out["nochange"]["documents_seen"] or n)
        bound = math.ceil(items / 250)
        out["checks"] = {
            "edited_over_nochange": round(out["edited"]["wall_s"] / out["nochange"]["wall_s"], 2),
            "nochange_requests": out["nochange"]["requests"],
            "listing_bound_requests": bound,
            "edited_extra_requests": (out["edited"]["requests"] or 0)
            - (out["nochange"]["requests"] or 0),
        }
        shutil.rmtree(data, ignore_errors=True)
        return out
    finally:
        sim.terminate()
        sim.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="5000,50000")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    log = stderr_log("scale", quiet=args.quiet)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    result: dict[str, Any] = {"machine": machine_info(embedder="hash:384"), "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="ragconf-scale-") as tmp:
        for n in sizes:
            result["sizes"][str(n)] = run_size(n, Path(tmp), log)
    big = result["sizes"].get("50000")
    if big:
        result["acceptance_50k"] = {
            "edited_le_1.2x_nochange": big["checks"]["edited_over_nochange"] <= 1.2,
            "nochange_le_15s": big["nochange"]["wall_s"] <= 15,
            "le_4KB_per_chunk": big["disk"]["bytes_per_chunk"] <= 4096,
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

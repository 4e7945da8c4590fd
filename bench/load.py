"""Load test: N concurrent clients against ``GET /search`` of a real server for T seconds.

    .venv/bin/python bench/load.py                       # demo index, 32 clients, 30 s
    .venv/bin/python bench/load.py --clients 64 --duration 60
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --api-key KEY

Without ``--url`` the bench builds what it measures: the simulator's demo site, synced with
the real model (the bundled all-MiniLM-L6-v2, or ``--model``) into a temporary data
directory, served by ``ragconf serve`` in a subprocess (uvicorn, the production path: ONNX
query encoder, one process). The clients run in this process on one asyncio loop (httpx,
one keep-alive connection each), so the client side costs little CPU next to the server.
Each client sends the next of a fixed list of natural-language questions, with a few
filters mixed in, as fast as answers come back. A warm-up (``--warmup`` s) precedes the
measured window.

Prints ONE JSON object: requests, requests_per_s, latency p50/p90/p99/max (ms, client
side), errors (non-200 answers and transport failures, by kind), the index size and the
machine. Exit status 1 when any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _common import free_port, machine_info, stderr_log

QUERIES = [
    "how do I roll back a failed deployment",
    "what is the on-call escalation policy",
    "how are refunds processed in the ledger",
    "rotate the API key for the payment gateway",
    "which database does the ledger use and why",
    "how many vacation days do employees get",
    "onboarding checklist for new engineers",
    "kafka consumer lag alert runbook",
    "incident postmortem template",
    "how to request access to production",
    "idempotency keys for payment requests",
    "feature flags rollout process",
    "parental leave policy",
    "expense reimbursement limits",
    "grpc between internal services",
    "disaster recovery plan for the database",
]
FILTERS: list[dict[str, str]] = [{}, {}, {}, {"space": "ENG"}, {"type": "page"}, {"space": "OPS"}]


def percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    i = min(len(sorted_ms) - 1, max(0, round(q / 100 * (len(sorted_ms) - 1))))
    return round(sorted_ms[i], 2)


async def client_loop(
    n: int, client: Any, stop_at: float, measure_from: float, out: dict[str, Any], k: int
) -> None:
    import httpx

    i = n  # clients start at different questions
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            return
        params = {"q": QUERIES[i % len(QUERIES)], "k": str(k), **FILTERS[i % len(FILTERS)]}
        i += 1
        t0 = time.perf_counter()
        try:
            r = await client.get("/search", params=params)
            ok = r.status_code == 200 and "results" in r.json()
            kind = "ok" if ok else f"http_{r.status_code}"
        except httpx.HTTPError as exc:
            kind = type(exc).__name__
        elapsed = (time.perf_counter() - t0) * 1000
        if t0 < measure_from:
            continue  # warm-up
        out["status"][kind] += 1
        if kind == "ok":
            out["latencies"].append(elapsed)


async def run_load(
    url: str, clients: int, duration: float, warmup: float, k: int, api_key: str | None
) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    out: dict[str, Any] = {"status": Counter(), "latencies": []}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=60.0
    ) as client:
        start = time.perf_counter()
        measure_from = start + warmup
        stop_at = measure_from + duration
        await asyncio.gather(
            *(client_loop(n, client, stop_at, measure_from, out, k) for n in range(clients))
        )
        # requests still running at stop_at finish late; the window is what was measured
        measured = max(time.perf_counter() - measure_from, 1e-9)
    lat = sorted(out["latencies"])
    status: Counter[str] = out["status"]
    errors = {kind: n for kind, n in status.items() if kind != "ok"}
    total = sum(status.values())
    return {
        "requests": total,
        "requests_per_s": round(total / measured, 2),
        "p50_ms": percentile(lat, 50),
        "p90_ms": percentile(lat, 90),
        "p99_ms": percentile(lat, 99),
        "max_ms": round(lat[-1], 2) if lat else 0.0,
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        "measured_s": round(measured, 2),
    }


_log = stderr_log("load")


def build_demo(data_dir: Path, model: str | None) -> dict[str, Any]:
    """Sync the simulator's demo site into ``data_dir`` with the real model."""
    from pydantic import SecretStr

    from ragconf import runtime
    from ragconf.settings import Settings
    from ragconf.simulator import DEMO_TOKEN, DEMO_USER, SimulatorServer, demo_site
    from ragconf.sync.engine import Syncer

    with SimulatorServer(demo_site()) as sim:
        settings = Settings(
            confluence_url=sim.base_url,
            confluence_username=DEMO_USER,
            confluence_token=SecretStr(DEMO_TOKEN),
            data_dir=data_dir,
            embed_model=model,
        )
        embedder, store, lexical = runtime.open_index(settings)
        t0 = time.perf_counter()
        with runtime.make_confluence(settings) as conf:
            report = Syncer(conf, store, embedder, lexical, state_dir=data_dir).run()
        info = {
            "chunks": store.count(),
            "documents": report.documents_seen,
            "sync_s": round(time.perf_counter() - t0, 1),
            "model": embedder.model_name,
        }
        store.close()
    if report.failed:
        raise SystemExit(f"the demo sync failed for {len(report.failed)} documents")
    return info


def serve(data_dir: Path, model: str | None, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
    env["RAGCONF_DATA_DIR"] = str(data_dir)
    if model:
        env["RAGCONF_EMBED_MODEL"] = model
    ragconf = str(Path(sys.executable).parent / "ragconf")
    return subprocess.Popen(
        [ragconf, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise SystemExit(f"ragconf serve exited ({proc.returncode}): {err[-2000:]}")
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not become ready in {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running ragconf server (default: build and serve the demo)")
    p.add_argument("--api-key", default=os.environ.get("RAGCONF_BENCH_API_KEY"))
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--model", default=None, help="embedding model (default: the bundled one)")
    p.add_argument("--data-dir", type=Path, default=None, help="keep the demo index here")
    args = p.parse_args(argv)

    proc = None
    index: dict[str, Any] = {}
    tmp = None
    try:
        url = args.url
        if url is None:
            if args.data_dir is None:
                tmp = tempfile.TemporaryDirectory(prefix="ragconf-load-")
                args.data_dir = Path(tmp.name)
            _log(f"syncing the demo site into {args.data_dir} …")
            index = build_demo(args.data_dir, args.model)
            _log(f"{index['chunks']} chunks in {index['sync_s']} s; starting ragconf serve …")
            port = free_port()
            proc = serve(args.data_dir, args.model, port)
            url = f"http://127.0.0.1:{port}"
        url = url.rstrip("/")
        wait_ready(url, proc)
        _log(f"{args.clients} clients for {args.duration:.0f} s against {url}/search …")
        result = asyncio.run(
            run_load(url, args.clients, args.duration, args.warmup, args.k, args.api_key)
        )
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if tmp is not None:
            tmp.cleanup()
    out = {
        "bench": "load",
        "endpoint": "GET /search",
        "url": url if args.url else "ragconf serve (subprocess, demo index)",
        "clients": args.clients,
        "duration_s": args.duration,
        **result,
        "k": args.k,
        "corpus": "demo" if args.url is None else None,
        **({"index_" + key: value for key, value in index.items()}),
        "machine": machine_info(),
    }
    print(json.dumps(out))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""Load test: N concurrent clients against ``GET /search`` of a real server for T seconds.

    .venv/bin/python bench/load.py                       # demo index, 32 clients, 30 s
    .venv/bin/python bench/load.py --clients 64 --duration 60
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --api-key KEY

Without ``--url`` the bench builds what it measures: the simulator's demo site, synced with
the real model (the bundled all-MiniLM-L6-v2, or ``--model``) into a temporary data
directory, served by ``ragconf serve`` in a subprocess (uvicorn, the production path: ONNX
query encoder, one process). The clients run in this process on one asyncio loop, one
keep-alive connection each, through a minimal HTTP/1.1 client (``bench/_rawhttp.py``;
``--client httpx`` for httpx, which costs ~4-5 ms CPU per request on the same cores).
``server_cpu_ms_per_request`` / ``client_cpu_ms_per_request`` are the CPU time each side
spent per request during the measured window (steadier than requests/s on a busy machine).
Each client sends the next of a fixed list of natural-language questions, with a few
filters mixed in, as fast as answers come back. A warm-up (``--warmup`` s) precedes the
measured window.

Prints ONE JSON object: requests, requests_per_s, latency p50/p90/p99/max (ms, client
side), errors (non-200 answers and transport failures, by kind), the index size and the
machine. Exit status 1 when any request failed.

Comparing server settings on a busy machine: ``--variant NAME:VAR=VALUE,VAR=VALUE``
(repeatable) serves the same demo index once per variant, ``--rounds`` times in turn
(A B A B …), so every variant sees the same background load; the JSON then holds
``variants``: NAME -> the runs and their medians. ``--unique-queries`` appends a
request number to every question, so no two requests ask the same thing (the query-vector
cache cannot help; every request is encoded).

    .venv/bin/python bench/load.py --rounds 3 --duration 15 \
        --variant off:RAGCONF_QUERY_BATCHING=false,RAGCONF_QUERY_CACHE_SIZE=0 --variant on:
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _common import free_port, machine_info, stderr_log
from _rawhttp import RawConnection, split_url
from _variants import cpu_seconds, median_of, parse_variant

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
    n: int,
    get: Callable[[dict[str, str]], Awaitable[tuple[int, bytes]]],
    stop_at: float,
    measure_from: float,
    out: dict[str, Any],
    k: int,
    unique: bool = False,
) -> None:
    i = n  # clients start at different questions
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            return
        q = QUERIES[i % len(QUERIES)]
        if unique:
            out["sent"] += 1
            q = f"{q} {out['sent']}"
        params = {"q": q, "k": str(k), **FILTERS[i % len(FILTERS)]}
        i += 1
        t0 = time.perf_counter()
        try:
            status, body = await get(params)
            # a whole JSON answer with results (cheaper than parsing ~10 KB of JSON)
            ok = status == 200 and body.startswith(b"{") and b'"results":' in body
            kind = "ok" if ok else f"http_{status}"
        except Exception as exc:  # transport failures are counted by kind, not raised
            kind = type(exc).__name__
        elapsed = (time.perf_counter() - t0) * 1000
        if t0 < measure_from:
            continue  # warm-up
        out["status"][kind] += 1
        if kind == "ok":
            out["latencies"].append(elapsed)


def httpx_getter(client: Any) -> Callable[[dict[str, str]], Awaitable[tuple[int, bytes]]]:
    async def get(params: dict[str, str]) -> tuple[int, bytes]:
        r = await client.get("/search", params=params)
        return r.status_code, r.content

    return get


def raw_getter(
    url: str, headers: dict[str, str]
) -> tuple[Callable[[dict[str, str]], Awaitable[tuple[int, bytes]]], RawConnection]:
    conn = RawConnection(*split_url(url), headers=headers)

    async def get(params: dict[str, str]) -> tuple[int, bytes]:
        return await conn.get("/search?" + urlencode(params))

    return get, conn


async def run_load(
    url: str,
    clients: int,
    duration: float,
    warmup: float,
    k: int,
    api_key: str | None,
    unique: bool = False,
    server_pid: int | None = None,
    client_kind: str = "raw",
) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    out: dict[str, Any] = {"status": Counter(), "latencies": [], "sent": 0}
    conns: list[RawConnection] = []
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=60.0
    ) as client:
        getters = []
        for _ in range(clients):
            if client_kind == "httpx":
                getters.append(httpx_getter(client))
            else:
                get, conn = raw_getter(url, headers)
                getters.append(get)
                conns.append(conn)
        start = time.perf_counter()
        measure_from = start + warmup
        stop_at = measure_from + duration
        cpu: dict[str, float] = {}

        async def snapshot_cpu() -> None:
            await asyncio.sleep(max(measure_from - time.perf_counter(), 0))
            cpu["server"] = cpu_seconds(server_pid)
            cpu["client"] = time.process_time()

        await asyncio.gather(
            snapshot_cpu(),
            *(
                client_loop(n, getters[n], stop_at, measure_from, out, k, unique)
                for n in range(clients)
            ),
        )
        # requests still running at stop_at finish late; the window is what was measured
        measured = max(time.perf_counter() - measure_from, 1e-9)
        server_cpu = cpu_seconds(server_pid) - cpu["server"]
        client_cpu = time.process_time() - cpu["client"]
        for conn in conns:
            await conn.close()
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
        # CPU per request is steadier than requests/s on a shared machine: it does not
        # depend on how much of the CPUs other processes took meanwhile
        "server_cpu_ms_per_request": (
            round(server_cpu * 1000 / total, 3) if server_pid and total else None
        ),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / total, 3) if total else None,
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


def serve(
    data_dir: Path,
    model: str | None,
    port: int,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
    env.update(extra_env or {})
    env["RAGCONF_DATA_DIR"] = str(data_dir)
    if model:
        env["RAGCONF_EMBED_MODEL"] = model
    ragconf = str(Path(sys.executable).parent / "ragconf")
    cmd = [ragconf, "serve", "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(
        [*cmd, "--workers", str(workers)],
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


def serve_and_load(
    args: argparse.Namespace, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One server on the demo index (or ``--url``), loaded for ``--duration`` seconds."""
    proc = None
    url = args.url
    try:
        if url is None:
            port = free_port()
            proc = serve(args.data_dir, args.model, port, extra_env, args.workers)
            url = f"http://127.0.0.1:{port}"
        url = url.rstrip("/")
        wait_ready(url, proc)
        _log(f"{args.clients} clients for {args.duration:.0f} s against {url}/search …")
        return asyncio.run(
            run_load(
                url,
                args.clients,
                args.duration,
                args.warmup,
                args.k,
                args.api_key,
                args.unique_queries,
                proc.pid if proc is not None else None,
                args.client,
            )
        )
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


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
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:VAR=VALUE,…",
        help="server settings to compare (repeatable; needs the demo server, not --url)",
    )
    p.add_argument("--rounds", type=int, default=1, help="runs per variant, taken in turn")
    p.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load client: raw asyncio HTTP/1.1 (cheap, default) or httpx",
    )
    p.add_argument(
        "--unique-queries", action="store_true", help="no two requests ask the same question"
    )
    p.add_argument("--workers", type=int, default=1, help="ragconf serve --workers N")
    args = p.parse_args(argv)
    variants = [parse_variant(v) for v in args.variant]
    if variants and args.url:
        raise SystemExit("--variant starts its own servers: leave out --url")

    index: dict[str, Any] = {}
    tmp = None
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in variants}
    try:
        if args.url is None:
            if args.data_dir is None:
                tmp = tempfile.TemporaryDirectory(prefix="ragconf-load-")
                args.data_dir = Path(tmp.name)
            _log(f"syncing the demo site into {args.data_dir} …")
            index = build_demo(args.data_dir, args.model)
            _log(f"{index['chunks']} chunks in {index['sync_s']} s; starting ragconf serve …")
        if variants:
            for r in range(args.rounds):
                for name, env in variants:
                    _log(f"round {r + 1}/{args.rounds}, variant {name} {env}")
                    runs[name].append(serve_and_load(args, env))
            result: dict[str, Any] = {
                "variants": {
                    name: {"median": median_of(runs[name]), "runs": runs[name], "env": env}
                    for name, env in variants
                },
                "errors": sum(r["errors"] for rs in runs.values() for r in rs),
            }
        else:
            result = serve_and_load(args)
    finally:
        if tmp is not None:
            tmp.cleanup()
    out = {
        "bench": "load",
        "endpoint": "GET /search",
        "url": args.url or "ragconf serve (subprocess, demo index)",
        "clients": args.clients,
        "duration_s": args.duration,
        "unique_queries": args.unique_queries,
        "client": args.client,
        **result,
        "k": args.k,
        "corpus": "demo" if args.url is None else None,
        **({"index_" + key: value for key, value in index.items()}),
        "machine": machine_info(load_average=[round(x, 2) for x in os.getloadavg()]),
    }
    print(json.dumps(out))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

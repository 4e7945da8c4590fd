"""Connector throughput: enumerate N pages WITH storage bodies from the simulator.

Prints ONE JSON object: pages/s, HTTP requests per 1,000 pages, bytes, the machine and the
corpus. Targets (issue 2): <= 5 requests per 1,000 pages and >= 500 pages/s for 20,000
pages at 20 ms injected latency.

    .venv/bin/python bench/fetch.py                       # 20,000 pages, 20 ms, defaults
    .venv/bin/python bench/fetch.py --pages 5000 --latency 0.05 --mode all-pages

The simulator runs in a subprocess by default, so the server's JSON encoding and the
client's parsing don't share one GIL (they would with ``--server thread``). A second,
raw pass (plain httpx + json, no models) over the same listing separates client cost from
server cost: if the raw pass is not much faster, the simulator is the bottleneck.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

import httpx
from _common import ROOT, machine_info

from ragconf.confluence import Confluence, Page

_SERVE = """
import sys, time
from ragconf.simulator import Faults, SimulatorServer, synthetic_site
t0 = time.perf_counter()
site = synthetic_site({pages}, spaces={spaces})
built = time.perf_counter() - t0
with SimulatorServer(site, faults=Faults(latency_s={latency})) as sim:
    print(sim.base_url, built, flush=True)
    sys.stdin.read()   # serve until the parent closes our stdin
"""


@contextmanager
def simulator(pages: int, spaces: int, latency: float, mode: str) -> Any:
    """Yield (base_url, site_build_seconds, user, token)."""
    from ragconf.simulator import DEMO_TOKEN, DEMO_USER

    if mode == "thread":
        from ragconf.simulator import Faults, SimulatorServer, synthetic_site

        t0 = time.perf_counter()
        site = synthetic_site(pages, spaces=spaces)
        built = time.perf_counter() - t0
        with SimulatorServer(site, faults=Faults(latency_s=latency)) as sim:
            yield sim.base_url, built, DEMO_USER, DEMO_TOKEN
        return
    code = _SERVE.format(pages=pages, spaces=spaces, latency=latency)
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line:
            raise SystemExit("the simulator subprocess did not start")
        yield line[0], float(line[1]), DEMO_USER, DEMO_TOKEN
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def enumerate_pages(conf: Confluence, mode: str) -> tuple[list[str], int]:
    """All page ids (with bodies fetched), and how many had a storage body."""
    ids: list[str] = []
    with_body = 0
    batches: list[Iterable[Page]]
    if mode == "all-pages":
        batches = [conf.get_pages(body_format="storage")]
    else:  # one listing per space, spaces fetched concurrently
        spaces = list(conf.get_spaces())
        batches = list(
            conf.map_concurrent(
                lambda s: list(conf.get_pages_by_space(s.id, body_format="storage")), spaces
            )
        )
    for batch in batches:
        for page in batch:
            ids.append(page.id)
            with_body += page.body.storage_value is not None
    return ids, with_body


def raw_pass(base_url: str, user: str, token: str) -> dict[str, Any]:
    """The same /pages listing with plain httpx + json: the server's share of the time."""
    t0 = time.perf_counter()
    n = requests = 0
    with httpx.Client(auth=(user, token), timeout=60) as client:
        url: str | None = base_url + "/wiki/api/v2/pages?limit=250&body-format=storage"
        while url:
            data = client.get(url).json()
            requests += 1
            n += len(data["results"])
            nxt = data.get("_links", {}).get("next")
            url = base_url + nxt if nxt else None
    seconds = time.perf_counter() - t0
    return {
        "pages": n,
        "seconds": round(seconds, 3),
        "pages_per_s": round(n / seconds, 1),
        "http_requests": requests,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=20_000)
    ap.add_argument("--spaces", type=int, default=4)
    ap.add_argument("--latency", type=float, default=0.02, help="injected seconds per request")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--mode", choices=["per-space", "all-pages"], default="per-space")
    ap.add_argument("--server", choices=["subprocess", "thread"], default="subprocess")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw httpx comparison pass")
    args = ap.parse_args(argv)

    with simulator(args.pages, args.spaces, args.latency, args.server) as (base, built, user, tok):
        conf = Confluence(base, username=user, token=tok, max_concurrency=args.concurrency)
        with conf:
            t0 = time.perf_counter()
            ids, with_body = enumerate_pages(conf, args.mode)
            seconds = time.perf_counter() - t0
            stats = conf.stats
        raw = None if args.no_raw else raw_pass(base, user, tok)

    n = len(ids)
    requests = int(stats["requests"])
    out = {
        "benchmark": "fetch",
        "pages": n,
        "complete": n == args.pages and len(set(ids)) == n,
        "pages_with_body": with_body,
        "seconds": round(seconds, 3),
        "pages_per_s": round(n / seconds, 1) if seconds else None,
        "http_requests": requests,
        "requests_per_1000_pages": round(1000 * requests / n, 2) if n else None,
        "bytes": int(stats["bytes"]),
        "retries": int(stats["retries"]),
        "mode": args.mode,
        "concurrency": args.concurrency,
        "server": args.server,
        "injected_latency_s": args.latency,
        "raw_single_stream": raw,
        "targets": {"pages_per_s": ">= 500", "requests_per_1000_pages": "<= 5"},
        "corpus": {
            "kind": "synthetic_site",
            "pages": args.pages,
            "spaces": args.spaces,
            "body": "storage, about 1 kB per page",
            "site_build_s": round(built, 2),
        },
        "machine": machine_info(httpx=httpx.__version__),
    }
    print(json.dumps(out))
    return 0 if out["complete"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Query latency on >= 100,000 chunks: HTTP /search and in-process, unfiltered and filtered.

    .venv/bin/python bench/quality.py ../shared/data/scifact --data-dir /tmp/scifact --sync-only
    .venv/bin/python bench/query.py --source-data-dir /tmp/scifact --data-dir /tmp/q100k

The index: every chunk of a synced corpus (default: SciFact through the real pipeline, real
model vectors) copied until there are ``--chunks`` of them. Each copy's vector is the original
plus Gaussian noise (cosine ~0.9 to it, renormalised), its text drops ~10 % of the words (so
BM25 scores differ), and the copies are spread over 5 spaces so ``space=S1`` matches 20 %.
Vectors go straight into the store (no embedding); the BM25 index is built over the texts.
Both are kept in ``--data-dir`` for the next run.

Measured, over the test queries of the dataset:
* ``http``: ``GET /search?k=10`` (and ``&space=S1``) against ``ragconf serve`` in a
  subprocess (the production path: uvicorn, ONNX query encoder), client wall time plus the
  server's stage split (encode / dense / lexical / fuse / total);
* ``inprocess``: ``Retriever.search`` in this process, same split;
* ``baseline``: bare ``embed_query`` + one unfiltered Chroma query (k=10), to which the
  in-process path is compared (``overhead``: in-process p50 / baseline p50 - 1);
* ``recall``: dense recall@10 of the store's query against exact numpy search, unfiltered
  and with the space filter.
Prints ONE JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import ROOT, free_port, machine_info, open_embedded, stderr_log

SPACES = ("S1", "S2", "S3", "S4", "S5")
STAGES = ("encode_ms", "dense_ms", "lexical_ms", "fuse_ms", "total_ms")


def pct(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    a = np.asarray(values, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(a, 50)), 2),
        "p95": round(float(np.percentile(a, 95)), 2),
        "p99": round(float(np.percentile(a, 99)), 2),
        "mean": round(float(a.mean()), 2),
    }


def build_index(
    args: argparse.Namespace, emb: Any, log: Any
) -> tuple[Any, Any, np.ndarray, list[str]]:
    """The big store + BM25 index (reused when already built); returns (store, bm25, V, ids)."""
    from ragconf.index.store import open_store
    from ragconf.index.types import Chunk, text_hash

    store, bm25 = open_embedded(args.data_dir, emb.model_name, emb.dimension, layout=args.layout)
    cache = args.data_dir / "vectors.npy"
    if store.count() >= args.chunks and len(bm25) == store.count() and cache.exists():
        log(f"reusing {store.count()} chunks in {args.data_dir}")
        saved: list[str] = json.loads((args.data_dir / "ids.json").read_text())
        return store, bm25, np.load(cache), saved

    src = open_store(args.source_data_dir, model_name=emb.model_name, dimension=emb.dimension)
    source = list(src.iter_all())
    if not source:
        raise SystemExit(f"no chunks in {args.source_data_dir}: run bench/quality.py --sync-only")
    vecs = {c.id: c.embedding for c in src.get([c.id for c in source], include_embeddings=True)}
    log(f"source: {len(source)} chunks; building {args.chunks}")
    bm25.rebuild([])  # a half-built index from an earlier run goes
    pending: list[Chunk] = []  # written to the lexical index in one batch, as a sync does
    rng = np.random.default_rng(7)
    copies = -(-args.chunks // len(source))
    ids: list[str] = []
    all_vecs: list[np.ndarray] = []
    batch: list[Chunk] = []
    batch_vecs: list[np.ndarray] = []
    t0 = time.perf_counter()
    n = 0
    for j in range(copies):
        for c in source:
            if n >= args.chunks:
                break
            v = np.asarray(vecs[c.id], dtype=np.float32)
            if j:
                v = v + rng.normal(0, 0.45 / np.sqrt(v.shape[0]), v.shape[0]).astype(np.float32)
                v /= np.linalg.norm(v)
            words = c.text.split(" ")
            if j:
                words = [w for w in words if rng.random() > 0.1] or words
            text = " ".join(words)
            md = dict(c.metadata)
            cid = f"{md.get('content_id')}-{j}"
            space = SPACES[n % len(SPACES)]
            md.update(
                content_id=cid,
                space_key=space,
                space_id=f"sp-{space}",
                url=f"https://bench.example/wiki/spaces/{space}/pages/{cid}",
                anchor_url=f"https://bench.example/wiki/spaces/{space}/pages/{cid}",
                text_hash=text_hash(text),
            )
            chunk_id = f"page:{cid}:{md.get('chunk_index', 0)}"
            batch.append(Chunk(chunk_id, text, md))
            batch_vecs.append(v)
            ids.append(chunk_id)
            n += 1
            if len(batch) >= 5000:
                store.upsert(batch, np.stack(batch_vecs))
                pending.extend(batch)
                all_vecs.extend(batch_vecs)
                batch, batch_vecs = [], []
                log(f"  {n} chunks upserted ({time.perf_counter() - t0:.0f}s)")
    if batch:
        store.upsert(batch, np.stack(batch_vecs))
        pending.extend(batch)
        all_vecs.extend(batch_vecs)
    V = np.stack(all_vecs).astype(np.float32)
    with bm25.batch() as writer:
        writer.upsert(pending)
    store.set_meta(lexical_stamp=bm25.stamp)
    log(f"store and lexical index built in {time.perf_counter() - t0:.0f}s")
    np.save(cache, V)
    (args.data_dir / "ids.json").write_text(json.dumps(ids))
    return store, bm25, V, ids


def dense_recall(
    store: Any, V: np.ndarray, ids: list[str], qvecs: list[np.ndarray]
) -> dict[str, float]:
    from ragconf.index.types import SearchFilters

    id_arr = np.asarray(ids)
    space_mask = np.asarray([i % len(SPACES) == 0 for i in range(len(ids))])
    flt = SearchFilters(space_keys=(SPACES[0],))
    out: dict[str, list[float]] = {"unfiltered": [], "filtered": []}
    for q in qvecs:
        sims = V @ q
        exact = set(id_arr[np.argsort(-sims)[:10]])
        got = {h.id for h in store.query(q, 10)}
        out["unfiltered"].append(len(exact & got) / 10)
        masked = np.where(space_mask, sims, -np.inf)
        exact_f = set(id_arr[np.argsort(-masked)[:10]])
        got_f = {h.id for h in store.query(q, 10, flt)}
        out["filtered"].append(len(exact_f & got_f) / 10)
    return {k: round(float(np.mean(v)), 4) for k, v in out.items()}


def http_bench(args: argparse.Namespace, queries: list[str], log: Any) -> dict[str, Any]:
    import httpx

    port = free_port()
    env = {**os.environ, "RAGCONF_DATA_DIR": str(args.data_dir)}
    cmd = [sys.executable, "-c", "from ragconf.cli import main; main()", "serve"]
    proc = subprocess.Popen([*cmd, "--port", str(port), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("ragconf serve did not become ready")
                time.sleep(0.5)
            log("server ready; warming up")
            for q in queries[:20]:
                client.get("/search", params={"q": q, "k": 10})
                client.get("/search", params={"q": q, "k": 10, "space": SPACES[0]})
            variants = (("unfiltered", {}), ("space_filter_20pct", {"space": SPACES[0]}))
            wall: dict[str, list[float]] = {name: [] for name, _ in variants}
            stages = {name: {s: [] for s in STAGES} for name, _ in variants}
            for i, q in enumerate(queries):  # interleaved, so load bursts hit both alike
                for j in range(2):
                    name, extra = variants[(i + j) % 2]
                    t = time.perf_counter()
                    r = client.get("/search", params={"q": q, "k": 10, **extra})
                    wall[name].append((time.perf_counter() - t) * 1000)
                    r.raise_for_status()
                    for s in STAGES:
                        stages[name][s].append(r.json()["timings"].get(s, 0.0))
            out: dict[str, Any] = {
                name: {"client_wall_ms": pct(wall[name]), **{s: pct(v) for s, v in st.items()}}
                for name, st in stages.items()
            }
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def inprocess_bench(retriever: Any, emb: Any, store: Any, queries: list[str]) -> dict[str, Any]:
    """Retriever.search vs bare encode + unfiltered Chroma query, interleaved per query.

    The three paths run back to back for every query (in rotating order), so a burst of
    load from other processes hits all of them alike; the overhead is reported both as a
    ratio of medians and as the median of the per-query ratios.
    """
    from ragconf.index.types import SearchFilters

    flt = SearchFilters(space_keys=(SPACES[0],))
    for q in queries[:20]:  # warm caches (HNSW pages, BM25 mmap, ONNX session)
        retriever.search(q, k=10)
        retriever.search(q, k=10, filters=flt)
    stages: dict[str, dict[str, list[float]]] = {
        name: {s: [] for s in STAGES} for name in ("unfiltered", "space_filter_20pct")
    }
    base: dict[str, list[float]] = {"encode_ms": [], "chroma_k10_ms": [], "total_ms": []}

    def baseline(q: str) -> None:
        t = time.perf_counter()
        v = emb.embed_query(q)
        t1 = time.perf_counter()
        store.query(v, 10)
        t2 = time.perf_counter()
        base["encode_ms"].append((t1 - t) * 1000)
        base["chroma_k10_ms"].append((t2 - t1) * 1000)
        base["total_ms"].append((t2 - t) * 1000)

    def searched(name: str, filters: SearchFilters | None) -> Any:
        def run(q: str) -> None:
            res = retriever.search(q, k=10, filters=filters)
            for s in STAGES:
                stages[name][s].append(res.timings.get(s, 0.0))

        return run

    runs = [baseline, searched("unfiltered", None), searched("space_filter_20pct", flt)]
    for i, q in enumerate(queries):
        for j in range(3):
            runs[(i + j) % 3](q)
    out: dict[str, Any] = {name: {s: pct(v) for s, v in st.items()} for name, st in stages.items()}
    out["baseline"] = {s: pct(v) for s, v in base.items()}
    b50 = out["baseline"]["total_ms"]["p50"]
    for name in ("unfiltered", "space_filter_20pct"):
        totals = stages[name]["total_ms"]
        ratios = [t / b - 1 for t, b in zip(totals, base["total_ms"], strict=True)]
        out[name]["overhead_vs_baseline_p50"] = round(out[name]["total_ms"]["p50"] / b50 - 1, 3)
        out[name]["overhead_per_query_median"] = round(float(np.median(ratios)), 3)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--source-data-dir", type=Path, default=Path("/tmp/ragconf-bench/scifact"))
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/ragconf-bench/q100k"))
    ap.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument(
        "--layout",
        choices=("vectors", "full"),
        default="vectors",
        help="store layout of a new --data-dir: vectors (what ragconf sync creates) or full "
        "(text and metadata in Chroma too, as on a Chroma server)",
    )
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--skip-http", action="store_true")
    args = ap.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)

    log = stderr_log("query")

    from ragconf.index.embed import SentenceTransformerEmbedder
    from ragconf.search.retrieve import Retriever

    emb = SentenceTransformerEmbedder(onnx_cache_dir=args.data_dir / "onnx")
    emb.warm_up()
    store, bm25, V, ids = build_index(args, emb, log)
    with open(args.dataset / "queries.jsonl") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    random.Random(3).shuffle(texts)
    queries = texts[: args.queries]
    log(f"{len(queries)} queries; query backend: {emb.active_query_backend} ({emb.onnx_status})")

    out: dict[str, Any] = {
        "benchmark": "query",
        "chunks": store.count(),
        "layout": store.layout,
        "lexical_chunks": len(bm25),
        "queries": len(queries),
        "k": 10,
        "query_backend": emb.active_query_backend,
        "machine": machine_info(load_1m=round(os.getloadavg()[0], 2)),
    }
    out["recall@10_vs_exact"] = dense_recall(
        store, V, ids, [emb.embed_query(q) for q in queries[:200]]
    )
    log(f"recall: {out['recall@10_vs_exact']}")
    retriever = Retriever(store, emb, bm25)
    out["inprocess"] = inprocess_bench(retriever, emb, store, queries)
    out["store_query_paths"] = dict(store.query_counts)
    log("in-process done")
    if not args.skip_http:
        del retriever
        out["http"] = http_bench(args, queries, log)
    out["machine"]["load_1m_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

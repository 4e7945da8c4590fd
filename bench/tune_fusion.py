"""Choose the hybrid fusion on SciFact TRAIN qrels only (the test split is never looked at).

    .venv/bin/python bench/quality.py ../shared/data/scifact --data-dir /tmp/scifact --sync-only
    .venv/bin/python bench/tune_fusion.py ../shared/data/scifact --data-dir /tmp/scifact

Uses the index that bench/quality.py synced through the real pipeline. For every train query
it fetches each leg once at the deepest candidate depth (dense: the store's HNSW query;
lexical: the BM25 index) and caches the hits; each candidate fusion is then scored with the
same code the Retriever runs (``ragconf.search._fusion``), truncating the legs to the
Retriever's depth for k=100 (shallower depths are exact prefixes of the cached lists).
Prints one JSON object: per-leg scores, the grid's best configurations, and the choice.

Result of the run behind ``ragconf.search.retrieve.DEFAULT_FUSION`` (SciFact train, 809
queries, 5,183 documents -> 10,143 chunks synced through the simulator, all-MiniLM-L6-v2,
300 candidates per leg, documents scored by their best chunk):

    dense alone           nDCG@10 0.6795   Recall@100 0.9355
    bm25 alone            nDCG@10 0.6850   Recall@100 0.9270
    best RRF (c=1)        nDCG@10 0.7245   Recall@100 0.9559
    chosen: convex, z-score normalisation over each leg's top 30 documents, alpha 0.55
                          nDCG@10 0.7317   Recall@100 0.9582

The surface is flat near the top (alpha 0.45-0.55, z-score or min-max: 0.7307-0.7317),
so the choice is not a lucky spike.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import time
from pathlib import Path
from typing import Any

from _common import stderr_log

from bench.quality import load_queries
from ragconf.index.types import Hit
from ragconf.search._dense import _bare
from ragconf.search._fusion import FusionConfig, best_per_doc, fuse

Legs = dict[str, tuple[list[Hit], list[Hit]]]


def fetch_legs(dataset: Path, data_dir: Path, split: str, depth: int, log: Any) -> Legs:
    cache = data_dir / f"tune-legs-{split}-{depth}.pkl"
    if cache.exists():
        with open(cache, "rb") as fh:
            return pickle.load(fh)  # type: ignore[no-any-return]
    from ragconf.index.embed import SentenceTransformerEmbedder
    from ragconf.index.lexical_sqlite import SqliteLexicalIndex, lexical_db_path
    from ragconf.index.store import open_store

    queries, _ = load_queries(dataset, split)
    emb = SentenceTransformerEmbedder(onnx_cache_dir=data_dir / "onnx")
    emb.warm_up()
    store = open_store(data_dir, model_name=emb.model_name, dimension=emb.dimension)
    bm25 = SqliteLexicalIndex(lexical_db_path(data_dir, None, emb.model_name))
    log(f"{len(queries)} {split} queries, {store.count()} chunks, {len(bm25)} in BM25")
    legs: Legs = {}
    t = time.perf_counter()
    for qid, text in queries.items():
        # hits keep only what fusion needs (ids + doc keys), so the cache stays small
        # ids + scores are all fusion needs (the document key is part of the chunk id)
        dense = [_bare(i, s) for i, s in store.query_ids(emb.embed_query(text), depth)]
        lexical = [_slim(h) for h in bm25.search(text, depth)]
        legs[qid] = (dense, lexical)
    log(f"fetched legs in {time.perf_counter() - t:.1f}s")
    with open(cache, "wb") as fh:
        pickle.dump(legs, fh)
    return legs


def _slim(h: Hit) -> Hit:
    md = {
        "content_type": h.metadata.get("content_type"),
        "content_id": h.metadata.get("content_id"),
    }
    return Hit(h.id, h.score, "", md)


def doc_ids(data_dir: Path, dataset: Path) -> dict[str, str]:
    """page id -> BEIR doc id, from the same simulator site the sync used."""
    from ragconf.simulator import beir_site

    site = beir_site(dataset, spaces=4)
    return {pid: site.doc_id_for(pid) for pid in site.pages}


def score(
    legs: Legs,
    qrels: dict[str, dict[str, int]],
    to_doc: dict[str, str],
    mode: str,
    config: FusionConfig | None,
    depth: int,
) -> dict[str, float]:
    import ir_measures
    from ir_measures import R, nDCG

    run: dict[str, dict[str, float]] = {}
    for qid, (dense, lexical) in legs.items():
        d, lx = dense[:depth], lexical[:depth]
        if mode == "dense":
            docs = best_per_doc(d)
        elif mode == "bm25":
            docs = best_per_doc(lx)
        else:
            assert config is not None
            docs, _ = fuse(d, lx, config)
        top = sorted(docs, key=lambda k: (-docs[k], k))[:100]
        run[qid] = {to_doc[k.split(":", 1)[1]]: docs[k] for k in top}
    res = ir_measures.calc_aggregate([nDCG @ 10, R @ 100], qrels, run)
    return {"nDCG@10": round(res[nDCG @ 10], 4), "Recall@100": round(res[R @ 100], 4)}


def grid() -> list[FusionConfig]:
    configs = []
    for c, wd in itertools.product((1, 5, 10, 20, 40, 60, 100), (0.5, 0.75, 1.0, 1.25, 1.5)):
        configs.append(FusionConfig(method="rrf", rrf_c=c, rrf_dense_weight=wd))
    alphas = [round(0.1 + 0.05 * i, 2) for i in range(17)]
    for norm, alpha, nd in itertools.product(("minmax", "zscore"), alphas, (10, 20, 30, 50)):
        configs.append(FusionConfig(method="convex", alpha=alpha, norm=norm, norm_depth=nd))
    return configs


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dataset_dir", type=Path)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--split", default="train")
    ap.add_argument("--depth", type=int, default=300, help="candidates per leg (k=100 -> 300)")
    args = ap.parse_args(argv)
    if args.split == "test":
        ap.error("tuning on the test split would leak it into the reported numbers")

    log = stderr_log("tune")

    dataset = args.dataset_dir.resolve()
    _, qrels = load_queries(dataset, args.split)
    legs = fetch_legs(dataset, args.data_dir.resolve(), args.split, args.depth, log)
    to_doc = doc_ids(args.data_dir, dataset)
    out: dict[str, Any] = {
        "split": args.split,
        "queries": len(legs),
        "depth": args.depth,
        "dense": score(legs, qrels, to_doc, "dense", None, args.depth),
        "bm25": score(legs, qrels, to_doc, "bm25", None, args.depth),
    }
    results = []
    for cfg in grid():
        s = score(legs, qrels, to_doc, "hybrid", cfg, args.depth)
        results.append((s["nDCG@10"], s["Recall@100"], cfg))
    results.sort(key=lambda r: (-r[0], -r[1]))
    best_rrf = next(r for r in results if r[2].method == "rrf")
    out["top"] = [{"nDCG@10": n, "Recall@100": r, "config": c.__dict__} for n, r, c in results[:10]]
    out["best_rrf"] = {
        "nDCG@10": best_rrf[0],
        "Recall@100": best_rrf[1],
        "config": best_rrf[2].__dict__,
    }
    out["chosen"] = out["top"][0]
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

"""Retrieval quality through the whole pipeline: BEIR folder -> simulator -> sync -> HTTP /search.

    .venv/bin/python bench/quality.py ../shared/data/scifact --split test --mode all

Steps: the BEIR corpus becomes a Confluence site in the simulator (each document a page,
spread over a few spaces); the real sync (Syncer, the real embedding model, embedded Chroma in
a data dir) indexes it; the real API (uvicorn on 127.0.0.1) answers every query of the split
through ``POST /search`` with k=100; page ids are mapped back to BEIR doc ids; a TREC run file
per mode goes to ``bench/out/``; nDCG@10 and Recall@100 come from ir-measures, over all queries
and per query type (``short``: at most 4 content words, a keyword query; ``long``). Prints ONE
JSON object. The synced index is shared by all modes of a run; ``--data-dir`` keeps it across
runs (a second run re-syncs incrementally, which costs nothing when the corpus is unchanged).

Ranking stages (``ragconf.search._rank``): ``--prf``, ``--fields``, ``--evidence``, ``--fusion``,
``--identifiers`` and ``--coverage`` set one stage for the whole run (default: the
product's setting);
``--ablate`` also runs the hybrid mode once per other setting of each stage, one change at a
time, and reports each one's scores and its change in nDCG@10 and in server-side p50 query
time (``took_ms``) against the run's own setting, so every stage's worth and cost sit in the
same JSON. The stage is switched on the running server's retriever between runs; the queries
still go through ``POST /search``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, machine_info, open_embedded, stderr_log

MODES = ("hybrid", "dense", "bm25")


def load_queries(dataset: Path, split: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    qrels: dict[str, dict[str, int]] = {}
    lines = (dataset / "qrels" / f"{split}.tsv").read_text().splitlines()
    for line in lines[1:]:
        if not line.strip():
            continue
        qid, did, score = line.split("\t")[:3]
        qrels.setdefault(qid, {})[did] = int(score)
    queries: dict[str, str] = {}
    with open(dataset / "queries.jsonl") as fh:
        for line in fh:
            q = json.loads(line)
            if q["_id"] in qrels:
                queries[q["_id"]] = q["text"]
    return queries, qrels


def sync_index(
    dataset: Path,
    data_dir: Path,
    *,
    spaces: int,
    limit: int | None,
    log: Any,
    chunk_tokens: int | None = None,
) -> dict[str, Any]:
    """Serve the corpus from the simulator and sync it into ``data_dir``; returns handles."""
    from ragconf.confluence import Confluence
    from ragconf.index.embed import SentenceTransformerEmbedder
    from ragconf.simulator import DEMO_TOKEN, DEMO_USER, SimulatorServer, beir_site
    from ragconf.sync.engine import Syncer

    t0 = time.perf_counter()
    site = beir_site(dataset, spaces=spaces, limit=limit)
    log(f"site loaded in {time.perf_counter() - t0:.1f}s")
    # the API answers queries through the ONNX path (as `ragconf serve` does); sync uses torch
    embedder = SentenceTransformerEmbedder(onnx_cache_dir=data_dir / "onnx")
    embedder.warm_up()
    store, lexical = open_embedded(data_dir, embedder.model_name, embedder.dimension)
    last = [0.0]

    def progress(stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] > 30:
            last[0] = now
            log(f"sync {stage}: {done}/{total}")

    with SimulatorServer(site) as sim:
        conf = Confluence(sim.api_url, username=DEMO_USER, token=DEMO_TOKEN)
        with conf:
            chunker = None
            if chunk_tokens:  # an experiment: the product chunks at the model's 256
                from ragconf.index.chunk import Chunker

                chunker = Chunker(embedder.count_tokens, max_tokens=chunk_tokens)
            syncer = Syncer(
                conf,
                store,
                embedder,
                lexical,
                state_dir=data_dir / "state",
                progress=progress,
                chunker=chunker,
            )
            t = time.perf_counter()
            report = syncer.run(full=False)
            sync_s = time.perf_counter() - t
    log(f"sync done in {sync_s:.1f}s: {report.to_dict()}")
    return {
        "site": site,
        "embedder": embedder,
        "store": store,
        "lexical": lexical,
        "sync_s": round(sync_s, 1),
        "report": report.to_dict(),
    }


def run_queries(
    base_url: str, queries: dict[str, str], mode: str, k: int, doc_id_for: Any
) -> tuple[dict[str, dict[str, float]], list[float]]:
    import httpx

    run: dict[str, dict[str, float]] = {}
    took: list[float] = []
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for qid, text in queries.items():
            r = client.post("/search", json={"q": text, "k": k, "mode": mode})
            r.raise_for_status()
            body = r.json()
            took.append(body["took_ms"])
            scores: dict[str, float] = {}
            for item in body["results"]:
                if item["content_type"] != "page":
                    continue
                try:
                    doc = doc_id_for(item["content_id"])
                except KeyError:  # not a page of the corpus
                    continue
                if doc is not None and doc not in scores:
                    scores[doc] = float(item["score"])
            run[qid] = scores
    return run, took


def write_trec(path: Path, run: dict[str, dict[str, float]], tag: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        for qid, docs in run.items():
            ranked = sorted(docs.items(), key=lambda kv: (-kv[1], kv[0]))
            for rank, (doc, score) in enumerate(ranked, 1):
                fh.write(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")


def evaluate(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]
) -> dict[str, float]:
    import ir_measures
    from ir_measures import R, nDCG

    # ties in a run are broken by ir-measures by doc id; rank order is already unique here
    result = ir_measures.calc_aggregate([nDCG @ 10, R @ 100], qrels, run)
    return {"nDCG@10": round(result[nDCG @ 10], 4), "Recall@100": round(result[R @ 100], 4)}


def query_type(text: str) -> str:
    """``short`` (a keyword query: at most 4 content words) or ``long``."""
    from ragconf.search._query import analyse

    return "short" if analyse(text).short else "long"


def breakdown(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], queries: dict[str, str]
) -> dict[str, Any]:
    """Scores over all queries and per query type (``short`` / ``long``), with counts."""
    out: dict[str, Any] = {"all": evaluate(qrels, run)}
    for kind in ("short", "long"):
        ids = [q for q in run if query_type(queries[q]) == kind]
        if ids:
            part = evaluate({q: qrels[q] for q in ids}, {q: run[q] for q in ids})
            out[kind] = {**part, "queries": len(ids)}
    return out


def ranking_for(args: argparse.Namespace) -> Any:
    """The product's ranking with the stages set on the command line."""
    from ragconf.search._rank import STAGES, with_stage
    from ragconf.search.retrieve import DEFAULT_RANKING

    ranking = DEFAULT_RANKING
    for stage in STAGES:
        value = getattr(args, stage)
        if value is not None:
            ranking = with_stage(ranking, stage, value)
    return ranking


def measure(
    base_url: str,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    mode: str,
    k: int,
    doc_id_for: Any,
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    t = time.perf_counter()
    run, took = run_queries(base_url, queries, mode, k, doc_id_for)
    split = breakdown(qrels, run, queries)
    scores: dict[str, Any] = dict(split.pop("all"))
    scores["by_type"] = split
    scores["query_ms_p50"] = round(statistics.median(took), 2) if took else None
    scores["wall_s"] = round(time.perf_counter() - t, 1)
    return scores, run


def ablate(
    retriever: Any, base: dict[str, Any], measure_one: Any, log: Any
) -> dict[str, dict[str, Any]]:
    """Hybrid once per other setting of each stage (one change at a time)."""
    from ragconf.search._rank import STAGES, describe, with_stage

    ranking = retriever.ranking
    current = describe(ranking)
    out: dict[str, dict[str, Any]] = {}
    try:
        for stage, values in STAGES.items():
            for value in values:
                if value == current[stage]:
                    continue
                retriever.ranking = with_stage(ranking, stage, value)
                scores = measure_one()
                scores["delta"] = {
                    "nDCG@10": round(scores["nDCG@10"] - base["nDCG@10"], 4),
                    "query_ms_p50": round(scores["query_ms_p50"] - base["query_ms_p50"], 2),
                }
                out[f"{stage}={value}"] = scores
                log(f"{stage}={value}: {scores['nDCG@10']} {scores['delta']}")
    finally:
        retriever.ranking = ranking
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dataset_dir", type=Path)
    ap.add_argument("--split", default="test")
    ap.add_argument("--mode", default="all", choices=[*MODES, "all"])
    ap.add_argument("--limit-queries", type=int, default=None)
    ap.add_argument("--limit-docs", type=int, default=None, help="index only the first N docs")
    ap.add_argument("--data-dir", type=Path, default=None, help="keep/reuse the synced index here")
    ap.add_argument("--spaces", type=int, default=4)
    ap.add_argument(
        "--chunk-tokens", type=int, default=None, help="chunk size of a new index (default 256)"
    )
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--sync-only", action="store_true", help="build/refresh the index and stop")
    from ragconf.search._rank import STAGES, describe

    for stage, values in STAGES.items():
        ap.add_argument(f"--{stage}", choices=values, default=None, help="ranking stage setting")
    ap.add_argument("--ablate", action="store_true", help="also hybrid with each stage changed")
    args = ap.parse_args(argv)

    log = stderr_log("quality", quiet=args.quiet)

    dataset = args.dataset_dir.resolve()
    name = dataset.name
    queries, qrels = load_queries(dataset, args.split)
    if args.limit_queries:
        queries = dict(list(queries.items())[: args.limit_queries])
        qrels = {q: qrels[q] for q in queries}
    modes = list(MODES) if args.mode == "all" else [args.mode]

    tmp = None
    if args.data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="ragconf-quality-")
        data_dir = Path(tmp.name)
    else:
        data_dir = args.data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
    try:
        h = sync_index(
            dataset,
            data_dir,
            spaces=args.spaces,
            limit=args.limit_docs,
            log=log,
            chunk_tokens=args.chunk_tokens,
        )
        if args.sync_only:
            summary = {
                "data_dir": str(data_dir),
                "chunks": h["store"].count(),
                "sync_s": h["sync_s"],
            }
            print(json.dumps(summary))
            return summary
        if args.limit_docs:
            # only queries whose relevant documents were indexed can be judged
            indexed = {h["site"].doc_id_for(p) for p in h["site"].pages}
            qrels = {q: d for q, d in qrels.items() if set(d) & indexed}
            queries = {q: t for q, t in queries.items() if q in qrels}
        from ragconf.api.app import create_app
        from ragconf.api.server import ApiServer
        from ragconf.settings import Settings

        settings = Settings(data_dir=data_dir)  # type: ignore[call-arg]
        app = create_app(settings, embedder=h["embedder"], store=h["store"], lexical=h["lexical"])
        out: dict[str, Any] = {
            "benchmark": "quality",
            "dataset": name,
            "split": args.split,
            "queries": len(queries),
            "documents": len(h["site"].pages),
            "chunks": h["store"].count(),
            "model": h["embedder"].model_name,
            "k": args.k,
            "modes": {},
            "sync_s": h["sync_s"],
            "machine": machine_info(),
        }
        with ApiServer(app) as server:
            retriever = app.state.services.retriever
            retriever.ranking = ranking_for(args)
            out["stages"] = describe(retriever.ranking)

            def measure_mode(mode: str) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
                return measure(server.base_url, queries, qrels, mode, args.k, h["site"].doc_id_for)

            for mode in modes:
                scores, run = measure_mode(mode)
                run_file = args.out / f"{name}-{args.split}-{mode}.trec"
                write_trec(run_file, run, f"ragconf-{mode}")
                scores["run_file"] = str(
                    run_file.relative_to(ROOT) if run_file.is_relative_to(ROOT) else run_file
                )
                out["modes"][mode] = scores
                log(f"{mode}: {scores}")
            if args.ablate:
                if "hybrid" not in out["modes"]:
                    out["modes"]["hybrid"] = measure_mode("hybrid")[0]
                out["ablation"] = ablate(
                    retriever, out["modes"]["hybrid"], lambda: measure_mode("hybrid")[0], log
                )
        scores_by_mode = {m: s["nDCG@10"] for m, s in out["modes"].items()}
        if len(scores_by_mode) == len(MODES):
            out["hybrid_ge_legs"] = scores_by_mode["hybrid"] >= max(
                scores_by_mode["dense"], scores_by_mode["bm25"]
            )
        print(json.dumps(out, indent=2))
        return out
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()

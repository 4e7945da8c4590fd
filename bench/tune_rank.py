"""Choose the ranking stages on SciFact TRAIN qrels only (the test split is refused).

    .venv/bin/python bench/quality.py ../shared/data/scifact --data-dir /tmp/scifact --sync-only
    .venv/bin/python bench/tune_rank.py ../shared/data/scifact --data-dir /tmp/scifact

Runs ``Retriever.search`` itself (the code behind ``POST /search``) in this process over the
index bench/quality.py synced, once per variant of the ranking (``ragconf.search._rank``),
with k=100 as bench/quality.py asks. Query vectors and dense hits are computed once and
reused by every variant (they do not depend on the ranking), so a variant costs seconds.
Prints one JSON object: per variant nDCG@10 / Recall@100, overall and per query type
(``short``: at most 4 content words; ``long``), and the mean milliseconds of the lexical leg
and of fusion, whose differences are each stage's query-time cost.

Result of the runs behind ``ragconf.search.retrieve.DEFAULT_RANKING`` (SciFact train, 809
queries of which 31 short, 10,143 chunks, all-MiniLM-L6-v2; nDCG@10, Recall@100; ms: mean
lexical-leg time per query at k=100 on a loaded 2-core machine):

    baseline (convex z-score 0.55, best chunk)   0.7313  0.9582  short 0.650  lexical 4.6 ms
    identifiers on                               0.7322  0.9594  short 0.674
    fusion adaptive (per-query dense weight)     0.7340  0.9569
    fusion RRF c=10 / c=60                       0.7211 / 0.7158
    fusion convex 0.5 (untuned weight)           0.7308  0.9526
    evidence maxsum, damping 0.25 / 0.5 / 1.0    0.7277 / 0.7219 / 0.7137
    prf on (RM3, 10 passages, 10 terms, idf)     0.7117  0.9569                lexical 30 ms
    prf on without idf                           0.7180
    prf flat (only when top-10 >= 0.8 x top-1)   0.7329  0.9563                lexical 16 ms
    fields, title/path weight 0.5 / 1.0          0.7212 / 0.7150               lexical 41+ ms
    adaptive + identifiers                       0.7349  0.9582  short 0.686
    adaptive + identifiers + prf flat            0.7337  0.9576
    coverage 0.1 / 0.2 / 0.3 (on the baseline)   0.7324 / 0.7328 / 0.7349
    adaptive + identifiers + coverage 0.1        0.7371  0.9576
    adaptive + identifiers + coverage 0.2        0.7385  0.9588  short 0.687  (chosen)
    adaptive + identifiers + coverage 0.3        0.7372  0.9595
    RRF c=60 + coverage 0.2 (x the best score)   0.7203  0.9557  (RRF alone 0.7158)

Coverage (``LexicalIndex.coverage``: a document gains 0.2 x the idf-weighted share of the
query's distinct words that its best chunk holds) held up in a 5-fold split of train too
(each fold's best weight 0.15-0.2; held-out folds 0.7381 against 0.7340; 56 queries
better, 32 worse). It reads the postings the lexical leg has just read.

Tried outside this grid on the same cached legs (scratch code, not kept): RM3 fed from the
fused top 3-10 documents instead of the lexical top passages 0.697-0.717; Rocchio on the
query vector from the fused or dense top 3-5 0.722-0.731 (dense alone rose to 0.696, the
hybrid did not); a per-document title embedding as a third leg or max-ed into the dense leg
0.666-0.718; chunk-level instead of document-level fusion 0.728. SciFact has about one
relevant abstract per claim, and feedback drifts away from it.

Also tried this stop on the same cached legs (scratch code, train, against 0.7340 for the
shipped fusion without identifiers), none kept:

* dense vectors over smaller windows, the lexical leg over 256-token chunks: 128-token
  chunks 0.7384 (dense alone 0.6795 -> 0.6982), one vector per sentence with its title
  prefixed 0.7412 (dense alone 0.6948), both dense views mixed 0.7388-0.7414, all four legs
  (dense and BM25 at 128 and 256) at most 0.7380; with coverage on top 0.7430. A gain of
  0.004-0.007 for 2.6-4.5 vectors per chunk, a store that maps several vectors to one
  chunk in every read, delete and reconcile path, and 2.2 KB of disk per extra vector;
* BM25 k1 0.6-1.6 x b 0.4-0.9: BM25 alone 0.679-0.688, hybrid 0.7324-0.7368 (1.2 / 0.75
  is within noise of the best); Porter instead of Snowball 0.7332; no stemming 0.7243;
  query bigrams as extra BM25 terms (weights 0.1-0.5) 0.7341-0.7352;
* a learned fusion (5-fold CV on train; logistic regression or gradient-boosted trees over
  both legs' normalised scores, ranks, spreads and their products): 0.7317 / 0.7335 against
  0.7335 on the same candidates. The oracle per-query dense weight would give 0.791 and
  the better leg per query 0.776, but nothing available predicts them;
* filling each leg's missing scores (exact cosine / BM25 for the other leg's candidates)
  before fusion: 0.7337; a document vector as the mean of its sentence vectors: dense
  0.634; centring the vectors on the corpus mean: 0.7373 against 0.7412 uncentred;
* in-domain fine-tuning of the embedder on the corpus's own (title -> passage) pairs, no
  qrels (40 steps of 32 pairs, in-batch negatives): dense 0.6795 -> 0.6825, hybrid 0.7348,
  for 5 minutes of training and a full re-embedding per site.

Tried at the next stop (scratch code on the shipped ranking's k=100 runs, train 0.7385):
score regularisation over the candidates (the cluster hypothesis: each of the top 10/20/30
documents moves towards the cosine-weighted mean score of the others, weight 0.05-0.3,
similarity to the power 1 or 3, a document as its best chunk's vector or the mean of its
chunks'): 0.7358-0.7385, never above the ranking it smooths.

Chunk size (``bench/quality.py --chunk-tokens 128 --sync-only``, 26,548 chunks instead of
10,143; the rest as shipped): the dense leg alone gains (0.6786 -> 0.6919: MiniLM was
trained on 128-token inputs), BM25 over the shorter chunks loses more, and the hybrid
default lands at 0.7324 against 0.7349, short queries 0.655 against 0.686. Kept at 256.
(Until this run the script read the bm25s index the SQLite one replaced, and without it
silently measured the dense leg alone; it now opens what ``ragconf sync`` writes.)
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from _common import open_embedded, stderr_log

from bench.quality import breakdown, load_queries
from ragconf.search._fusion import FusionConfig
from ragconf.search._prf import PRF
from ragconf.search._rank import Ranking, describe
from ragconf.search.retrieve import DEFAULT_FUSION, DEFAULT_RANKING, Retriever

BASE = Ranking(fusion=DEFAULT_FUSION, prf=PRF(mode="off"), identifiers=False)


def variants() -> dict[str, Ranking]:
    """The grid that was tried; names say what differs from ``baseline`` (today's ranking)."""
    f = DEFAULT_FUSION
    out: dict[str, Ranking] = {"baseline": BASE, "default": DEFAULT_RANKING}
    out["identifiers"] = replace(BASE, identifiers=True)
    for c in (10, 60):
        out[f"rrf{c}"] = replace(BASE, fusion=FusionConfig(method="rrf", rrf_c=c))
    out["convex0.5"] = replace(BASE, fusion=replace(f, alpha=0.5))
    out["adaptive"] = replace(BASE, fusion=replace(f, method="adaptive"))
    adaptive_ids = replace(BASE, fusion=replace(f, method="adaptive"), identifiers=True)
    out["adaptive+identifiers"] = adaptive_ids
    out["adaptive+identifiers+prf-flat"] = replace(adaptive_ids, prf=PRF(mode="flat"))
    for d in (0.25, 0.5, 1.0):
        out[f"maxsum{d}"] = replace(BASE, fusion=replace(f, evidence="maxsum", damping=d))
    for mode in ("on", "flat"):
        out[f"prf-{mode}"] = replace(BASE, prf=PRF(mode=mode))
    out["prf-on-noidf"] = replace(BASE, prf=PRF(mode="on", idf=False))
    for w in (0.5, 1.0):
        out[f"fields{w}"] = replace(BASE, fields=w)
    for w in (0.1, 0.2, 0.3):
        out[f"coverage{w}"] = replace(BASE, coverage=w)
        out[f"adaptive+identifiers+coverage{w}"] = replace(adaptive_ids, coverage=w)
    out["rrf60+coverage0.2"] = replace(out["rrf60"], coverage=0.2)
    return out


class CachedEmbedder:
    """The real embedder, its query vectors memoised (they don't depend on the ranking)."""

    def __init__(self, inner: Any, cache: dict[str, Any]) -> None:
        self.inner, self.cache = inner, cache
        self.model_name, self.dimension = inner.model_name, inner.dimension

    def embed_query(self, text: str) -> Any:
        if text not in self.cache:
            self.cache[text] = self.inner.embed_query(text)
        return self.cache[text]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CachedStore:
    """The real store, its unfiltered ``query_ids`` answers memoised per (vector, k)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.memo: dict[tuple[bytes, int], Any] = {}

    def query_ids(self, vec: Any, k: int) -> Any:
        key = (vec.tobytes(), k)
        if key not in self.memo:
            self.memo[key] = self.inner.query_ids(vec, k)
        return self.memo[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def run_variant(
    retriever: Retriever,
    ranking: Ranking,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    to_doc: dict[str, str],
    k: int,
) -> dict[str, Any]:
    retriever.ranking = ranking
    run: dict[str, dict[str, float]] = {}
    lexical_ms: list[float] = []
    fuse_ms: list[float] = []
    for qid, text in queries.items():
        res = retriever.search(text, k=k)
        lexical_ms.append(res.timings["lexical_ms"])
        fuse_ms.append(res.timings["fuse_ms"])
        docs: dict[str, float] = {}
        for d in res.results:
            doc = to_doc.get(d.content_id)
            if doc is not None and doc not in docs:
                docs[doc] = d.score
        run[qid] = docs
    out = breakdown(qrels, run, queries)
    out["lexical_ms"] = round(statistics.mean(lexical_ms), 2)
    out["fuse_ms"] = round(statistics.mean(fuse_ms), 2)
    out["stages"] = describe(ranking)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dataset_dir", type=Path)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--split", default="train")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--only", nargs="*", help="run only these variants")
    args = ap.parse_args(argv)
    if args.split == "test":
        ap.error("tuning on the test split would leak it into the reported numbers")
    log = stderr_log("tune-rank")

    from ragconf.index.embed import SentenceTransformerEmbedder
    from ragconf.simulator import beir_site

    dataset = args.dataset_dir.resolve()
    data_dir = args.data_dir.resolve()
    queries, qrels = load_queries(dataset, args.split)
    site = beir_site(dataset, spaces=4)
    to_doc = {pid: site.doc_id_for(pid) for pid in site.pages}
    emb = SentenceTransformerEmbedder(onnx_cache_dir=data_dir / "onnx")
    # the index bench/quality.py synced: the store and the SQLite lexical index beside it
    inner, lexical = open_embedded(data_dir, emb.model_name, emb.dimension)
    store = CachedStore(inner)
    cache_file = data_dir / f"query-vectors-{args.split}.pkl"
    cache: dict[str, Any] = {}
    if cache_file.exists():
        cache = pickle.loads(cache_file.read_bytes())
    embedder = CachedEmbedder(emb, cache)
    if len(cache) < len(queries):
        emb.warm_up()
        for text in queries.values():
            embedder.embed_query(text)
        cache_file.write_bytes(pickle.dumps(cache))
    retriever = Retriever(store, embedder, lexical)  # type: ignore[arg-type]
    log(f"{len(queries)} {args.split} queries, {len(lexical)} chunks")
    chosen = variants()
    if args.only:
        chosen = {name: chosen[name] for name in args.only}
    out: dict[str, Any] = {"split": args.split, "queries": len(queries), "k": args.k}
    results: dict[str, Any] = {}
    for name, ranking in chosen.items():
        t = time.perf_counter()
        results[name] = run_variant(retriever, ranking, queries, qrels, to_doc, args.k)
        log(f"{name}: {results[name]['all']} ({time.perf_counter() - t:.0f}s)")
    out["variants"] = results
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

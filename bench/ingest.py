"""Ingest throughput and incremental re-sync cost, against the raw embedder in the same run.

    .venv/bin/python bench/ingest.py                      # 1,000 SciFact docs (fixed subset)
    .venv/bin/python bench/ingest.py --limit 500 --data ../shared/data/scifact

The simulator serves BEIR SciFact (the first ``--limit`` documents, one page each) from a
``ragconf simulate`` subprocess, so its work does not share this process. Then, each with a
fresh embedder (the bundled all-MiniLM-L6-v2) as a new ``ragconf sync`` would have:

1. ``full``: a first sync into an empty embedded store;
2. ``raw``: the same chunk texts embedded directly by a fresh embedder, in batches of the
   sync's size (``embed_batch``) - model load timed apart (``load_s``);
3. ``edit``: 1 % of the pages edited (a sentence appended) -> a second sync; checks that it
   embedded exactly the chunks whose text changed, all on edited pages;
4. ``nochange``: a third sync with nothing changed; checks the model never loaded.

Prints ONE JSON object: pages/s, chunks/s, chunks embedded, duration, peak RSS, the
ratios against the targets (full-sync chunks/s >= 0.85 x raw; edit sync <= 5 % and
no-change sync <= 2 % of the full sync's time; peak RSS <= 2 GiB) and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, free_port, machine_info, open_embedded

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "scifact"
USER, TOKEN = "demo@ragconf.dev", "demo-token"


def _rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


class Simulator:
    """``ragconf simulate --corpus beir:DIR`` in a subprocess."""

    def __init__(self, data: Path, limit: int) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        cmd = [
            str(Path(sys.executable).parent / "ragconf"),
            "simulate",
            "--corpus",
            f"beir:{data}",
            "--limit",
            str(limit),
            "--port",
            str(self.port),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        import httpx

        deadline = time.monotonic() + 300
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise SystemExit(f"simulator exited: {err[-2000:]}")
            try:
                if httpx.get(self.base_url + "/_admin/state", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("simulator did not start in 300 s")
            time.sleep(0.3)

    def edit(self, content_id: str, body: str) -> None:
        import httpx

        r = httpx.post(
            self.base_url + "/_admin/edit",
            json={"content_id": content_id, "body": body},
            timeout=30,
        )
        r.raise_for_status()

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _sync(conf: Any, data_dir: Path, embed_batch: int) -> tuple[dict[str, Any], Any, Any]:
    from ragconf.index.embed import SentenceTransformerEmbedder
    from ragconf.sync.engine import Syncer

    embedder = SentenceTransformerEmbedder()
    store, lexical = open_embedded(
        data_dir, embedder.model_name, embedder.dimension, data_dir / "lexical.sqlite"
    )
    syncer = Syncer(conf, store, embedder, lexical, state_dir=data_dir, embed_batch=embed_batch)
    started = time.perf_counter()
    report = syncer.run().to_dict()
    seconds = time.perf_counter() - started
    out = {
        "seconds": round(seconds, 2),
        "documents": report["documents_seen"],
        "added": report["added"],
        "updated": report["updated"],
        "unchanged": report["unchanged"],
        "failed": len(report["failed"]),
        "chunks_embedded": report["chunks_embedded"],
        "chunks_reused": report["chunks_reused"],
        "requests": report["requests"],
        "pages_per_s": round(report["documents_seen"] / seconds, 2),
        "chunks_per_s": round(report["chunks_embedded"] / seconds, 2),
        "model_loaded": embedder._st is not None,
        "stage_seconds": report["stage_seconds"],
        "peak_rss_mb": _rss_mb(),
    }
    return out, store, embedder


def _raw(texts: list[str], batch: int) -> dict[str, Any]:
    """The bare embedder on the same texts: the ceiling the sync is measured against."""
    from ragconf.index.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    started = time.perf_counter()
    embedder.embed_documents(texts[:1])  # loads the model
    load = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed_documents(texts[i : i + batch])
    seconds = time.perf_counter() - started
    return {
        "chunks": len(texts),
        "seconds": round(seconds, 2),
        "load_s": round(load, 2),
        "chunks_per_s": round(len(texts) / seconds, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="BEIR dataset folder")
    ap.add_argument("--limit", type=int, default=1000, help="documents to load (first N)")
    ap.add_argument("--edit-fraction", type=float, default=0.01)
    ap.add_argument("--embed-batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path, default=None, help="keep the index in this folder")
    args = ap.parse_args(argv)

    import torch

    from ragconf.confluence import Confluence

    work = args.keep or Path(tempfile.mkdtemp(prefix="ragconf-ingest-"))
    if work.exists() and args.keep:
        shutil.rmtree(work)
    sim = Simulator(args.data.resolve(), args.limit)
    result: dict[str, Any] = {
        "benchmark": "ingest",
        "corpus": {"dataset": args.data.name, "documents": args.limit},
        "machine": machine_info(
            torch_threads=torch.get_num_threads(),
            loadavg_before=[round(x, 2) for x in os.getloadavg()],
        ),
        "embed_batch": args.embed_batch,
    }
    try:
        with Confluence(sim.base_url, username=USER, token=TOKEN) as conf:
            full, store, _ = _sync(conf, work, args.embed_batch)
            result["full"] = full
            texts = [c.text for c in sorted(store.iter_all(), key=lambda c: c.id)]
            result["raw"] = _raw(texts, args.embed_batch)

            # 1 % of the pages get a new sentence at the end
            rng = random.Random(args.seed)
            ids = sorted(str(p.id) for p in conf.get_pages())
            chosen = sorted(rng.sample(ids, max(1, round(len(ids) * args.edit_fraction))))
            before = {c.id: c.metadata["text_hash"] for c in store.iter_all()}
            for page in conf.get_pages(ids=chosen, body_format="storage"):
                body = page.body.storage_value or ""
                sim.edit(str(page.id), body + "<p>Editor's note: the cohort was re-analysed.</p>")
            edit, store, _ = _sync(conf, work, args.embed_batch)
            after = {c.id: c.metadata["text_hash"] for c in store.iter_all()}
            changed = {cid for cid, h in after.items() if before.get(cid) != h}
            edit["pages_edited"] = len(chosen)
            edit["chunks_changed"] = len(changed)
            edit["only_changed_chunks_embedded"] = edit["chunks_embedded"] == len(changed) and all(
                cid.split(":")[1] in set(chosen) for cid in changed
            )
            result["edit"] = edit

            result["nochange"], _, _ = _sync(conf, work, args.embed_batch)
    finally:
        sim.close()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    full, raw = result["full"], result["raw"]
    result["targets"] = {
        "full_vs_raw_chunks_per_s": round(full["chunks_per_s"] / raw["chunks_per_s"], 3),
        "full_vs_raw_ok": full["chunks_per_s"] >= 0.85 * raw["chunks_per_s"],
        "edit_share_of_full": round(result["edit"]["seconds"] / full["seconds"], 4),
        "edit_ok": result["edit"]["seconds"] <= 0.05 * full["seconds"]
        and result["edit"]["only_changed_chunks_embedded"],
        "nochange_share_of_full": round(result["nochange"]["seconds"] / full["seconds"], 4),
        "nochange_ok": result["nochange"]["seconds"] <= 0.02 * full["seconds"]
        and result["nochange"]["chunks_embedded"] == 0
        and not result["nochange"]["model_loaded"],
        "peak_rss_mb": _rss_mb(),
        "peak_rss_ok": full["peak_rss_mb"] <= 2048,
    }
    result["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

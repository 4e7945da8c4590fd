"""``kill -9`` at random moments of ``ragconf sync``, then a rerun: the index must equal a
clean sync's (chunk ids, texts, text hashes, metadata) and the BM25 index must match it.

The sync runs as a user runs it (the installed ``ragconf`` console script in a subprocess)
against a simulator on a real 127.0.0.1 port, with the HashEmbedder
(``RAGCONF_EMBED_MODEL=hash:64``) so a trial takes seconds. Half the trials crash a first
sync into an empty data directory; the others crash an incremental sync of an edited site
(pages rewritten so their chunk counts change, retitled, relabelled, trashed, added) on
top of an index of the site before the edits. CI runs 3 trials; ``-m slow`` runs 10 more.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ragconf.index.lexical_sqlite import SqliteLexicalIndex, lexical_db_path
from ragconf.index.store import open_store
from ragconf.simulator import DEMO_TOKEN, DEMO_USER, Faults, SimulatorServer, Site

RAGCONF = str(Path(sys.executable).parent / "ragconf")
MODEL = "hash:64"
WORDS = ["ledger", "payment", "refund", "kafka", "deploy", "vault", "queue", "merchant",
         "invoice", "settlement", "rollback", "canary", "shard", "replica", "audit"]


def crash_site() -> tuple[Site, list[str]]:
    rng = random.Random(3)
    site = Site()
    for key in ("ENG", "OPS", "HR"):
        site.add_space(key, key.title())
    ids = []
    for i in range(60):
        body = "".join(
            f"<h2>Part {j}</h2><p>" + " ".join(rng.choice(WORDS) + str(rng.randint(0, 50))
                                              for _ in range(80)) + "</p>"
            for j in range(1 + i % 5)
        )
        ids.append(site.add_page(("ENG", "OPS", "HR")[i % 3], f"Runbook {i}", body,
                                 labels=[f"team{i % 4}"]))
    for i in range(6):
        site.add_blog_post("ENG", f"Weekly note {i}", f"<p>Week {i}: shipped the ledger.</p>")
    for i in range(8):
        site.add_attachment(ids[i], f"notes{i}.txt", f"attachment text {i} ".encode() * 50,
                            "text/plain")
    return site, ids


def edit(site: Site, ids: list[str]) -> None:
    """Changes whose sync deletes, rewrites and adds chunks (the risky part of a crash)."""
    for n, pid in enumerate(ids[:12]):
        site.edit(pid, body="<p>" + f"rewritten {n} " * (40 + 300 * (n % 3)) + "</p>")
    site.edit(ids[12], title="Runbook twelve, renamed")
    site.set_labels(ids[13], ["relabelled"])
    for pid in ids[14:18]:
        site.trash(pid)
    for i in range(5):
        site.add_page("OPS", f"New procedure {i}", f"<p>new procedure {i} body text</p>")


def env_for(sim: SimulatorServer, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
    env.update(
        RAGCONF_CONFLUENCE_URL=sim.base_url, RAGCONF_CONFLUENCE_USERNAME=DEMO_USER,
        RAGCONF_CONFLUENCE_TOKEN=DEMO_TOKEN, RAGCONF_DATA_DIR=str(data),
        RAGCONF_EMBED_MODEL=MODEL, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
    )
    return env


def sync(sim: SimulatorServer, data: Path) -> dict[str, Any]:
    done = subprocess.run([RAGCONF, "sync", "--json", "--quiet"], env=env_for(sim, data),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def index_of(data: Path) -> tuple[dict[str, Any], int, list[Any]]:
    """Every chunk (id -> text, metadata), the BM25 size and its answers to a few queries."""
    store = open_store(data, model_name="hash-64", dimension=64)
    chunks = {c.id: (c.text, c.metadata) for c in store.iter_all()}
    store.close()
    bm25 = SqliteLexicalIndex(lexical_db_path(data, None, "hash-64"))
    answers = [[(h.id, round(h.score, 4)) for h in bm25.search(q, k=40)]
               for q in ("Runbook", "Part", "ledger", "rewritten", "procedure", "attachment text",
                         "renamed", "Weekly")]
    return chunks, len(bm25), answers


def start(sim: SimulatorServer, data: Path) -> subprocess.Popen[bytes]:
    """Start a sync and return once it talks to Confluence (interpreter start-up is over)."""
    before = sim.request_count
    proc = subprocess.Popen([RAGCONF, "sync", "--json", "--quiet"], env=env_for(sim, data),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while sim.request_count == before and proc.poll() is None:
        time.sleep(0.005)
    return proc


def work_time(sim: SimulatorServer, data: Path) -> float:
    """Seconds a sync spends working (first request to exit)."""
    proc = start(sim, data)
    started = time.monotonic()
    assert proc.wait(timeout=300) == 0
    return time.monotonic() - started


def _trials(tmp_path: Path, trials: int, seed: int) -> None:
    site, ids = crash_site()
    rng = random.Random(seed)
    # 5 ms per request stretches the run so kill points spread over all of its phases
    with SimulatorServer(site, faults=Faults(latency_s=0.005)) as sim:
        sync(sim, tmp_path / "before")  # the index of the site before the edits
        edit(site, ids)
        first_span = work_time(sim, tmp_path / "clean")
        shutil.copytree(tmp_path / "before", tmp_path / "probe")
        incremental_span = work_time(sim, tmp_path / "probe")
        killed = 0
        for trial in range(trials):
            data = tmp_path / f"trial{trial}"
            first_sync = trial % 2 == 0
            if not first_sync:
                shutil.copytree(tmp_path / "before", data)
            span = first_span if first_sync else incremental_span
            proc = start(sim, data)
            time.sleep(rng.uniform(0.02, 0.98) * span)
            proc.kill()  # SIGKILL: no finally blocks, no atexit, no lock release
            proc.wait(timeout=60)
            killed += proc.returncode == -9  # else it had finished before the kill
            report = sync(sim, data)
            assert report["failed"] == []
    want = index_of(tmp_path / "clean")
    assert len(want[0]) > 100 and want[1] == len(want[0]) and all(want[2])
    for trial in range(trials):
        got = index_of(tmp_path / f"trial{trial}")
        assert got[0].keys() == want[0].keys(), f"trial {trial}: chunk ids differ"
        assert got == want, f"trial {trial}: texts, metadata or BM25 differ"
    assert killed >= max(1, trials // 2), f"only {killed} of {trials} kills landed mid-sync"


def test_kill_9_three_times_then_rerun_equals_a_clean_sync(tmp_path: Path) -> None:
    _trials(tmp_path, trials=3, seed=11)


@pytest.mark.slow
def test_kill_9_ten_times_then_rerun_equals_a_clean_sync(tmp_path: Path) -> None:
    _trials(tmp_path, trials=10, seed=12)

"""``ragconf sync`` as a user runs it: a subprocess against a live simulator, real model.

Covers the exit codes (3 = some documents failed, 9 = locked), ``--json``, ``kill -9`` at a
random moment followed by a rerun (the index must equal a clean sync's), and two workers
on disjoint spaces writing into one ``chroma run`` server.
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

from ragconf.index.embed import SentenceTransformerEmbedder
from ragconf.simulator import DEMO_TOKEN, DEMO_USER, Faults, SimulatorServer, Site
from ragconf.sync._state import SyncLock
from tests.test_sync_support import LONG, build_site, expected_keys, snapshot

RAGCONF = str(Path(sys.executable).parent / "ragconf")
SHORT = LONG[: LONG.index("<h2>Step 3</h2>")]  # three sections: a few chunks per page


def cli_env(sim: SimulatorServer, data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
    env.update(
        RAGCONF_CONFLUENCE_URL=sim.base_url,
        RAGCONF_CONFLUENCE_USERNAME=DEMO_USER,
        RAGCONF_CONFLUENCE_TOKEN=DEMO_TOKEN,
        RAGCONF_DATA_DIR=str(data),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        **extra,
    )
    return env


def run_sync(
    sim: SimulatorServer, data: Path, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RAGCONF, "sync", "--json", "--quiet", *args],
        env=cli_env(sim, data, **extra), capture_output=True, text=True, timeout=600,
    )


def index_of(data: Path, chroma_url: str | None = None) -> dict[str, Any]:
    from ragconf.index.store import open_store

    emb = SentenceTransformerEmbedder()  # names the collection; the model is not loaded
    store = open_store(data, chroma_url=chroma_url, model_name=emb.model_name,
                       dimension=emb.dimension)
    try:
        return snapshot(store)
    finally:
        store.close()


def keys_of(index: dict[str, Any]) -> set[str]:
    return {cid.rsplit(":", 1)[0] for cid in index}


def test_failed_documents_exit_3_and_the_rest_is_indexed(tmp_path: Path) -> None:
    site, ids = build_site()
    faults = Faults(error_rate=1.0, error_statuses=(400,), paths=r"/download/.*notes\.txt")
    with SimulatorServer(site, faults=faults) as sim:
        done = run_sync(sim, tmp_path / "data")
    assert done.returncode == 3, done.stderr
    summary = json.loads(done.stdout)
    assert {"added", "updated", "unchanged", "deleted", "failed", "chunks_embedded", "seconds",
            "spaces"} <= set(summary)
    assert [f["content_id"] for f in summary["failed"]] == [ids.notes]
    assert summary["failed"][0]["title"] == "notes.txt" and summary["failed"][0]["error"]
    keys = keys_of(index_of(tmp_path / "data"))
    assert keys == expected_keys(site) - {f"attachment:{ids.notes}"}
    assert f"page:{ids.broken}" in keys  # broken XHTML is indexed, not failed
    assert DEMO_TOKEN not in done.stdout + done.stderr


def test_a_second_sync_on_the_same_data_dir_exits_9(tmp_path: Path) -> None:
    site, _ = build_site()
    with SimulatorServer(site) as sim, SyncLock(tmp_path / "data"):
        done = run_sync(sim, tmp_path / "data")
    assert done.returncode == 9
    assert "another sync" in done.stderr and str(os.getpid()) in done.stderr


def crash_site() -> Site:
    site, _ = build_site()
    for i in range(8):
        space = "ENG" if i % 2 else "OPS"
        body = SHORT.replace("word", f"p{i}w")
        site.add_page(space, f"Procedure {i}", body, labels=[f"l{i % 3}"])
    return site


def change_site(site: Site) -> None:
    """Every kind of change at once, so a killed re-sync is caught in the middle of any."""
    pages = {r.title: pid for pid, r in site.pages.items()}
    for i in (0, 3, 6):
        pid = pages[f"Procedure {i}"]
        site.edit(pid, body=site.pages[pid].body.replace(f"p{i}w2x", "edited "))
    for i in (1, 4, 7):
        site.set_labels(pages[f"Procedure {i}"], ["relabelled"])
    site.edit(pages["Procedure 2"], title="Procedure two")
    site.trash(pages["Procedure 5"])
    site.move(pages["Restart the ledger"], space_key="OPS")
    site.add_page("ENG", "Fresh page", SHORT.replace("word", "fresh"))


def _kill_trials(tmp_path: Path, trials: int, seed: int) -> None:
    """Even trials kill a first sync, odd ones a re-sync after change_site(); each killed
    run is rerun and the index must equal a clean sync of the final site into a fresh dir.

    Small embedding batches (``--batch-size 4``) make the writes many, so a kill at a
    random moment of the run's measured duration lands between writes, not only in the
    model's start-up.
    """
    site = crash_site()
    rng = random.Random(seed)
    small = ("--batch-size", "4")
    with SimulatorServer(site, faults=Faults(latency_s=0.01)) as sim:
        base = run_sync(sim, tmp_path / "base", *small)  # the index before the changes
        assert base.returncode == 0, base.stderr
        change_site(site)
        durations = []
        for name in ("clean", "incremental"):
            if name == "incremental":
                shutil.copytree(tmp_path / "base", tmp_path / name)
            started = time.monotonic()
            done = run_sync(sim, tmp_path / name, *small)
            assert done.returncode == 0, done.stderr
            wall = time.monotonic() - started
            # kill between the end of start-up (imports) and the end of the run
            durations.append((max(0.0, wall - json.loads(done.stdout)["seconds"]), wall))
        killed = 0
        for trial in range(trials):
            data = tmp_path / f"crash{trial}"
            if trial % 2:
                shutil.copytree(tmp_path / "base", data)
            low, high = durations[trial % 2]
            proc = subprocess.Popen(
                [RAGCONF, "sync", "--quiet", "--json", *small], env=cli_env(sim, data),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(low, high))
            proc.kill()  # SIGKILL: no cleanup, no finally blocks
            proc.wait(timeout=60)
            killed += proc.returncode == -9
            again = run_sync(sim, data)
            assert again.returncode == 0, again.stderr
    reference = index_of(tmp_path / "clean")
    assert keys_of(reference) == expected_keys(site)
    assert index_of(tmp_path / "incremental") == reference
    for trial in range(trials):
        assert index_of(tmp_path / f"crash{trial}") == reference, f"trial {trial} ({killed=})"


def test_kill_9_mid_sync_then_rerun_equals_a_clean_sync(tmp_path: Path) -> None:
    _kill_trials(tmp_path, trials=2, seed=1)


@pytest.mark.slow
def test_kill_9_ten_times(tmp_path: Path) -> None:
    _kill_trials(tmp_path, trials=10, seed=2)


@pytest.mark.server
def test_two_workers_on_disjoint_spaces_share_one_chroma_server(
    tmp_path: Path, chroma_server: str
) -> None:
    drop(chroma_server)
    site, _ = build_site()
    with SimulatorServer(site) as sim:
        procs = [
            subprocess.Popen(
                [RAGCONF, "sync", "--quiet", "--json", "--space", key],
                env=cli_env(sim, tmp_path / key, RAGCONF_CHROMA_URL=chroma_server),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for key in ("ENG", "OPS")
        ]
        outs = [p.communicate(timeout=600) for p in procs]
        for p, (_out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err
        assert [json.loads(out)["spaces"][0]["key"] for out, _ in outs] == ["ENG", "OPS"]
        try:
            index = index_of(tmp_path / "x", chroma_url=chroma_server)
            assert keys_of(index) == expected_keys(site)
            # a later change in one space is synced by its worker without touching the other
            site.trash(site.space_by_key("OPS").homepage_id)
            again = run_sync(sim, tmp_path / "OPS", "--space", "OPS",
                             RAGCONF_CHROMA_URL=chroma_server)
            assert again.returncode == 0, again.stderr
            assert keys_of(index_of(tmp_path / "x", chroma_url=chroma_server)) == (
                expected_keys(site)
            )
        finally:
            drop(chroma_server)


def drop(chroma_url: str) -> None:
    """Remove the default model's collection from the shared test server."""
    from ragconf.index.store import open_store

    emb = SentenceTransformerEmbedder()
    store = open_store(Path("unused"), chroma_url=chroma_url, model_name=emb.model_name,
                       dimension=emb.dimension)
    store.drop()
    store.close()

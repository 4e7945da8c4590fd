"""Searches during a sync, and two syncs on one data directory.

* While a sync rewrites a document (so that its chunk count changes), searches keep
  answering, in-process and over HTTP, and never show that document half-updated: every
  result for it is built from chunks of one version (the store briefly holds both the
  new chunks and the old ones they replace, and BM25 is rebuilt only at the end).
* A second ``ragconf sync`` on a data directory that a running sync holds exits 9 with a
  clear message, and the first sync's index is intact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragconf.api.app import create_app
from ragconf.api.server import ApiServer
from ragconf.confluence import Confluence
from ragconf.errors import SyncLockedError
from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.store import open_store
from ragconf.search.retrieve import Retriever
from ragconf.settings import Settings
from ragconf.simulator import DEMO_TOKEN, DEMO_USER, Faults, SimulatorServer, Site
from ragconf.sync.engine import Syncer

RAGCONF = str(Path(sys.executable).parent / "ragconf")
QUERY = "zebrafish husbandry protocol"


def section(n: int, marker: str) -> str:
    words = " ".join(f"{marker} zebrafish husbandry protocol step{n} w{j}" for j in range(30))
    return f"<h2>Section {n} {marker}</h2><p>{words}</p>"


def busy_site(sections: int = 3) -> tuple[Site, str, list[str]]:
    """Space A holds the watched page (synced first); space B gives the sync more to do."""
    site = Site()
    site.add_space("AAA", "First")
    site.add_space("BBB", "Second")
    body = "".join(section(n, "oldver") for n in range(sections))
    watched = site.add_page("AAA", "Watched page", body)
    others = [site.add_page("BBB", f"Filler {i}", f"<p>filler text {i} " * 200 + "</p>")
              for i in range(40)]
    return site, watched, others


@pytest.fixture(params=[(3, 8), (8, 3)], ids=["grows", "shrinks"])
def parts(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    before, after = request.param
    site, watched, others = busy_site(before)
    emb = HashEmbedder(64)
    store = open_store(tmp_path, model_name=emb.model_name, dimension=emb.dimension)
    lexical = BM25Index(tmp_path / "bm25")
    with SimulatorServer(site) as sim:
        conf = Confluence(sim.base_url, username=DEMO_USER, token=DEMO_TOKEN)
        syncer = Syncer(conf, store, emb, lexical, state_dir=tmp_path, custom_types=[])
        assert syncer.run().ok
        yield {"site": site, "watched": watched, "others": others, "emb": emb, "sim": sim,
               "sections": after,
               "store": store, "lexical": lexical, "syncer": syncer, "conf": conf}
        conf.close()


def _versions(doc: Any) -> set[int]:
    return {int(h.metadata.get("version", 0)) for h in doc.chunks}


def test_searches_during_a_sync_never_see_a_half_updated_document(
    parts: dict[str, Any]
) -> None:
    site, watched, sim = parts["site"], parts["watched"], parts["sim"]
    # version 2 has another number of chunks and new text; every filler page changes too
    site.edit(watched, body="".join(section(n, "newver") for n in range(parts["sections"])))
    for i, pid in enumerate(parts["others"]):
        site.edit(pid, body=f"<p>filler text {i} revised " * 150 + "</p>")
    # space B's listing is slow: the watched page (space A) is rewritten long before the
    # sync ends and rebuilds BM25, so searches run while both versions are in the index
    bbb = site.space_by_key("BBB").id
    sim.faults = Faults(latency_s=0.4, paths=rf"/spaces/{bbb}/")
    retriever = Retriever(parts["store"], parts["emb"], parts["lexical"])
    app = create_app(Settings(), embedder=parts["emb"], store=parts["store"],
                     lexical=parts["lexical"])
    seen: dict[str, Any] = {"versions": set(), "mixed": [], "errors": [], "searches": 0,
                            "http": 0}
    done = threading.Event()

    def search_in_process() -> None:
        while not done.is_set():
            try:
                res = retriever.search(QUERY, k=5)
            except Exception as exc:  # any error during a sync is a failure
                seen["errors"].append(repr(exc))
                continue
            seen["searches"] += 1
            for doc in res.results:
                if doc.content_id == watched:
                    versions = _versions(doc)
                    seen["versions"] |= versions
                    if len(versions) != 1:
                        seen["mixed"].append(sorted(versions))

    def search_over_http(url: str) -> None:
        with httpx.Client(base_url=url, timeout=30.0) as client:
            while not done.is_set():
                r = client.get("/search", params={"q": QUERY, "k": 5})
                seen["http"] += 1
                if r.status_code != 200:
                    seen["errors"].append(r.text)
                    continue
                for doc in r.json()["results"]:
                    if doc["content_id"] == watched:
                        text = json.dumps(doc)
                        if "oldver" in text and "newver" in text:
                            seen["mixed"].append(["old+new text"])

    with ApiServer(app) as server:
        threads = [threading.Thread(target=search_in_process),
                   threading.Thread(target=search_over_http, args=(server.base_url,))]
        for t in threads:
            t.start()
        try:
            report = parts["syncer"].run()
        finally:
            sim.faults = None
            time.sleep(0.3)  # a few searches after the sync, too
            done.set()
            for t in threads:
                t.join(timeout=60)
    assert report.ok and report.to_dict()["updated"] == 41
    assert not seen["errors"], seen["errors"][:3]
    assert seen["searches"] > 10 and seen["http"] > 10
    assert seen["versions"] == {1, 2}, "the searches did not overlap the rewrite"
    assert not seen["mixed"], seen["mixed"][:5]
    final = retriever.search(QUERY, k=5).results[0]
    assert final.content_id == watched and _versions(final) == {2}
    assert len(parts["store"].ids_for_content([watched])[watched]) == parts["sections"]


def test_a_second_sync_in_process_refuses_while_one_runs(parts: dict[str, Any]) -> None:
    sim, site = parts["sim"], parts["site"]
    site.edit(parts["watched"], body=section(0, "newver"))
    sim.faults = Faults(latency_s=0.5, paths=r"/api/v2/spaces$")
    errors: list[BaseException] = []

    def first() -> None:
        try:
            parts["syncer"].run()
        except BaseException as exc:  # reported below
            errors.append(exc)

    before = sim.request_count
    t = threading.Thread(target=first)
    t.start()
    try:
        deadline = time.monotonic() + 10
        while sim.request_count == before:  # its first request comes after taking the lock
            assert time.monotonic() < deadline, "the first sync never started"
            time.sleep(0.005)
        second = Syncer(parts["conf"], parts["store"], parts["emb"], parts["lexical"],
                        state_dir=parts["syncer"].state_dir, custom_types=[])
        with pytest.raises(SyncLockedError) as info:
            second.run()
        assert "another" in str(info.value).lower()
    finally:
        t.join(timeout=60)
        sim.faults = None
    assert not errors


def cli_env(sim: SimulatorServer, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
    env.update(RAGCONF_CONFLUENCE_URL=sim.base_url, RAGCONF_CONFLUENCE_USERNAME=DEMO_USER,
               RAGCONF_CONFLUENCE_TOKEN=DEMO_TOKEN, RAGCONF_DATA_DIR=str(data),
               RAGCONF_EMBED_MODEL="hash:64", HF_HUB_OFFLINE="1")
    return env


def test_a_second_ragconf_sync_on_the_same_data_dir_exits_9(tmp_path: Path) -> None:
    site, _, _ = busy_site()
    # the space listing answers slowly, so the first sync holds the lock for seconds
    with SimulatorServer(site, faults=Faults(latency_s=6.0, paths=r"/api/v2/spaces$")) as sim:
        data = tmp_path / "data"
        first = subprocess.Popen([RAGCONF, "sync", "--json", "--quiet"], env=cli_env(sim, data),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while sim.request_count == 0:  # it holds the lock before its first request
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        second = subprocess.run([RAGCONF, "sync", "--json", "--quiet"], env=cli_env(sim, data),
                                capture_output=True, text=True, timeout=120)
        out, err = first.communicate(timeout=300)
    assert second.returncode == 9, second.stderr
    assert "another" in second.stderr and "sync" in second.stderr
    assert str(first.pid) in second.stderr  # it names the holder
    assert first.returncode == 0, err
    assert json.loads(out)["added"] == 43  # two home pages + the watched page + 40 fillers

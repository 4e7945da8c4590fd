"""One file attached to several pages is one search result that lists every place.

Issue 12, item 20: the same file on two pages filled ranks 2 and 3. The simulator serves
the pages and files, the sync indexes them (HashEmbedder), and the real API answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragconf.api.app import create_app
from ragconf.confluence import Confluence
from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.store import open_store
from ragconf.search.retrieve import Retriever
from ragconf.settings import Settings
from ragconf.simulator import DEMO_TOKEN, DEMO_USER, SimulatorServer, Site
from ragconf.sync.engine import Syncer

HANDBOOK = (b"Expense policy handbook. Travel costs are reimbursed within thirty days. "
            b"Receipts must be uploaded to the finance portal before the claim is filed.")
# same name, same size, different words: a different file that must stay its own result
OTHER = HANDBOOK.replace(b"thirty", b"twenty").replace(b"finance", b"payment")


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    site = Site()
    site.add_space("HR", "People")
    site.add_space("FIN", "Finance")
    travel = site.add_page("HR", "Travel policy", "<p>How we travel.</p>")
    claims = site.add_page("FIN", "Expense claims", "<p>How claims work.</p>")
    archive = site.add_page("FIN", "Old policies", "<p>Superseded documents.</p>")
    ids = {
        "hr": site.add_attachment(travel, "handbook.txt", HANDBOOK, "text/plain"),
        "fin": site.add_attachment(claims, "handbook.txt", HANDBOOK, "text/plain",
                                   comment="copy for finance"),
        "other": site.add_attachment(archive, "handbook.txt", OTHER, "text/plain"),
    }
    for i in range(6):
        site.add_page("HR", f"Team lunch {i}", f"<p>Lunch menu number {i}: soup and bread.</p>")
    data = tmp_path_factory.mktemp("dups")
    emb = HashEmbedder(64)
    store = open_store(data, model_name=emb.model_name, dimension=emb.dimension)
    lexical = BM25Index(data / "bm25")
    with SimulatorServer(site) as sim, Confluence(
        sim.base_url, username=DEMO_USER, token=DEMO_TOKEN
    ) as conf:
        assert Syncer(conf, store, emb, lexical, state_dir=data, custom_types=[]).run().ok
    yield {"ids": ids, "emb": emb, "store": store, "lexical": lexical}


def test_identical_attachments_are_one_result_listing_both_places(
    indexed: dict[str, Any],
) -> None:
    ids = indexed["ids"]
    retriever = Retriever(indexed["store"], indexed["emb"], indexed["lexical"])
    for mode in ("hybrid", "bm25", "dense"):
        res = retriever.search("expense handbook receipts reimbursed", k=6, mode=mode)
        shown = [d.content_id for d in res.results if d.content_type == "attachment"]
        assert (ids["hr"] in shown) != (ids["fin"] in shown), (mode, shown)  # exactly one
        assert ids["other"] in shown, (mode, shown)  # same name and size, other content
        merged = next(d for d in res.results if d.content_id in (ids["hr"], ids["fin"]))
        places = {p["content_id"]: p for p in merged.places}
        assert set(places) == {ids["hr"], ids["fin"]}
        assert merged.places[0]["content_id"] == merged.content_id  # its own place first
        assert {p["attached_to"] for p in places.values()} == {"Travel policy", "Expense claims"}
        assert not next(d for d in res.results if d.content_id == ids["other"]).places
        if mode != "bm25":  # (bm25 matches fewer than k documents here)
            assert len(res.results) == 6  # k documents survive the merge


def test_the_api_lists_the_places(indexed: dict[str, Any]) -> None:
    app = create_app(Settings(), embedder=indexed["emb"], store=indexed["store"],
                     lexical=indexed["lexical"])
    with TestClient(app) as client:
        body = client.get("/search", params={"q": "expense handbook reimbursed", "k": 5}).json()
    ids = indexed["ids"]
    merged = [r for r in body["results"] if r["content_id"] in (ids["hr"], ids["fin"])]
    assert len(merged) == 1
    assert {p["content_id"] for p in merged[0]["places"]} == {ids["hr"], ids["fin"]}
    urls = [p["url"] for p in merged[0]["places"]]
    assert all(urls) and len(set(urls)) == 2  # each copy links to its own place
    plain = [r for r in body["results"] if r["content_type"] == "page"]
    assert plain and all("places" not in r for r in plain)  # the usual fields only


def test_nothing_to_merge_changes_nothing(tmp_path: Path, indexed: dict[str, Any]) -> None:
    retriever = Retriever(indexed["store"], indexed["emb"], indexed["lexical"])
    res = retriever.search("travel policy", k=3)
    assert len(res.results) == 3
    assert not any(d.places for d in res.results if d.content_type == "page")


def test_the_sync_stores_each_files_fingerprint(indexed: dict[str, Any]) -> None:
    # search merges on this stored digest instead of reading chunks on every query
    ids = indexed["ids"]
    store = indexed["store"]
    want = {ids["hr"]: hashlib.sha256(HANDBOOK).hexdigest(),
            ids["fin"]: hashlib.sha256(HANDBOOK).hexdigest(),
            ids["other"]: hashlib.sha256(OTHER).hexdigest()}
    found = store.ids_for_content(list(want))
    for content_id, digest in want.items():
        chunks = store.get(found[content_id])
        assert chunks and {c.metadata["content_sha256"] for c in chunks} == {digest}

"""End to end: demo site in the simulator -> real sync with the real model -> real API server.

One sync of the demo corpus (bundled all-MiniLM-L6-v2, embedded Chroma, BM25) feeds a
uvicorn server started from ``create_app(settings)`` alone, so the lifespan's own loading
path (model, store and BM25 from the data dir) is what answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragconf.api.app import create_app
from ragconf.api.server import ApiServer
from ragconf.settings import Settings

PHRASE = "Promote the replica with the least replication lag using patronictl"
FAILOVER_PAGE = "65570"  # "Runbook: Postgres failover" in the OPS space of demo_site()
BROAD = "failover replica incident on-call kafka onboarding laptop holidays calendar policy"


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from ragconf.confluence import Confluence
    from ragconf.index.embed import SentenceTransformerEmbedder
    from ragconf.index.lexical_sqlite import SqliteLexicalIndex, lexical_db_path
    from ragconf.index.store import open_store
    from ragconf.simulator import DEMO_TOKEN, DEMO_USER, SimulatorServer, demo_site
    from ragconf.sync.engine import Syncer

    data_dir = tmp_path_factory.mktemp("e2e")
    site = demo_site()
    emb = SentenceTransformerEmbedder(query_backend="torch")
    store = open_store(data_dir, model_name=emb.model_name, dimension=emb.dimension)
    lexical = SqliteLexicalIndex(lexical_db_path(data_dir, None, emb.model_name))
    with SimulatorServer(site) as sim:
        with Confluence(sim.api_url, username=DEMO_USER, token=DEMO_TOKEN) as conf:
            report = Syncer(conf, store, emb, lexical, state_dir=data_dir / "state").run()
        assert not report.to_dict()["failed"]
        yield {"site": site, "data_dir": data_dir, "base": sim.base_url, "embedder": emb,
               "store": store, "lexical": lexical}  # fmt: skip


@pytest.fixture(scope="module")
def api(synced: dict[str, Any]) -> Iterator[httpx.Client]:
    settings = Settings(data_dir=synced["data_dir"])
    with (
        ApiServer(create_app(settings)) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as client,
    ):
        assert client.get("/readyz").json()["ready"] is True
        yield client


def _search(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()["results"]  # type: ignore[no-any-return]


def test_a_phrase_from_a_page_finds_that_page_first(
    api: httpx.Client, synced: dict[str, Any]
) -> None:
    top = _search(api, q=PHRASE, k=5)[0]
    assert (top["content_type"], top["content_id"]) == ("page", FAILOVER_PAGE)
    assert top["title"] == "Runbook: Postgres failover" and top["space_key"] == "OPS"
    assert top["url"].startswith(synced["base"] + "/wiki/spaces/OPS/pages/65570")
    # the phrase sits under the "Diagnose and fix" heading: the link goes straight there
    assert top["anchor_url"].startswith(top["url"] + "#")
    assert "Diagnose" in top["anchor_url"]
    assert "**replica**" in top["snippet"] and "replica" in top["snippet_plain"]
    for mode in ("dense", "bm25"):
        # each leg alone also ranks the failover checklist attachment (same steps) highly
        assert FAILOVER_PAGE in [d["content_id"] for d in _search(api, q=PHRASE, k=3, mode=mode)]


def test_space_filter_narrows(api: httpx.Client, synced: dict[str, Any]) -> None:
    site = synced["site"]
    everything = _search(api, q=BROAD, k=50)
    assert len({d["space_key"] for d in everything}) >= 3
    for key in ("HR", "OPS"):
        results = _search(api, q=BROAD, k=50, space=key)
        assert results and {d["space_key"] for d in results} == {key}
        for d in results:  # the simulator (the oracle) agrees about where each item lives
            if d["content_type"] in ("page", "blogpost"):
                assert site.spaces[site.content(d["content_id"]).space_id].key == key
    two = _search(api, q=BROAD, k=50, space="HR,OPS")
    assert {d["space_key"] for d in two} == {"HR", "OPS"}


def test_label_filter_narrows(api: httpx.Client) -> None:
    results = _search(api, q=BROAD, k=50, label="runbook")
    assert results and all("runbook" in d["labels"] for d in results)
    everything = _search(api, q=BROAD, k=50)
    assert any("runbook" not in d["labels"] for d in everything)


def test_type_filter_narrows(api: httpx.Client) -> None:
    everything = _search(api, q=BROAD, k=100)
    assert len({d["content_type"] for d in everything}) >= 3
    for ctype in ("blogpost", "attachment", "custom_content", "page"):
        results = _search(api, q=BROAD, k=50, type=ctype)
        assert results and {d["content_type"] for d in results} == {ctype}


def test_updated_after_filter_narrows(api: httpx.Client) -> None:
    everything = _search(api, q=BROAD, k=100)
    stamps = sorted(datetime.fromisoformat(d["updated_at"].replace("Z", "+00:00"))
                    for d in everything if d["updated_at"])  # fmt: skip
    cut = stamps[len(stamps) // 2]
    results = _search(api, q=BROAD, k=100, updated_after=cut.astimezone(UTC).isoformat())
    assert results and len(results) < len(everything)
    for d in results:
        assert datetime.fromisoformat(d["updated_at"].replace("Z", "+00:00")) >= cut


def test_context_cites_only_returned_documents_within_budget(
    api: httpx.Client, synced: dict[str, Any]
) -> None:
    from ragconf.index.embed import load_token_counter

    query = "what do I do when the ledger database primary is down?"
    returned = {d["content_id"] for d in _search(api, q=query, k=5)}
    for budget in (64, 300):
        r = api.post("/context", json={"query": query, "k": 5, "max_tokens": budget})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["citations"], body
        assert {c["content_id"] for c in body["citations"]} <= returned
        assert [c["n"] for c in body["citations"]] == list(range(1, len(body["citations"]) + 1))
        assert body["tokens"] == load_token_counter(None)(body["context"]) <= budget
        assert body["tokenizer"] == synced["embedder"].model_name
        for c in body["citations"]:
            assert f"[{c['n']}] {c['title']} — {c['url']}" in body["context"]
    assert FAILOVER_PAGE in {c["content_id"] for c in body["citations"]}


def test_context_keeps_the_answering_sentence_under_a_small_budget(api: httpx.Client) -> None:
    # packed in page order, 200 tokens lost this sentence and made "4." a sentence of its own
    r = api.post("/context", json={"query": "how do we roll back a release?", "max_tokens": 200})
    assert r.status_code == 200, r.text
    context = r.json()["context"]
    assert "Rollback with argocd app rollback <app> <revision>" in context
    assert not re.search(r"^\d+\.$", context, flags=re.M)


def test_a_compound_the_query_splits_finds_the_page_that_joins_it(api: httpx.Client) -> None:
    # "roll back" / "Rollback": before, the failover checklist ("deploy", "roll") came first
    top = _search(api, q="how do I roll back a deploy", k=3)[0]
    assert top["title"] == "Branching and release process", top["title"]


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/search", {"q": "x", "k": 0}),
        ("GET", "/search", {"q": "x", "k": 101}),
        ("GET", "/search", {"q": ""}),
        ("GET", "/search", {"q": "y" * 2001}),
        ("GET", "/search", {"q": "x", "type": "folder"}),
        ("GET", "/search", {"q": "x", "updated_after": "yesterday"}),
        ("POST", "/search", {"q": "x", "k": -1}),
        ("POST", "/context", {"query": "x", "max_tokens": 1}),
    ],
)
def test_bad_parameters_get_4xx_json(
    api: httpx.Client, method: str, path: str, payload: dict[str, Any]
) -> None:
    r = api.get(path, params=payload) if method == "GET" else api.post(path, json=payload)
    assert 400 <= r.status_code < 500
    assert r.json()["error"] and r.json()["message"]


def test_api_keys_guard_the_server(synced: dict[str, Any], tmp_path: Path) -> None:
    settings = Settings(data_dir=synced["data_dir"], api_keys=["e2e-key-123456"])
    app = create_app(
        settings, embedder=synced["embedder"], store=synced["store"], lexical=synced["lexical"]
    )
    with ApiServer(app) as server, httpx.Client(base_url=server.base_url) as client:
        r = client.get("/search", params={"q": PHRASE})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        ok = client.get(
            "/search", params={"q": PHRASE}, headers={"Authorization": "Bearer e2e-key-123456"}
        )
        assert ok.status_code == 200 and ok.json()["results"][0]["content_id"] == FAILOVER_PAGE
        assert client.get("/healthz").status_code == 200


def test_cli_search_prints_the_api_fields_and_a_table(
    api: httpx.Client, synced: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from ragconf.cli import app

    monkeypatch.setenv("RAGCONF_DATA_DIR", str(synced["data_dir"]))
    runner = CliRunner()
    result = runner.invoke(app, ["search", PHRASE, "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    api_results = _search(api, q=PHRASE, k=3)
    assert body["results"][0]["content_id"] == FAILOVER_PAGE
    assert [set(d) for d in body["results"]] == [set(d) for d in api_results]
    assert [d["content_id"] for d in body["results"]] == [d["content_id"] for d in api_results]
    table = runner.invoke(app, ["search", PHRASE, "-k", "3", "--space", "OPS"])
    assert table.exit_code == 0
    assert "Runbook: Postgres failover" in table.stdout and "OPS" in table.stdout


def test_cli_search_rejects_bad_input_with_exit_code_2(synced: dict[str, Any]) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "RAGCONF_DATA_DIR": str(synced["data_dir"])}
    code = "from ragconf.cli import main; main()"
    for args in (["search", "x", "--type", "folder"], ["search", "x", "-k", "0"], ["search", " "]):
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        assert "Error:" in proc.stderr
    # a space the index does not hold: named, with the ones it does, instead of "no results"
    proc = subprocess.run(
        [sys.executable, "-c", code, "search", PHRASE, "--space", "OPS", "--space", "NOPE"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr  # OPS answers: the other key is not an error
    proc = subprocess.run(
        [sys.executable, "-c", code, "search", PHRASE, "--space", "NOPE", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "no space NOPE" in proc.stderr and "OPS" in proc.stderr and not proc.stdout


# -- comments and folders (the real model on the demo corpus) -------------------------------

#: (a question in other words, a phrase only the comment has, how the comment is headed)
COMMENT_QUESTIONS = [
    ("How long do we keep the ledger database backups since the audit?",
     "raised the retention of ledger-db backups", "Comment by "),
    ("When should the ledger archive move to weekly partitions?",
     "switch to weekly partitions", "Inline comment by "),
    ("Who is responsible for migrating the archive partitions, and by when?",
     "Priya owns the partition migration", "Reply by "),
]  # fmt: skip


@pytest.mark.parametrize(("question", "phrase", "heading"), COMMENT_QUESTIONS)
def test_a_fact_only_in_a_comment_finds_its_page_with_the_comment_link(
    api: httpx.Client, synced: dict[str, Any], question: str, phrase: str, heading: str
) -> None:
    site = synced["site"]
    comment = next(c for c in site.comments.values() if phrase in c.body)
    page = site.content(comment.container_id)
    assert phrase not in page.body  # the page itself does not say it
    top3 = _search(api, q=question, k=3)
    found = [d for d in top3 if d["content_id"] == page.id]
    assert found, [d["title"] for d in top3]
    doc = found[0]
    anchor = f"{doc['url']}?focusedCommentId={comment.id}"
    links = {doc["anchor_url"]: doc["breadcrumbs"][-1]}
    links |= {s["anchor_url"]: s["heading_path"] for s in doc["sections"]}
    assert anchor in links and links[anchor].startswith(heading), links


def test_folders_in_breadcrumbs_and_the_ancestor_filter(
    api: httpx.Client, synced: dict[str, Any]
) -> None:
    site = synced["site"]
    folder = {n.title: n.id for n in site.nodes.values() if n.kind == "folder"}
    hits = _search(api, q="ledger archival design review", k=10, ancestor=folder["2026"])
    assert [d["title"] for d in hits] == ["Design review: ledger archival"]
    assert hits[0]["breadcrumbs"][1:4] == ["Engineering Home", "Design reviews", "2026"]
    under = _search(api, q="design review", k=20, ancestor=folder["Design reviews"])
    assert {d["title"] for d in under} == {"Design review checklist",
                                           "Design review: ledger archival"}  # fmt: skip
    posted = api.post("/search", json={"q": "design review", "k": 20,
                                       "ancestor": [folder["Design reviews"]]})  # fmt: skip
    assert [d["content_id"] for d in posted.json()["results"]] == [d["content_id"] for d in under]

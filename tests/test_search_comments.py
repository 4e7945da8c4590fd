"""Comments and the content tree in search: the demo site synced by the real CLI
(``ragconf sync --json``, HashEmbedder), searched through the real API (TestClient, lifespan
included) and ``ragconf search``. The simulator is the oracle for who wrote what where.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ragconf.api.app import create_app
from ragconf.cli import app as cli_app
from ragconf.errors import InvalidQueryError
from ragconf.settings import Settings
from ragconf.simulator import DEMO_TOKEN, DEMO_USER, SimulatorServer, Site, demo_site

MODEL = "hash:128"


@dataclass
class Synced:
    site: Site
    sim: SimulatorServer
    data: Path
    env: dict[str, str]
    report: dict[str, Any]

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(cli_app, list(args), env=self.env)

    def client(self) -> TestClient:
        settings = Settings(data_dir=self.data, embed_model=MODEL)
        return TestClient(create_app(settings), raise_server_exceptions=False)


def _start(site: Site, data: Path) -> Iterator[Synced]:
    with SimulatorServer(site) as sim:
        env = {
            "RAGCONF_CONFLUENCE_URL": sim.base_url,
            "RAGCONF_CONFLUENCE_USERNAME": DEMO_USER,
            "RAGCONF_CONFLUENCE_TOKEN": DEMO_TOKEN,
            "RAGCONF_DATA_DIR": str(data),
            "RAGCONF_EMBED_MODEL": MODEL,
        }
        synced = Synced(site, sim, data, env, {})
        result = synced.cli("sync", "--json", "--quiet")
        assert result.exit_code == 0, result.output
        synced.report = json.loads(result.stdout)
        yield synced


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    yield from _start(demo_site(), tmp_path_factory.mktemp("comments"))


@pytest.fixture(scope="module")
def api(synced: Synced) -> Iterator[TestClient]:
    with synced.client() as client:
        yield client


def comment_with(site: Site, text: str) -> str:
    return next(c.id for c in site.comments.values() if text in c.body)


def node(site: Site, title: str) -> str:
    return next(n.id for n in site.nodes.values() if n.title == title)


def below(site: Site, content_id: str, node_id: str) -> bool:
    """Oracle: is a page (or the container of an attachment/custom content) below node?"""
    if content_id in site.attachments:
        content_id = site.attachments[content_id].container_id
    if content_id in site.custom_content:  # a custom content's parent is its container
        content_id = site.custom_content[content_id].parent_id or ""
    if site.tree_item(content_id) is None:
        return False
    chain = [i for i, _ in site.expected_ancestors(DEMO_USER, content_id)]
    return node_id in chain


def search(api: TestClient, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()["results"]  # type: ignore[no-any-return]


# -- a hit in a comment is its page --------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "fact", "heading"),
    [
        ("ledger-db backups retention raised to 400 days audit requirement",
         "raised the retention of ledger-db backups", "Comment by Priya Raman"),
        ("switch to weekly partitions once volume passes 50 million rows",
         "weekly partitions", "Inline comment by Aiko Tanaka"),
        ("who owns the partition migration, target end of June",
         "Priya owns the partition migration", "Reply by Tom Becker"),
    ],
)  # fmt: skip
def test_a_hit_in_a_comment_shows_its_page_with_the_comments_link(
    api: TestClient, synced: Synced, question: str, fact: str, heading: str
) -> None:
    site = synced.site
    comment = site.comments[comment_with(site, fact)]
    assert fact not in site.content(comment.container_id).body  # only the comment says it
    results = search(api, q=question, k=3)
    mine = [r for r in results if r["content_id"] == comment.container_id]
    assert mine, [r["title"] for r in results]
    top = mine[0]
    assert top["content_type"] == "page" and top["title"] == site.content(
        comment.container_id
    ).title
    anchor = f"{top['url']}?focusedCommentId={comment.id}"
    links = {top["anchor_url"]: top["breadcrumbs"][-1]}
    links |= {s["anchor_url"]: s["heading_path"] for s in top["sections"]}
    assert anchor in links, links
    assert links[anchor].startswith(heading)  # who commented, and when
    assert links[anchor][-10:-4] == "2026-0"
    # a result is one document: the comment did not become a result of its own
    assert len({r["content_id"] for r in results}) == len(results)
    assert all(r["content_type"] != "comment" for r in results)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
@pytest.mark.parametrize("space", [None, "ENG"])
def test_every_leg_groups_comments_under_their_container(
    api: TestClient, synced: Synced, mode: str, space: str | None
) -> None:
    """Dense hits arrive bare (chunk ids only): a comment's must still count for its page."""
    site = synced.site
    query = "decision review partitions retention glacier calendar swap approved"
    params: dict[str, Any] = {"q": query, "k": 50, "mode": mode}
    if space:
        params["space"] = space
    results = search(api, **params)
    assert results and all(r["content_type"] != "comment" for r in results)
    assert len({(r["content_type"], r["content_id"]) for r in results}) == len(results)
    via_comment = 0
    for r in results:
        for link in [r["anchor_url"], *(s["anchor_url"] for s in r["sections"])]:
            if "focusedCommentId=" in link:
                cid = link.rsplit("=", 1)[1]
                assert site.comments[cid].container_id == r["content_id"]
                assert link == f"{r['url']}?focusedCommentId={cid}" or "&" in r["url"]
                via_comment += 1
    assert via_comment >= 2, mode


def test_type_comment_finds_pages_through_their_comments(api: TestClient) -> None:
    only = search(api, q="partitions retention decision glacier", k=10, type="comment")
    assert only and all("focusedCommentId=" in r["anchor_url"] for r in only)
    pages = search(api, q="partitions retention decision glacier", k=10, type="page")
    assert pages and not any("focusedCommentId=" in r["anchor_url"] for r in pages)
    for r in pages:
        assert all("focusedCommentId=" not in s["anchor_url"] for s in r["sections"])


# -- the content tree: breadcrumbs and the ancestor filter ---------------------------------


def test_breadcrumbs_run_through_both_folders(api: TestClient, synced: Synced) -> None:
    top = search(api, q="ledger archival cold storage Parquet partitions", k=3)[0]
    assert top["title"] == "Design review: ledger archival"
    assert top["breadcrumbs"][:4] == ["Engineering", "Engineering Home", "Design reviews", "2026"]


def test_ancestor_filter_returns_only_content_below_a_folder(
    api: TestClient, synced: Synced
) -> None:
    site = synced.site
    reviews = node(site, "Design reviews")
    query = "design review checklist ledger archival partitions"
    everything = search(api, q=query, k=30)
    assert any(not below(site, r["content_id"], reviews) for r in everything)
    got = search(api, q=query, k=30, ancestor=reviews)
    titles = {r["title"] for r in got}
    assert {"Design review checklist", "Design review: ledger archival"} <= titles
    assert all(below(site, r["content_id"], reviews) for r in got), titles
    posted = api.post("/search", json={"q": query, "k": 30, "ancestor": [reviews]}).json()
    assert [r["content_id"] for r in posted["results"]] == [r["content_id"] for r in got]
    # the inner folder holds one page only
    inner = search(api, q=query, k=30, ancestor=node(site, "2026"))
    assert [r["title"] for r in inner] == ["Design review: ledger archival"]
    ctx = api.post("/context", json={"query": query, "k": 10, "ancestor": reviews}).json()
    assert ctx["citations"] and all(
        below(site, c["content_id"], reviews) for c in ctx["citations"]
    )


def test_ancestor_takes_pages_and_other_nodes_and_several_ids(
    api: TestClient, synced: Synced
) -> None:
    site = synced.site
    board, base = node(site, "Incident response flow"), node(site, "Hiring pipeline tracker")
    got = search(api, q="checklist incident commander hiring tracker", k=20,
                 ancestor=f"{board},{base}")  # fmt: skip
    assert {r["title"] for r in got} == {"Incident commander checklist",
                                         "Hiring tracker field guide"}  # fmt: skip
    home = site.space_by_key("OPS").homepage_id
    under_home = search(api, q="runbook failover backup", k=30, ancestor=home)
    assert under_home and all(below(site, r["content_id"], home) for r in under_home)
    assert home not in {r["content_id"] for r in under_home}  # a page is not below itself


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/search", {"q": "x", "ancestor": "abc"}),
        ("POST", "/search", {"q": "x", "ancestor": ["65541 OR 1=1"]}),
        ("POST", "/context", {"query": "x", "ancestor": "-1"}),
    ],
)
def test_a_bad_ancestor_is_a_clear_422(
    api: TestClient, method: str, path: str, payload: dict[str, Any]
) -> None:
    r = api.get(path, params=payload) if method == "GET" else api.post(path, json=payload)
    assert r.status_code == 422
    assert "ancestor" in r.text and "page or folder id" in r.text


def test_cli_search_ancestor(synced: Synced) -> None:
    site = synced.site
    reviews = node(site, "Design reviews")
    result = synced.cli("search", "design review ledger", "--ancestor", reviews, "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)["results"]
    assert found and all(below(site, r["content_id"], reviews) for r in found)
    bad = synced.cli("search", "design review", "--ancestor", "reviews")
    # main() turns the error into "Error: …" and this exit code
    assert isinstance(bad.exception, InvalidQueryError) and bad.exception.exit_code == 2
    assert "page or folder id" in str(bad.exception)


# -- edits and deletions, as `ragconf sync --json` reports them -----------------------------


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Synced]:
    yield from _start(demo_site(), tmp_path / "data")


def test_sync_json_counts_the_edited_comment_and_a_deletion_empties_the_index_of_it(
    fresh: Synced,
) -> None:
    site = fresh.site
    assert fresh.report["failed"] == [] and fresh.report["added"] > 100
    retention = comment_with(site, "raised the retention of ledger-db backups")
    site.edit_comment(retention, "<p>After the review we raised the retention of ledger-db "
                      "backups to 400 days; the cost review in May confirmed it.</p>")  # fmt: skip
    edited = json.loads(fresh.cli("sync", "--json", "--quiet").stdout)
    with fresh.client() as api:
        stored = api.app.state.services.store  # type: ignore[attr-defined]
        own = stored.manifest()[f"comment:{retention}"]["chunk_ids"]
        assert edited["updated"] == 1 and edited["chunks_embedded"] == len(own) >= 1
        assert "cost review in May" in stored.get(own)[0].text
    site.delete_comment(retention)  # its reply goes with it
    deleted = json.loads(fresh.cli("sync", "--json", "--quiet").stdout)
    assert deleted["documents_deleted"] == 2 and deleted["chunks_embedded"] == 0
    with fresh.client() as api:
        results = search(api, q="cost review in May confirmed retention 400 days", k=10)
        stored = api.app.state.services.store  # type: ignore[attr-defined]
        assert not [c for c in stored.iter_all() if "400 days" in c.text]
    for r in results:
        links = [r["anchor_url"], *(s["anchor_url"] for s in r["sections"])]
        assert not [u for u in links if u.endswith(f"focusedCommentId={retention}")]

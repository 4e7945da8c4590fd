"""The content tree over real HTTP: folders, whiteboards, databases and embeds as parents
of pages; ancestors, direct children and descendants through all of them, against the
oracle; moves, restrictions and trash that carry subtrees; custom content children."""

from __future__ import annotations

import httpx
import pytest

from ragconf.simulator import (
    CALENDAR_TYPE,
    DEMO_USER,
    GUEST_TOKEN,
    GUEST_USER,
    HR_USER,
    SimulatorServer,
    Site,
)
from tests.fixtures.simulator import ids, walk

NODE_ROUTES = {"folder": "folders", "whiteboard": "whiteboards", "database": "databases",
               "embed": "embeds"}


def _page(site: Site, title: str) -> str:
    return next(p.id for p in site.pages.values() if p.title == title)


def _node(site: Site, title: str) -> str:
    return next(n.id for n in site.nodes.values() if n.title == title)


def _route(site: Site, item_id: str) -> str:
    return "pages" if item_id in site.pages else NODE_ROUTES[site.nodes[item_id].kind]


def test_a_page_two_folders_deep(sim_client: httpx.Client, simulator: SimulatorServer) -> None:
    site = simulator.site
    archival = _page(site, "Design review: ledger archival")
    reviews, year = _node(site, "Design reviews"), _node(site, "2026")
    home = site.space_by_key("ENG").homepage_id
    page = sim_client.get(f"pages/{archival}").json()
    assert (page["parentId"], page["parentType"]) == (year, "folder")
    chain = sim_client.get(f"pages/{archival}/ancestors").json()["results"]
    assert chain == [{"id": home, "type": "page"}, {"id": reviews, "type": "folder"},
                     {"id": year, "type": "folder"}]
    assert [(c["id"], c["type"]) for c in chain] == site.expected_ancestors(DEMO_USER, archival)
    assert sim_client.get(f"pages/{archival}/ancestors",
                          params={"limit": 1}).json()["results"] == chain[-1:]
    folder = sim_client.get(f"folders/{year}").json()
    assert folder | {"createdAt": "", "version": {}, "_links": {}} == {
        "id": year, "type": "folder", "status": "current", "title": "2026",
        "parentId": reviews, "parentType": "folder", "position": folder["position"],
        "authorId": site.nodes[year].author_id, "ownerId": site.nodes[year].author_id,
        "createdAt": "", "spaceId": site.space_by_key("ENG").id, "version": {}, "_links": {}}
    assert folder["_links"]["webui"] == f"/spaces/ENG/folder/{year}"
    assert sim_client.get(f"folders/{year}/ancestors").json() == {"results": chain[:2]}
    kids = walk(simulator, f"folders/{reviews}/direct-children", {"limit": 1})
    assert [(k["id"], k["type"]) for k in kids] == site.expected_children(DEMO_USER, reviews)
    assert {k["type"] for k in kids} == {"page", "folder"}
    # a folder is not a whiteboard: each route answers only its own kind
    assert sim_client.get(f"whiteboards/{year}").status_code == 404
    assert sim_client.get(f"folders/{archival}").status_code == 404


def _expected_descendants(site: Site, root: str, depth: int) -> list[tuple[str, int, str]]:
    out, frontier = [], [root]
    for level in range(1, depth + 1):
        below = []
        for parent in frontier:
            for kid, _kind in site.expected_children(DEMO_USER, parent):
                out.append((kid, level, parent))
                below.append(kid)
        frontier = below
    return out


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_descendants_run_through_every_node_type(simulator: SimulatorServer,
                                                 depth: int) -> None:
    site = simulator.site
    for key in ("ENG", "OPS", "HR"):
        home = site.space_by_key(key).homepage_id
        assert home is not None
        got = walk(simulator, f"pages/{home}/descendants", {"depth": depth, "limit": 3})
        assert [(d["id"], d["depth"], d["parentId"]) for d in got] == (
            _expected_descendants(site, home, depth))
        for d in got:
            assert d["type"] == site.tree_type(d["id"])
    everything = walk(simulator, f"pages/{site.space_by_key('ENG').homepage_id}/descendants",
                      {"depth": 10})
    assert {"page", "folder", "embed"} <= {d["type"] for d in everything}


def test_whiteboards_databases_and_embeds_hold_pages(sim_client: httpx.Client,
                                                     simulator: SimulatorServer) -> None:
    site = simulator.site
    for title, kind, child in (("Incident response flow", "whiteboard",
                                "Incident commander checklist"),
                               ("Hiring pipeline tracker", "database",
                                "Hiring tracker field guide")):
        node = _node(site, title)
        got = sim_client.get(f"{NODE_ROUTES[kind]}/{node}").json()
        assert got["type"] == kind and got["_links"]["base"].endswith("/wiki")
        kids = sim_client.get(f"{NODE_ROUTES[kind]}/{node}/direct-children").json()["results"]
        assert [(k["title"], k["type"]) for k in kids] == [(child, "page")]
        page = sim_client.get(f"pages/{_page(site, child)}").json()
        assert (page["parentId"], page["parentType"]) == (node, kind)
        below = sim_client.get(f"{NODE_ROUTES[kind]}/{node}/descendants").json()["results"]
        assert [d["depth"] for d in below] == [1]
    embed = sim_client.get(f"embeds/{_node(site, 'Ledger Grafana dashboard')}").json()
    assert embed["embedUrl"].startswith("https://grafana.") and embed["parentType"] == "page"
    # the HR database is invisible to the guest, like anything in HR
    tracker = _node(site, "Hiring pipeline tracker")
    with httpx.Client(base_url=simulator.api_url, auth=(GUEST_USER, GUEST_TOKEN)) as guest:
        assert guest.get(f"databases/{tracker}").status_code == 404
        assert guest.get(f"databases/{tracker}/direct-children").status_code == 404
    assert tracker not in site.visible_ids(GUEST_USER, "databases")
    assert site.visible_ids(HR_USER, "databases") == [tracker]


def test_deprecated_children_lists_pages_only(sim_client: httpx.Client,
                                              simulator: SimulatorServer) -> None:
    site = simulator.site
    home = site.space_by_key("ENG").homepage_id
    typed = walk(simulator, f"pages/{home}/direct-children")
    pages_only = walk(simulator, f"pages/{home}/children")
    assert [c["id"] for c in pages_only] == [c["id"] for c in typed if c["type"] == "page"]
    assert any(c["type"] == "folder" for c in typed)
    assert all("type" not in c for c in pages_only)


def test_moves_restrictions_and_trash_carry_subtrees(simulator: SimulatorServer) -> None:
    site = simulator.site
    admin = httpx.Client(base_url=simulator.base_url + "/_admin")
    guest = httpx.Client(base_url=simulator.api_url, auth=(GUEST_USER, GUEST_TOKEN))
    with admin, guest:
        folder = admin.post("/add_folder", json={"space_key": "OPS", "title": "Archive"}).json()
        inner = admin.post("/add_node", json={"kind": "folder", "space_key": "OPS",
                                              "title": "Old runbooks",
                                              "parent_id": folder["id"]}).json()
        runbook = _page(site, "Runbook: Disk pressure on build agents")
        before = site.pages[runbook].version
        assert admin.post("/move", json={"content_id": runbook,
                                         "parent_id": inner["id"]}).json()["ok"]
        assert site.pages[runbook].version == before  # a move is not an edit
        chain = guest.get(f"pages/{runbook}/ancestors").json()["results"]
        assert [c["id"] for c in chain] == [folder["id"], inner["id"]]
        assert [(c["id"], c["type"]) for c in chain] == site.expected_ancestors(
            GUEST_USER, runbook)
        # a restriction on the outer folder hides everything under it
        assert admin.post("/restrict", json={"content_id": folder["id"],
                                             "allowed": [DEMO_USER]}).json()["ok"]
        assert guest.get(f"pages/{runbook}").status_code == 404
        assert guest.get(f"folders/{inner['id']}").status_code == 404
        assert runbook not in site.visible_ids(GUEST_USER, "pages")
        with pytest.raises(KeyError):
            site.expected_ancestors(GUEST_USER, runbook)
        site.restrict(folder["id"], None)
        # trashing a folder lifts its children one level, as for pages
        site.trash(inner["id"])
        assert site.pages[runbook].parent_id == folder["id"]
        assert guest.get(f"folders/{inner['id']}").json()["status"] == "trashed"
        assert inner["id"] not in ids(walk(simulator, f"folders/{folder['id']}/direct-children",
                                           {}, GUEST_USER))
        # bad requests are told apart from unknown ids
        assert admin.post("/add_node", json={"kind": "shelf", "space_key": "OPS",
                                             "title": "x"}).status_code == 400
        assert admin.post("/add_embed", json={"space_key": "OPS", "title": "x"}).status_code \
            == 400
        assert admin.post("/move", json={"content_id": runbook,
                                         "parent_id": "4242"}).status_code == 404
        assert admin.post("/move", json={"content_id": folder["id"],
                                         "parent_id": runbook}).status_code == 400  # a cycle
        # moving a folder to another space takes its pages along
        site.move(folder["id"], space_key="ENG")
        assert site.pages[runbook].space_id == site.space_by_key("ENG").id
        site.purge(folder["id"])
        assert site.pages[runbook].parent_id is None
        assert guest.get(f"folders/{folder['id']}").status_code == 404


def test_custom_content_children_labels_and_attachments(simulator: SimulatorServer,
                                                        sim_client: httpx.Client) -> None:
    site = simulator.site
    calendar = next(c for c in site.custom_content.values()
                    if c.title == "Design review calendar")
    kids = sim_client.get(f"custom-content/{calendar.id}/children").json()["results"]
    assert [(k["title"], k["type"]) for k in kids] == [
        ("Architecture group sessions", CALENDAR_TYPE)]
    child = sim_client.get(f"custom-content/{kids[0]['id']}").json()
    assert child["customContentId"] == calendar.id
    labels = walk(simulator, f"custom-content/{calendar.id}/labels", {"limit": 1})
    assert [x["name"] for x in labels] == ["design-review", "calendar"]
    assert {lab["name"] for lab in walk(simulator, "labels")} >= {"calendar"}
    atts = sim_client.get(f"custom-content/{calendar.id}/attachments").json()["results"]
    assert [a["customContentId"] for a in atts] == [calendar.id]
    # hidden with its container: the custom content inside the calendar goes with it
    site.restrict(calendar.id, {DEMO_USER})
    assert not site.can_view(GUEST_USER, kids[0]["id"])
    with httpx.Client(base_url=simulator.api_url, auth=(GUEST_USER, GUEST_TOKEN)) as guest:
        assert guest.get(f"custom-content/{kids[0]['id']}").status_code == 404

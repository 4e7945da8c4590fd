"""The simulator over real HTTP: downloads, custom content, tasks, labels, admin routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ragconf.simulator import (
    CALENDAR_TYPE,
    DEMO_TOKEN,
    DEMO_USER,
    GUEST_TOKEN,
    GUEST_USER,
    SimulatorServer,
    Site,
)
from ragconf.simulator._model import TaskRec
from tests.fixtures.simulator import ids, walk


def test_attachment_download_redirect_and_direct(simulator: SimulatorServer) -> None:
    site = simulator.site
    att = next(a for a in site.attachments.values() if a.title == "employee-handbook.pdf")
    meta = httpx.get(simulator.api_url + f"attachments/{att.id}",
                     auth=(DEMO_USER, DEMO_TOKEN)).json()
    url = simulator.base_url + "/wiki" + meta["downloadLink"]
    with httpx.Client(auth=(DEMO_USER, DEMO_TOKEN)) as client:
        hop = client.get(url)
        assert hop.status_code == 302 and "/_media/file/" in hop.headers["location"]
        media = httpx.get(hop.headers["location"])  # signed URL, no credentials needed
        assert media.content == att.data and media.headers["content-type"] == "application/pdf"
        forged = httpx.get(hop.headers["location"].replace("token=", "token=0"))
        assert forged.status_code == 401
    assert httpx.get(url, auth=(GUEST_USER, GUEST_TOKEN)).status_code == 404  # HR is hidden
    assert httpx.get(url).status_code == 401
    with SimulatorServer(site, download_redirect=False) as direct:
        r = httpx.get(direct.base_url + "/wiki" + meta["downloadLink"],
                      auth=(DEMO_USER, DEMO_TOKEN))
        assert r.status_code == 200 and r.content == att.data


def test_older_attachment_version_downloads(simulator: SimulatorServer) -> None:
    att = next(a for a in simulator.site.attachments.values() if a.version == 2)
    url = f"{simulator.base_url}/wiki/download/attachments/{att.container_id}/{att.title}"
    with httpx.Client(auth=(DEMO_USER, DEMO_TOKEN), follow_redirects=True) as client:
        assert client.get(url, params={"version": 1}).content == att.history[0][2]
        assert client.get(url).content == att.data


def test_custom_content_routes(simulator: SimulatorServer, sim_client: httpx.Client) -> None:
    assert sim_client.get("custom-content").status_code == 400
    assert sim_client.get("custom-content", params={"type": "forge:x:y:z"}).status_code == 404
    items = walk(simulator, "custom-content", {"type": CALENDAR_TYPE, "body-format": "storage"})
    assert len(items) == 6 and all("<table" in i["body"]["storage"]["value"] or
                                   "<" in i["body"]["storage"]["value"] for i in items)
    on_page = next(i for i in items if "pageId" in i)
    assert sim_client.get(f"pages/{on_page['pageId']}/custom-content",
                          params={"type": CALENDAR_TYPE}).json()["results"][0]["id"] == (
        on_page["id"])
    one = sim_client.get(f"custom-content/{on_page['id']}").json()
    assert one["type"] == CALENDAR_TYPE and one["_links"]["base"]
    eng = simulator.site.space_by_key("ENG").id
    in_eng = sim_client.get(f"spaces/{eng}/custom-content", params={"type": CALENDAR_TYPE})
    assert [i["title"] for i in in_eng.json()["results"]] == [
        "Engineering release calendar", "Design review calendar", "Architecture group sessions"]
    guest = walk(simulator, "custom-content", {"type": CALENDAR_TYPE}, GUEST_USER)
    assert {i["spaceId"] for i in guest} <= set(simulator.site.visible_ids(GUEST_USER,
                                                                            "spaces"))


def test_task_filters(simulator: SimulatorServer) -> None:
    site = simulator.site
    tasks = [site.tasks[i] for i in site.visible_ids(DEMO_USER, "tasks")]
    someone = next(t.assigned_to for t in tasks if t.assigned_to)
    cases: list[tuple[dict[str, Any], Callable[[TaskRec], bool]]] = [
        ({"assigned-to": someone}, lambda t: t.assigned_to == someone),
        ({"status": "complete"}, lambda t: t.status == "complete"),
        ({"include-blank-tasks": "false"}, lambda t: not t.blank),
        ({"due-at-from": 1777593600000, "due-at-to": 1780272000000},
         lambda t: t.due_at is not None and 1777593600000 <= t.due_at <= 1780272000000),
        ({"space-id": site.space_by_key("OPS").id},
         lambda t: t.space_id == site.space_by_key("OPS").id),
        ({"page-id": tasks[0].container_id}, lambda t: t.container_id == tasks[0].container_id),
    ]
    for params, keep in cases:
        got = ids(walk(simulator, "tasks", {"limit": 4, "body-format": "storage", **params}))
        assert got == [t.id for t in tasks if keep(t)], params
        assert got
    one = httpx.get(simulator.api_url + f"tasks/{tasks[0].id}", auth=(DEMO_USER, DEMO_TOKEN))
    assert one.json()["localId"] == tasks[0].local_id


def test_labels_and_hierarchy_routes(simulator: SimulatorServer,
                                     sim_client: httpx.Client) -> None:
    site = simulator.site
    runbook = next(l_ for l_ in site.labels.values() if l_.name == "runbook")
    tagged = ids(walk(simulator, f"labels/{runbook.id}/pages", {"limit": 2}))
    assert tagged == [p.id for p in sorted(site.pages.values(), key=lambda p: int(p.id))
                      if runbook.id in p.label_ids and p.status in ("current", "archived")]
    found = walk(simulator, "labels", {"prefix": "team"})
    assert {f["name"] for f in found} == {"engineering", "operations", "people", "leadership"}
    assert walk(simulator, f"labels/{runbook.id}/blogposts") == []
    secrets = next(p for p in site.pages.values() if p.title == "Secrets rotation procedure")
    chain = sim_client.get(f"pages/{secrets.id}/ancestors").json()["results"]
    assert [c["id"] for c in chain] == [site.space_by_key("ENG").homepage_id, secrets.parent_id]
    assert sim_client.get(f"pages/{secrets.id}/ancestors",
                          params={"limit": 1}).json()["results"] == chain[-1:]
    home = site.space_by_key("ENG").homepage_id
    kids = walk(simulator, f"pages/{home}/direct-children", {"limit": 2})
    assert [k["id"] for k in kids] == [p.id for p in sorted(
        (p for p in site.tree_items() if p.parent_id == home), key=lambda p: p.position)]
    assert [k["type"] for k in kids] == ["page"] * (len(kids) - 1) + ["folder"]
    labels_of_space = sim_client.get(f"spaces/{site.space_by_key('ENG').id}/labels").json()
    assert [x["name"] for x in labels_of_space["results"]] == ["engineering"]


def test_admin_routes_mutate_the_site(simulator: SimulatorServer) -> None:
    admin = httpx.Client(base_url=simulator.base_url + "/_admin")
    page = admin.post("/add_page", json={"space_key": "ENG", "title": "Fresh page",
                                         "body": "<p>hello</p>", "labels": ["new"]}).json()
    assert page["ok"] and page["id"] in simulator.site.pages
    att = admin.post("/add_attachment", json={
        "container_id": page["id"], "filename": "a.txt", "text": "hi", "media_type": "text/plain",
    }).json()
    assert simulator.site.attachments[att["id"]].data == b"hi"
    assert admin.post("/edit", json={"content_id": page["id"], "body": "<p>v2</p>"}).json()["ok"]
    assert simulator.site.pages[page["id"]].version == 2
    assert admin.post("/edit", json={"content_id": "123"}).status_code == 404
    assert admin.post("/edit", json={}).status_code == 400
    assert admin.post("/nope", json={}).status_code == 404
    assert admin.post("/restrict", json={"content_id": page["id"],
                                         "allowed": [DEMO_USER]}).json()["ok"]
    assert not simulator.site.can_view(GUEST_USER, page["id"])
    assert admin.post("/advance", json={"seconds": 60}).json()["ok"]
    state = admin.get("/state").json()
    assert state["counts"]["pages"] == 77 and state["stats"]["requests"] >= 0
    faults = admin.post("/faults", json={"latency_s": 0.0, "error_rate": 0.0}).json()
    assert faults["error_rate"] == 0.0
    assert admin.post("/faults", json={"bogus": 1}).status_code == 400
    admin.close()
    with SimulatorServer(simulator.site, admin=False) as locked:
        assert httpx.post(locked.base_url + "/_admin/add_page", json={}).status_code in (
            404, 405)


def test_clamp_limit_option(demo_site: Site) -> None:
    with SimulatorServer(demo_site, clamp_limit=True) as sim:
        r = httpx.get(sim.api_url + "pages", params={"limit": 1000},
                      auth=(DEMO_USER, DEMO_TOKEN))
        assert r.status_code == 200 and len(r.json()["results"]) == 75


def test_server_lifecycle_and_request_count(demo_site: Site) -> None:
    sim = SimulatorServer(demo_site)
    with sim:
        assert sim.port > 0 and sim.base_url.startswith("http://127.0.0.1:")
        httpx.get(sim.api_url + "spaces", auth=(DEMO_USER, DEMO_TOKEN))
        assert sim.request_count == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(sim.api_url + "spaces", timeout=2)

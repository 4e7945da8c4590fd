"""The simulator over real HTTP: paging against the oracle, filters, auth, visibility, errors."""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest

from ragconf.simulator import (
    CALENDAR_TYPE,
    DEMO_TOKEN,
    DEMO_USER,
    GUEST_TOKEN,
    GUEST_USER,
    HR_USER,
    SimulatorServer,
)
from tests.fixtures.simulator import ids, walk

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.mark.parametrize("limit", [1, 7, 250])
def test_full_enumerations_match_the_oracle(simulator: SimulatorServer, limit: int) -> None:
    site = simulator.site
    for user in (DEMO_USER, GUEST_USER, HR_USER):
        for kind, path, extra in [
            ("spaces", "spaces", {}), ("pages", "pages", {}), ("blogposts", "blogposts", {}),
            ("attachments", "attachments", {}), ("labels", "labels", {}),
            ("custom_content", "custom-content", {"type": CALENDAR_TYPE}),
            ("tasks", "tasks", {}),
        ]:
            got = ids(walk(simulator, path, {"limit": limit, **extra}, user))
            assert got == site.visible_ids(user, kind), (user, kind)
            assert len(got) == len(set(got))


@pytest.mark.parametrize("sort", ["id", "-id", "created-date", "-created-date",
                                  "modified-date", "-modified-date", "title", "-title"])
def test_page_sorts(simulator: SimulatorServer, sort: str) -> None:
    site = simulator.site
    key = sort.lstrip("-")
    attr = {"id": lambda p: 0, "created-date": lambda p: p.created_at,
            "modified-date": lambda p: p.modified_at, "title": lambda p: p.title.casefold()}[key]
    expected = sorted((site.pages[i] for i in site.visible_ids(DEMO_USER, "pages")),
                      key=lambda p: (attr(p), int(p.id)), reverse=sort.startswith("-"))
    assert ids(walk(simulator, "pages", {"limit": 7, "sort": sort})) == [p.id for p in expected]


def test_space_pages_depth_title_and_status(simulator: SimulatorServer) -> None:
    site = simulator.site
    ops = site.space_by_key("OPS")
    in_ops = [i for i in site.visible_ids(DEMO_USER, "pages") if site.pages[i].space_id == ops.id]
    assert ids(walk(simulator, f"spaces/{ops.id}/pages", {"limit": 5})) == in_ops
    roots = ids(walk(simulator, f"spaces/{ops.id}/pages", {"depth": "root"}))
    assert roots == [ops.homepage_id]
    trashed = ids(walk(simulator, f"spaces/{ops.id}/pages", {"status": "trashed"}))
    assert [site.pages[i].title for i in trashed] == ["Incident template (old)"]
    both = walk(simulator, "pages", {"status": "current,trashed", "space-id": ops.id})
    assert {p["status"] for p in both} == {"current", "trashed"}
    titled = walk(simulator, "pages", {"title": "Paging policy"})
    assert [p["title"] for p in titled] == ["Paging policy"]


def test_next_link_keeps_filters_and_limit(sim_client: httpx.Client) -> None:
    r = sim_client.get("pages", params={"limit": 3, "sort": "-modified-date",
                                        "status": "current,archived", "body-format": "storage"})
    nxt = r.json()["_links"]["next"]
    assert nxt.startswith("/wiki/api/v2/pages?")
    for fragment in ("limit=3", "sort=-modified-date", "status=current%2Carchived",
                     "body-format=storage", "cursor="):
        assert fragment in nxt
    assert r.headers["link"].endswith('rel="base"')


def test_limits_default_and_bounds(sim_client: httpx.Client) -> None:
    assert len(sim_client.get("pages").json()["results"]) == 25
    assert len(sim_client.get("attachments").json()["results"]) == 23  # default 50
    assert len(sim_client.get("pages", params={"limit": 250}).json()["results"]) == 75
    for bad in ("0", "251", "abc", "-1"):
        r = sim_client.get("pages", params={"limit": bad})
        assert r.status_code == 400
        err = r.json()["errors"][0]
        assert (err["status"], err["code"], err["detail"]) == (
            400, "INVALID_REQUEST_PARAMETER", None)
        assert "limit" in err["title"]


@pytest.mark.parametrize("params", [
    {"sort": "nope"}, {"status": "gone"}, {"body-format": "wiki"}, {"id": "12x"},
    {"space-id": "a"}, {"cursor": "not-a-cursor"}, {"subtype": "x"},
])
def test_invalid_parameters_are_400(sim_client: httpx.Client, params: dict[str, str]) -> None:
    r = sim_client.get("pages", params=params)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "INVALID_REQUEST_PARAMETER"


def test_cursor_from_another_sort_is_rejected(sim_client: httpx.Client) -> None:
    nxt = sim_client.get("pages", params={"limit": 2, "sort": "title"}).json()["_links"]["next"]
    cursor = httpx.URL(nxt).params["cursor"]
    json.loads(base64.urlsafe_b64decode(cursor))  # opaque to clients, but ours is JSON
    assert sim_client.get("pages", params={"cursor": cursor}).status_code == 400


def test_arrays_accept_commas_and_repeated_keys(simulator: SimulatorServer,
                                                 sim_client: httpx.Client) -> None:
    wanted = simulator.site.visible_ids(DEMO_USER, "pages")[3:6]
    comma = ids(sim_client.get("pages", params={"id": ",".join(wanted)}).json()["results"])
    repeated = ids(sim_client.get("pages", params=[("id", w) for w in wanted]).json()["results"])
    assert comma == repeated == wanted
    too_many = ",".join(str(100000 + i) for i in range(251))
    assert sim_client.get("pages", params={"id": too_many}).status_code == 400


def test_body_formats(sim_client: httpx.Client, simulator: SimulatorServer) -> None:
    page = sim_client.get("pages", params={"limit": 1}).json()["results"][0]
    assert page["body"] == {}
    stored = sim_client.get("pages", params={"limit": 1, "body-format": "storage"}).json()
    body = stored["results"][0]["body"]
    assert list(body) == ["storage"] and body["storage"]["representation"] == "storage"
    assert body["storage"]["value"] == simulator.site.pages[page["id"]].body
    adf = sim_client.get(f"pages/{page['id']}", params={"body-format": "atlas_doc_format"})
    assert json.loads(adf.json()["body"]["atlas_doc_format"]["value"])["type"] == "doc"
    view = sim_client.get(f"pages/{page['id']}", params={"body-format": "view"}).json()
    assert "<ac:" not in view["body"]["view"]["value"]


def test_object_shapes(sim_client: httpx.Client, simulator: SimulatorServer) -> None:
    site = simulator.site
    page_id = next(p.id for p in site.pages.values() if p.title == "Error codes")
    page = sim_client.get(f"pages/{page_id}", params={"include-labels": "true"}).json()
    assert page["id"] == page_id and isinstance(page["spaceId"], str)
    assert page["_links"]["webui"] == f"/spaces/ENG/pages/{page_id}/Error+codes"
    assert page["_links"]["base"] == simulator.base_url + "/wiki"
    assert ISO.match(page["createdAt"]) and ISO.match(page["version"]["createdAt"])
    assert set(page["version"]) == {"number", "createdAt", "message", "minorEdit", "authorId"}
    assert page["version"]["number"] == 2 and page["parentType"] == "page"
    assert {label["name"] for label in page["labels"]["results"]} == {"api", "errors"}
    post = sim_client.get("blogposts", params={"limit": 1}).json()["results"][0]
    assert re.match(r"^/spaces/ENG/blog/\d{4}/\d{2}/\d{2}/\d+/", post["_links"]["webui"])
    assert "parentId" not in post
    att = sim_client.get("attachments", params={"limit": 1}).json()["results"][0]
    assert att["id"].startswith("att") and att["pageId"]
    assert att["downloadLink"].startswith(f"/download/attachments/{att['pageId']}/")
    assert "api=v2" in att["downloadLink"] and att["fileSize"] > 0
    space = sim_client.get("spaces", params={"keys": "ENG", "description-format": "plain"})
    assert space.json()["results"][0]["description"]["plain"]["value"].startswith("How")
    root = sim_client.get(f"pages/{site.space_by_key('ENG').homepage_id}").json()
    assert root["parentId"] is None and root["parentType"] is None


def test_trash_archive_purge_semantics(simulator: SimulatorServer,
                                       sim_client: httpx.Client) -> None:
    site = simulator.site
    page_id = site.visible_ids(DEMO_USER, "pages")[10]
    site.trash(page_id)
    assert page_id not in ids(walk(simulator, "pages", {"limit": 250}))
    r = sim_client.get(f"pages/{page_id}")
    assert r.status_code == 200 and r.json()["status"] == "trashed"
    assert sim_client.get(f"pages/{page_id}", params={"status": "current"}).status_code == 404
    site.purge(page_id)
    r = sim_client.get(f"pages/{page_id}")
    assert r.status_code == 404
    assert r.json() == {"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Not Found",
                                    "detail": None}]}
    archived = next(p.id for p in site.pages.values() if p.status == "archived")
    assert archived in ids(walk(simulator, "pages", {"limit": 250}))
    assert archived not in ids(walk(simulator, "pages", {"limit": 250, "status": "current"}))


def test_versions(simulator: SimulatorServer, sim_client: httpx.Client) -> None:
    site = simulator.site
    page_id = next(p.id for p in site.pages.values() if p.title == "Runbook: Postgres failover")
    before = sim_client.get(f"pages/{page_id}").json()
    site.edit(page_id, title="Runbook: Postgres failover (Patroni)", body="<p>new</p>")
    after = sim_client.get(f"pages/{page_id}", params={"body-format": "storage"}).json()
    assert after["version"]["number"] == before["version"]["number"] + 1
    assert after["version"]["createdAt"] > before["version"]["createdAt"]
    assert after["title"].endswith("(Patroni)") and after["body"]["storage"]["value"] == (
        "<p>new</p>")
    old = sim_client.get(f"pages/{page_id}", params={"version": 1, "body-format": "storage"})
    assert old.json()["status"] == "historical" and old.json()["version"]["number"] == 1
    assert sim_client.get(f"pages/{page_id}", params={"version": 99}).status_code == 404
    listed = walk(simulator, "pages", {"sort": "-modified-date", "limit": 1})[0]
    assert listed["id"] == page_id


def test_auth_failures_are_plain_text_401(simulator: SimulatorServer) -> None:
    url = simulator.api_url + "spaces"
    for headers in ({}, {"Authorization": "Basic " + base64.b64encode(
            f"{DEMO_USER}:wrong".encode()).decode()},
            {"Authorization": "Basic " + base64.b64encode(
                f"{GUEST_USER}:{DEMO_TOKEN}".encode()).decode()},
            {"Authorization": "Basic !!!"}, {"Authorization": "Bearer nope"}):
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401 and r.headers["content-type"].startswith("text/plain")
        assert "authenticated" in r.text
    ok = httpx.get(url, headers={"Authorization": f"Bearer {GUEST_TOKEN}"})
    assert ok.status_code == 200
    me = httpx.get(simulator.base_url + "/wiki/rest/api/user/current",
                   auth=(GUEST_USER, GUEST_TOKEN)).json()
    assert me["email"] == GUEST_USER and me["displayName"] == "Guest Reader"
    assert me["accountId"] in simulator.site.users_by_account_id()


def test_hidden_content_is_omitted_and_404(simulator: SimulatorServer) -> None:
    site = simulator.site
    guest = httpx.Client(base_url=simulator.api_url, auth=(GUEST_USER, GUEST_TOKEN))
    security = next(p for p in site.pages.values() if p.title == "Security")
    child = next(p for p in site.pages.values() if p.parent_id == security.id)
    lead = site.space_by_key("LEAD")
    hidden_att = next(a for a in site.attachments.values() if a.container_id == security.id)
    for path in (f"pages/{security.id}", f"pages/{child.id}", f"pages/{security.id}/labels",
                 f"pages/{security.id}/attachments", f"pages/{child.id}/ancestors",
                 f"spaces/{lead.id}", f"spaces/{lead.id}/pages", f"spaces/{lead.id}/blogposts",
                 f"attachments/{hidden_att.id}", f"labels/{security.label_ids[0]}/attachments"):
        r = guest.get(path)
        assert r.status_code == 404, path
        assert r.json()["errors"][0]["code"] == "NOT_FOUND"
    listed = ids(walk(simulator, "pages", {"limit": 250}, GUEST_USER))
    assert security.id not in listed and child.id not in listed
    eng_pages = ids(walk(simulator, f"spaces/{site.space_by_key('ENG').id}/pages",
                         {"limit": 250}, GUEST_USER))
    assert security.id not in eng_pages and eng_pages
    # a hidden space id in a filter simply yields nothing
    assert ids(walk(simulator, "pages", {"space-id": lead.id}, GUEST_USER)) == []
    assert guest.get(f"pages/{security.id}", headers={}).status_code == 404
    guest.close()


def test_unknown_routes_and_bad_ids(sim_client: httpx.Client) -> None:
    assert sim_client.get("pages/99999999").json()["errors"][0]["code"] == "NOT_FOUND"
    assert sim_client.get("no-such-thing").status_code == 404
    assert sim_client.get("pages/abc").status_code == 400
    assert sim_client.get("attachments/att99999999").status_code == 404
    assert sim_client.get("attachments/xyz").status_code == 400

"""Comments over real HTTP: cursor-paged lists against the oracle, inline fields and
resolution, replies, versions, visibility following the container, and the mutation API
(Python and ``/_admin``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ragconf.simulator import (
    DEMO_TOKEN,
    DEMO_USER,
    GUEST_TOKEN,
    GUEST_USER,
    HR_USER,
    SimulatorServer,
    Site,
)
from tests.fixtures.simulator import ids, walk

USERS = (DEMO_USER, GUEST_USER, HR_USER)
_CONTAINER_ROUTES = {"page": "pages", "blogpost": "blogposts", "attachment": "attachments",
                     "custom_content": "custom-content"}


def _comment(site: Site, text: str) -> str:
    return next(c.id for c in site.comments.values() if text in c.body)


def _page(site: Site, title: str) -> str:
    return next(p.id for p in site.pages.values() if p.title == title)


@pytest.mark.parametrize("limit", [1, 4])
def test_comment_lists_page_through_cursors_and_match_the_oracle(
    simulator: SimulatorServer, limit: int
) -> None:
    site = simulator.site
    containers = {(c.container_id, c.container_kind) for c in site.comments.values()}
    for user in USERS:
        for kind in ("footer", "inline"):
            got = ids(walk(simulator, f"{kind}-comments", {"limit": limit}, user))
            assert got == site.expected_comments(user, kind=kind), (user, kind)
        assert site.expected_comments(user) == sorted(
            site.expected_comments(user, kind="footer")
            + site.expected_comments(user, kind="inline"), key=int)
        for container_id, container_kind in containers:
            if not site.can_view(user, container_id):
                continue
            route = _CONTAINER_ROUTES[container_kind]
            for kind in ("footer", "inline") if container_kind in ("page", "blogpost") else (
                    "footer",):
                roots = ids(walk(simulator, f"{route}/{container_id}/{kind}-comments",
                                 {"limit": limit}, user))
                assert roots == site.expected_comments(user, container_id, kind=kind,
                                                       roots_only=True), (user, container_id)
                replies = [r["id"] for root in roots for r in walk(
                    simulator, f"{kind}-comments/{root}/children", {"limit": limit}, user)]
                assert sorted(roots + replies, key=int) == site.expected_comments(
                    user, container_id, kind=kind)
    # the demo's threads: footer and inline, replies, comments the guest may not see
    assert len(site.expected_comments(DEMO_USER)) > len(site.expected_comments(GUEST_USER))
    assert any(site.comments[i].parent_id for i in site.expected_comments(GUEST_USER))


def test_inline_comment_fields_and_resolution(sim_client: httpx.Client,
                                              simulator: SimulatorServer) -> None:
    site = simulator.site
    archival = _page(site, "Design review: ledger archival")
    body = sim_client.get(f"pages/{archival}", params={"body-format": "storage"}).json()[
        "body"]["storage"]["value"]
    listed = sim_client.get(f"pages/{archival}/inline-comments",
                            params={"body-format": "storage"}).json()["results"]
    by_text = {c["properties"]["inlineOriginalSelection"]: c for c in listed}
    assert set(by_text) == {"monthly partitions", "cold storage in S3 Glacier"}
    for selection, item in by_text.items():
        ref = item["properties"]["inlineMarkerRef"]
        assert f'<ac:inline-comment-marker ac:ref="{ref}">{selection}' in body
        assert item["pageId"] == archival and item["title"].startswith("Re: Design review")
    assert by_text["monthly partitions"]["resolutionStatus"] == "open"
    glacier = by_text["cold storage in S3 Glacier"]
    assert glacier["resolutionStatus"] == "resolved" and glacier["version"]["number"] == 2
    assert "Instant Retrieval" in glacier["body"]["storage"]["value"]
    full = sim_client.get(f"inline-comments/{glacier['id']}").json()
    assert full["resolutionLastModifierId"] == site.users["priya.raman@larkspur.io"].account_id
    assert full["_links"]["webui"].endswith(f"?focusedCommentId={glacier['id']}")
    assert full["body"] == {}  # no body-format, no body
    resolved = sim_client.get(f"pages/{archival}/inline-comments",
                              params={"resolution-status": "resolved"}).json()["results"]
    assert [c["id"] for c in resolved] == [glacier["id"]]
    reply = sim_client.get(f"inline-comments/{by_text['monthly partitions']['id']}/children",
                           params={"body-format": "storage"}).json()["results"]
    assert len(reply) == 1 and reply[0]["parentCommentId"] == by_text["monthly partitions"]["id"]
    assert "end of June" in reply[0]["body"]["storage"]["value"]
    # the marked text leaves the page: the open thread dangles, the resolved one stays so
    site.edit(archival, body="<p>Rewritten without the old wording.</p>")
    statuses = {c["id"]: c["resolutionStatus"] for c in sim_client.get(
        f"pages/{archival}/inline-comments").json()["results"]}
    assert statuses == {by_text["monthly partitions"]["id"]: "dangling",
                        glacier["id"]: "resolved"}
    assert sim_client.get(f"pages/{archival}/inline-comments",
                          params={"resolution-status": "bogus"}).status_code == 400


def test_a_comment_edit_bumps_the_comment_version_not_the_page(
    sim_client: httpx.Client, simulator: SimulatorServer
) -> None:
    site = simulator.site
    backup = _page(site, "Backup policy")
    page_version = sim_client.get(f"pages/{backup}").json()["version"]["number"]
    retention = _comment(site, "400 days")
    one = sim_client.get(f"footer-comments/{retention}",
                         params={"body-format": "storage", "include-versions": "true"}).json()
    assert one["version"]["number"] == 2 and "(it was 35)" in one["body"]["storage"]["value"]
    assert [v["number"] for v in one["versions"]["results"]] == [2, 1]
    site.edit_comment(retention, "<p>Retention is 400 days; restore tests stay monthly.</p>",
                      message="clarified")
    again = sim_client.get(f"footer-comments/{retention}", params={"body-format": "storage"})
    assert again.json()["version"] | {"createdAt": ""} == {
        "number": 3, "message": "clarified", "minorEdit": False, "createdAt": "",
        "authorId": site.comments[retention].author_id}
    assert sim_client.get(f"pages/{backup}").json()["version"]["number"] == page_version
    old = sim_client.get(f"footer-comments/{retention}",
                         params={"version": 1, "body-format": "storage"}).json()
    assert old["status"] == "historical" and "(it was 35)" not in old["body"]["storage"]["value"]
    versions = walk(simulator, f"footer-comments/{retention}/versions",
                    {"limit": 1, "body-format": "storage"})
    assert [v["number"] for v in versions] == [3, 2, 1]
    assert versions[0]["comment"]["id"] == retention
    detail = sim_client.get(f"footer-comments/{retention}/versions/2").json()
    assert (detail["prevVersion"], detail["nextVersion"]) == (1, 3)
    assert sim_client.get(f"footer-comments/{retention}/versions/9").status_code == 404
    # a modified-date sort puts the edited comment last
    newest = walk(simulator, "footer-comments", {"sort": "-modified-date", "limit": 3})
    assert newest[0]["id"] == retention


def test_comment_visibility_follows_its_container(simulator: SimulatorServer) -> None:
    site = simulator.site
    secrets = _page(site, "Secrets rotation procedure")  # restricted, in a space guests see
    hidden = _comment(site, "Vault root token")
    private = _comment(site, "merit budget")  # LEAD, the admin's private space
    guest = httpx.Client(base_url=simulator.api_url, auth=(GUEST_USER, GUEST_TOKEN))
    admin = httpx.Client(base_url=simulator.api_url, auth=(DEMO_USER, DEMO_TOKEN))
    with guest, admin:
        for comment_id in (hidden, private):
            assert admin.get(f"footer-comments/{comment_id}").status_code == 200
            assert guest.get(f"footer-comments/{comment_id}").status_code == 404
            assert guest.get(f"footer-comments/{comment_id}/children").status_code == 404
            assert guest.get(f"comments/{comment_id}/properties").status_code == 404
            assert comment_id not in ids(walk(simulator, "footer-comments", {}, GUEST_USER))
        assert guest.get(f"pages/{secrets}/footer-comments").status_code == 404
        # the wrong kind is a 404 as well
        assert admin.get(f"inline-comments/{hidden}").status_code == 404
        # restrict a page: its comments vanish for the guest at once
        backup = _page(site, "Backup policy")
        retention = _comment(site, "400 days")
        assert guest.get(f"footer-comments/{retention}").status_code == 200
        site.restrict(backup, {DEMO_USER})
        assert guest.get(f"footer-comments/{retention}").status_code == 404
        assert admin.get(f"footer-comments/{retention}").status_code == 200


def test_trashed_and_purged_containers(simulator: SimulatorServer,
                                       sim_client: httpx.Client) -> None:
    site = simulator.site
    archival = _page(site, "Design review: ledger archival")
    on_it = site.expected_comments(DEMO_USER, archival)
    site.trash(archival)
    # gone from the global lists, still under the (trashed, readable) page
    assert not set(on_it) & set(ids(walk(simulator, "inline-comments")))
    assert not set(on_it) & set(ids(walk(simulator, "footer-comments")))
    assert sim_client.get(f"pages/{archival}/inline-comments").json()["results"]
    assert sim_client.get(f"inline-comments/{on_it[0]}").status_code == 200
    site.purge(archival)
    for comment_id in on_it:
        assert comment_id not in site.comments
        assert sim_client.get(f"inline-comments/{comment_id}").status_code == 404
    schedule = next(c.container_id for c in site.comments.values()
                    if c.container_kind == "attachment")
    site.purge(schedule)
    assert not [c for c in site.comments.values() if c.container_id == schedule]


def test_comment_mutations_through_python(simulator: SimulatorServer,
                                          sim_client: httpx.Client) -> None:
    site = simulator.site
    paging = _page(site, "Paging policy")
    with pytest.raises(ValueError, match="not in the body"):
        site.add_comment(paging, "<p>x</p>", selection="no such words anywhere")
    with pytest.raises(ValueError, match="only on pages and blog posts"):
        calendar = next(iter(site.custom_content))
        site.add_comment(calendar, "<p>x</p>", selection="x")
    with pytest.raises(ValueError):
        site.add_comment(paging, "   ")
    with pytest.raises(KeyError):
        site.add_comment("424242", "<p>x</p>")
    before = site.pages[paging].version
    note = site.add_comment(paging, "<p>Is 15 minutes still right?</p>",
                            selection="Within 15 minutes")
    assert site.pages[paging].version == before  # marking the text is not a new version
    assert 'ac:inline-comment-marker ac:ref="' in site.pages[paging].body
    reply = site.add_comment(None, "<p>Checked.</p>", parent_id=note)
    assert site.comments[reply].kind == "inline"
    site.resolve_comment(note)
    with pytest.raises(ValueError, match="already resolved"):
        site.resolve_comment(note)
    with pytest.raises(ValueError, match="first comment of an inline thread"):
        site.resolve_comment(reply)
    assert sim_client.get(f"inline-comments/{reply}").json()["resolutionStatus"] == "resolved"
    site.resolve_comment(note, resolved=False)
    assert sim_client.get(f"inline-comments/{note}").json()["resolutionStatus"] == "reopened"
    site.delete_comment(note)
    assert note not in site.comments and reply not in site.comments
    assert sim_client.get(f"inline-comments/{reply}").status_code == 404
    with pytest.raises(KeyError):
        site.delete_comment(note)


def test_comment_mutations_through_admin_routes(simulator: SimulatorServer,
                                                sim_client: httpx.Client) -> None:
    site = simulator.site
    post = next(iter(site.blogposts))
    with httpx.Client(base_url=simulator.base_url + "/_admin") as admin:
        made: dict[str, Any] = admin.post("/add_comment", json={
            "container_id": post, "body": "<p>Ship it.</p>", "author": GUEST_USER}).json()
        assert made["ok"] and site.comments[made["id"]].container_id == post
        reply = admin.post("/add_comment", json={"parent_id": made["id"],
                                                 "body": "<p>Shipped.</p>"}).json()
        assert admin.post("/edit_comment", json={"comment_id": made["id"],
                                                 "body": "<p>Ship it Monday.</p>"}).json()["ok"]
        assert admin.post("/resolve_comment", json={"comment_id": made["id"]}).status_code == 400
        assert admin.post("/add_comment", json={"body": "<p>x</p>"}).status_code == 400
        assert admin.post("/edit_comment", json={"comment_id": "1", "body": "x"}).status_code \
            == 404
        one = sim_client.get(f"footer-comments/{made['id']}",
                             params={"body-format": "storage"}).json()
        assert one["version"]["number"] == 2 and "Monday" in one["body"]["storage"]["value"]
        assert one["blogPostId"] == post
        assert admin.post("/delete_comment", json={"comment_id": made["id"]}).json()["ok"]
        assert sim_client.get(f"footer-comments/{reply['id']}").status_code == 404
        assert admin.get("/state").json()["counts"]["comments"] == len(site.comments)

"""Folders, whiteboards, databases, embeds, the hierarchy routes and the tree walker
(over httpx.MockTransport with the in-memory fake)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ragconf.confluence import (
    Confluence,
    ConfluenceService,
    Database,
    Embed,
    Folder,
    TreeNode,
    Whiteboard,
)
from ragconf.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from tests.confluence_fake import FakeSite, build_site, route_of
from tests.confluence_mock import make


@pytest.fixture
def site() -> FakeSite:
    return build_site()


def client(site: FakeSite, **kw: Any) -> Confluence:
    conf, _, _ = make(site.handler, **kw)
    return conf


def truth(site: FakeSite, id: str) -> list[Any]:
    """The fake's own tree below ``id``: [(id, type, [children…]), …] in position order."""
    return [(n.id, n.type, truth(site, n.id)) for n in site.children_of(id)]


def shape(nodes: list[TreeNode]) -> list[Any]:
    return [(n.id, n.type, shape(n.children)) for n in nodes]


# -- by id ----------------------------------------------------------------------------------


def test_folder_by_id_parses_every_field(site: FakeSite) -> None:
    folder = client(site).get_folder_by_id("201")
    assert isinstance(folder, Folder)
    assert route_of(site.requests[-1]) == "folders/201"
    assert (folder.id, folder.type, folder.title, folder.status) == (
        "201",
        "folder",
        "Archive",
        "current",
    )
    assert (folder.parent_id, folder.parent_type, folder.position) == ("200", "folder", 9)
    assert (folder.space_id, folder.author_id, folder.owner_id) == ("7", "acc-1", "acc-1")
    assert folder.created_at == datetime(2026, 3, 6, 10, 21, tzinfo=UTC)
    assert (folder.version.number, folder.version.author_id) == (2, "acc-2")
    assert folder.links.webui == "/spaces/ENG/folders/201"
    assert folder.to_api()["parentType"] == "folder"


def test_whiteboard_database_and_embed_by_id(site: FakeSite) -> None:
    conf = client(site)
    assert isinstance(conf.get_whiteboard_by_id("300"), Whiteboard)
    assert isinstance(conf.get_database_by_id("400"), Database)
    embed = conf.get_embed_by_id("500")
    assert isinstance(embed, Embed) and embed.embed_url == "https://figma.example/f/1"
    assert [route_of(r) for r in site.requests] == [
        "whiteboards/300",
        "databases/400",
        "embeds/500",
    ]
    with pytest.raises(NotFoundError):
        conf.get_folder_by_id("300")  # a whiteboard is not a folder


# -- hierarchy ------------------------------------------------------------------------------


def test_ancestors_are_highest_first_with_their_types(site: FakeSite) -> None:
    conf = client(site)
    got = list(conf.get_ancestors("300", "whiteboard"))
    assert [(a.id, a.type) for a in got] == [("100", "page"), ("200", "folder")]
    assert route_of(site.requests[-1]) == "whiteboards/300/ancestors"


def test_ancestors_re_ask_from_the_highest_when_an_answer_is_full(site: FakeSite) -> None:
    site.ancestors_cap = 4  # the route has no cursor: a full answer means "ask again above"
    conf = client(site, page_size=4)
    got = [a.id for a in conf.get_ancestors("1012")]
    assert got == ["100", "101", *(str(1000 + i) for i in range(12))]
    assert [route_of(r) for r in site.requests] == [
        "pages/1012/ancestors",
        "pages/1008/ancestors",
        "pages/1004/ancestors",
        "pages/1000/ancestors",
    ]
    site.requests.clear()
    assert list(conf.get_ancestors("100")) == [] and len(site.requests) == 1


def test_direct_children_page_through_cursors(site: FakeSite) -> None:
    conf = client(site, page_size=1)
    kids = list(conf.get_direct_children("200", "folder"))
    assert [(k.id, k.type, k.child_position) for k in kids] == [
        ("300", "whiteboard", 2),
        ("500", "embed", 3),
        ("201", "folder", 9),
    ]
    assert len(site.requests) == 3 and kids[0].title == "Flow" and kids[0].space_id == "7"
    list(conf.get_direct_children("100", sort="desc"))
    assert site.requests[-1].url.params["sort"] == "-id"


def test_descendants_carry_parent_and_depth(site: FakeSite) -> None:
    conf = client(site, page_size=3)
    got = list(conf.get_descendants("100", "page", depth=2))
    assert site.requests[0].url.params["depth"] == "2"
    assert [(d.id, d.parent_id, d.depth) for d in got] == [
        ("200", "100", 1),
        ("101", "100", 1),
        ("300", "200", 2),
        ("500", "200", 2),
        ("201", "200", 2),
        ("400", "101", 2),
        ("1000", "101", 2),
    ]
    assert len(site.requests) == 3  # 7 items, 3 per page


def test_types_are_checked_before_any_request(site: FakeSite) -> None:
    conf = client(site)
    for call in (
        lambda: conf.get_descendants("1", "blogpost"),
        lambda: conf.get_ancestors("1", "space"),
        lambda: conf.get_direct_children("1", "comment"),
    ):
        with pytest.raises(InvalidRequestError) as info:
            call()
        assert "page, folder, whiteboard, database, embed" in (info.value.hint or "")
    assert site.requests == []
    # plural and Smart Link spellings name the same routes
    list(conf.get_direct_children("500", "smart-link"))
    list(conf.get_direct_children("200", "Folders"))
    assert [route_of(r) for r in site.requests] == [
        "embeds/500/direct-children",
        "folders/200/direct-children",
    ]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitedError),
    ],
)
def test_errors_map_to_the_error_tree(status: int, error: type[Exception]) -> None:
    body = {"errors": [{"status": status, "code": "X", "title": "nope"}]}
    for call in (
        lambda c: c.get_folder_by_id("1"),
        lambda c: list(c.get_ancestors("1", "database")),
        lambda c: list(c.get_descendants("1", "embed")),
        lambda c: list(c.get_labels_by_custom_content("1")),
        lambda c: list(c.get_custom_content_children("1")),
    ):
        conf, _, _ = make(lambda r: httpx.Response(status, json=body), max_retries=1)
        with pytest.raises(error) as info:
            call(conf)
        assert type(info.value) is error and info.value.status == status


# -- custom content ---------------------------------------------------------------------------


def test_custom_content_labels_and_children(site: FakeSite) -> None:
    conf = client(site, page_size=2)
    labels = list(conf.get_labels_by_custom_content("3001", sort="name"))
    assert [(lab.name, lab.prefix) for lab in labels] == [
        ("team-calendar", "global"),
        ("oncall", "global"),
    ]
    assert site.requests[0].url.params["sort"] == "name"
    kids = list(conf.get_custom_content_children("3001"))
    assert [(k.id, k.type, k.title, k.space_id) for k in kids] == [
        ("3002", "ac:app:item", "Item 2", "7"),
        ("3003", "ac:app:item", "Item 3", "7"),
        ("3004", "ac:app:item", "Item 4", "7"),
    ]
    assert [route_of(r) for r in site.requests] == [
        "custom-content/3001/labels",
        *["custom-content/3001/children"] * 2,
    ]
    svc = ConfluenceService(conf)
    assert [lab.id for lab in svc.list_labels(select="custom-content", id="3001")] == ["801", "802"]


# -- the tree walker ----------------------------------------------------------------------------


def test_space_tree_nests_every_type_in_tree_order_below_one_batch(site: FakeSite) -> None:
    svc = ConfluenceService(client(site))
    roots = svc.space_tree("7")
    assert [r.id for r in roots] == ["100", "900"]  # the homepage first
    assert shape(roots) == [("100", "page", truth(site, "100")), ("900", "page", [])]
    home = roots[0]
    assert [c.title for c in home.children] == ["Designs", "Runbooks"]  # child position
    walked = home.walk()
    deepest = max(walked, key=lambda pair: pair[0])
    assert deepest == (14, deepest[1]) and deepest[1].id == "1012"  # 100>101>L1..L13
    assert not any(n.truncated for _d, n in walked)
    routes = [route_of(r) for r in site.requests]
    # one request per batch of 10 levels, not one per node
    assert routes == [
        "spaces/7",
        "spaces/7/pages",
        "pages/100/descendants",
        "pages/900/descendants",
        "pages/1008/descendants",
    ]
    assert {r.url.params["depth"] for r in site.requests if "descendants" in str(r.url)} == {"10"}
    data = home.to_api()
    assert data["children"][0] == {
        "id": "200",
        "type": "folder",
        "title": "Designs",
        "status": "current",
        "spaceId": "7",
        "parentId": "100",
        "childPosition": 1,
        "children": data["children"][0]["children"],
    }
    assert [c["type"] for c in data["children"][0]["children"]] == ["whiteboard", "embed", "folder"]


def test_tree_depth_and_limit_mark_truncated_nodes(site: FakeSite) -> None:
    svc = ConfluenceService(client(site))
    roots = svc.space_tree("7", max_depth=1)
    assert [c.id for c in roots[0].children] == ["200", "101"]
    assert all(c.children == [] and c.truncated for c in roots[0].children)
    assert site.requests[-1].url.params["depth"] == "1"
    capped = svc.space_tree("7", limit=4)
    assert sum(len(r.walk()) for r in capped) == 4
    assert capped[0].truncated


def test_content_tree_of_a_folder_and_list_helpers(site: FakeSite) -> None:
    svc = ConfluenceService(client(site))
    tree = svc.content_tree("200", "folder")
    assert (tree.id, tree.type, tree.title) == ("200", "folder", "Designs")
    assert shape(tree.children) == truth(site, "200")
    assert [f.id for f in svc.list_folders(space_id="7")] == ["200", "201"]
    assert [f.title for f in svc.list_folders(ids=["201"])] == ["Archive"]
    assert [f.id for f in svc.list_folders(space_id="7", limit=1)] == ["200"]
    assert [(a.id, a.type) for a in svc.list_ancestors("201", "folder")] == [
        ("100", "page"),
        ("200", "folder"),
    ]
    assert [c.id for c in svc.list_children("101")] == ["400", "1000"]
    assert site.requests[-1].url.params["sort"] == "child-position"
    assert [d.id for d in svc.list_descendants("101", depth=1)] == ["400", "1000"]
    with pytest.raises(InvalidRequestError):
        svc.list_folders()

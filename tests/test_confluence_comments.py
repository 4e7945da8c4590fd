"""Footer and inline comments over httpx.MockTransport: routes, filters, paging, fields, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ragconf.confluence import (
    Confluence,
    ConfluenceService,
    FooterComment,
    InlineComment,
)
from ragconf.errors import (
    AuthenticationError,
    BadResponseError,
    EndpointNotFoundError,
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


def test_page_footer_comments_page_through_cursors_with_every_field(site: FakeSite) -> None:
    conf = client(site, page_size=3)
    got = list(conf.get_footer_comments_by_page("101", body_format="storage"))
    assert [c.id for c in got] == [f"f{i}" for i in range(1, 8)]  # trashed f8 and reply left out
    assert [route_of(r) for r in site.requests] == ["pages/101/footer-comments"] * 3
    assert [r.url.params["limit"] for r in site.requests] == ["3"] * 3
    # the filters travel on the next links too, next to the cursor
    assert all(r.url.params["body-format"] == "storage" for r in site.requests)
    assert "cursor" not in site.requests[0].url.params
    assert all("cursor" in r.url.params for r in site.requests[1:])
    first = got[0]
    assert isinstance(first, FooterComment) and first.kind == "footer"
    assert first.container == ("page", "101") and first.page_id == "101"
    assert first.parent_comment_id is None and first.status == "current"
    assert first.body.storage_value == "<p>footer 1</p>"
    assert first.version.number == 1 and first.version.author_id == "acc-3"
    assert first.author_id == "acc-3"
    assert first.version.created_at == datetime(2026, 3, 3, 10, 2, tzinfo=UTC)
    assert first.links.webui == "/spaces/ENG/pages/101?focusedCommentId=f1"
    api = first.to_api()
    assert api["pageId"] == "101" and api["body"]["storage"]["value"] == "<p>footer 1</p>"
    assert "page_id" not in api


def test_status_filter_is_comma_separated(site: FakeSite) -> None:
    conf = client(site)
    got = list(conf.get_footer_comments_by_page("101", status=["current", "trashed"]))
    assert "f8" in [c.id for c in got]
    assert site.requests[-1].url.params["status"] == "current,trashed"
    assert got[0].body.storage_value is None  # no body-format, no body


def test_inline_comments_carry_resolution_and_the_anchored_selection(site: FakeSite) -> None:
    conf = client(site)
    got = list(
        conf.get_inline_comments_by_page(
            "101", body_format="storage", resolution_status=["open", "dangling"]
        )
    )
    assert site.requests[-1].url.params["resolution-status"] == "open,dangling"
    assert [(c.id, c.resolution_status) for c in got] == [("i1", "open"), ("i3", "dangling")]
    i1 = got[0]
    assert isinstance(i1, InlineComment) and i1.kind == "inline"
    assert i1.properties.inline_original_selection == "rate limit"
    assert i1.properties.inline_marker_ref == "marker-i1"
    assert i1.version.number == 3 and i1.body.storage_value == "<p>why?</p>"
    assert i1.to_api()["properties"] == {
        "inlineMarkerRef": "marker-i1",
        "inlineOriginalSelection": "rate limit",
    }
    every = list(conf.get_inline_comments_by_page("101"))
    assert [c.id for c in every] == ["i1", "i2", "i3"]
    assert "resolution-status" not in site.requests[-1].url.params


def test_blog_post_attachment_and_custom_content_comments(site: FakeSite) -> None:
    conf = client(site)
    assert [c.container for c in conf.get_footer_comments_by_blog_post("50")] == [
        ("blogpost", "50")
    ]
    inline = list(conf.get_inline_comments_by_blog_post("50", resolution_status="reopened"))
    assert [(c.id, c.properties.inline_original_selection) for c in inline] == [("b2", "teh")]
    on_file = list(conf.get_footer_comments_by_attachment("att9", version=2))
    assert [(c.id, c.container) for c in on_file] == [("a1", ("attachment", "att9"))]
    assert site.requests[-1].url.params["version"] == "2"
    on_cc = list(conf.get_footer_comments_by_custom_content("3001"))
    assert [(c.id, c.container) for c in on_cc] == [("c1", ("custom_content", "3001"))]
    assert [route_of(r) for r in site.requests] == [
        "blogposts/50/footer-comments",
        "blogposts/50/inline-comments",
        "attachments/att9/footer-comments",
        "custom-content/3001/footer-comments",
    ]


def test_site_wide_listings_and_limit(site: FakeSite) -> None:
    conf = client(site, page_size=4)
    footer = list(conf.get_footer_comments())
    assert {c.id for c in footer} == {c.id for c in site.comments.values() if c.kind == "footer"}
    assert {c.container for c in footer} >= {("page", "101"), ("attachment", "att9")}
    assert route_of(site.requests[0]) == "footer-comments"
    site.requests.clear()
    inline = list(conf.get_inline_comments(limit=2, sort="desc"))
    assert len(inline) == 2 and len(site.requests) == 1
    assert site.requests[0].url.params["limit"] == "2"
    assert site.requests[0].url.params["sort"] == "-created-date"


def test_by_id_and_replies(site: FakeSite) -> None:
    conf = client(site)
    i1 = conf.get_inline_comment_by_id("i1")
    assert site.requests[-1].url.params["body-format"] == "storage"
    assert i1.resolution_status == "open" and i1.body.storage_value == "<p>why?</p>"
    f1 = conf.get_footer_comment_by_id("f1", version=1)
    assert site.requests[-1].url.params["version"] == "1"
    assert [r.id for r in conf.get_comment_children(f1)] == ["f1r1"]
    assert route_of(site.requests[-1]) == "footer-comments/f1/children"
    replies = list(conf.get_comment_children(i1))
    assert [(r.id, r.parent_comment_id, r.kind) for r in replies] == [("i1r1", "i1", "inline")]
    assert route_of(site.requests[-1]) == "inline-comments/i1/children"
    assert [r.id for r in conf.get_comment_children("i1", kind="inline")] == ["i1r1"]
    assert [r.id for r in conf.get_footer_comment_children("f2")] == []
    with pytest.raises(NotFoundError):  # an inline comment is not a footer comment
        conf.get_footer_comment_by_id("i1")
    sent = len(site.requests)
    with pytest.raises(InvalidRequestError):
        conf.get_comment_children("i1")  # an id alone does not say which route
    assert len(site.requests) == sent


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitedError),
    ],
)
@pytest.mark.parametrize(
    "call",
    [
        lambda c: list(c.get_footer_comments_by_page("1")),
        lambda c: list(c.get_inline_comments_by_blog_post("1")),
        lambda c: c.get_inline_comment_by_id("1"),
        lambda c: list(c.get_comment_children("1", kind="footer")),
    ],
)
def test_errors_map_to_the_error_tree(status: int, error: type[Exception], call: Any) -> None:
    body = {"errors": [{"status": status, "code": "X", "title": "nope"}]}
    conf, sleeps, seen = make(lambda r: httpx.Response(status, json=body), max_retries=2)
    with pytest.raises(error) as info:
        call(conf)
    assert type(info.value) is error
    assert info.value.status == status and info.value.body == body
    assert "comment" in (info.value.url or "")
    assert len(seen) == (3 if status == 429 else 1)  # only 429 is retried
    assert len(sleeps.sleeps) == (2 if status == 429 else 0)


def test_404_on_the_site_wide_route_means_a_wrong_endpoint() -> None:
    conf, _, _ = make(lambda r: httpx.Response(404, json={"errors": [{"status": 404}]}))
    with pytest.raises(EndpointNotFoundError):
        list(conf.get_inline_comments())


def test_a_comment_without_an_id_is_a_bad_response() -> None:
    conf, _, _ = make(lambda r: httpx.Response(200, json={"results": [{"title": "x"}]}))
    with pytest.raises(BadResponseError):
        list(conf.get_footer_comments())


def test_service_list_comments(site: FakeSite) -> None:
    svc = ConfluenceService(client(site, page_size=2))
    both = svc.list_comments(select="page", id="101")
    assert [c.id for c in both] == [*(f"f{i}" for i in range(1, 8)), "i1", "i2", "i3"]
    assert [c.id for c in svc.list_comments(select="page", id="101", limit=8)][-1] == "i1"
    site.requests.clear()
    assert len(svc.list_comments(select="page", id="101", limit=3)) == 3
    # the limit stops before the inline listing is asked
    assert [route_of(r) for r in site.requests] == ["pages/101/footer-comments"] * 2
    opened = svc.list_comments(select="page", id="101", resolution_status="open")
    assert [c.id for c in opened] == ["i1"]
    # the site-wide inline route has no resolution filter: applied by the service
    site_wide = svc.list_comments(resolution_status=["resolved", "reopened"])
    assert sorted(c.id for c in site_wide) == ["b2", "i2"]
    assert "resolution-status" not in site.requests[-1].url.params
    assert [c.id for c in svc.list_comments(select="attachment", id="att9")] == ["a1"]
    assert [c.id for c in svc.list_comments(select="custom-content", id="3001")] == ["c1"]
    assert [c.id for c in svc.list_comments(select="blog_post", id="50")] == ["b1", "b2"]
    replies = svc.list_comments(select="comment", id="i1", kind="inline")
    assert [c.id for c in replies] == ["i1r1"]
    with_trash = svc.list_comments(select="page", id="101", kind="footer", status="trashed")
    assert [c.id for c in with_trash] == ["f8"]
    assert site.requests[-1].url.params["status"] == "trashed"
    site.requests.clear()
    assert svc.get_comment("i1").kind == "inline"  # the footer route says 404 first
    assert [route_of(r) for r in site.requests] == ["footer-comments/i1", "inline-comments/i1"]
    assert svc.get_comment("f1", kind="footer").kind == "footer"
    with pytest.raises(NotFoundError):
        svc.get_comment("nope")
    for bad in (
        {"status": "current"},
        {"select": "attachment", "id": "att9", "status": "current"},
        {"select": "page"},
        {"select": "space", "id": "7"},
        {"select": "attachment", "id": "att9", "kind": "inline"},
        {"select": "comment", "id": "i1"},
        {"kind": "footer", "resolution_status": "open"},
        {"kind": "sidebar"},
    ):
        with pytest.raises(InvalidRequestError):
            svc.list_comments(**bad)

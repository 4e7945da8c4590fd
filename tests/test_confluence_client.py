"""Unit tests of the Confluence client over httpx.MockTransport (no sockets, no real sleeps)."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import ragconf.confluence as confluence_pkg
from ragconf.confluence import (
    Confluence,
    ConfluenceService,
    to_epoch_ms,
)
from ragconf.errors import (
    AuthenticationError,
    BadResponseError,
    ConfigurationError,
    EndpointNotFoundError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from tests.confluence_mock import SITE, TOKEN, USER, make, paged, pages

# -- paging -----------------------------------------------------------------------------------


def test_follows_relative_next_links_joined_to_the_site_origin() -> None:
    conf, _, seen = make(paged(pages(10)), page_size=3)
    got = [p.id for p in conf.get_pages()]
    assert got == [str(i) for i in range(1, 11)]
    assert len(seen) == 4
    for request in seen:
        assert str(request.url).startswith(SITE + "/wiki/api/v2/pages")
        # not joined to _links.base (which would give /wiki/wiki/…)
        assert "/wiki/wiki/" not in str(request.url)
    assert conf.stats["requests"] == 4


def test_lists_are_lazy() -> None:
    conf, _, seen = make(paged(pages(5)))
    iterator = conf.get_pages()
    assert seen == []
    assert next(iterator).id == "1"
    assert len(seen) == 1


def test_follows_the_link_header_when_the_body_has_no_next() -> None:
    items = pages(5)

    def handler(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("cursor", "0"))
        body = {"results": items[start : start + 2], "_links": {}}
        headers = {}
        if start + 2 < len(items):
            headers["Link"] = f'</wiki/api/v2/pages?cursor={start + 2}&limit=2>; rel="next"'
        return httpx.Response(200, json=body, headers=headers)

    conf, _, seen = make(handler, page_size=2)
    assert [p.id for p in conf.get_pages()] == ["1", "2", "3", "4", "5"]
    assert len(seen) == 3


def test_short_and_empty_pages_with_next_keep_going() -> None:
    script = [
        {"results": [{"id": "1"}], "_links": {"next": "/wiki/api/v2/pages?cursor=a"}},
        {"results": [], "_links": {"next": "/wiki/api/v2/pages?cursor=b"}},
        {"results": [], "_links": {"next": "/wiki/api/v2/pages?cursor=c"}},
        {"results": [{"id": "2"}, {"id": "3"}], "_links": {}},
    ]
    conf, _, seen = make(lambda r: httpx.Response(200, json=script[len(seen) - 1]))
    assert [p.id for p in conf.get_pages()] == ["1", "2", "3"]
    assert len(seen) == 4


def test_limit_caps_items_and_requests() -> None:
    conf, _, seen = make(paged(pages(100)), page_size=10)
    assert [p.id for p in conf.get_pages(limit=25)] == [str(i) for i in range(1, 26)]
    assert len(seen) == 3  # 10 + 10 + 5: no request for the items after the limit
    seen.clear()
    assert len(list(conf.get_pages(limit=4))) == 4
    assert seen[0].url.params["limit"] == "4"  # never asks for more than it will use
    assert list(conf.get_pages(limit=0)) == []


def test_each_request_asks_for_250_items() -> None:
    conf, _, seen = make(paged(pages(600)))
    assert len(list(conf.get_pages())) == 600
    assert [r.url.params["limit"] for r in seen] == ["250", "250", "250"]


def test_id_lists_longer_than_the_cap_are_split() -> None:
    items = {str(i): {"id": str(i), "title": "t"} for i in range(1, 601)}

    def handler(request: httpx.Request) -> httpx.Response:
        wanted = request.url.params["id"].split(",")
        assert len(wanted) <= 250
        return httpx.Response(200, json={"results": [items[i] for i in wanted], "_links": {}})

    conf, _, seen = make(handler)
    ids = [str(i) for i in range(1, 601)]
    assert [p.id for p in conf.get_pages(ids=ids)] == ids
    assert [len(r.url.params["id"].split(",")) for r in seen] == [250, 250, 100]
    seen.clear()
    assert len(list(conf.get_pages(ids=ids, limit=260))) == 260
    assert len(seen) == 2
    seen.clear()
    assert list(conf.get_pages(ids=[])) == [] and seen == []  # empty filter matches nothing
    assert [p.id for p in conf.get_pages(ids="7")] == ["7"]
    # space ids are capped at 100 per request
    seen.clear()
    conf2, _, seen2 = make(lambda r: httpx.Response(200, json={"results": []}))
    list(conf2.get_pages(space_ids=[str(i) for i in range(150)]))
    assert [len(r.url.params["space-id"].split(",")) for r in seen2] == [100, 50]


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda c: c.get_pages(sort="asc"), "id"),
        (lambda c: c.get_pages(sort="desc"), "-id"),
        (lambda c: c.get_pages(sort="-modified-date"), "-modified-date"),
        (lambda c: c.get_spaces(sort="DESC"), "-id"),
        (lambda c: c.get_labels(sort="asc"), "id"),
        (lambda c: c.get_attachments(sort="asc"), "created-date"),
        (lambda c: c.get_attachments(sort="desc"), "-created-date"),
        (lambda c: c.get_blog_posts(sort="title"), "title"),
    ],
)
def test_sort_mapping(call: Callable[[Confluence], Any], expected: str) -> None:
    conf, _, seen = make(lambda r: httpx.Response(200, json={"results": []}))
    list(call(conf))
    assert seen[0].url.params["sort"] == expected


def test_route_filters_are_sent_with_the_api_names() -> None:
    conf, _, seen = make(lambda r: httpx.Response(200, json={"results": []}))
    list(conf.get_attachments(filename="a.pdf", media_type="application/pdf", status="current"))
    assert seen[-1].url.path == "/wiki/api/v2/attachments"
    assert seen[-1].url.params["mediaType"] == "application/pdf"
    assert seen[-1].url.params["filename"] == "a.pdf"
    list(conf.get_pages_by_space("7", status=["current", "archived"], body_format="storage"))
    assert seen[-1].url.path == "/wiki/api/v2/spaces/7/pages"
    assert seen[-1].url.params["status"] == "current,archived"
    assert seen[-1].url.params["body-format"] == "storage"
    list(conf.get_custom_content("ac:x:cal", space_id=["1", "2"]))
    assert seen[-1].url.params["type"] == "ac:x:cal"
    assert seen[-1].url.params["space-id"] == "1,2"
    list(conf.get_tasks(due_from="2024-03-11", due_to="2024-03-12", assigned_to="acc-1"))
    params = seen[-1].url.params
    assert params["due-at-from"] == "1710115200000"
    assert params["due-at-to"] == str(1710288000000 - 1)  # inclusive end of the 12th
    assert params["assigned-to"] == "acc-1"
    list(conf.get_tasks(due_date="2024-03-11"))
    assert seen[-1].url.params["due-at-to"] == str(1710201600000 - 1)
    list(conf.get_labels_by_page("42", prefix="global"))
    assert seen[-1].url.path == "/wiki/api/v2/pages/42/labels"
    assert seen[-1].url.params["prefix"] == "global"
    list(conf.get_spaces(keys=["ENG", "HR"]))
    assert seen[-1].url.params["keys"] == "ENG,HR"


def test_to_epoch_ms_forms() -> None:
    assert to_epoch_ms(1710115200000) == 1710115200000
    assert to_epoch_ms("2024-03-11T00:00:00+00:00") == 1710115200000
    assert to_epoch_ms("1710115200000") == 1710115200000
    with pytest.raises(ValueError, match="not a date"):
        to_epoch_ms("next tuesday")


def test_current_user_uses_the_v1_route() -> None:
    user = {"accountId": "a1", "displayName": "Me", "email": USER}
    conf, _, seen = make(lambda r: httpx.Response(200, json=user))
    me = conf.get_current_user()
    assert (me.account_id, me.display_name) == ("a1", "Me")
    assert str(seen[0].url) == SITE + "/wiki/rest/api/user/current"


# -- auth and secrets -------------------------------------------------------------------------


def test_basic_and_bearer_auth_go_in_the_header_only() -> None:
    conf, _, seen = make(lambda r: httpx.Response(200, json={"results": []}))
    list(conf.get_spaces())
    expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    assert seen[0].headers["Authorization"] == expected
    assert TOKEN not in str(seen[0].url)
    conf2, _, seen2 = make(
        lambda r: httpx.Response(200, json={"results": []}),
        auth="Bearer pat-123",
        username=None,
        token=None,
    )
    list(conf2.get_spaces())
    assert seen2[0].headers["Authorization"] == "Bearer pat-123"
    with pytest.raises(ConfigurationError):
        Confluence(SITE, auth="pat-123")
    with pytest.raises(ConfigurationError):
        Confluence(SITE, username=USER)


def test_secrets_never_in_errors_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ragconf.confluence")
    statuses = iter([503, 401])
    conf, _, _ = make(lambda r: httpx.Response(next(statuses), text="Unauthorized"))
    with pytest.raises(AuthenticationError) as info:
        list(conf.get_spaces())
    basic = base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    for text in (str(info.value), repr(info.value), repr(conf), json.dumps(info.value.to_dict())):
        assert TOKEN not in text and basic not in text
    assert caplog.records  # the retry was logged
    assert TOKEN not in caplog.text and basic not in caplog.text


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "hint_part"),
    [
        (
            400,
            {
                "errors": [
                    {
                        "status": 400,
                        "code": "INVALID_REQUEST_PARAMETER",
                        "title": "Invalid sort",
                        "detail": None,
                    }
                ]
            },
            InvalidRequestError,
            "parameter",
        ),
        (401, "Unauthorized", AuthenticationError, "generate a new token"),
        (
            403,
            {"message": "Current user not permitted to use Confluence", "statusCode": 403},
            PermissionDeniedError,
            "grant access",
        ),
        (
            404,
            {"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Not Found"}]},
            NotFoundError,
            "does not exist",
        ),
    ],
)
def test_status_errors_carry_method_url_status_body_and_fix(
    status: int, body: Any, error: type[Exception], hint_part: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers={"Content-Type": "text/plain"})
        return httpx.Response(status, json=body)

    conf, _, seen = make(handler)
    with pytest.raises(error) as info:
        conf.get_page_by_id("123")
    exc = info.value
    assert type(exc) is error
    assert exc.method == "GET"
    assert exc.url.startswith(SITE + "/wiki/api/v2/pages/123")
    assert exc.status == status
    assert exc.body == body
    assert hint_part in (exc.hint or "")
    assert "GET " + SITE in str(exc) and "Fix:" in str(exc)
    assert len(seen) == 1  # client errors are not retried


def test_404_on_the_api_root_means_a_wrong_endpoint() -> None:
    conf, _, _ = make(lambda r: httpx.Response(404, json={"errors": [{"status": 404}]}))
    with pytest.raises(EndpointNotFoundError) as info:
        list(conf.get_spaces())
    assert "/wiki/api/v2/" in (info.value.hint or "")
    # a page by id is an object: plain NotFoundError
    with pytest.raises(NotFoundError) as info2:
        conf.get_page_by_id("1")
    assert type(info2.value) is NotFoundError
    # an HTML 404 page is never the API
    conf2, _, _ = make(lambda r: httpx.Response(404, html="<html>nope</html>"))
    with pytest.raises(EndpointNotFoundError):
        conf2.get_page_by_id("1")


def test_401_scoped_token_gets_the_gateway_hint() -> None:
    body = {"code": 401, "message": "Unauthorized; scope does not match"}
    conf, _, _ = make(lambda r: httpx.Response(401, json=body))
    with pytest.raises(AuthenticationError) as info:
        conf.get_current_user()
    assert "api.atlassian.com" in (info.value.hint or "")


@pytest.mark.parametrize(
    "content", [b"not json at all", b'{"results": [{"id": "1"}, {"id": "2"', b"", b"   "]
)
def test_non_json_or_truncated_bodies_raise_bad_response(content: bytes) -> None:
    conf, _sleeper, seen = make(lambda r: httpx.Response(200, content=content))
    with pytest.raises(BadResponseError) as info:
        list(conf.get_pages())
    assert info.value.status == 200
    assert info.value.url and "/wiki/api/v2/pages" in info.value.url
    assert "200" in str(info.value)
    assert len(seen) == 3  # a couple of retries for a proxy hiccup, then a clear error


def test_html_200_fails_soon_with_an_endpoint_hint() -> None:
    conf, _, seen = make(lambda r: httpx.Response(200, html="<html>Log in</html>"))
    with pytest.raises(BadResponseError) as info:
        list(conf.get_spaces())
    assert len(seen) == 3  # a proxy's error page may pass; a login page won't
    assert "/wiki/api/v2/" in (info.value.hint or "")


def test_a_bad_body_once_is_retried_and_recovers() -> None:
    replies = iter([httpx.Response(200, content=b'{"results": ['), None])

    def handler(request: httpx.Request) -> httpx.Response:
        reply = next(replies)
        return reply or httpx.Response(200, json={"results": [{"id": "9"}]})

    conf, _, _ = make(handler)
    assert [p.id for p in conf.get_pages()] == ["9"]
    assert conf.stats["retries"] == 1


def test_repeated_cursor_is_an_error_not_a_hang() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        nxt = (
            "/wiki/api/v2/pages?cursor=B"
            if request.url.params.get("cursor") == "A"
            else ("/wiki/api/v2/pages?cursor=A")
        )
        return httpx.Response(200, json={"results": [{"id": "1"}], "_links": {"next": nxt}})

    conf, _, seen = make(handler)
    with pytest.raises(BadResponseError, match="repeated a pagination cursor"):
        list(conf.get_pages())
    assert len(seen) == 3  # first, A, B; then A again is refused without a request


def test_next_link_to_another_host_is_refused() -> None:
    body = {"results": [], "_links": {"next": "https://evil.example.com/wiki/api/v2/pages?c=1"}}
    conf, _, seen = make(lambda r: httpx.Response(200, json=body))
    with pytest.raises(BadResponseError, match="another host"):
        list(conf.get_pages())
    assert len(seen) == 1


def test_item_without_required_fields_is_a_bad_response() -> None:
    conf, _, _ = make(lambda r: httpx.Response(200, json={"results": [{"title": "no id"}]}))
    with pytest.raises(BadResponseError, match="expected shape"):
        list(conf.get_pages())


# -- concurrency, service, public face --------------------------------------------------------


def test_map_pages_keeps_input_order() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        pid = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"id": pid, "title": f"T{pid}"})

    conf, _, seen = make(handler, max_concurrency=3)
    ids = [str(i) for i in range(20)]
    assert [p.id for p in conf.map_pages(ids)] == ids
    assert all(r.url.params["body-format"] == "storage" for r in seen)


def test_service_lists() -> None:
    conf, _, _seen = make(paged(pages(30)), page_size=7)
    svc = ConfluenceService(conf)
    assert len(svc.list_pages()) == 30
    assert len(svc.list_pages(limit=9)) == 9
    conf2, _, seen2 = make(
        lambda r: httpx.Response(200, json={"results": [{"id": "5", "name": "x"}]})
    )
    svc2 = ConfluenceService(conf2)
    assert [lab.name for lab in svc2.list_labels(select="page", id="9")] == ["x"]
    assert seen2[-1].url.path == "/wiki/api/v2/pages/9/labels"
    svc2.list_labels()
    assert seen2[-1].url.path == "/wiki/api/v2/labels"
    with pytest.raises(InvalidRequestError):
        svc2.list_labels(select="page")
    with pytest.raises(InvalidRequestError):
        svc2.list_custom_content()


def test_public_face_is_sorted_and_complete() -> None:
    assert confluence_pkg.__all__ == sorted(confluence_pkg.__all__)
    for name in confluence_pkg.__all__:
        assert getattr(confluence_pkg, name) is not None


def test_url_forms_normalise_to_the_v2_root() -> None:
    for url in (SITE, SITE + "/", SITE + "/wiki", SITE + "/wiki/api/v2", SITE + "/wiki/api/v2/"):
        conf = Confluence(url, auth="Bearer x")
        assert conf.api_url == SITE + "/wiki/api/v2/"
        conf.close()


def test_a_redirect_where_json_was_expected_is_a_clear_error() -> None:
    conf, _, seen = make(
        lambda r: httpx.Response(301, headers={"Location": "https://acme.atlassian.net/login"})
    )
    with pytest.raises(BadResponseError) as info:
        list(conf.get_spaces())
    assert info.value.status == 301 and len(seen) == 1
    assert "redirect" in str(info.value)

"""The connector against the simulator over a real socket: what each user sees, page by page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ragconf.confluence import Confluence, ConfluenceService
from ragconf.errors import (
    AuthenticationError,
    BadResponseError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
)
from ragconf.simulator import (
    DEMO_TOKEN,
    DEMO_USER,
    GUEST_TOKEN,
    GUEST_USER,
    Faults,
    SimulatorServer,
    demo_site,
)

CALENDAR = "ac:com.atlassian.confluence.plugins.calendar:calendar"
PATHOLOGICAL = "9223372036854775807"

# kind (the oracle's name) -> how the connector lists it
LISTINGS: dict[str, Callable[[Confluence], Iterator[Any]]] = {
    "spaces": lambda c: c.get_spaces(),
    "pages": lambda c: c.get_pages(),
    "blogposts": lambda c: c.get_blog_posts(),
    "attachments": lambda c: c.get_attachments(),
    "labels": lambda c: c.get_labels(),
    "custom_content": lambda c: c.get_custom_content(CALENDAR),
    "tasks": lambda c: c.get_tasks(),
}
USERS = {DEMO_USER: DEMO_TOKEN, GUEST_USER: GUEST_TOKEN}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(demo_site()) as server:
        yield server


def client(sim: SimulatorServer, user: str = DEMO_USER, **kw: Any) -> Confluence:
    return Confluence(sim.api_url, username=user, token=USERS.get(user, "x"), **kw)


def oracle(sim: SimulatorServer, user: str, kind: str) -> list[str]:
    ids = sim.site.visible_ids(user, kind)
    if kind == "custom_content":
        ids = [i for i in ids if sim.site.custom_content[i].custom_type == CALENDAR]
    return ids


@pytest.mark.parametrize("page_size", [1, 7, 250])
@pytest.mark.parametrize("user", [DEMO_USER, GUEST_USER])
@pytest.mark.parametrize("kind", list(LISTINGS))
def test_full_enumeration_matches_the_simulator_store(
    sim: SimulatorServer, kind: str, user: str, page_size: int
) -> None:
    with client(sim, user, page_size=page_size) as conf:
        got = [item.id for item in LISTINGS[kind](conf)]
        requests = conf.stats["requests"]
    expected = oracle(sim, user, kind)
    assert expected, f"the demo site should give {user} some {kind}"
    assert len(got) == len(set(got)), "duplicates across page boundaries"
    assert sorted(got) == sorted(expected)
    if page_size == 1:
        assert requests >= len(expected)  # really walked page by page


def test_the_guest_sees_less_and_gets_404_on_hidden_items(sim: SimulatorServer) -> None:
    site = sim.site
    hidden: dict[str, set[str]] = {}
    for kind in ("spaces", "pages", "blogposts", "attachments"):
        everything = set(oracle(sim, DEMO_USER, kind))
        guest = set(oracle(sim, GUEST_USER, kind))
        assert guest < everything, kind
        hidden[kind] = everything - guest
    with client(sim, GUEST_USER) as guest_conf, client(sim) as admin:
        for space_id in hidden["spaces"]:
            with pytest.raises(NotFoundError):
                guest_conf.get_space_by_id(space_id)
            with pytest.raises(NotFoundError):  # a sub-collection of a hidden parent
                list(guest_conf.get_pages_by_space(space_id))
            assert admin.get_space_by_id(space_id).id == space_id
        page_id = sorted(hidden["pages"])[0]
        with pytest.raises(NotFoundError) as info:
            guest_conf.get_page_by_id(page_id)
        assert type(info.value) is NotFoundError  # an object, not a wrong endpoint
        assert info.value.status == 404 and info.value.method == "GET"
        assert admin.get_page_by_id(page_id).body.storage_value
        assert list(guest_conf.get_pages(ids=[page_id])) == []  # lists omit, 200
        with pytest.raises(NotFoundError):
            guest_conf.get_blog_post_by_id(sorted(hidden["blogposts"])[0])
        with pytest.raises(NotFoundError):
            guest_conf.get_attachment_by_id(sorted(hidden["attachments"])[0])
        restricted = [p for p in site.pages.values() if p.restricted_to is not None]
        if restricted:
            with pytest.raises(NotFoundError):
                guest_conf.get_page_by_id(restricted[0].id)


def test_wrong_token_is_an_authentication_error(sim: SimulatorServer) -> None:
    conf = Confluence(sim.api_url, username=DEMO_USER, token="wrong-token-42")
    with conf, pytest.raises(AuthenticationError) as info:
        conf.get_current_user()
    assert info.value.status == 401
    assert "wrong-token-42" not in str(info.value)
    assert "generate a new token" in (info.value.hint or "")


def test_current_user_and_space_by_key(sim: SimulatorServer) -> None:
    with client(sim) as conf:
        me = conf.get_current_user()
        assert me.email == DEMO_USER and me.account_id
        first = next(conf.get_spaces())
        assert conf.get_space_by_key(first.key).id == first.id
        with pytest.raises(NotFoundError):
            conf.get_space_by_key("NO-SUCH-KEY")


def test_filters_match_the_store(sim: SimulatorServer) -> None:
    site = sim.site
    with client(sim, page_size=5) as conf:
        space = next(conf.get_spaces())
        in_space = sorted(p.id for p in conf.get_pages(space_ids=[space.id]))
        expected = sorted(
            i for i in oracle(sim, DEMO_USER, "pages") if site.pages[i].space_id == space.id
        )
        assert in_space == expected
        by_space_route = sorted(p.id for p in conf.get_pages_by_space(space.id))
        assert by_space_route == expected
        some = expected[:3]
        assert sorted(p.id for p in conf.get_pages(ids=some)) == some
        title = site.pages[some[0]].title
        assert [p.id for p in conf.get_pages(title=title)] == [some[0]]
        # sort=desc really is descending by id
        ids = [int(p.id) for p in conf.get_pages(sort="desc")]
        assert ids == sorted(ids, reverse=True)
        # bodies come with body-format=storage
        page = next(conf.get_pages(body_format="storage", limit=1))
        assert page.body.storage_value and page.body.storage_value.startswith("<")
        # labels of a page are the store's
        labelled = next(p for p in site.pages.values() if p.label_ids and p.id in expected)
        got = sorted(label.id for label in conf.get_labels_by_page(labelled.id))
        assert got == sorted(labelled.label_ids)
        # attachments filtered by media type
        pdfs = list(conf.get_attachments(media_type="application/pdf"))
        assert pdfs and all(a.media_type == "application/pdf" for a in pdfs)
        # tasks due in a window (epoch ms, inclusive)
        dues = sorted(t.due_at for t in site.tasks.values() if t.due_at is not None)
        lo, hi = dues[0], dues[len(dues) // 2]
        window = {t.id for t in conf.get_tasks(due_from=lo, due_to=hi)}
        visible = set(oracle(sim, DEMO_USER, "tasks"))
        expected_tasks = {
            t.id
            for t in site.tasks.values()
            if t.id in visible and t.due_at is not None and lo <= t.due_at <= hi
        }
        assert window == expected_tasks and window
        with pytest.raises(InvalidRequestError):
            list(conf.get_pages(sort="no-such-sort"))


def test_service_conveniences(sim: SimulatorServer) -> None:
    with client(sim, page_size=7) as conf:
        svc = ConfluenceService(conf)
        assert len(svc.list_spaces(limit=2)) == 2
        assert sorted(p.id for p in svc.list_pages()) == sorted(oracle(sim, DEMO_USER, "pages"))
        assert len(svc.list_blog_posts(limit=3)) == 3
        cc = svc.list_custom_content(type=CALENDAR)
        assert sorted(c.id for c in cc) == sorted(oracle(sim, DEMO_USER, "custom_content"))
        page_with_att = next(iter(sim.site.attachments.values())).container_id
        assert svc.list_attachments_by_page(page_with_att)


def test_download_follows_the_redirect(sim: SimulatorServer) -> None:
    record = next(a for a in sim.site.attachments.values() if a.container_kind == "page")
    with client(sim) as conf:
        att = conf.get_attachment_by_id(record.id)
        assert conf.download_attachment(att) == record.data
        if len(record.data) > 1:
            from ragconf.confluence import AttachmentTooLargeError

            with pytest.raises(AttachmentTooLargeError):
                conf.download_attachment(att, max_bytes=len(record.data) - 1)


# -- faults ---------------------------------------------------------------------------------


@pytest.fixture
def faulty() -> Iterator[SimulatorServer]:
    from ragconf.simulator import synthetic_site

    with SimulatorServer(synthetic_site(5000, spaces=2), faults=Faults(seed=11)) as server:
        yield server


def test_30_percent_429_still_enumerates_5000_pages_exactly(faulty: SimulatorServer) -> None:
    faulty.faults.update(rate_limit_rate=0.3, retry_after="1", seed=11)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # a real wait, recorded
        waits.append(seconds)
        time.sleep(seconds)

    with client(faulty, sleep=sleep) as conf:
        got = [p.id for p in conf.get_pages()]
        stats = conf.stats
    expected = oracle(faulty, DEMO_USER, "pages")
    assert len(expected) == 5000
    assert len(got) == len(set(got)) == 5000
    assert sorted(got) == sorted(expected)
    assert stats["rate_limited"] > 0 and stats["retries"] == stats["rate_limited"]
    assert waits and all(w == 1.0 for w in waits)  # the server's Retry-After, honoured


def test_pathological_retry_after_fails_at_once(faulty: SimulatorServer) -> None:
    """A Retry-After beyond RAGCONF_MAX_RETRY_AFTER_S fails the request without waiting
    (issue 12: the README's "longer waits fail the request")."""
    faulty.faults.update(rate_limit_rate=1.0, retry_after=PATHOLOGICAL)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    started = time.monotonic()
    conf = client(faulty, sleep=sleep, max_retry_after=1.0, max_retries=2)
    with conf, pytest.raises(RateLimitedError) as info:
        list(conf.get_spaces())
    assert waits == []
    assert info.value.status == 429
    assert time.monotonic() - started < 60  # generous: the point is "not 292 billion years"


@pytest.mark.timeout(60)
def test_cursor_loop_is_an_error_not_a_hang(faulty: SimulatorServer) -> None:
    faulty.faults.update(cursor_loop=True)
    with client(faulty, page_size=10) as conf:
        with pytest.raises(BadResponseError, match="cursor"):
            list(conf.get_pages())
        assert conf.stats["requests"] < 50


def test_short_empty_pages_and_transient_faults_lose_nothing(faulty: SimulatorServer) -> None:
    faulty.faults.update(
        empty_page_rate=0.2,
        short_page_rate=0.2,
        error_rate=0.1,
        reset_rate=0.05,
        truncate_rate=0.05,
        non_json_rate=0.05,
        seed=5,
    )
    with client(faulty, page_size=100, backoff_base=0.01, backoff_max=0.05) as conf:
        got = [p.id for p in conf.get_pages()]
        stats = conf.stats
    assert len(got) == len(set(got)) == 5000
    assert sorted(got) == sorted(oracle(faulty, DEMO_USER, "pages"))
    assert stats["retries"] > 0


def test_unknown_custom_content_type_names_the_fix(sim: SimulatorServer) -> None:
    with client(sim) as conf, pytest.raises(NotFoundError) as info:
        list(conf.get_custom_content("no:such:type"))
    assert "module key" in (info.value.hint or "")

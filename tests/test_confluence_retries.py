"""Unit tests of retries, Retry-After, backoff, rate limiting and downloads (no real sleeps)."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from ragconf.confluence import Attachment, AttachmentTooLargeError, Confluence
from ragconf.confluence._retry import (
    RetryAfterTooLong,
    RetryPolicy,
    TokenBucket,
    parse_retry_after,
)
from ragconf.confluence._transport import Transport
from ragconf.errors import (
    HTTPStatusError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from tests.confluence_mock import SITE, Handler, Recorder, make, paged, pages

# -- retries ----------------------------------------------------------------------------------


def scripted(*responses: httpx.Response | Exception) -> Handler:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


OK = httpx.Response(200, json={"results": [{"id": "1"}]})


def test_retry_after_seconds_is_honoured() -> None:
    conf, sleeper, _ = make(scripted(httpx.Response(429, headers={"Retry-After": "7"}), OK))
    assert [p.id for p in conf.get_pages()] == ["1"]
    assert sleeper.sleeps == [7.0]
    assert conf.stats["retries"] == 1 and conf.stats["rate_limited"] == 1


def test_retry_after_http_date_is_honoured() -> None:
    now = 1_700_000_000.0
    when = email.utils.formatdate(now + 12, usegmt=True)
    conf, sleeper, _ = make(
        scripted(httpx.Response(503, headers={"Retry-After": when}), OK), now=lambda: now
    )
    assert [p.id for p in conf.get_pages()] == ["1"]
    assert sleeper.sleeps == [12.0]


def test_a_retry_after_within_the_cap_is_waited_for() -> None:
    wait = httpx.Response(429, headers={"Retry-After": "60"})
    conf, sleeper, _seen = make(scripted(wait, wait, OK), max_retry_after=60.0)
    assert [p.id for p in conf.get_pages()] == ["1"]
    assert sleeper.sleeps == [60.0, 60.0]
    assert conf.stats["retry_wait_s"] == 120.0


@pytest.mark.parametrize(
    ("status", "value", "error", "code"),
    [(429, "9223372036854775807", RateLimitedError, 7), (429, "61", RateLimitedError, 7),
     (503, "3600", ServerError, 10)],
)
def test_a_retry_after_beyond_the_cap_fails_at_once(
    status: int, value: str, error: type[Exception], code: int
) -> None:
    """RAGCONF_MAX_RETRY_AFTER_S: "longer waits fail the request" (README), not 8 capped waits."""
    answer = httpx.Response(status, headers={"Retry-After": value}, json={"message": "later"})
    conf, sleeper, seen = make(scripted(answer, OK), max_retry_after=60.0)
    with pytest.raises(error) as info:
        list(conf.get_pages())
    assert len(seen) == 1 and sleeper.sleeps == []
    assert "RAGCONF_MAX_RETRY_AFTER_S" in str(info.value)
    assert info.value.exit_code == code  # type: ignore[attr-defined]


def test_persistent_5xx_is_a_server_error_with_its_own_exit_code() -> None:
    from ragconf.cli import _app

    conf, _, seen = make(scripted(httpx.Response(502, text="bad gateway")), max_retries=2)
    with pytest.raises(ServerError) as info:
        list(conf.get_spaces())
    assert len(seen) == 3 and info.value.status == 502
    assert info.value.exit_code == 10 and info.value.exit_code != HTTPStatusError.exit_code
    assert "10 server error" in " ".join((_app.__doc__ or "").split())  # documented


class FakeClock:
    """Time that passes only when the transport sleeps or an attempt times out."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_request_stops_retrying_at_its_deadline() -> None:
    clock = FakeClock()
    seen: list[float] = []

    def silent(request: httpx.Request) -> httpx.Response:  # accepts, never answers
        timeout = request.extensions.get("timeout", {}).get("read") or 30.0
        seen.append(timeout)
        clock.now += timeout
        raise httpx.ReadTimeout("timed out", request=request)

    conf = Confluence(SITE, username="me@acme.com", token="t", timeout=30.0, deadline=100.0,
                      client=httpx.Client(transport=httpx.MockTransport(silent)),
                      sleep=clock.sleep, clock=clock, rng=lambda: 1.0)
    with pytest.raises(TransportError):
        list(conf.get_spaces())
    assert len(seen) < 9  # the old budget: 9 attempts of 30 s each
    assert clock.now <= 100.0 + 1e-9, (clock.now, seen)
    assert seen[-1] < 30.0  # the last attempt only gets what is left of the deadline


def test_backoff_is_exponential_with_full_jitter_and_bounded() -> None:
    conf, sleeper, seen = make(
        scripted(httpx.Response(500, text="boom")),
        max_retries=6,
        backoff_base=0.5,
        backoff_max=4.0,
        rng=lambda: 1.0,
    )
    with pytest.raises(HTTPStatusError) as info:
        list(conf.get_pages())
    assert info.value.status == 500 and info.value.body == "boom"
    assert len(seen) == 7  # 1 + 6 retries
    assert sleeper.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    # the jitter draws uniformly below the ceiling
    conf2, sleeper2, _ = make(scripted(httpx.Response(502), OK), backoff_base=2.0, rng=lambda: 0.25)
    list(conf2.get_pages())
    assert sleeper2.sleeps == [0.5]


def test_429_after_retries_is_rate_limited_error() -> None:
    conf, _sleeper, seen = make(
        scripted(httpx.Response(429, headers={"Retry-After": "1"}, json={"message": "slow"})),
        max_retries=2,
    )
    with pytest.raises(RateLimitedError) as info:
        list(conf.get_spaces())
    assert len(seen) == 3
    assert "wait a minute" in (info.value.hint or "")
    assert info.value.status == 429


def test_only_get_is_retried() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, headers={"Retry-After": "1"})

    sleeper = Recorder()
    transport = Transport(
        SITE + "/wiki/api/v2/",
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=sleeper,
    )
    with pytest.raises(HTTPStatusError):
        transport.request("POST", transport.api("pages"))
    assert len(seen) == 1 and sleeper.sleeps == []
    with pytest.raises(HTTPStatusError):
        transport.request("GET", transport.api("pages"))
    assert len(seen) == 1 + 9  # 1 + max_retries (8)


def test_connection_reset_and_timeouts_are_retried() -> None:
    conf, sleeper, seen = make(
        scripted(httpx.ReadError("Connection reset by peer"), httpx.ReadTimeout("slow"), OK)
    )
    assert [p.id for p in conf.get_pages()] == ["1"]
    assert len(seen) == 3 and len(sleeper.sleeps) == 2


def test_persistent_network_failure_is_transport_error() -> None:
    conf, _, seen = make(scripted(httpx.ConnectError("Connection refused")))
    with pytest.raises(TransportError) as info:
        list(conf.get_spaces())
    assert len(seen) == 3  # a refused connection is usually a wrong host: fail fast
    assert "network" in (info.value.hint or "")


def test_retry_policy_arithmetic() -> None:
    policy = RetryPolicy(max_retry_after=60.0, rng=lambda: 0.5)
    assert policy.retry_after_delay("9223372036854775807") == 9223372036854775807.0
    with pytest.raises(RetryAfterTooLong):
        policy.delay(0, "61")
    assert policy.delay(0, "60") == 60.0
    assert policy.retry_after_delay("-3") == 0.0
    assert policy.retry_after_delay("garbage") is None
    assert policy.delay(3, None) == 0.5 * min(30.0, 0.5 * 8)
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("inf") == float("inf")


def test_token_bucket_limits_the_request_rate() -> None:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    bucket = TokenBucket(rate=2.0, burst=1.0, clock=lambda: clock[0], sleep=sleep)
    for _ in range(5):
        bucket.acquire()
    assert clock[0] == pytest.approx(2.0)  # 5 requests at 2/s with a burst of 1


def test_client_rate_limit_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    sleeper = Recorder()

    def sleep(seconds: float) -> None:
        sleeper(seconds)
        clock[0] += seconds

    conf = Confluence(
        SITE,
        auth="Bearer x",
        client=httpx.Client(transport=httpx.MockTransport(paged(pages(10)))),
        page_size=1,
        rate=5.0,
        sleep=sleep,
        clock=lambda: clock[0],
    )
    assert len(list(conf.get_pages())) == 10
    assert clock[0] == pytest.approx(1.0)  # burst of 5, then 5 more at 5/s
    assert conf.stats["throttle_wait_s"] == pytest.approx(1.0)


# -- downloads --------------------------------------------------------------------------------


def attachment(link: str = "/download/attachments/42/report.pdf?version=1&api=v2") -> Attachment:
    return Attachment.model_validate(
        {"id": "att1", "title": "report.pdf", "pageId": "42", "downloadLink": link}
    )


def test_download_follows_302_and_keeps_credentials_on_the_site() -> None:
    payload = b"%PDF-1.4 " + b"x" * 5000

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "media.example.com":
            assert "Authorization" not in request.headers  # never leaked to another origin
            return httpx.Response(200, content=payload)
        assert request.url.path == "/wiki/download/attachments/42/report.pdf"
        assert request.headers["Authorization"].startswith("Basic ")
        return httpx.Response(302, headers={"Location": "https://media.example.com/f/1?tok=abc"})

    conf, _, seen = make(handler)
    assert conf.download_attachment(attachment()) == payload
    assert [r.url.host for r in seen] == ["acme.atlassian.net", "media.example.com"]


def test_download_stops_at_max_bytes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # a stream without Content-Length: the limit must hold while reading
        return httpx.Response(200, content=iter([b"a" * 1000] * 50))

    conf, _, seen = make(handler)
    with pytest.raises(AttachmentTooLargeError) as info:
        conf.download_attachment(attachment(), max_bytes=4096)
    assert len(seen) == 1  # not retried
    assert "/wiki/download/attachments/42" in (info.value.url or "")
    assert conf.download_attachment(attachment(), max_bytes=None) == b"a" * 50_000
    conf2, _, _ = make(lambda r: httpx.Response(200, content=b"x" * 10))
    with pytest.raises(AttachmentTooLargeError):
        conf2.download_attachment(attachment(), max_bytes=9)  # declared Content-Length
    assert conf2.download_attachment(attachment(), max_bytes=10) == b"x" * 10


def test_download_of_missing_attachment_is_not_found() -> None:
    conf, _, _ = make(lambda r: httpx.Response(404, json={"errors": [{"status": 404}]}))
    with pytest.raises(NotFoundError):
        conf.download_attachment(attachment())

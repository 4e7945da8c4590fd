"""httpx.MockTransport helpers shared by the Confluence client unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ragconf.confluence import Confluence

SITE = "https://acme.atlassian.net"
TOKEN = "s3cret-T0KEN-value"
USER = "me@acme.com"
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """Collects the injected sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def make(handler: Handler, **kw: Any) -> tuple[Confluence, Recorder, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    sleeper = Recorder()
    kw.setdefault("username", USER)
    kw.setdefault("token", TOKEN)
    conf = Confluence(
        SITE + "/wiki/api/v2/",
        client=httpx.Client(transport=httpx.MockTransport(record)),
        sleep=sleeper,
        **kw,
    )
    return conf, sleeper, seen


def paged(items: list[dict[str, Any]], path: str = "/wiki/api/v2/pages") -> Handler:
    """A list endpoint with opaque-ish cursors, relative next links and a Link header."""

    def handler(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("cursor", "0") or 0)
        limit = int(request.url.params["limit"])
        body: dict[str, Any] = {
            "results": items[start : start + limit],
            "_links": {"base": SITE + "/wiki"},
        }
        headers = {}
        if start + limit < len(items):
            nxt = f"{path}?cursor={start + limit}&limit={limit}"
            body["_links"]["next"] = nxt
            headers["Link"] = f'<{nxt}>; rel="next", <{SITE}/wiki>; rel="base"'
        return httpx.Response(200, json=body, headers=headers)

    return handler


def pages(n: int) -> list[dict[str, Any]]:
    return [{"id": str(i), "title": f"Page {i}", "spaceId": "7"} for i in range(1, n + 1)]

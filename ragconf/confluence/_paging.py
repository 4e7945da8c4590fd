"""Cursor pagination: follow ``_links.next`` (or the ``Link`` header) to the end or a limit.

Confluence's next link is relative and already starts with ``/wiki``, so it is joined to
the site origin, not to ``_links.base`` (which also ends in ``/wiki``). A page may be short
or even empty and still carry ``next``: we loop until ``next`` is absent, never until a page
is short. A ``next`` that repeats a cursor already seen ends the listing with a
``BadResponseError`` instead of looping for ever.

>>> resolve_next("https://acme.atlassian.net", "/wiki/api/v2/pages?cursor=abc")
'https://acme.atlassian.net/wiki/api/v2/pages?cursor=abc'
>>> list(chunked(["1", "2", "3"], 2))
[['1', '2'], ['3']]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qs, urljoin, urlsplit

import pydantic

from ragconf.confluence._transport import Transport
from ragconf.errors import BadResponseError

__all__ = ["MAX_PAGE_SIZE", "as_list", "chunked", "paginate", "resolve_next"]

T = TypeVar("T")

#: the API's maximum ``limit`` on (almost) every list
MAX_PAGE_SIZE = 250

_LINK_NEXT = re.compile(r"<([^>]*)>\s*;[^,]*?\brel=\"?next\"?", re.IGNORECASE)


def as_list(values: str | int | Iterable[str | int] | None) -> list[str] | None:
    """``"1"``, ``1``, ``["1", 2]`` -> a list of strings; None stays None."""
    if values is None:
        return None
    if isinstance(values, str | int):
        return [str(values)]
    return [str(v) for v in values]


def chunked(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def link_header_next(header: str | None) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 ``Link`` header."""
    if not header:
        return None
    match = _LINK_NEXT.search(header)
    return match.group(1).strip() if match else None


def resolve_next(origin: str, link: str, *, api_url: str | None = None) -> str:
    """Turn a ``next`` link into an absolute URL on the same site.

    Absolute links to another host are refused: following them would send the
    Authorization header somewhere else.
    """
    link = link.strip()
    if "://" in link:
        target, own = urlsplit(link), urlsplit(origin)
        if (target.scheme, target.netloc) != (own.scheme, own.netloc):
            raise BadResponseError(
                f"refusing to follow a next link to another host ({target.netloc})",
                hint="this is not Confluence behaviour; check the endpoint or proxy",
            )
        return link
    if link.startswith("/wiki/") or link == "/wiki":
        return origin + link
    if link.startswith("/"):
        # some proxies strip /wiki from links; they are still relative to the wiki root
        return origin + "/wiki" + link
    return urljoin(api_url or origin + "/wiki/api/v2/", link)


def _cursor_key(url: str) -> str:
    query = parse_qs(urlsplit(url).query)
    cursors = query.get("cursor")
    return "cursor=" + cursors[0] if cursors else url


def paginate(
    transport: Transport,
    url: str,
    params: dict[str, Any],
    parse: Callable[[Any], T],
    *,
    limit: int | None = None,
    page_size: int = MAX_PAGE_SIZE,
    root_404: bool = True,
    not_found_hint: str | None = None,
) -> Iterator[T]:
    """Yield parsed items of every page of a list endpoint, lazily, up to ``limit`` items.

    ``params`` go on the first request only; Confluence's next link carries the filters,
    the page size and the cursor.
    """
    if limit is not None and limit <= 0:
        return
    query = {k: v for k, v in params.items() if v is not None}
    query["limit"] = min(page_size, limit) if limit is not None else page_size
    seen: set[str] = set()
    yielded = 0
    next_url: str | None = url
    first = True
    while next_url is not None:
        reply = transport.request(
            "GET",
            next_url,
            params=query if first else None,
            root_404=root_404 and first,
            not_found_hint=not_found_hint,
        )
        data = reply.data
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise BadResponseError(
                "a list response without a `results` array",
                method="GET",
                url=reply.url,
                status=reply.status,
                body=_preview(data),
            )
        for item in results:
            try:
                obj = parse(item)
            except pydantic.ValidationError as exc:
                raise BadResponseError(
                    f"an item Confluence sent does not have the expected shape: {exc.errors()[:1]}",
                    method="GET",
                    url=reply.url,
                    status=reply.status,
                    body=_preview(item),
                ) from exc
            yield obj
            yielded += 1
            if limit is not None and yielded >= limit:
                return
        links = data.get("_links") if isinstance(data.get("_links"), dict) else {}
        link = links.get("next") or link_header_next(reply.headers.get("Link"))
        if not link:
            return
        candidate = resolve_next(transport.origin, str(link), api_url=transport.api_url)
        key = _cursor_key(candidate)
        if first:
            seen.add(_cursor_key(reply.url))
        if key in seen:
            raise BadResponseError(
                "Confluence repeated a pagination cursor; stopping instead of looping for ever",
                method="GET",
                url=candidate,
                status=reply.status,
                hint="retry later; if it persists, narrow the listing (e.g. per space) and report",
            )
        seen.add(key)
        next_url = candidate
        first = False


def _preview(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 500 else text[:500] + "…"

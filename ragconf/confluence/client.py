"""``Confluence``: the read-only REST v2 client (DESIGN §3, INTERFACES A).

Every list method is a lazy iterator that follows cursor pagination to the end or to
``limit`` items, asking for 250 items per request. Filters that take id lists are split
into several requests when they exceed the API's caps. Retries, rate limiting and errors
live in ``_transport``; cursor handling in ``_paging``.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

import httpx

from ragconf.confluence._paging import MAX_PAGE_SIZE
from ragconf.confluence._params import DateLike, IdList, to_epoch_ms
from ragconf.confluence._resources_comments import CommentResources
from ragconf.confluence._resources_more import Resources
from ragconf.confluence._resources_tree import TreeResources
from ragconf.confluence._retry import RetryPolicy
from ragconf.confluence._transport import Transport
from ragconf.confluence.models import Page
from ragconf.confluence.urls import basic_auth, normalise_api_url
from ragconf.errors import ConfigurationError

__all__ = ["DEFAULT_DEADLINE_S", "Confluence", "DateLike", "IdList", "to_epoch_ms"]

#: one request, retries and waits included, gives up after this long: three honoured
#: one-minute Retry-Afters, or a few attempts against a host that accepts and never answers
DEFAULT_DEADLINE_S = 180.0

T = TypeVar("T")
R = TypeVar("R")


class Confluence(Resources, CommentResources, TreeResources):
    """Read-only Confluence Cloud REST v2 client.

    >>> with Confluence("https://acme.atlassian.net", username="me@acme.com",
    ...                 token="…") as conf:                            # doctest: +SKIP
    ...     for page in conf.get_pages_by_space("65539", body_format="storage", limit=10):
    ...         print(page.id, page.title, page.version.number)
    ...     print(conf.stats)                      # {'requests': 1, 'retries': 0, ...}

    Comments and the content tree (folders, whiteboards, databases, embeds) have their own
    methods: ``get_footer_comments_by_page(id)``, ``get_inline_comments_by_page(id,
    resolution_status="open")``, ``get_comment_children(comment)``, ``get_folder_by_id(id)``,
    ``get_ancestors(id, type)``, ``get_direct_children(id, type)``, ``get_descendants(id, type)``.

    ``url`` may be the site, ``…/wiki`` or the v2 root, with or without the slash.
    ``auth`` is a ready ``Authorization`` value ("Basic …" / "Bearer …"); otherwise
    ``username`` + ``token`` give Basic auth. ``timeout`` bounds each attempt;
    ``deadline`` bounds one request in all, retries and waits included (None: no bound).
    A ``Retry-After`` beyond ``max_retry_after`` fails the request at once.
    ``sleep``/``rng``/``clock``/``now`` are seams for tests; ``page_size`` (1..250) is how
    many items each request asks for.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: str | None = None,
        username: str | None = None,
        token: str | None = None,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        max_retries: int = 8,
        max_retry_after: float = 60.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        rate: float | None = None,
        max_concurrency: int = 4,
        deadline: float | None = DEFAULT_DEADLINE_S,
        page_size: int = MAX_PAGE_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        if auth is None and (username or token):
            if not (username and token):
                raise ConfigurationError(
                    "Basic auth needs both the account email and the API token"
                )
            auth = basic_auth(username, token)
        if auth is not None and not auth.strip().lower().startswith(("basic ", "bearer ")):
            raise ConfigurationError("auth must be an Authorization value: 'Basic …' or 'Bearer …'")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be within 1..{MAX_PAGE_SIZE}")
        try:
            self.api_url = normalise_api_url(url)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        self.page_size = page_size
        self.max_concurrency = max_concurrency
        policy = RetryPolicy(
            max_retries=max_retries,
            max_retry_after=max_retry_after,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            rng=rng,
            now=now,
        )
        self._t = Transport(
            self.api_url,
            auth=auth.strip() if auth else None,
            client=client,
            timeout=timeout,
            policy=policy,
            rate=rate,
            max_concurrency=max_concurrency,
            deadline=deadline,
            sleep=sleep,
            clock=clock,
        )
        self.origin = self._t.origin

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Confluence:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled HTTP client (an injected client is left to its owner)."""
        self._t.close()

    def __repr__(self) -> str:  # never the credentials
        return f"Confluence({self.api_url!r})"

    @property
    def stats(self) -> dict[str, float]:
        """Counters: requests, retries, bytes, errors, rate_limited, retry/throttle wait seconds."""
        return self._t.stats

    # -- concurrency ----------------------------------------------------------------------

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``fn`` over ``items`` on ``max_concurrency`` threads; results in input order.

        At most ``2 * max_concurrency`` calls are in flight, so a long input is not read
        ahead; the transport's semaphore still bounds concurrent requests.
        """
        window = 2 * self.max_concurrency
        with ThreadPoolExecutor(
            max_workers=self.max_concurrency, thread_name_prefix="ragconf-confluence"
        ) as pool:
            pending: deque[Future[R]] = deque()
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def map_pages(
        self, ids: Iterable[str | int], body_format: str = "storage", include_labels: bool = False
    ) -> Iterator[Page]:
        """Fetch several pages by id concurrently (input order kept)."""
        return self.map_concurrent(
            lambda pid: self.get_page_by_id(
                pid, body_format=body_format, include_labels=include_labels
            ),
            ids,
        )

"""Permission-aware search: only what the end user could open in Confluence.

The index is built by a service account that sees more than most readers. A search or
context request may carry the reader's own Confluence credentials in the header
``X-Confluence-Authorization: Basic …`` (or ``Bearer …``); the engine then asks Confluence,
with those credentials, what the reader may see:

``off``     the service account's view; the header is ignored.
``spaces``  results are restricted to the spaces the reader can list (``GET /spaces`` with
            the reader's credentials). The restriction is a filter on both retrieval legs;
            the lexical index computes its BM25 statistics over the visible spaces only
            and reads no postings of others (``capabilities.scoped_statistics``), so hidden
            spaces influence neither ranking, counts, snippets nor the work done. (The
            bm25s ``BM25Index``, a library option, keeps global statistics.)
``strict``  ``spaces`` plus a check of every candidate document (``GET /pages/{id}``,
            ``/blogposts/{id}``, ``/attachments/{id}``, ``/custom-content?id=``): a 404 or 403
            hides it. This catches page restrictions, inherited ones included (Confluence
            answers 404 under a restricted ancestor). A comment is checked as what it is on
            (Confluence shows it to exactly those who can open that). Checks run
            concurrently (bounded) and the retriever over-fetches candidates so that ``k``
            results survive. Limit: restricted pages inside a visible space still count in
            that space's BM25 statistics (N, average length, document frequencies), so they
            can shift the BM25 scores of visible pages slightly; they are never shown,
            counted or quoted.

Without the header, modes ``spaces``/``strict`` refuse with 401 (no anonymous view that
could differ from the reader's); a header Confluence rejects also gives 401, and a client
whose credentials keep being rejected gets 429 for new ones (``_auth_guard``). Results are
cached for ``cache_s`` seconds per credential, keyed by a keyed hash of the header (never
the secret itself), and per (credential, document). Confluence failures fail closed: the
space listing failing gives 502, a document check failing hides that document (uncached).

>>> engine = PermissionEngine("strict", lambda auth: Confluence(url, auth=auth))  # doctest: +SKIP
>>> scope = engine.scope("Basic Z3Vlc3Q6dG9rZW4=")          # doctest: +SKIP
>>> retriever.search("vault", filters=scope.narrow(SearchFilters()), allow=scope.allow)
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ragconf.errors import (
    AuthenticationError,
    ConfluenceError,
    NotFoundError,
    PermissionDeniedError,
    RagconfError,
)
from ragconf.index.keys import owner_key
from ragconf.index.types import JSONObject, Metadata, SearchFilters, VectorStore
from ragconf.search._auth_guard import FailureLimiter, TooManyFailedChecksError, well_formed
from ragconf.search._breadcrumbs import redact_breadcrumbs
from ragconf.search._checks import PostCheck

if TYPE_CHECKING:
    from ragconf.search.retrieve import DocumentResult
from ragconf.search._permissions_base import (
    USER_AUTH_HEADER,
    PermissionCheckError,
    PermissionForbiddenError,
    PermissionRequiredError,
    ReaderClient,
    _Missing,
    _TTLCache,
    _valid_header,
    credential_fingerprint,
    scoped_counts,
)

__all__ = [
    "MODES",
    "USER_AUTH_HEADER",
    "OpenScope",
    "PermissionCheckError",
    "PermissionEngine",
    "PermissionForbiddenError",
    "PermissionRequiredError",
    "ReaderClient",
    "TooManyFailedChecksError",
    "UserScope",
    "credential_fingerprint",
]

log = logging.getLogger("ragconf.permissions")

MODES = ("off", "spaces", "strict")


@dataclass(frozen=True)
class UserView:
    """The spaces one reader can see: ids (filters) and keys (stats)."""

    space_ids: frozenset[str]
    keys_by_id: dict[str, str]


class OpenScope:
    """``off``: the service account's view; no narrowing, no post-check."""

    allow = None
    mode = "off"

    def narrow(self, filters: SearchFilters) -> SearchFilters:
        return filters

    def redact_breadcrumbs(self, results: list[DocumentResult]) -> None:
        """Nothing to hide from the service account."""


class _DocumentCheck(PostCheck):
    """The ``allow`` post-check of strict mode: ``prefetch`` checks many documents at once
    (bounded concurrency), ``__call__`` answers from what was checked."""

    def __init__(self, scope: UserScope, overfetch: int) -> None:
        self._scope = scope
        #: the retriever multiplies its candidate count by this, so k results survive
        self.overfetch = overfetch

    def prefetch(self, metadatas: Iterable[Metadata]) -> None:
        self._scope.check_documents(metadatas)

    def __call__(self, metadata: Metadata) -> bool:
        return self._scope.can_view(metadata)


class UserScope:
    """What one reader may see; given to the retriever as ``narrow`` + ``allow``."""

    def __init__(self, engine: PermissionEngine, fingerprint: str, auth: str, view: UserView):
        self._engine = engine
        self.fingerprint = fingerprint
        self._auth = auth
        self.view = view
        self.mode = engine.mode
        self._seen: dict[str, bool] = {}  # this request's document answers
        self.allow: _DocumentCheck | None = (
            _DocumentCheck(self, engine.overfetch) if engine.mode == "strict" else None
        )

    def __repr__(self) -> str:  # never the credentials
        spaces = len(self.view.space_ids)
        return f"UserScope(mode={self.mode!r}, user={self.fingerprint}, spaces={spaces})"

    def narrow(self, filters: SearchFilters) -> SearchFilters:
        """``filters`` limited to the reader's spaces (intersected with any given)."""
        ids = self.view.space_ids
        if filters.space_ids is not None:
            ids = ids & frozenset(filters.space_ids)
        return replace(filters, space_ids=tuple(sorted(ids)))

    def check_documents(self, metadatas: Iterable[Metadata]) -> None:
        """Check many documents at once (strict); answers stay with this request's scope."""
        self._seen.update(
            self._engine.check_documents(self.fingerprint, self._auth, self.view, metadatas)
        )

    def can_view(self, metadata: Metadata) -> bool:
        if str(metadata.get("space_id")) not in self.view.space_ids:
            return False
        if self.mode != "strict":
            return True
        key = owner_key(metadata)
        if key is None:
            return False
        if key not in self._seen:
            self.check_documents([metadata])
        return self._seen.get(key, False)

    def redact_breadcrumbs(self, results: list[DocumentResult]) -> None:
        """strict: drop ancestor titles this reader can't open (see ``_breadcrumbs``)."""
        if self.mode == "strict":
            redact_breadcrumbs(
                lambda mds: self._engine.check_documents(
                    self.fingerprint, self._auth, self.view, mds
                ),
                results,
            )

    def scoped_stats(self, store: VectorStore, raw: JSONObject) -> JSONObject:
        """Index statistics limited to what this reader may see (the ``/stats`` route).

        ``spaces``: counts over the reader's spaces only. ``strict``: refused, because a
        per-space count would include restricted documents the reader can't see, and
        checking every document of a site per call is not bounded.
        """
        if self.mode == "strict":
            raise PermissionForbiddenError(
                "index statistics are not available per reader in strict permission mode",
                hint="counts would include restricted documents; use /search, or ask the "
                "operator for the service-wide numbers",
            )
        return scoped_counts(
            store, raw, self.view.space_ids, self.view.keys_by_id, self._engine._stats
        )


class PermissionEngine:
    """Resolves a request's ``X-Confluence-Authorization`` value to a scope, with caches.

    ``client_factory(authorization)`` returns a :class:`ragconf.confluence.Confluence` (or
    anything with its ``get_spaces``, ``get_page_by_id``, ``get_blog_post_by_id``,
    ``get_attachment_by_id``, ``get_custom_content`` and ``close``) acting as the reader;
    short timeouts and few retries suit an interactive request. The engine closes it.
    """

    def __init__(
        self,
        mode: str,
        client_factory: Callable[[str], ReaderClient],
        *,
        cache_s: float = 60.0,
        max_concurrency: int = 8,
        overfetch: int = 3,
        max_users: int = 1024,
        max_documents: int = 100_000,
        failed_checks_per_minute: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"permission mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.client_factory = client_factory
        self.cache_s = cache_s
        self.max_concurrency = max(1, max_concurrency)
        self.overfetch = max(1, overfetch)
        self._key = secrets.token_bytes(32)  # per process: fingerprints can't be precomputed
        self._views: _TTLCache[str, UserView | RagconfError] = _TTLCache(cache_s, max_users, clock)
        # rejected credentials apart from the good ones: junk must not evict real readers
        self._rejected: _TTLCache[str, RagconfError] = _TTLCache(cache_s, 4 * max_users, clock)
        self._failures = FailureLimiter(failed_checks_per_minute, clock=clock)
        self._docs: _TTLCache[tuple[str, str], bool] = _TTLCache(cache_s, max_documents, clock)
        self._stats: _TTLCache[tuple[frozenset[str], int | None], JSONObject] = _TTLCache(
            cache_s, 64, clock
        )
        self._flights: dict[str, threading.Lock] = {}
        self._flights_lock = threading.Lock()
        self.stats = {"space_lookups": 0, "document_checks": 0, "check_failures": 0}

    def __repr__(self) -> str:
        return f"PermissionEngine(mode={self.mode!r}, cache_s={self.cache_s})"

    # -- per request ---------------------------------------------------------------------

    def scope(
        self, authorization: str | None, client: str | None = None
    ) -> OpenScope | UserScope:
        """The scope of a request whose header was ``authorization`` (None if absent).

        ``client`` (the caller's address) is charged for credentials Confluence rejects;
        see ``_auth_guard``.
        """
        if self.mode == "off":
            return OpenScope()
        auth = _valid_header(authorization)
        if not well_formed(auth):  # no request to Confluence for what can't be a credential
            raise PermissionRequiredError(
                f"{USER_AUTH_HEADER} is not 'Basic ' + base64 of 'email:api-token'"
            )
        fingerprint = credential_fingerprint(auth, self._key)
        return UserScope(self, fingerprint, auth, self._view(fingerprint, auth, client))

    def _cached_view(self, fingerprint: str) -> UserView | RagconfError | _Missing:
        rejected = self._rejected.get(fingerprint)
        return rejected if rejected is not _TTLCache._MISSING else self._views.get(fingerprint)

    def _view(self, fingerprint: str, auth: str, client: str | None = None) -> UserView:
        cached = self._cached_view(fingerprint)
        if cached is _TTLCache._MISSING:
            self._failures.check(client)  # too many rejected ones: don't ask Confluence
            # one lookup per credential at a time: a burst of cold requests asks once
            with self._flight(fingerprint):
                cached = self._cached_view(fingerprint)
                if cached is _TTLCache._MISSING:
                    cached = self._lookup_spaces(auth)
                    if isinstance(cached, RagconfError):
                        self._rejected.put(fingerprint, cached)
                        self._failures.failed(client)
                    else:
                        self._views.put(fingerprint, cached)
        if isinstance(cached, RagconfError):
            raise type(cached)(cached.message, hint=cached.hint)
        return cached

    def _flight(self, fingerprint: str) -> threading.Lock:
        with self._flights_lock:
            if len(self._flights) > 4096:
                self._flights.clear()
            return self._flights.setdefault(fingerprint, threading.Lock())

    def _lookup_spaces(self, auth: str) -> UserView | RagconfError:
        """The reader's spaces; a rejected credential is cached as its error, briefly."""
        self.stats["space_lookups"] += 1
        client = self.client_factory(auth)
        try:
            spaces = list(client.get_spaces())
        except AuthenticationError:
            return PermissionRequiredError(
                f"Confluence rejected the credentials in {USER_AUTH_HEADER}",
                hint="check the email and API token (or the bearer token) of the reader; "
                "they are the reader's own Confluence credentials, not an API key",
            )
        except PermissionDeniedError:
            return PermissionForbiddenError(
                "this Confluence account is not allowed to use the site",
                hint="ask a Confluence admin to grant the account access to the site",
            )
        except ConfluenceError as exc:
            log.warning("space lookup for a reader failed: %s", type(exc).__name__)
            raise PermissionCheckError(
                "could not ask Confluence which spaces the reader can see"
            ) from None
        finally:
            client.close()
        return UserView(
            space_ids=frozenset(str(s.id) for s in spaces),
            keys_by_id={str(s.id): str(s.key) for s in spaces},
        )

    # -- per document (strict) ------------------------------------------------------------

    def check_documents(
        self, fingerprint: str, auth: str, view: UserView, metadatas: Iterable[Metadata]
    ) -> dict[str, bool]:
        """Visibility of each document (``type:id``) in ``metadatas``, cached or asked now.

        Uncached documents are checked concurrently (at most ``max_concurrency`` requests).
        A check Confluence failed to answer counts as hidden and is not cached.
        """
        out: dict[str, bool] = {}
        todo: dict[str, Metadata] = {}
        for md in metadatas:
            key = owner_key(md)
            if key is None or key in out or key in todo:
                continue
            if str(md.get("space_id")) not in view.space_ids:
                out[key] = False
                continue
            cached = self._docs.get((fingerprint, key))
            if cached is _TTLCache._MISSING:
                todo[key] = md
            else:
                out[key] = bool(cached)
        if not todo:
            return out
        client = self.client_factory(auth)
        try:
            workers = min(self.max_concurrency, len(todo))
            with ThreadPoolExecutor(workers, thread_name_prefix="ragconf-perm") as pool:
                results = list(pool.map(lambda md: self._check_one(client, md), todo.values()))
        finally:
            client.close()
        rejected = False
        for key, result in zip(todo, results, strict=True):
            if isinstance(result, PermissionRequiredError):
                rejected = True
                out[key] = False
            elif result is None:  # unknown: hidden now, asked again next time
                out[key] = False
            else:
                out[key] = bool(result)
                self._docs.put((fingerprint, key), bool(result))
        if rejected:  # the credential stopped working between the two lookups
            self._rejected.put(fingerprint, _rejected())
            raise _rejected()
        return out

    def _check_one(self, client: ReaderClient, md: Metadata) -> bool | RagconfError | None:
        """True visible, False hidden, None unknown (Confluence failed), or an auth error."""
        self.stats["document_checks"] += 1
        kind, cid = str(md.get("content_type")), str(md.get("content_id"))
        if kind == "comment":
            kind, cid = str(md.get("container_type")), str(md.get("container_id"))
            md = {**md, "custom_type": md.get("container_custom_type")}
        try:
            if kind == "page":
                client.get_page_by_id(cid, body_format=None)
            elif kind == "blogpost":
                client.get_blog_post_by_id(cid, body_format=None)
            elif kind == "attachment":
                client.get_attachment_by_id(cid)
            elif kind == "custom_content":
                ctype = md.get("custom_type")
                if not ctype:
                    return False  # can't ask without the type: hide rather than guess
                found = list(client.get_custom_content(str(ctype), ids=[cid], limit=1))
                return any(str(c.id) == cid for c in found)
            else:
                return False
        except (NotFoundError, PermissionDeniedError):
            return False
        except AuthenticationError:
            return _rejected()
        except ConfluenceError as exc:
            self.stats["check_failures"] += 1
            log.warning("permission check of %s:%s failed: %s", kind, cid, type(exc).__name__)
            return None
        return True


def _rejected() -> PermissionRequiredError:
    return PermissionRequiredError(f"Confluence rejected the credentials in {USER_AUTH_HEADER}")

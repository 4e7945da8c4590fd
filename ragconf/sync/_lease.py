"""The sync lock held in the store: a lease that excludes overlapping syncs from any host.

The data directory's ``flock`` (``_state.SyncLock``) only sees syncs on one machine and
one data directory. The index's truth lives in the store, and a Chroma server can be fed
by workers on several hosts, so the lock that matters is a record there
(``types.LeaseStore``): one row per claimant, naming the collection, what it syncs
(``"*"``, or its space keys: workers on disjoint spaces may run side by side), its host,
PID and an expiry that a background thread renews every ``ttl_s / 3`` seconds.

Chroma offers no compare-and-swap, so a claim is settled by writing first and reading
back later:

1. write my row (a *candidate*), wait ``store.lease_settle_s``, read every row;
2. a live overlapping row that is *held*, or an earlier candidate, wins: I delete my row
   and raise ``SyncLockedError`` (CLI exit 9); otherwise I mark my row held.

Two claimants that both read after both wrote see the same rows and agree on the winner.
If A read before B wrote, B reads at least ``settle`` after that, by which time A has
marked its row held (one store round trip), so B yields. A row is live until it expires;
one left by a process that died on *this* host (``kill -9``) is dead at once, so a rerun
never waits for it. A holder that can't renew before its own expiry has lost the lease
(another host may take over): ``check()`` raises before the sync deletes or publishes
anything. Clocks of hosts sharing a store must agree to well within ``ttl_s``.

>>> with StoreLease(store, ["ENG"]) as lease:     # doctest: +SKIP
...     lease.check()
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace

from ragconf.errors import StoreError, SyncLockedError
from ragconf.index.types import LeaseRecord, LeaseStore
from ragconf.sync._state import pid_alive

__all__ = ["ALL", "DEFAULT_TTL_S", "StoreLease", "overlaps"]

log = logging.getLogger("ragconf.sync")

ALL = "*"
DEFAULT_TTL_S = 60.0


def overlaps(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether two claims cover some of the same content (``*`` covers everything)."""
    sa, sb = set(a), set(b)
    return ALL in sa or ALL in sb or bool(sa & sb)


class StoreLease:
    """Claim ``scopes`` of the store's collection for one sync; a context manager.

    ``scopes``: space keys, or None / empty for the whole collection.
    """

    def __init__(
        self,
        store: LeaseStore,
        scopes: Iterable[str] | None = None,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.time,
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        self.store = store
        self.scopes = tuple(sorted(set(scopes or ()))) or (ALL,)
        self.ttl_s = ttl_s
        self.clock = clock
        self.host = host or socket.gethostname()
        self.pid = os.getpid() if pid is None else pid
        self.record: LeaseRecord | None = None
        self.lost: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- claim and release ---------------------------------------------------------------

    def acquire(self) -> None:
        now = self.clock()
        me = LeaseRecord(
            token=uuid.uuid4().hex, collection=self.store.name, scopes=self.scopes,
            host=self.host, pid=self.pid, started_at=now, expires_at=now + self.ttl_s,
        )
        self.store.put_lease(me)
        time.sleep(self.store.lease_settle_s)
        try:
            rivals = self._rivals(me)
            winner = _winner(me, rivals)
        except BaseException:
            self._drop(me.token)
            raise
        if winner is not None:
            self._drop(me.token)
            raise self._locked_error(winner)
        self.record = replace(me, held=True, expires_at=self.clock() + self.ttl_s)
        self.store.put_lease(self.record)
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, name="sync-lease", daemon=True)
        self._renewer.start()

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        with self._lock:
            record, self.record = self.record, None
        if record is not None:
            self._drop(record.token)

    def __enter__(self) -> StoreLease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def check(self) -> None:
        """Raise if the lease was lost (not renewed in time): stop before writing more."""
        if self.lost is not None:
            raise SyncLockedError(
                f"this sync lost its lease on the store's collection {self.store.name} "
                f"({self.lost}); it stopped before deleting or publishing anything",
                hint="another sync may have taken over; run it again once that one is done",
            )

    # -- renewal -------------------------------------------------------------------------

    def renew(self) -> None:
        """Push the expiry out by ``ttl_s``; marks the lease lost if it already ran out."""
        with self._lock:
            record = self.record
            if record is None or self.lost is not None:
                return
            now = self.clock()
            if now >= record.expires_at:
                self.lost = "it was not renewed before it expired"
                return
            if all(r.token != record.token for r in self.store.leases()):
                self.lost = "its record was removed from the store"
                return
            self.record = replace(record, expires_at=now + self.ttl_s)
            self.store.put_lease(self.record)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                self.renew()
            except StoreError as exc:  # the store is briefly away: try again until expiry
                log.warning("renewing the sync lease failed: %s", exc.message)
                with self._lock:
                    if self.record is not None and self.clock() >= self.record.expires_at:
                        self.lost = f"the store could not be reached to renew it ({exc.message})"
            except BaseException as exc:  # a bug: the sync must not go on unprotected
                self.lost = f"renewing it failed ({type(exc).__name__}: {exc})"
                raise

    # -- helpers -------------------------------------------------------------------------

    def _rivals(self, me: LeaseRecord) -> list[LeaseRecord]:
        now = self.clock()
        rivals = []
        for r in self.store.leases():
            if r.token == me.token:
                continue
            if not self._live(r, now):
                self._drop(r.token)  # expired, or its process is gone: garbage
                continue
            if overlaps(r.scopes, me.scopes):
                rivals.append(r)
        return rivals

    def _live(self, r: LeaseRecord, now: float) -> bool:
        if r.expires_at <= now:
            return False
        # a holder killed on this host (kill -9) is known dead now: don't wait for expiry
        return r.host != self.host or pid_alive(r.pid)

    def _drop(self, token: str) -> None:
        try:
            self.store.drop_lease(token)
        except StoreError as exc:  # the row expires by itself
            log.warning("removing a sync lease failed: %s", exc.message)

    def _locked_error(self, holder: LeaseRecord) -> SyncLockedError:
        what = "the whole index" if ALL in holder.scopes else "spaces " + ", ".join(holder.scopes)
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.started_at))
        return SyncLockedError(
            f"another sync (pid {holder.pid} on {holder.host}, started {since}) is running on "
            f"the store's collection {self.store.name} ({what})",
            hint="wait for it to finish; a lease of a sync that died on another host "
            f"expires within {int(self.ttl_s)} s of its last renewal",
        )


def _winner(me: LeaseRecord, rivals: list[LeaseRecord]) -> LeaseRecord | None:
    """The rival that wins over ``me``: a holder, or else the earliest candidate."""
    held = [r for r in rivals if r.held]
    if held:
        return held[0]
    earlier = [r for r in rivals if (r.started_at, r.token) < (me.started_at, me.token)]
    return min(earlier, key=lambda r: (r.started_at, r.token)) if earlier else None

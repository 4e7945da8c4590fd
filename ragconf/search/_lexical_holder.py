"""Keeps the lexical index in step with the vector store without rebuilding it per query.

An index whose ``capabilities.shared`` is true (``SqliteLexicalIndex``) is caught up on
every call: it reads the generation of its database and, when a sync (this process or
another on the same data dir) committed since, only the chunk rows that sync changed.

For a rebuilding index (bm25s), the index is loaded once at startup. A sync saves a fresh
BM25 version and, when the sync records it, names its *stamp* in the store's collection metadata
(``store.get_meta()["lexical_stamp"]``). On a search, at most once every ``check_interval_s``
seconds, the holder asks whether the loaded index is stale:

* the store names a stamp different from the loaded index's, or
* the index folder on disk (``path/CURRENT``) names another version than the one loaded
  (an embedded store synced by another process).

When stale, a background thread reloads the saved index (cheap: bm25s memory-maps its
arrays); if the file on disk is still not the one the store names (the store lives on a
Chroma server and the sync ran on another machine), it rebuilds the index from the store's
chunks instead. Searches keep using the old index until the new one is ready, then one
reference swap makes the new one live. Nothing is ever rebuilt per query.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from ragconf.errors import StoreError
from ragconf.index.types import LexicalIndex, Metadata

__all__ = ["LexicalHolder", "disk_version", "lexical_stamp", "store_stamp"]

log = logging.getLogger(__name__)


class StampSource(Protocol):
    """What the holder reads from the store: its collection metadata (``VectorStore``)."""

    def get_meta(self) -> Metadata: ...


def lexical_stamp(lexical: LexicalIndex) -> str | None:
    """The stamp a lexical index was saved with (None when unknown)."""
    stamp = lexical.stamp
    return str(stamp) if stamp else None


def disk_version(lexical: LexicalIndex) -> str | None:
    """The version folder a rebuilding index on disk names as current (None if unknown,
    and for an index that updates in place)."""
    if lexical.capabilities.shared:
        return None
    try:
        return (lexical.path / "CURRENT").read_text(encoding="utf-8").strip() or None
    except (OSError, ValueError):
        return None


def store_stamp(store: StampSource | None) -> str | None:
    """The lexical stamp the store's last sync recorded (None when unknown)."""
    if store is None:
        return None
    try:
        meta = store.get_meta() or {}
    except StoreError:  # a store that can't answer now must not fail the search
        log.debug("store.get_meta failed", exc_info=True)
        return None
    stamp = meta.get("lexical_stamp")
    return str(stamp) if stamp else None


class LexicalHolder:
    """The current lexical index; call it to get the index (``Retriever`` accepts a callable).

    >>> holder = LexicalHolder(bm25, store=store, load=lambda: BM25Index(path))  # doctest: +SKIP
    >>> Retriever(store, embedder, holder)                                         # doctest: +SKIP
    """

    def __init__(
        self,
        lexical: LexicalIndex,
        *,
        store: StampSource | None = None,
        load: Callable[[], LexicalIndex] | None = None,
        rebuild: Callable[[], LexicalIndex] | None = None,
        check_interval_s: float = 5.0,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._current = lexical
        self._version = disk_version(lexical)
        #: a store stamp that neither reload nor rebuild could match (don't retry it forever)
        self._unreachable: str | None = None
        self._store = store
        self._load = load
        self._rebuild = rebuild
        self.check_interval_s = check_interval_s
        self._last_check = time.monotonic()
        #: called (in a background thread) after a commit by a sync is noticed: the API
        #: reopens an embedded vector store there, whose queries would not see it otherwise
        self._on_change = on_change
        if on_change is not None and lexical.capabilities.shared:
            # where the index stands now, as the store was just opened: a sync that
            # commits before the first search must still reopen the store
            lexical.refresh()
        self._changing: threading.Thread | None = None
        self._pending = False
        self._lock = threading.Lock()
        self._refreshing: threading.Thread | None = None
        self._checking: threading.Thread | None = None
        self.reloads = 0
        self.rebuilds = 0

    @property
    def current(self) -> LexicalIndex:
        return self._current

    def __call__(self) -> LexicalIndex:
        current = self._current
        if current.capabilities.shared:
            try:
                if current.refresh():  # O(changed chunks) when a sync committed, else one read
                    self._changed()
            except Exception:  # a locked or broken file: answer from what is held
                log.warning("refreshing the lexical index failed", exc_info=True)
        self._maybe_check()
        return self._current

    def _maybe_check(self) -> None:
        """Every ``check_interval_s``, check for staleness in the background: asking the
        store may cross the network, which a search must not wait for."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_check < self.check_interval_s:
                return
            self._last_check = now
            if self._checking is not None and self._checking.is_alive():
                return
            self._checking = threading.Thread(
                target=self._check_quietly, name="ragconf-lexical-check", daemon=True
            )
            self._checking.start()

    def _check_quietly(self) -> None:
        try:
            self.check()
        except Exception:  # a background check must never take the process down
            log.warning("checking the lexical index for a newer version failed", exc_info=True)

    def _changed(self) -> None:
        if self._on_change is None:
            return
        with self._lock:
            if self._changing is not None and self._changing.is_alive():
                self._pending = True
                return
            self._pending = False
            self._changing = threading.Thread(
                target=self._run_on_change, name="ragconf-store-reopen", daemon=True
            )
            self._changing.start()

    def _run_on_change(self) -> None:
        while True:
            try:
                assert self._on_change is not None
                self._on_change()
            except Exception:
                log.warning("reopening the vector store after a sync failed", exc_info=True)
            with self._lock:
                if not self._pending:
                    return
                self._pending = False

    def stale(self) -> bool:
        want = store_stamp(self._store)
        mine = lexical_stamp(self._current)
        if self._current.capabilities.shared and want and mine:
            # "<database>:<generation>": the same database catches up by itself (refresh);
            # only a sync that wrote another host's index calls for a reconcile
            return want.split(":")[0] != mine.split(":")[0] and want != self._unreachable
        if want is not None and want != mine and want != self._unreachable:
            return True
        on_disk = disk_version(self._current)
        return on_disk is not None and on_disk != self._version

    def check(self, *, wait: bool = False) -> bool:
        """Start a refresh if the store's stamp moved; True when one is running or done."""
        if not self.stale():
            return False
        with self._lock:
            if self._refreshing is None or not self._refreshing.is_alive():
                self._refreshing = threading.Thread(
                    target=self._refresh, name="ragconf-lexical-refresh", daemon=True
                )
                self._refreshing.start()
            thread = self._refreshing
        if wait:
            thread.join()
        return True

    def _refresh(self) -> None:
        want = store_stamp(self._store)
        # read the version name before loading: a save in between costs one more reload later
        version = disk_version(self._current)
        try:
            fresh: LexicalIndex | None = None
            if self._load is not None:
                fresh = self._load()
                self.reloads += 1
            stamp_ok = want is None or (fresh is not None and lexical_stamp(fresh) == want)
            if not stamp_ok and self._rebuild is not None:
                fresh = self._rebuild()
                self.rebuilds += 1
                version = self._version  # rebuilt in memory; the disk version is unchanged
            if fresh is not None:
                self._current = fresh  # one reference swap: searches see old or new, never half
                self._version = version
            if want is not None and lexical_stamp(self._current) != want:
                self._unreachable = want
        except Exception:
            log.warning("refreshing the lexical index failed; keeping the old one", exc_info=True)

"""The sync lock held in the store (``ragconf.sync._lease``), and bug (b) of issue 13.

The lease rules are checked on an in-memory ``LeaseStore`` (a plain list of rows) and on
real embedded Chroma; the end-to-end cases run real syncs against the simulator:

* two syncs with *different* data directories on one store exclude each other (the old
  data-directory ``flock`` let both run) - in process, and as two ``ragconf sync``
  processes against one ``chroma run`` server (exit 9);
* a lease left by a holder killed on another host blocks until it expires, then is
  taken over; one left by a dead process on this host is taken over at once.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragconf.confluence import Confluence
from ragconf.errors import StoreError, SyncLockedError
from ragconf.index.embed import HashEmbedder
from ragconf.index.store import ChromaStore, open_store
from ragconf.index.types import LeaseRecord, LeaseStore
from ragconf.simulator import DEMO_TOKEN, DEMO_USER, Faults, SimulatorServer
from ragconf.sync._lease import StoreLease, overlaps
from ragconf.sync.engine import Syncer
from tests.test_concurrency import RAGCONF, busy_site, cli_env


class MemoryLeases:
    """A LeaseStore in memory: rows by token, like the Chroma lease collection."""

    name = "coll"
    lease_settle_s = 0.0

    def __init__(self) -> None:
        self.rows: dict[str, LeaseRecord] = {}
        self.fail = False

    def put_lease(self, record: LeaseRecord) -> None:
        if self.fail:
            raise StoreError("store away")
        self.rows[record.token] = record

    def leases(self) -> list[LeaseRecord]:
        if self.fail:
            raise StoreError("store away")
        return [r for r in self.rows.values() if r.collection == self.name]

    def drop_lease(self, token: str) -> None:
        self.rows.pop(token, None)


def foreign(store: MemoryLeases, *, expires_in: float, scopes: tuple[str, ...] = ("*",),
            host: str = "elsewhere", pid: int = 4242, held: bool = True) -> LeaseRecord:
    """A lease row written by another sync (on another host unless ``host`` says so)."""
    now = time.time()
    rec = LeaseRecord(token=f"t-{host}-{pid}-{scopes}", collection=store.name, scopes=scopes,
                      host=host, pid=pid, started_at=now - 100, expires_at=now + expires_in,
                      held=held)
    store.put_lease(rec)
    return rec


def test_memory_leases_is_a_lease_store() -> None:
    assert isinstance(MemoryLeases(), LeaseStore)


def test_scopes_overlap_when_they_share_a_space_or_one_is_everything() -> None:
    assert overlaps(["*"], ["ENG"]) and overlaps(["ENG", "OPS"], ["OPS"])
    assert not overlaps(["ENG"], ["OPS"])


def test_a_held_lease_excludes_overlapping_claims_and_allows_disjoint_ones() -> None:
    store = MemoryLeases()
    with StoreLease(store, ["ENG"]) as first:
        assert first.record is not None and first.record.held
        with pytest.raises(SyncLockedError, match="another sync") as info:
            StoreLease(store, ["ENG", "HR"]).acquire()
        assert "spaces ENG" in info.value.message and "pid" in info.value.message
        with pytest.raises(SyncLockedError):
            StoreLease(store, None).acquire()  # the whole collection overlaps everything
        with StoreLease(store, ["OPS"]):  # a worker on another space runs beside it
            assert len(store.rows) == 2
        assert len(store.rows) == 1  # the refused claims left no rows behind
    assert store.rows == {}  # released


def test_a_live_lease_of_another_host_blocks_until_it_expires() -> None:
    store = MemoryLeases()
    foreign(store, expires_in=30)
    with pytest.raises(SyncLockedError, match="elsewhere"):
        StoreLease(store).acquire()
    store.rows.clear()
    stale = foreign(store, expires_in=-1)  # its holder was killed a minute ago: ran out
    with StoreLease(store) as lease:
        assert lease.record is not None and stale.token not in store.rows


def test_a_lease_of_a_dead_process_on_this_host_is_taken_over_at_once() -> None:
    store = MemoryLeases()
    dead = subprocess.Popen(["true"])
    dead.wait()
    foreign(store, expires_in=60, host=socket.gethostname(), pid=dead.pid)
    with StoreLease(store):
        pass
    foreign(store, expires_in=60, host=socket.gethostname(), pid=os.getpid())  # alive
    with pytest.raises(SyncLockedError):
        StoreLease(store).acquire()


def test_the_earlier_of_two_candidates_wins() -> None:
    store = MemoryLeases()
    foreign(store, expires_in=60, held=False)  # a claim still settling, started earlier
    with pytest.raises(SyncLockedError):
        StoreLease(store).acquire()


def test_renewal_moves_the_expiry_and_a_missed_one_loses_the_lease() -> None:
    store = MemoryLeases()
    now = [1000.0]
    lease = StoreLease(store, ["ENG"], ttl_s=60, clock=lambda: now[0])
    lease.acquire()
    try:
        assert lease.record is not None and lease.record.expires_at == 1060
        now[0] = 1030
        lease.renew()
        assert store.rows[lease.record.token].expires_at == 1090
        lease.check()
        now[0] = 1100  # the renewals stopped (the store was away) past the expiry
        lease.renew()
        with pytest.raises(SyncLockedError, match="lost its lease"):
            lease.check()
    finally:
        lease.release()


def test_a_removed_record_is_a_lost_lease() -> None:
    store = MemoryLeases()
    with StoreLease(store) as lease:
        store.rows.clear()  # another host judged it expired and cleaned it up
        lease.renew()
        with pytest.raises(SyncLockedError):
            lease.check()


def test_the_renewer_keeps_a_short_lease_alive() -> None:
    store = MemoryLeases()
    with StoreLease(store, ttl_s=0.3) as lease:
        time.sleep(0.8)  # well past the first expiry: the thread renewed it meanwhile
        assert lease.record is not None
        assert store.rows[lease.record.token].expires_at > time.time()
        lease.check()
        with pytest.raises(SyncLockedError):
            StoreLease(store).acquire()


# -- on real Chroma --------------------------------------------------------------------------


def test_two_stores_on_one_embedded_collection_see_each_others_leases(tmp_path: Path) -> None:
    a = open_store(tmp_path, model_name="hash-64", dimension=64)
    b = open_store(tmp_path, model_name="hash-64", dimension=64)
    other = open_store(tmp_path, model_name="another", dimension=64)
    assert isinstance(a, LeaseStore)
    with StoreLease(a, ["ENG"]):
        with pytest.raises(SyncLockedError):
            StoreLease(b, ["ENG"]).acquire()
        with StoreLease(other, ["ENG"]):  # another model's collection: its own lock
            pass
    with StoreLease(b, ["ENG"]):
        pass
    assert a.leases() == [] and a.count() == 0  # lease rows live beside the chunks


# -- syncs ---------------------------------------------------------------------------------


@pytest.fixture
def slow_site() -> Iterator[SimulatorServer]:
    site, _, _ = busy_site()
    with SimulatorServer(site) as sim:
        yield sim


@pytest.fixture
def conf(slow_site: SimulatorServer) -> Iterator[Confluence]:
    with Confluence(slow_site.base_url, username=DEMO_USER, token=DEMO_TOKEN) as client:
        yield client


def _syncer(conf: Confluence, store: ChromaStore, state: Path, **kw: Any) -> Syncer:
    return Syncer(conf, store, HashEmbedder(64), None, state_dir=state, custom_types=[], **kw)


def test_two_syncs_with_different_data_dirs_on_one_store_exclude_each_other(
    slow_site: SimulatorServer, conf: Confluence, tmp_path: Path
) -> None:
    """Bug (b): the data directory's flock let both run; the store's lease refuses one."""
    store = open_store(tmp_path / "shared", model_name="hash-64", dimension=64)
    slow_site.faults = Faults(latency_s=0.5, paths=r"/api/v2/spaces$")
    errors: list[BaseException] = []

    def first() -> None:
        try:
            _syncer(conf, store, tmp_path / "host-a").run()
        except BaseException as exc:  # reported below
            errors.append(exc)

    before = slow_site.request_count
    t = threading.Thread(target=first)
    t.start()
    try:
        deadline = time.monotonic() + 30
        while slow_site.request_count == before:  # it lists spaces once it holds the lease
            assert time.monotonic() < deadline, "the first sync never started"
            time.sleep(0.005)
        with pytest.raises(SyncLockedError, match="store's collection"):
            _syncer(conf, store, tmp_path / "host-b").run()
    finally:
        t.join(timeout=120)
        slow_site.faults = None
    assert not errors
    assert _syncer(conf, store, tmp_path / "host-b").run().ok  # free again


def test_a_lease_left_by_a_killed_sync_on_another_host_expires(
    conf: Confluence, tmp_path: Path
) -> None:
    store = open_store(tmp_path, model_name="hash-64", dimension=64)
    now = time.time()
    killed = LeaseRecord(token="killed", collection=store.name, scopes=("*",), host="other-host",
                         pid=99, started_at=now - 30, expires_at=now + 30, held=True)
    store.put_lease(killed)
    with pytest.raises(SyncLockedError, match="other-host"):
        _syncer(conf, store, tmp_path / "a").run()
    store.put_lease(dataclasses.replace(killed, expires_at=now - 1))  # it ran out
    assert _syncer(conf, store, tmp_path / "a").run().ok
    assert store.leases() == []


@pytest.mark.server
def test_two_ragconf_syncs_on_one_chroma_server_exit_9(tmp_path: Path, chroma_server: str) -> None:
    """Bug (b) across processes: different data dirs, one `chroma run` server."""
    site, _, _ = busy_site()
    with SimulatorServer(site, faults=Faults(latency_s=6.0, paths=r"/api/v2/spaces$")) as sim:
        env_a = {**cli_env(sim, tmp_path / "a"), "RAGCONF_CHROMA_URL": chroma_server}
        env_b = {**cli_env(sim, tmp_path / "b"), "RAGCONF_CHROMA_URL": chroma_server}
        first = subprocess.Popen([RAGCONF, "sync", "--json", "--quiet"], env=env_a,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while sim.request_count == 0:  # it holds the lease before its first request
                assert first.poll() is None and time.monotonic() < deadline
                time.sleep(0.01)
            second = subprocess.run([RAGCONF, "sync", "--json", "--quiet"], env=env_b,
                                    capture_output=True, text=True, timeout=300)
            assert second.returncode == 9, second.stderr
            assert "another sync" in second.stderr
            _out, err = first.communicate(timeout=300)
            assert first.returncode == 0, err
        finally:
            if first.poll() is None:
                first.kill()
            store = open_store(tmp_path, chroma_url=chroma_server, model_name="hash-64",
                               dimension=64)
            assert store.leases() == []  # both released (or never written) their rows
            store.drop()
            store.close()

"""The SQLite lexical index beyond the shared contract: the same scores as bm25s, work
proportional to the changed chunks (counted in chunks and rows, never timed), readers that
catch up by reading only the changed rows, work independent of hidden spaces, and a sync
that classifies from it instead of scanning the vector store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.lexical_sqlite import SqliteLexicalIndex
from ragconf.index.types import SearchFilters, StoredChunk
from ragconf.simulator import SimulatorServer
from ragconf.sync.engine import Syncer
from tests.test_sync_support import build_site, client_for, open_test_store

WORDS = """ledger invoice payment gateway retry cursor index shard replica tenant quota region
deploy rollback canary metric alert latency backlog schema migration token webhook consumer
producer topic partition offset snapshot backup restore failover""".split()  # noqa: SIM905


def corpus(n: int, spaces: int = 4) -> list[StoredChunk]:
    out = []
    for i in range(n):
        words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(8 + i % 13)]
        if i % 5 == 0:
            words += words[:3]  # repeated terms: tf > 1
        sid = str(i % spaces)
        meta = {"content_id": str(i), "content_type": "page", "space_id": sid,
                "space_key": f"S{sid}", "title": f"Page {i}", "version": 1}  # fmt: skip
        out.append(StoredChunk(f"page:{i}:0", f"Page {i} SYN-{i:05d} " + " ".join(words), meta))
    return out


QUERIES = ["ledger retry", "SYN-00042", "canary canary deploy", "snapshot restore failover",
           "quota tenant region shard", "unknownword", "webhook"]  # fmt: skip


def test_scores_equal_the_bm25s_index(tmp_path: Path) -> None:
    chunks = corpus(600)
    old = BM25Index(tmp_path / "bm25")
    old.rebuild(chunks)
    new = SqliteLexicalIndex(tmp_path / "lex.sqlite")
    with new.batch() as batch:
        batch.upsert(chunks)
    for q in QUERIES:
        a, b = old.search(q, 20), new.search(q, 20)
        assert [h.id for h in a] == [h.id for h in b], q
        assert all(abs(x.score - y.score) <= 1e-5 * x.score for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("size", [300, 3000])
def test_a_batch_costs_what_it_changes_not_the_index_size(tmp_path: Path, size: int) -> None:
    idx = SqliteLexicalIndex(tmp_path / "lex.sqlite")
    with idx.batch() as batch:
        batch.upsert(corpus(size))
    reader = SqliteLexicalIndex(tmp_path / "lex.sqlite")  # another process, caught up
    assert reader.caught_up_rows == size  # opening reads everything once
    changed = [StoredChunk(c.id, c.text + " edited", c.metadata) for c in corpus(10)]
    with idx.batch() as batch:
        batch.upsert(changed)
        batch.delete(["page:10:0", "page:11:0"])
    work = idx.last_batch
    assert work["chunks_written"] == 10 and work["chunks_deleted"] == 2
    # each changed chunk rewrites one postings block per term it has, nothing else
    terms = sum(len(set(idx.tokens(c.text))) for c in changed)
    assert work["blocks_written"] <= terms + sum(len(set(idx.tokens(c.text))) for c in corpus(12))
    assert reader.search("edited", 20) and len(reader) == size - 2
    # the rows the batch rewrote (deleted ones need no read), whatever the index size
    assert reader.caught_up_rows == 10


def test_hidden_spaces_change_neither_the_work_nor_the_answer(tmp_path: Path) -> None:
    """Issue 12: a term that exists only in a hidden space costs what a made-up one does."""
    chunks = corpus(200)
    meta = {"content_id": "999", "content_type": "page", "space_id": "3", "space_key": "S3"}
    secret = StoredChunk("page:999:0", "Project nightjar acquisition terms", meta)
    idx = SqliteLexicalIndex(tmp_path / "lex.sqlite")
    with idx.batch() as batch:
        batch.upsert([*chunks, secret])
    scope = SearchFilters(space_ids=("0", "1"))
    assert idx.search("nightjar", 5) != []  # it exists, for those who may see it
    assert idx.search("nightjar", 5, scope) == []
    hidden_work = dict(idx.last_work)
    assert idx.search("zqxwvut", 5, scope) == []
    assert idx.last_work == hidden_work and hidden_work["postings"] == 0
    # the same for a query mixing visible and hidden-only terms
    idx.search("ledger nightjar", 10, scope)
    mixed = dict(idx.last_work)
    idx.search("ledger zqxwvut", 10, scope)
    assert idx.last_work == mixed


def test_kept_postings_follow_every_commit_of_any_writer(tmp_path: Path) -> None:
    """Postings are kept per generation (a served index answers the same terms again and
    again): a commit, by this object or another process's, makes a search read afresh."""
    path = tmp_path / "lex.sqlite"
    writer, reader = SqliteLexicalIndex(path), SqliteLexicalIndex(path)  # sync and server
    with writer.batch() as batch:
        batch.upsert(corpus(60))
    meta = {"content_id": "77", "content_type": "page", "space_id": "1", "space_key": "S1"}
    loud = StoredChunk("page:77:0", "ledger ledger ledger ledger", meta)
    scope = SearchFilters(space_ids=("0",))
    for idx in (writer, reader):
        assert idx.search("ledger", 3)[0].id != "page:77:0"  # read, and kept
        idx.search("ledger", 3, scope)
    with writer.batch() as batch:
        batch.upsert([loud])
    for idx in (writer, reader):
        assert idx.search("ledger", 3)[0].id == "page:77:0"
        assert "page:77:0" not in [h.id for h in idx.search("ledger", 30, scope)]  # its scope
    with writer.batch() as batch:
        batch.delete(["page:77:0"])
    for idx in (writer, reader):
        assert "page:77:0" not in [h.id for h in idx.search("ledger", 30)]
    # the same answers as an index that never kept anything
    fresh = SqliteLexicalIndex(path)
    for q in QUERIES:
        assert [(h.id, round(h.score, 9)) for h in reader.search(q, 10)] == [
            (h.id, round(h.score, 9)) for h in fresh.search(q, 10)
        ]


def test_sync_classifies_from_the_index_and_writes_it_in_one_batch(tmp_path: Path) -> None:
    site, ids = build_site()
    embedder = HashEmbedder()
    with SimulatorServer(site) as sim, client_for(sim) as conf:
        store = CountingStore(open_test_store(tmp_path / "data", embedder))
        lexical = SqliteLexicalIndex(tmp_path / "data" / "lexical.sqlite")

        def sync() -> Any:
            return Syncer(conf, store, embedder, lexical, state_dir=tmp_path / "data").run()

        first = sync()
        assert first.ok and len(lexical) == store.count()
        store.calls.clear()
        gen = lexical.stamp
        assert sync().documents_changed == 0
        # no metadata scan, no chunk read: a no-change run reads the listing and the index
        assert not {"manifest", "iter_metadata", "iter_all", "get"} & set(store.calls)
        assert lexical.stamp == gen  # nothing committed: readers have nothing to catch up
        site.edit(ids.restart, body="<p>Restart the ledger with the new zebrafinch step.</p>")
        report = sync()
        assert report.documents_changed == 1
        chunks_now = store.ids_for_content([ids.restart])[ids.restart]
        assert lexical.last_batch["chunks_written"] == len(chunks_now)  # that page, no other
        assert [h.metadata["content_id"] for h in lexical.search("zebrafinch", 3)] == [ids.restart]


class CountingStore:
    """The real store, with a tally of the methods the sync called (a seam, not a mock)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if callable(attr):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                return attr(*args, **kwargs)

            return counted
        return attr


def test_a_replica_on_another_host_copies_only_what_a_sync_changed(tmp_path: Path) -> None:
    """Chroma server set-up: the sync's index is not the replica's; the store's stamp moves
    and the replica reconciles, writing only the changed chunks."""
    from ragconf.api.app import _rebuilder
    from ragconf.search._lexical_holder import LexicalHolder

    site, ids = build_site()
    embedder = HashEmbedder()
    with SimulatorServer(site) as sim, client_for(sim) as conf:
        store = open_test_store(tmp_path / "data", embedder)
        worker = SqliteLexicalIndex(tmp_path / "worker.sqlite")  # the sync host's file

        def sync() -> Any:
            return Syncer(conf, store, embedder, worker, state_dir=tmp_path / "state").run()

        sync()
        replica = SqliteLexicalIndex(tmp_path / "replica.sqlite")  # the API host's file
        holder = LexicalHolder(replica, store=store, rebuild=_rebuilder(replica, store))
        assert holder.check(wait=True) and len(replica) == store.count()
        site.edit(ids.restart, body="<p>Restart the ledger after the kingfisher check.</p>")
        sync()
        assert holder.check(wait=True)
        changed = store.ids_for_content([ids.restart])[ids.restart]
        assert replica.last_batch["chunks_written"] == len(changed)
        assert [h.metadata["content_id"] for h in replica.search("kingfisher", 3)] == [ids.restart]
        assert holder.check(wait=True) is False  # nothing new: no more work


def test_lookup_never_serves_rows_of_an_older_generation(tmp_path: Path) -> None:
    # lookup() keeps the rows it read per generation; a commit, in this object or in
    # another one on the same file (another process), must show through at once
    path = tmp_path / "lx.sqlite"
    writer, reader = SqliteLexicalIndex(path), SqliteLexicalIndex(path)
    first = corpus(3)
    with writer.batch() as b:
        b.upsert(first)
    for lx in (writer, reader):
        assert lx.lookup(["page:1:0"])["page:1:0"].text == first[1].text
    edited = StoredChunk("page:1:0", "Page 1 edited rollback", {**first[1].metadata, "version": 2})
    with writer.batch() as b:
        b.upsert([edited])
        b.delete(["page:2:0"])
    for lx in (writer, reader):
        got = lx.lookup(["page:1:0", "page:2:0"])
        assert set(got) == {"page:1:0"}
        assert got["page:1:0"].text == "Page 1 edited rollback"
        assert got["page:1:0"].metadata["version"] == 2
        got["page:1:0"].metadata["title"] = "changed by a caller"
        assert lx.lookup(["page:1:0"])["page:1:0"].metadata["title"] == "Page 1"


def test_refresh_reports_a_commit_even_when_a_search_caught_up_first(tmp_path: Path) -> None:
    # the API reopens its vector store when refresh() says True; a concurrent search that
    # read the new generation first must not swallow that signal (nor a first search that
    # comes after a sync: the first refresh notes where the index stood)
    path = tmp_path / "lx.sqlite"
    writer, reader = SqliteLexicalIndex(path), SqliteLexicalIndex(path)
    with writer.batch() as b:
        b.upsert(corpus(3))
    assert reader.refresh() is False  # where it stands: nothing to report yet
    with writer.batch() as b:
        b.upsert([StoredChunk("page:9:0", "Page 9 aurora", corpus(1)[0].metadata)])
    assert [h.id for h in reader.search("aurora", 3)] == ["page:9:0"]  # caught up here
    assert reader.refresh() is True
    assert reader.refresh() is False

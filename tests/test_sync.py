"""Sync against the simulator over real HTTP, into embedded Chroma, with the HashEmbedder.

Each test builds a small complete site (tests/test_sync_support.py), syncs it, changes
the site the way Confluence users do, syncs again and checks the index against the
simulator's oracle, counting embeddings with ``embedder.embedded_count``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ragconf.convert.storage import StorageConverter
from ragconf.errors import ConversionError, StoreError, SyncLockedError
from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.lexical_sqlite import SqliteLexicalIndex
from ragconf.index.store import ChromaStore
from ragconf.index.types import Chunk, chunk_id
from ragconf.simulator import DEMO_USER, GUEST_USER, SimulatorServer, Site
from ragconf.sync._state import SyncLock, SyncState
from ragconf.sync.engine import Syncer, SyncReport
from tests.test_sync_support import (
    Ids,
    build_site,
    client_for,
    doc_keys,
    expected_keys,
    metadata_of,
    open_test_store,
    snapshot,
)


@dataclass
class Env:
    site: Site
    ids: Ids
    sim: SimulatorServer
    conf: Any
    embedder: HashEmbedder
    store: Any
    lexical: Any
    data: Path

    def sync(self, full: bool = False, **kw: Any) -> SyncReport:
        kw.setdefault("converter", None)
        syncer = Syncer(self.conf, self.store, self.embedder, self.lexical,
                        state_dir=self.data, **kw)
        return syncer.run(full=full)

    def embedded_by(self, full: bool = False, **kw: Any) -> tuple[SyncReport, int]:
        before = self.embedder.embedded_count
        report = self.sync(full=full, **kw)
        return report, self.embedder.embedded_count - before


@pytest.fixture(params=["sqlite", "bm25s"])
def env(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Env]:
    """Each sync test runs with both lexical indexes (incremental SQLite, rebuilt bm25s)."""
    site, ids = build_site()
    embedder = HashEmbedder()
    with SimulatorServer(site) as sim, client_for(sim) as conf:
        store = open_test_store(tmp_path / "data", embedder)
        if request.param == "sqlite":
            lexical: Any = SqliteLexicalIndex(tmp_path / "data" / "lexical.sqlite")
        else:
            lexical = BM25Index(tmp_path / "data" / "bm25")
        yield Env(site, ids, sim, conf, embedder, store, lexical, tmp_path / "data")


@pytest.fixture
def synced(env: Env) -> Env:
    report = env.sync()
    assert report.ok, report.failed
    return env


# -- first sync ---------------------------------------------------------------------------


def test_first_sync_indexes_everything_visible_with_metadata(synced: Env) -> None:
    env, ids = synced, synced.ids
    assert doc_keys(env.store) == expected_keys(env.site)
    page = metadata_of(env.store, f"page:{ids.restart}")
    assert page["title"] == "Restart the ledger"
    assert page["url"].startswith(env.sim.base_url + "/wiki/spaces/ENG/pages/" + ids.restart)
    assert page["space_key"] == "ENG" and page["space_name"] == "Engineering"
    assert page["labels"] == ["ledger"]
    assert page["parent_id"] == ids.runbooks
    assert page["ancestors"][-1] == ids.runbooks
    assert page["version"] == 1 and page["status"] == "current"
    assert isinstance(page["updated_at_ts"], float) and page["updated_at"].endswith("Z")
    assert metadata_of(env.store, f"page:{ids.archived}")["status"] == "archived"
    assert metadata_of(env.store, f"custom_content:{ids.calendar}")["content_type"] == (
        "custom_content"
    )
    blog = metadata_of(env.store, f"blogpost:{ids.blog}")
    assert blog["labels"] == ["release"] and blog["content_type"] == "blogpost"
    # the lexical index is rebuilt beside the store
    assert len(env.lexical) == env.store.count()


def test_attachments_are_documents_with_metadata_and_text(synced: Env) -> None:
    env, ids = synced, synced.ids
    texts = {c.id: c.text for c in env.store.iter_all()}
    notes = " ".join(t for cid, t in texts.items() if cid.startswith(f"attachment:{ids.notes}:"))
    assert "notes.txt" in notes and "Runbooks" in notes and "ops notes" in notes
    assert "Rotate the signing keys every month." in notes
    image = metadata_of(env.store, f"attachment:{ids.image}")
    assert image["media_type"] == "image/png" and image["parent_id"] == ids.runbooks
    # the zero-byte file is indexed by its metadata, with a warning, and is no failure
    assert f"attachment:{ids.empty}" in doc_keys(env.store)


def test_broken_xhtml_is_indexed(synced: Env) -> None:
    texts = [c.text for c in synced.store.iter_all() if f":{synced.ids.broken}:" in c.id]
    assert texts and "inside an info macro" in " ".join(texts)


def test_second_sync_changes_nothing_and_embeds_nothing(synced: Env) -> None:
    before = snapshot(synced.store)
    report, embedded = synced.embedded_by()
    assert embedded == 0 and report.chunks_embedded == 0
    assert report.documents_changed == 0 and report.documents_deleted == 0
    assert report.unchanged == len(expected_keys(synced.site))
    assert snapshot(synced.store) == before


def test_full_sync_reconverts_but_does_not_reembed(synced: Env) -> None:
    before = snapshot(synced.store)
    report, embedded = synced.embedded_by(full=True)
    assert embedded == 0
    assert report.updated == len(expected_keys(synced.site))
    assert snapshot(synced.store) == before


# -- changes ------------------------------------------------------------------------------


def test_edit_embeds_only_the_changed_chunks(synced: Env) -> None:
    env, page = synced, synced.ids.runbooks
    old = {c.id: c.metadata["text_hash"] for c in env.store.iter_all() if f":{page}:" in c.id}
    body = env.site.pages[page].body.replace("word3x7 ", "changed ")
    env.site.edit(page, body=body)
    report, embedded = env.embedded_by()
    new = {c.id: c.metadata["text_hash"] for c in env.store.iter_all() if f":{page}:" in c.id}
    changed = {cid for cid, h in new.items() if old.get(cid) != h}
    assert 1 <= embedded == len(changed) < len(new)
    assert report.updated == 1 and report.chunks_embedded == embedded
    assert metadata_of(env.store, f"page:{page}")["version"] == 2


def test_relabel_updates_metadata_without_embedding(synced: Env) -> None:
    env, ids = synced, synced.ids
    env.site.set_labels(ids.restart, ["ledger", "critical"])
    env.site.set_labels(ids.blog, [])
    report, embedded = env.embedded_by()
    assert embedded == 0 and report.metadata_updated == 2
    assert metadata_of(env.store, f"page:{ids.restart}")["labels"] == ["critical", "ledger"]
    assert not metadata_of(env.store, f"blogpost:{ids.blog}").get("labels")


def test_title_change_embeds_nothing_and_updates_title(synced: Env) -> None:
    env, ids = synced, synced.ids
    env.site.edit(ids.pager, title="Pager duty rules")
    report, embedded = env.embedded_by()
    assert embedded == 0 and report.updated == 1
    meta = metadata_of(env.store, f"page:{ids.pager}")
    assert meta["title"] == "Pager duty rules" and meta["version"] == 2
    assert "/Pager+duty+rules" in meta["url"] or "/Pager%20duty%20rules" in meta["url"]
    texts = [c.text for c in env.store.iter_all() if f":{ids.pager}:" in c.id]
    assert texts and all(t.startswith("Pager duty rules") for t in texts)


def test_title_change_reembeds_only_attachment_text_that_names_it(synced: Env) -> None:
    env, ids = synced, synced.ids
    env.site.edit(ids.restart, title="Restart the ledger safely")
    report, embedded = env.embedded_by()
    # the page's own chunks keep their vectors; empty.txt's text says "Attached to: <title>"
    assert embedded == 1 and report.updated == 2
    assert metadata_of(env.store, f"attachment:{ids.empty}")["container_title"] == (
        "Restart the ledger safely"
    )


def test_move_updates_place_without_embedding(synced: Env) -> None:
    env, ids = synced, synced.ids
    env.site.move(ids.restart, space_key="OPS")
    _report, embedded = env.embedded_by()
    assert embedded == 0
    meta = metadata_of(env.store, f"page:{ids.restart}")
    assert meta["space_key"] == "OPS" and "parent_id" not in meta
    # its attachment moved along with it
    assert metadata_of(env.store, f"attachment:{ids.empty}")["space_key"] == "OPS"
    assert doc_keys(env.store) == expected_keys(env.site)


def test_trash_purge_and_revoke_remove_content(synced: Env) -> None:
    env, ids = synced, synced.ids
    env.site.trash(ids.restart)
    env.site.purge(ids.blog)
    env.site.restrict(ids.archived, {GUEST_USER})  # the service account loses access
    env.site.trash(ids.notes)
    report, embedded = env.embedded_by()
    keys = doc_keys(env.store)
    for gone in (f"page:{ids.restart}", f"blogpost:{ids.blog}", f"page:{ids.archived}",
                 f"attachment:{ids.notes}", f"attachment:{ids.empty}"):
        assert gone not in keys
    assert keys == expected_keys(env.site)
    assert embedded == 0 and report.documents_deleted == 5
    assert not any(f":{ids.restart}:" in c.id for c in env.store.iter_all())  # no orphans


def test_revoked_space_is_removed(synced: Env) -> None:
    env = synced
    env.site.set_space_access(DEMO_USER, {"ENG"})
    report = env.sync()
    assert doc_keys(env.store) == expected_keys(env.site)
    assert not any(c.metadata.get("space_key") == "OPS" for c in env.store.iter_all())
    assert report.documents_deleted == 2


def test_new_page_and_new_space_appear(synced: Env) -> None:
    env = synced
    new_page = env.site.add_page("OPS", "Escalation", "<p>Call the duty manager.</p>")
    env.site.add_space("HR", "People")
    report, embedded = env.embedded_by()
    keys = doc_keys(env.store)
    assert f"page:{new_page}" in keys and keys == expected_keys(env.site)
    assert report.added == 2 and embedded == 2


def test_space_filter_syncs_only_that_space(env: Env) -> None:
    report = env.sync(space_keys=["OPS"])
    assert doc_keys(env.store) == expected_keys(env.site, spaces={"OPS"})
    assert [s["key"] for s in report.to_dict()["spaces"]] == ["OPS"]
    env.sync(space_keys=["ENG"])  # does not delete OPS
    assert doc_keys(env.store) == expected_keys(env.site)


# -- failures -----------------------------------------------------------------------------


class ExplodingConverter(StorageConverter):
    """A converter that rejects one title's markup (ConversionError: that document fails)."""

    def convert(self, xhtml: str, *, title: str = "", users: Any = None) -> Any:
        if title == "Release notes":
            raise ConversionError("boom")
        return super().convert(xhtml, title=title, users=users)


def test_a_failing_document_is_reported_and_the_rest_indexed(env: Env) -> None:
    report = env.sync(converter=ExplodingConverter())
    assert [(f["content_id"], f["title"]) for f in report.failed] == [
        (env.ids.blog, "Release notes")
    ]
    assert "boom" in report.failed[0]["error"]
    assert doc_keys(env.store) == expected_keys(env.site) - {f"blogpost:{env.ids.blog}"}
    assert not report.ok and report.to_dict()["failed"][0]["content_id"] == env.ids.blog


class BuggyConverter(StorageConverter):
    """A converter with a bug on one title: not a bad document, a broken program."""

    def convert(self, xhtml: str, *, title: str = "", users: Any = None) -> Any:
        if title == "Release notes":
            raise KeyError("a bug, not bad markup")
        return super().convert(xhtml, title=title, users=users)


def test_a_bug_in_a_stage_fails_the_run_loudly_and_loses_nothing(synced: Env) -> None:
    env = synced
    before = snapshot(env.store)
    with pytest.raises(KeyError, match="a bug"):
        env.sync(full=True, converter=BuggyConverter())
    assert doc_keys(env.store) == expected_keys(env.site)  # nothing was deleted
    assert env.sync().ok and snapshot(env.store) == before


class MetaRefusingStore(ChromaStore):
    """The test's store with a collection whose metadata can't be written."""

    def set_meta(self, **values: Any) -> None:
        raise StoreError("Chroma modify collection failed (test): disk full")


def test_recording_the_lexical_stamp_is_not_bookkeeping_only(env: Env) -> None:
    real = env.store
    failing = MetaRefusingStore(real._client, model_name=real.model_name,
                                dimension=real.dimension, location=real.location)
    env.store = failing
    with pytest.raises(StoreError, match="disk full"):
        env.sync()  # API servers elsewhere would never learn of this BM25: the run fails
    assert "lexical_stamp" not in real.get_meta()
    env.store = real
    report = env.sync()  # the next run records it (and rebuilds BM25 after the failed run)
    assert report.ok and report.resumed
    assert real.get_meta()["lexical_stamp"] == env.lexical.stamp


def test_kinds_no_longer_indexed_are_removed_without_skipping_deletions(synced: Env) -> None:
    """Bug (a): with attachments off or no custom types, what an earlier run indexed of
    that kind stayed forever, and every run reported its deletions as skipped."""
    env, ids = synced, synced.ids
    atts = {k for k in doc_keys(env.store) if k.startswith("attachment:")}
    assert f"attachment:{ids.notes}" in atts
    report = env.sync(attachments=False)
    assert not any(k.startswith("attachment:") for k in doc_keys(env.store))
    assert report.documents_deleted == len(atts)
    assert not any(s.deletions_skipped for s in report.spaces.values())
    again = env.sync(attachments=False, custom_types=[])
    assert f"custom_content:{ids.calendar}" not in doc_keys(env.store)
    assert again.documents_deleted == 1 and again.ok
    assert not any(s.deletions_skipped for s in again.spaces.values())
    quiet = env.sync(attachments=False, custom_types=[])
    assert quiet.documents_deleted == 0 and quiet.documents_changed == 0
    assert not any(s.deletions_skipped for s in quiet.spaces.values())
    env.sync()  # turned back on: everything returns
    assert doc_keys(env.store) == expected_keys(env.site)


def test_transient_failures_never_delete(synced: Env) -> None:
    env = synced
    before = snapshot(env.store)
    env.site.trash(env.ids.pager)  # a real deletion the faulty run must not act on
    env.sim.faults.update(
        error_rate=1.0, error_statuses=(500, 502), paths=r"/spaces/\d+/(pages|blogposts)$"
    )
    report = env.sync()
    assert snapshot(env.store) == before
    assert all(s.deletions_skipped for s in report.spaces.values())
    env.sim.faults.update(error_rate=0.0)
    env.sync()
    assert doc_keys(env.store) == expected_keys(env.site)


def test_flaky_confluence_still_converges(synced: Env) -> None:
    env = synced
    env.site.edit(env.ids.restart, body="<p>Drain, restart, verify.</p>")
    env.sim.faults.update(error_rate=0.3, error_statuses=(500, 502), seed=3, paths=None)
    env.sync()  # whatever failed stays as it was
    env.sim.faults.update(error_rate=0.0)
    env.sync()
    assert doc_keys(env.store) == expected_keys(env.site)
    assert metadata_of(env.store, f"page:{env.ids.restart}")["version"] == 2


def test_attachment_download_failures_degrade_to_metadata(env: Env) -> None:
    env.sim.faults.update(error_rate=1.0, error_statuses=(404,), paths=r"/download/")
    report = env.sync(max_attachment_bytes=1024)
    assert report.ok
    assert f"attachment:{env.ids.notes}" in doc_keys(env.store)
    messages = " ".join(w["message"] for w in report.warnings)
    assert "404" in messages and "zero-byte" in messages


def test_oversized_attachment_is_metadata_only(env: Env) -> None:
    env.site.add_attachment(env.ids.runbooks, "big.txt", b"x" * 5000, "text/plain")
    report = env.sync(max_attachment_bytes=1000)
    assert report.ok and any("cap" in w["message"] for w in report.warnings)


# -- crash safety and locking ---------------------------------------------------------------


def test_half_written_documents_are_repaired(synced: Env) -> None:
    """What kill -9 can leave: new chunks without the old ones deleted, or a partial write."""
    env, ids = synced, synced.ids
    clean = snapshot(env.store)
    # a stale extra chunk from a longer previous version (crash before the delete)
    extra = chunk_id("page", ids.restart, 7)
    stored = env.store.get([chunk_id("page", ids.restart, 0)], include_embeddings=True)[0]
    meta = {**stored.metadata, "chunk_index": 7, "doc_hash": "old", "chunk_count": 8}
    env.store.upsert([Chunk(extra, "stale text", meta)], stored.embedding[None, :])
    # a document whose first chunk never got written (crash inside a batch)
    env.store.delete([chunk_id("page", ids.runbooks, 0)])
    SyncState(env.data).begin(["ENG"], full=False)  # and the run marker kill -9 leaves behind
    report, embedded = env.embedded_by()
    assert snapshot(env.store) == clean
    assert report.updated == 2 and embedded == 1


def test_a_second_sync_on_the_same_data_dir_refuses(env: Env) -> None:
    with SyncLock(env.data), pytest.raises(SyncLockedError, match="another sync"):
        env.sync()


def test_a_stale_lock_from_a_dead_process_is_taken_over(env: Env) -> None:
    env.data.mkdir(parents=True, exist_ok=True)
    (env.data / "sync.lock").write_text('{"pid": 999999999, "host": "x", "started_at": 1}')
    assert env.sync().ok


def test_progress_is_reported(env: Env) -> None:
    seen: list[tuple[str, int, int | None]] = []
    env.sync(progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = {s for s, _, _ in seen}
    assert {"listing", "documents", "chunks"} <= stages
    last_docs = [x for x in seen if x[0] == "documents"][-1]
    assert last_docs[1] == last_docs[2] == len(expected_keys(env.site))


def test_garbled_body_responses_fail_only_their_documents(synced: Env) -> None:
    """A batch whose response is unreadable is retried in halves down to single pages."""
    env, ids = synced, synced.ids
    before = snapshot(env.store)
    env.site.edit(ids.restart, body="<p>Drain, restart, verify.</p>")
    env.site.edit(ids.pager, body="<p>Answer within two minutes.</p>")
    env.sim.faults.update(non_json_rate=1.0, paths=r"/api/v2/pages$")  # the by-id body fetch
    report = env.sync()
    assert sorted(f["content_id"] for f in report.failed) == sorted([ids.restart, ids.pager])
    assert snapshot(env.store) == before  # the old versions stay, nothing is deleted
    env.sim.faults.update(non_json_rate=0.0)
    report = env.sync()
    assert report.ok and report.updated == 2


def test_a_custom_content_type_the_site_lacks_is_skipped_quietly(synced: Env) -> None:
    report = synced.sync(custom_types=["ac:not-installed:type"])
    assert report.ok and not report.warnings
    # content of a type no longer configured leaves the index
    assert f"custom_content:{synced.ids.calendar}" not in doc_keys(synced.store)


def test_a_run_after_an_interrupted_one_says_so(env: Env) -> None:
    from ragconf.sync._state import SyncState

    SyncState(env.data).begin(["ENG"], full=False)  # what a killed run leaves behind
    assert env.sync().resumed is True
    assert env.sync().resumed is False

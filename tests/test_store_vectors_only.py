"""The embedded store's vectors-only layout: Chroma keeps ids and vectors, the SQLite lexical
index beside it keeps text and metadata (``ragconf.index.store._lean``).

Filtered search is checked against exact brute force (as in the VectorStore contract), the
disk layout by reading Chroma's own SQLite file, and crash recovery with real runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragconf.index._lexical_sql import connect
from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical_sqlite import SqliteLexicalIndex, reconcile
from ragconf.index.store import ChromaStore, open_store
from ragconf.index.types import Chunk, SearchFilters
from ragconf.simulator import SimulatorServer
from ragconf.sync.engine import Syncer
from tests.contracts.test_vector_store import FILTERS, assert_ranking, make_chunks
from tests.test_sync_support import build_site, client_for

EMB = HashEmbedder(64)


def paired(path: Path, chunks: list[Chunk], **options: Any) -> tuple[ChromaStore, Any, Any]:
    """A vectors-only store with its index, both holding ``chunks`` (as a sync writes them)."""
    store = open_store(path, model_name="hash-64", dimension=64, layout="vectors", **options)
    lexical = SqliteLexicalIndex(path / "lexical.sqlite")
    store.attach_documents(lexical)
    vecs = EMB.embed_documents([c.text for c in chunks])
    store.upsert(chunks, vecs)
    with lexical.batch() as b:
        b.upsert(chunks)
    return store, lexical, vecs


@pytest.mark.parametrize("strategy", ["auto", "post", "where"])
@pytest.mark.parametrize("f", FILTERS, ids=lambda f: repr(f)[14:60])
def test_filtered_query_equals_exact_filtered_search(
    tmp_path: Path, strategy: str, f: SearchFilters
) -> None:
    chunks = make_chunks()
    store, _, vecs = paired(tmp_path, chunks, filter_strategy=strategy)
    for q_text in ("deploy password", "backup disk queue"):
        q = EMB.embed_query(q_text)
        hits = store.query(q, 6, f)
        assert_ranking(hits, chunks, vecs, q, 6, f)
        by_id = {c.id: c for c in chunks}
        assert all(h.text == by_id[h.id].text for h in hits)  # read back from the index


def test_a_rare_filter_is_a_query_over_the_ids_the_index_names(tmp_path: Path) -> None:
    chunks = make_chunks(n_docs=60, per_doc=4)
    rare = chunks[37]
    chunks[37] = Chunk(rare.id, rare.text, {**rare.metadata, "labels": ["unique"]})
    store, _, _ = paired(tmp_path, chunks, filter_strategy="auto", max_candidates=64)
    q = EMB.embed_query("release cache")
    assert [h.id for h in store.query(q, 5, SearchFilters(labels=("unique",)))] == [rare.id]
    assert store.last_query["strategy"] == "where"
    assert store.query(q, 5, SearchFilters(labels=("nobody",))) == []


def test_reads_come_from_the_index_and_chroma_keeps_no_documents(tmp_path: Path) -> None:
    chunks = make_chunks()
    store, lexical, vecs = paired(tmp_path, chunks)
    assert store.vectors_only and store.count() == len(chunks) == len(lexical)
    got = store.get([chunks[4].id, "page:nope:0"], include_embeddings=True)
    assert [c.id for c in got] == [chunks[4].id]
    assert got[0].text == chunks[4].text and got[0].metadata["title"] == "Doc 1"
    assert np.allclose(got[0].embedding, vecs[4], atol=1e-6)
    assert store.ids_for_content(["1001"]) == {"1001": [c.id for c in chunks[3:6]]}
    assert store.text_hashes([chunks[0].id]) == {chunks[0].id: chunks[0].metadata["text_hash"]}
    entry = store.manifest(["S2"])[f"blogpost:{1001}"]
    assert entry["chunk_ids"] == [c.id for c in chunks[3:6]] and entry["space_id"] == "S2"
    assert store.stats()["chunks"] == len(chunks)
    assert {c.id for c in store.iter_all(batch_size=7)} == {c.id for c in chunks}
    # Chroma's SQLite holds ids, vectors, space and labels: no other key, no document text
    with sqlite3.connect(tmp_path / "chroma" / "chroma.sqlite3") as conn:
        keys = {
            k
            for (k,) in conn.execute(  # Chroma keeps string arrays in a table of their own
                "SELECT key FROM embedding_metadata UNION SELECT key FROM embedding_metadata_array"
            )
        }
        assert keys == {"space_id", "space_key", "labels"}
        assert conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == len(chunks)
    raw = store._col.get(ids=[chunks[4].id], include=["metadatas", "documents"])
    assert raw["documents"] == [None]
    assert raw["metadatas"][0] == {
        "space_id": "S2",
        "space_key": "OPS",
        **({"labels": chunks[4].metadata["labels"]} if chunks[4].metadata["labels"] else {}),
    }
    # a relabel (a metadata-only change) reaches the kept keys; the rest is the index's
    store.update_metadata([chunks[4].id], [{"labels": ["moved"], "title": "ignored here"}])
    assert store._col.get(ids=[chunks[4].id])["metadatas"][0]["labels"] == ["moved"]
    store.update_metadata([chunks[4].id], [{"labels": None}])
    assert "labels" not in store._col.get(ids=[chunks[4].id])["metadatas"][0]


def test_an_existing_full_collection_keeps_its_layout(tmp_path: Path) -> None:
    chunks = make_chunks(n_docs=3)
    old = open_store(tmp_path, model_name="hash-64", dimension=64)  # created before layouts
    old.upsert(chunks, EMB.embed_documents([c.text for c in chunks]))
    old.close()
    again = open_store(tmp_path, model_name="hash-64", dimension=64, layout="vectors")
    assert again.layout == "full" and not again.vectors_only
    assert again.get([chunks[0].id])[0].text == chunks[0].text  # from Chroma, no index needed


def test_a_vectors_only_store_without_its_index_says_so(tmp_path: Path) -> None:
    store = open_store(tmp_path, model_name="hash-64", dimension=64, layout="vectors")
    with pytest.raises(Exception, match="lexical index"):
        store.get(["page:1:0"])


def test_reconcile_drops_unknown_vectors_and_forgets_documents_missing_theirs(
    tmp_path: Path,
) -> None:
    chunks = make_chunks(n_docs=6)
    store, lexical, _ = paired(tmp_path, chunks)
    # a killed run: vectors of a new document, never committed to the index ...
    ghost = Chunk("page:7777:0", "never committed", {"content_id": "7777"})
    store.upsert([ghost], EMB.embed_documents([ghost.text]))
    # ... and a document whose second chunk's vector it deleted before dying
    store.delete([chunks[4].id])
    touched = reconcile(lexical, store)
    assert touched == 1 + 3  # the ghost, and all three chunks of document 1001
    assert set(store.vector_ids()) == {c.id for c in chunks[:3] + chunks[6:]}
    assert set(lexical.chunk_ids()) == set(store.vector_ids())
    assert reconcile(lexical, store) == 0


class DiesBeforeCommit:
    """The real index, whose batch dies just before committing (a run killed there)."""

    def __init__(self, inner: SqliteLexicalIndex) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @contextmanager
    def batch(self) -> Iterator[Any]:
        with self._inner.batch() as b:
            yield b
            raise RuntimeError("killed before the index commit")


def test_a_sync_killed_before_its_index_commit_is_redone_by_the_next(tmp_path: Path) -> None:
    site, ids = build_site()
    data = tmp_path / "data"
    with SimulatorServer(site) as sim, client_for(sim) as conf:
        store = open_store(data, model_name=EMB.model_name, dimension=64, layout="vectors")
        lexical = SqliteLexicalIndex(data / "lexical.sqlite")
        store.attach_documents(lexical)

        def sync(index: Any) -> Any:
            return Syncer(conf, store, EMB, index, state_dir=data).run()

        assert sync(lexical).ok
        before = lexical.stamp
        site.edit(ids.restart, body="<p>Restart the ledger with the new zebrafinch step.</p>")
        with pytest.raises(RuntimeError, match="killed"):
            sync(DiesBeforeCommit(lexical))
        assert lexical.stamp == before  # the store has the new vectors, the index the old text
        # and a vector of a document the killed run added
        store.upsert([Chunk("page:424242:0", "orphan", {})], EMB.embed_documents(["orphan"]))
        report = sync(lexical)
        assert report.ok and report.resumed
        assert set(store.vector_ids()) == set(lexical.chunk_ids())
        assert "page:424242:0" not in store.vector_ids()
        hits = store.query(EMB.embed_query("Restart the ledger with the new zebrafinch step."), 1)
        assert hits[0].metadata["content_id"] == ids.restart and "zebrafinch" in hits[0].text


def test_chunk_text_is_stored_compressed_and_older_rows_still_read(tmp_path: Path) -> None:
    lexical = SqliteLexicalIndex(tmp_path / "lex.sqlite")
    text = "Reset the password from the admin console. " * 20
    url = "https://x.example/wiki/spaces/ENG/pages/1/Reset"
    md = {"content_id": "1", "content_type": "page", "url": url, "space_id": "S1",
          "anchor_url": url + "#Steps", "chunk_index": 0}  # fmt: skip
    other = {**md, "content_id": "2", "anchor_url": "https://elsewhere.example/#x"}
    with lexical.batch() as b:
        b.upsert([Chunk("page:1:0", text, md), Chunk("page:2:0", "second one", other)])
    with connect(lexical.path) as conn:
        stored, meta = conn.execute("SELECT text, meta FROM chunks WHERE cid='page:1:0'").fetchone()
        assert isinstance(stored, bytes) and len(stored) < len(text) / 4
        assert "anchor_url" not in meta and '"anchor":"#Steps"' in meta
        # a row written before compression: TEXT
        conn.execute("UPDATE chunks SET text='legacy text' WHERE cid='page:2:0'")
    found = SqliteLexicalIndex(tmp_path / "lex.sqlite").lookup(["page:1:0", "page:2:0"])
    assert found["page:1:0"].text == text
    assert found["page:1:0"].metadata["anchor_url"] == url + "#Steps"
    assert found["page:2:0"].text == "legacy text"
    assert found["page:2:0"].metadata["anchor_url"] == "https://elsewhere.example/#x"
    assert [h.id for h in lexical.search("password admin", 2)] == ["page:1:0"]


@pytest.mark.parametrize(
    "md",
    [
        {"url": "https://x/p/1", "anchor_url": "https://x/p/1#a", "title": "T"},
        {"url": "https://x/p/1", "anchor_url": "https://y/other#a"},
        {"url": "https://x/p/1", "anchor_url": "https://x/p/1#a", "anchor": "a document key"},
        {"anchor_url": "https://x/p/1#a"},
        {"url": "https://x/p/1"},
    ],
)
def test_split_metadata_round_trips(md: dict[str, Any]) -> None:
    from ragconf.index._lexical_sql import chunk_metadata, split_metadata

    base, own = split_metadata(md)
    assert chunk_metadata(base, own) == md


def test_a_lost_index_means_the_next_sync_indexes_everything_again(tmp_path: Path) -> None:
    site, _ = build_site()
    data = tmp_path / "data"
    with SimulatorServer(site) as sim, client_for(sim) as conf:
        store = open_store(data, model_name=EMB.model_name, dimension=64, layout="vectors")
        store.attach_documents(lexical := SqliteLexicalIndex(data / "lexical.sqlite"))
        first = Syncer(conf, store, EMB, lexical, state_dir=data).run()
        assert first.ok and first.added > 0
        vectors = store.count()
        fresh = SqliteLexicalIndex(data / "another.sqlite")  # the index file was lost
        store.attach_documents(fresh)
        again = Syncer(conf, store, EMB, fresh, state_dir=data).run()
        assert again.ok and again.added == first.added
        assert store.count() == vectors == len(fresh)
        assert set(store.vector_ids()) == set(fresh.chunk_ids())

"""The VectorStore contract: every test runs on embedded Chroma and on a `chroma run` server.

Vectors come from the HashEmbedder, so "nearest" is checked against an exact brute-force
search over the same vectors, with SearchFilters.matches as the filter oracle.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragconf.errors import StoreError
from ragconf.index.embed import HashEmbedder
from ragconf.index.store import ChromaStore, open_store
from ragconf.index.types import (
    Chunk,
    Hit,
    LeaseRecord,
    LeaseStore,
    SearchFilters,
    VectorStore,
    chunk_id,
    text_hash,
)
from tests.fixtures.stores import StoreFactory

SPACES = [("S1", "ENG"), ("S2", "OPS"), ("S3", "HR")]
LABELS = ["howto", "faq", "runbook", "archived"]
WORDS = [
    "deploy",
    "build",
    "release",
    "password",
    "reset",
    "login",
    "error",
    "upload",
    "cache",
    "queue",
    "disk",
    "backup",
]


def make_chunks(n_docs: int = 24, per_doc: int = 3, *, seed: int = 0) -> list[Chunk]:
    rng = np.random.default_rng(seed)
    chunks = []
    for d in range(n_docs):
        sid, skey = SPACES[d % len(SPACES)]
        ctype = ("page", "blogpost", "attachment")[d % 3 if d % 5 else 0]
        labels = sorted({LABELS[i] for i in rng.choice(len(LABELS), size=d % 3, replace=False)})
        updated = datetime(2024, 1 + d % 12, 1 + d % 27, tzinfo=UTC)
        for i in range(per_doc):
            words = " ".join(rng.choice(WORDS, size=6))
            text = f"Doc {d} › part {i}\n{words} number{d}x{i}"
            meta: dict[str, Any] = {
                "content_id": str(1000 + d),
                "content_type": ctype,
                "title": f"Doc {d}",
                "url": f"https://x.example/wiki/{1000 + d}",
                "space_id": sid,
                "space_key": skey,
                "labels": labels,
                "version": 1 + d % 4,
                "updated_at": updated.isoformat().replace("+00:00", "Z"),
                "chunk_index": i,
                "parent_id": None,
                "text_hash": text_hash(text),
            }
            if d % 4:  # a page tree: under "900" (every 4th doc is at the root)
                meta["ancestors"] = ["900", str(910 + d % 3)]
            chunks.append(Chunk(chunk_id(ctype, str(1000 + d), i), text, meta))
    return chunks


EMB = HashEmbedder(64)


@pytest.fixture
def filled(any_store: ChromaStore) -> tuple[ChromaStore, list[Chunk], np.ndarray]:
    chunks = make_chunks()
    vecs = EMB.embed_documents([c.text for c in chunks])
    any_store.upsert(chunks, vecs)
    return any_store, chunks, vecs


def exact(
    chunks: list[Chunk], vecs: np.ndarray, q: np.ndarray, k: int, f: SearchFilters | None
) -> list[str]:
    from ragconf.index.store._meta import to_chroma_metadata

    scores = vecs @ q
    order = sorted(range(len(chunks)), key=lambda i: (-scores[i], chunks[i].id))
    keep = [i for i in order if f is None or f.matches(to_chroma_metadata(chunks[i].metadata))]
    return [chunks[i].id for i in keep[:k]]


def assert_ranking(
    hits: list[Any],
    chunks: list[Chunk],
    vecs: np.ndarray,
    q: np.ndarray,
    k: int,
    f: SearchFilters | None,
) -> None:
    """Same quality as exact search: same length, same score at every rank, true scores.

    Hash vectors tie often; equal scores may come back in either order (float noise).
    """
    want = exact(chunks, vecs, q, k, f)
    row = {c.id: i for i, c in enumerate(chunks)}
    assert len(hits) == len(want) and len({h.id for h in hits}) == len(hits)
    for hit, wid in zip(hits, want, strict=True):
        assert hit.score == pytest.approx(float(vecs[row[hit.id]] @ q), abs=1e-5)
        assert hit.score == pytest.approx(float(vecs[row[wid]] @ q), abs=1e-5)
        assert f is None or f.matches(hit.metadata)


def test_is_a_vector_store(any_store: ChromaStore) -> None:
    assert isinstance(any_store, VectorStore)
    assert any_store.count() == 0
    assert any_store.query(EMB.embed_query("anything"), 5) == []


def test_upsert_then_get_round_trips_text_metadata_and_vectors(filled: Any) -> None:
    store, chunks, vecs = filled
    assert store.count() == len(chunks)
    got = store.get([chunks[4].id, "page:nope:0", chunks[1].id], include_embeddings=True)
    assert [g.id for g in got] == [chunks[4].id, chunks[1].id]  # order kept, unknown left out
    first = got[0]
    assert first.text == chunks[4].text
    assert "parent_id" not in first.metadata  # None dropped
    assert (
        first.metadata["labels"] == chunks[4].metadata["labels"] or not chunks[4].metadata["labels"]
    )
    assert first.metadata["version"] == chunks[4].metadata["version"]
    ts = datetime.fromisoformat(chunks[4].metadata["updated_at"].replace("Z", "+00:00")).timestamp()
    assert first.metadata["updated_at_ts"] == pytest.approx(ts)
    assert first.embedding is not None and first.embedding.dtype == np.float32
    np.testing.assert_allclose(first.embedding, vecs[4], atol=1e-6)
    assert store.get([chunks[4].id])[0].embedding is None


def test_labels_are_stored_as_a_string_array(any_store: ChromaStore) -> None:
    meta = {
        "content_id": "1",
        "content_type": "page",
        "labels": ("b", "a"),
        "ancestors": ["10", "11"],
    }
    any_store.upsert([Chunk("page:1:0", "t", meta)], EMB.embed_documents(["t"]))
    md = any_store.get(["page:1:0"])[0].metadata
    assert md["labels"] == ["b", "a"] and md["ancestors"] == ["10", "11"]


def test_upsert_replaces_same_id(filled: Any) -> None:
    store, chunks, _ = filled
    c = chunks[0]
    store.upsert(
        [Chunk(c.id, "brand new text", {**c.metadata, "title": "New"})], EMB.embed_documents(["x"])
    )
    assert store.count() == len(chunks)
    got = store.get([c.id])[0]
    assert got.text == "brand new text" and got.metadata["title"] == "New"


def test_upsert_rejects_wrong_shapes(any_store: ChromaStore) -> None:
    chunk = Chunk("page:1:0", "t", {"content_id": "1"})
    with pytest.raises(StoreError, match="dimension"):
        any_store.upsert([chunk], np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(StoreError):
        any_store.upsert([chunk, chunk], np.ones((2, 64), dtype=np.float32))


def test_update_metadata_merges_and_keeps_vectors(filled: Any) -> None:
    store, chunks, vecs = filled
    c = next(c for c in chunks if c.metadata["labels"])
    store.update_metadata([c.id], [{"title": "Renamed", "labels": [], "space_key": "OPS"}])
    got = store.get([c.id], include_embeddings=True)[0]
    assert got.metadata["title"] == "Renamed" and got.metadata["space_key"] == "OPS"
    assert "labels" not in got.metadata  # [] removes the key
    assert got.metadata["url"] == c.metadata["url"]  # untouched keys stay
    assert got.text == c.text
    np.testing.assert_allclose(got.embedding, vecs[chunks.index(c)], atol=1e-6)
    store.update_metadata([c.id], [{"content_id": "1", "title": "Only"}], replace=True)
    assert store.get([c.id])[0].metadata == {"content_id": "1", "title": "Only"}


def test_delete_and_ids_for_content(filled: Any) -> None:
    store, chunks, _ = filled
    by_content = store.ids_for_content(["1000", "1001", "missing"])
    assert by_content == {
        "1000": [c.id for c in chunks if c.metadata["content_id"] == "1000"],
        "1001": [c.id for c in chunks if c.metadata["content_id"] == "1001"],
    }
    store.delete([*by_content["1000"], "page:not-there:0"])
    assert store.count() == len(chunks) - 3
    assert store.get(by_content["1000"]) == []
    assert "1000" not in store.ids_for_content(["1000"])


def test_text_hashes(filled: Any) -> None:
    store, chunks, _ = filled
    ids = [chunks[0].id, chunks[5].id, "nope:1:0"]
    assert store.text_hashes(ids) == {c.id: c.metadata["text_hash"] for c in (chunks[0], chunks[5])}


def test_query_returns_nearest_first_with_cosine_scores(filled: Any) -> None:
    store, chunks, vecs = filled
    q = vecs[7]
    hits = store.query(q, 5)
    assert hits[0].id == chunks[7].id and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert (
        hits[0].text == chunks[7].text and hits[0].metadata["title"] == chunks[7].metadata["title"]
    )
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert_ranking(hits, chunks, vecs, q, 5, None)
    assert store.last_query["strategy"] == "unfiltered"


FILTERS = [
    SearchFilters(space_keys=("OPS",)),
    SearchFilters(space_keys=("ENG", "HR")),
    SearchFilters(space_ids=("S3",)),
    SearchFilters(content_types=("blogpost",)),
    SearchFilters(labels=("faq",)),
    SearchFilters(labels=("runbook", "archived")),
    SearchFilters(updated_after=datetime(2024, 9, 1, tzinfo=UTC)),
    SearchFilters(space_keys=("ENG",), labels=("howto",), content_types=("page", "attachment")),
    SearchFilters(space_keys=("NOPE",)),
    SearchFilters(ancestors=("911",)),
    SearchFilters(ancestors=("910", "912"), space_keys=("ENG",)),
    SearchFilters(ancestors=("404",)),
]


@pytest.mark.parametrize("strategy", ["auto", "post", "where"])
@pytest.mark.parametrize("f", FILTERS, ids=lambda f: repr(f)[14:60])
def test_filtered_query_equals_exact_filtered_search(
    any_store_factory: StoreFactory, strategy: str, f: SearchFilters
) -> None:
    store = any_store_factory(filter_strategy=strategy)
    chunks = make_chunks()
    vecs = EMB.embed_documents([c.text for c in chunks])
    store.upsert(chunks, vecs)
    for q_text in ("deploy password", "backup disk queue"):
        q = EMB.embed_query(q_text)
        assert_ranking(store.query(q, 6, f), chunks, vecs, q, 6, f)


def test_empty_space_ids_means_nothing_visible(filled: Any) -> None:
    store, _, vecs = filled
    assert store.query(vecs[0], 5, SearchFilters(space_ids=())) == []


def test_auto_strategy_post_filters_broad_and_falls_back_to_where_for_rare(
    any_store_factory: StoreFactory,
) -> None:
    store = any_store_factory(max_candidates=64)
    chunks = make_chunks(n_docs=60, per_doc=4)  # 240 chunks
    rare = chunks[37]
    chunks[37] = Chunk(rare.id, rare.text, {**rare.metadata, "labels": ["unique"]})
    vecs = EMB.embed_documents([c.text for c in chunks])
    store.upsert(chunks, vecs)
    q = EMB.embed_query("release cache")
    broad = SearchFilters(space_keys=("ENG", "OPS"))
    assert_ranking(store.query(q, 5, broad), chunks, vecs, q, 5, broad)
    assert store.last_query["strategy"] == "post"
    narrow = SearchFilters(labels=("unique",))
    assert [h.id for h in store.query(q, 5, narrow)] == [rare.id]
    assert store.last_query["strategy"] == "where"
    assert store.query_counts["post"] >= 1 and store.query_counts["where"] == 1


def test_manifest_summarises_documents(filled: Any) -> None:
    store, chunks, _ = filled
    man = store.manifest()
    assert len(man) == 24
    c0 = chunks[0]
    entry = man[f"{c0.metadata['content_type']}:{c0.metadata['content_id']}"]
    assert entry["chunk_ids"] == [c0.id, c0.id[:-1] + "1", c0.id[:-1] + "2"]
    assert entry["version"] == c0.metadata["version"] and entry["space_id"] == "S1"
    assert entry["updated_at"] == c0.metadata["updated_at"]
    # a half-rewritten document reports its lowest version
    store.update_metadata([c0.id], [{"version": 99}])
    assert (
        store.manifest()[f"page:{c0.metadata['content_id']}"]["version"] == c0.metadata["version"]
    )
    only = store.manifest(["S2", "S3"])
    assert only and all(e["space_id"] in ("S2", "S3") for e in only.values())
    assert len(only) == 16
    assert store.manifest([]) == {}


def test_meta_is_kept_and_hnsw_config_survives(any_store: ChromaStore) -> None:
    meta = any_store.get_meta()
    assert meta["ragconf_model"] == any_store.model_name and meta["ragconf_dimension"] == 64
    any_store.set_meta(last_sync_at="2024-05-01T00:00:00Z", lexical_stamp="abc")
    any_store.set_meta(lexical_stamp="def", gone=None)
    meta = any_store.get_meta()
    assert meta["last_sync_at"] == "2024-05-01T00:00:00Z" and meta["lexical_stamp"] == "def"
    assert meta["ragconf_model"] == any_store.model_name
    hnsw = any_store.configuration()
    assert hnsw["space"] == "cosine"
    assert hnsw["ef_search"] == any_store.hnsw["ef_search"]
    assert hnsw["max_neighbors"] == any_store.hnsw["max_neighbors"]


def test_set_meta_merges_and_none_removes(any_store: ChromaStore) -> None:
    any_store.set_meta(a="1", b=2)
    any_store.set_meta(b=None, c=True)
    meta = any_store.get_meta()
    assert meta["a"] == "1" and "b" not in meta and meta["c"] is True


def test_manifest_entries_name_their_space_and_ordered_chunks(filled: Any) -> None:
    store, chunks, _ = filled
    for key, entry in store.manifest(["S2"]).items():
        kind, cid = key.split(":")
        mine = [c for c in chunks if c.metadata["content_id"] == cid]
        assert entry["chunk_ids"] == [c.id for c in mine]
        assert entry["space_id"] == "S2" and entry["space_key"] == "OPS"
        assert entry["title"] == mine[0].metadata["title"] and kind == mine[0].metadata[
            "content_type"]


def _lease(store: ChromaStore, token: str, scopes: tuple[str, ...] = ("*",)) -> LeaseRecord:
    return LeaseRecord(token=token, collection=store.name, scopes=scopes, host="h", pid=7,
                       started_at=1.5, expires_at=2.5)


def test_lease_rows_are_kept_per_collection(any_store_factory: StoreFactory) -> None:
    store = any_store_factory()
    other = any_store_factory(model_name=f"{store.model_name}-other")
    assert isinstance(store, LeaseStore) and store.lease_settle_s > 0
    a, b = _lease(store, "tok-a", ("ENG", "OPS")), _lease(store, "tok-b")
    store.put_lease(a)
    store.put_lease(b)
    other.put_lease(_lease(other, "tok-c"))
    assert sorted(store.leases(), key=lambda r: r.token) == [a, b]  # round trip, all fields
    held = dataclasses.replace(a, held=True, expires_at=9.0)
    store.put_lease(held)  # rewrites only its own row
    assert sorted(store.leases(), key=lambda r: r.token) == [held, b]
    store.drop_lease("tok-a")
    store.drop_lease("tok-unknown")
    assert store.leases() == [b] and [r.token for r in other.leases()] == ["tok-c"]
    assert store.count() == 0  # lease rows are not chunks
    store.drop_lease("tok-b")
    other.drop_lease("tok-c")


def test_iter_all_pages_through_everything(filled: Any) -> None:
    store, chunks, _ = filled
    seen = [c.id for c in store.iter_all(batch_size=7)]
    assert sorted(seen) == sorted(c.id for c in chunks)
    first = next(iter(store.iter_all()))
    assert first.text and first.metadata and first.embedding is None


def test_batches_beyond_the_max_batch_size(any_store_factory: StoreFactory) -> None:
    store = any_store_factory(max_batch_size=5)
    assert store.max_batch_size == 5
    chunks = make_chunks(n_docs=8)  # 24 chunks -> 5 batches each way
    vecs = EMB.embed_documents([c.text for c in chunks])
    store.upsert(chunks, vecs)
    assert store.count() == 24
    ids = [c.id for c in chunks]
    assert len(store.get(ids)) == 24 and len(store.text_hashes(ids)) == 24
    assert len(store.manifest()) == 8 and len(list(store.iter_all(batch_size=100))) == 24
    store.update_metadata(ids, [{"title": "T"}] * 24)
    assert {c.metadata["title"] for c in store.get(ids)} == {"T"}
    store.delete(ids)
    assert store.count() == 0


def test_stats_counts_per_space_and_type(filled: Any) -> None:
    store, chunks, _ = filled
    stats = store.stats()
    assert stats["chunks"] == len(chunks) and stats["documents"] == 24
    assert stats["by_space"] == {"ENG": 24, "HR": 24, "OPS": 24}
    assert sum(stats["by_type"].values()) == len(chunks)
    store.delete([chunks[0].id])
    assert store.stats()["chunks"] == len(chunks) - 1  # the cache notices writes


def test_location_names_the_backend(any_store: ChromaStore) -> None:
    assert any_store.location.startswith(("embedded:", "http://127.0.0.1:"))


def test_embedded_store_persists_across_opens(tmp_path: Path) -> None:
    store = open_store(tmp_path, model_name="hash-64", dimension=64)
    chunks = make_chunks(n_docs=2)
    store.upsert(chunks, EMB.embed_documents([c.text for c in chunks]))
    store.set_meta(last_sync_at="now")
    again = open_store(tmp_path, model_name="hash-64", dimension=64)
    assert again.count() == 6 and again.get_meta()["last_sync_at"] == "now"
    other = open_store(tmp_path, model_name="another-model", dimension=64)
    assert other.count() == 0 and other.name != again.name  # one collection per model


def test_collection_names_are_valid_and_distinct() -> None:
    from ragconf.index.store import collection_name

    long = collection_name("org/" + "x" * 200, 384)
    assert len(long) <= 63 and long.startswith("ragconf-x")
    assert collection_name("sentence-transformers/all-MiniLM-L6-v2", 384).startswith(
        "ragconf-all-minilm-l6-v2-384-"
    )
    assert collection_name("a/m", 384) != collection_name("b/m", 384)
    assert collection_name("m", 384) != collection_name("m", 768)


def test_unreachable_server_is_a_store_error_with_a_hint(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError) as err:
        open_store(tmp_path, chroma_url=f"http://127.0.0.1:{port}", model_name="m", dimension=8)
    assert "cannot reach" in err.value.message and "chroma run" in (err.value.hint or "")


def test_unwritable_data_dir_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError) as err:
        open_store(blocker, model_name="m", dimension=8)
    assert "RAGCONF_DATA_DIR" in (err.value.hint or "")


def test_dimension_mismatch_on_existing_collection(tmp_path: Path) -> None:
    store = open_store(tmp_path, model_name="m", dimension=8)
    store.set_meta(ragconf_dimension=16)  # as if created by a different build of the model
    with pytest.raises(StoreError, match="16-dimensional"):
        open_store(tmp_path, model_name="m", dimension=8)


def test_query_ids_is_the_unfiltered_ranking_without_payload(filled: Any) -> None:
    store, chunks, vecs = filled
    q = EMB.embed_query("deploy password upload")
    pairs = store.query_ids(q, 8)
    hits = store.query(q, 8)
    assert [s for _, s in pairs] == pytest.approx([h.score for h in hits], abs=1e-6)
    assert_ranking([Hit(i, s, "", {}) for i, s in pairs], chunks, vecs, q, 8, None)
    assert store.query_ids(q, 0) == []


def test_metadata_conversion_rules() -> None:
    from ragconf.index.store._meta import metadata_update, to_chroma_metadata

    md = {
        "labels": {"b", "a"},
        "ancestors": [1, 2],
        "empty": [],
        "none": None,
        "when": datetime(2024, 5, 1, 12, tzinfo=UTC),
        "nested": {"x": 1},
        "updated_at": "2024-05-01T12:00:00Z",
        "flag": True,
    }
    out = to_chroma_metadata(md)
    assert out["labels"] == ["a", "b"] and out["ancestors"] == ["1", "2"]
    assert "empty" not in out and "none" not in out
    assert out["when"] == "2024-05-01T12:00:00+00:00" and out["nested"] == '{"x": 1}'
    assert out["updated_at_ts"] == datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp()
    assert out["flag"] is True and md["labels"] == {"b", "a"}  # input untouched
    assert metadata_update({"labels": [], "title": "T", "gone": None}) == {
        "labels": None,
        "title": "T",
        "gone": None,
    }

"""BM25 leg: tokenisation that keeps identifiers, ranking, filters (== SearchFilters.matches),
atomic persistence with a stamp, and the index path per store."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragconf.index.lexical import BM25Index, lexical_path
from ragconf.index.types import LexicalIndex, SearchFilters, StoredChunk


def chunk(cid: str, text: str, **meta: Any) -> StoredChunk:
    base = {"content_id": cid.split(":")[1], "content_type": cid.split(":")[0], "title": text[:20]}
    return StoredChunk(cid, text, {**base, **meta})


CORPUS = [
    chunk("page:1:0", "Upload fails with ERR-4031 when the attachment quota is exceeded",
          space_key="ENG", space_id="10", labels=["errors", "howto"], updated_at_ts=1.7e9),
    chunk("page:2:0", "Error codes: ERR-4032 means the token expired; ERR-5000 is a server fault",
          space_key="ENG", space_id="10", labels=["errors"], updated_at_ts=1_710_000_000.0),
    chunk("page:3:0", "Install the ConfluenceCloud connector with pip install ragconf-connector",
          space_key="OPS", space_id="20", labels=["howto"], updated_at_ts=1_720_000_000.0),
    chunk("blogpost:4:0", "Our team is running the quarterly planning offsite in Lisbon",
          space_key="HR", space_id="30", updated_at_ts=1_730_000_000.0),
    chunk("attachment:att5:0", "release-notes-v2.3.1.pdf: fixed the SSO login loop on Safari",
          space_key="OPS", space_id="20", labels="howto,release"),
    chunk("page:6:0", "How to reset a password through the self-service portal",
          space_key="HR", space_id="30", labels=["howto"], updated_at_ts=1_725_000_000.0,
          ancestors=["100", "101"]),
    chunk("comment:7:0", "Use pipx now, not pip: the connector ships as an app",
          space_key="OPS", space_id="20", content_type="comment", ancestors=["100"]),
]  # fmt: skip


@pytest.fixture
def index(tmp_path: Path) -> BM25Index:
    idx = BM25Index(tmp_path / "bm25")
    idx.rebuild(CORPUS)
    return idx


def ids(hits: list[Any]) -> list[str]:
    return [h.id for h in hits]


def test_is_a_lexical_index(index: BM25Index) -> None:
    assert isinstance(index, LexicalIndex)
    assert len(index) == len(CORPUS)


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("ERR-4031", "page:1:0"),
        ("err-4032", "page:2:0"),
        ("upload error 4031", "page:1:0"),
        ("ConfluenceCloud", "page:3:0"),
        ("confluence cloud connector", "page:3:0"),
        ("ragconf-connector", "page:3:0"),
        ("v2.3.1 release notes", "attachment:att5:0"),
        ("resetting passwords", "page:6:0"),  # stemming: resetting -> reset, passwords -> password
    ],
)
def test_identifiers_and_words_are_searchable(index: BM25Index, query: str, first: str) -> None:
    hits = index.search(query, 3)
    assert hits and hits[0].id == first


def test_exact_code_beats_its_neighbours(index: BM25Index) -> None:
    hits = index.search("ERR-4032", 5)
    assert hits[0].id == "page:2:0"
    assert "page:1:0" not in ids(hits[:1])  # the shared "err" part alone ranks lower


def test_tokens_keep_identifiers_whole_and_split() -> None:
    idx = BM25Index(Path("/nonexistent/never-written"))
    toks = idx.tokens("ERR-4031 in HTTPServer and snake_case_name, the v2.3.1")
    for t in (
        "err-4031",
        "err",
        "4031",
        "httpserver",
        "http",
        "server",
        "snake_case_name",
        "v2.3.1",
    ):
        assert t in toks
    assert "the" not in toks and "and" not in toks  # stop words


def test_hits_carry_text_metadata_and_bm25_scores(index: BM25Index) -> None:
    hits = index.search("quota attachment upload", 10)
    assert hits[0].id == "page:1:0"
    assert hits[0].text == CORPUS[0].text and hits[0].metadata == CORPUS[0].metadata
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)


def test_no_match_and_edge_cases(index: BM25Index, tmp_path: Path) -> None:
    assert index.search("zzzz qqqq", 5) == []
    assert index.search("", 5) == [] and index.search("the and of", 5) == []
    assert index.search("howto password", 0) == []
    everything = "the ERR-4031 password Lisbon SSO install"  # one term in each chunk
    assert len(index.search(everything, 100)) == 6 and len(index.search(everything, 3)) == 3
    empty = BM25Index(tmp_path / "empty")
    assert len(empty) == 0 and empty.search("anything", 3) == []
    empty.rebuild([])
    assert empty.search("anything", 3) == []


FILTERS = [
    SearchFilters(space_keys=("ENG",)),
    SearchFilters(space_keys=("OPS", "HR")),
    SearchFilters(space_ids=("20",)),
    SearchFilters(space_ids=()),
    SearchFilters(content_types=("page",)),
    SearchFilters(labels=("howto",)),
    SearchFilters(labels=("release", "errors")),
    SearchFilters(updated_after=datetime.fromtimestamp(1_715_000_000, tz=UTC)),
    SearchFilters(space_keys=("ENG", "OPS"), labels=("howto",), content_types=("page",)),
    SearchFilters(space_keys=("NOPE",)),
    SearchFilters(ancestors=("100",)),
    SearchFilters(ancestors=("101", "999")),
    SearchFilters(ancestors=("100",), content_types=("comment",)),
]


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: repr(f)[14:60])
def test_filters_equal_search_filters_matches(index: BM25Index, f: SearchFilters) -> None:
    query = "howto ERR-4031 password install release planning error"
    unfiltered = index.search(query, 100)
    want = [h.id for h in unfiltered if f.matches(h.metadata)]
    assert ids(index.search(query, 100, f)) == want
    assert ids(index.search(query, 2, f)) == want[:2]


def test_filters_match_matches_on_random_metadata(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    chunks = []
    for i in range(300):
        meta: dict[str, Any] = {
            "space_key": str(rng.choice(["A", "B", "C"])),
            "space_id": str(rng.integers(0, 4)),
            "content_type": str(rng.choice(["page", "blogpost", "attachment"])),
            "labels": [str(x) for x in rng.choice(["x", "y", "z"], size=rng.integers(0, 3))],
        }
        if rng.random() < 0.8:
            meta["updated_at_ts"] = float(rng.integers(0, 100))
        chunks.append(StoredChunk(f"page:{i}:0", f"common word{i % 7} text", meta))
    idx = BM25Index(tmp_path / "r")
    idx.rebuild(chunks)
    for _ in range(40):
        f = SearchFilters(
            space_keys=tuple(rng.choice(["A", "B", "C", "D"], size=rng.integers(0, 3))),
            labels=tuple(rng.choice(["x", "y", "q"], size=rng.integers(0, 2))),
            content_types=tuple(rng.choice(["page", "attachment"], size=rng.integers(0, 2))),
            space_ids=None if rng.random() < 0.5 else tuple(str(x) for x in rng.integers(0, 4, 2)),
            updated_after=None
            if rng.random() < 0.5
            else datetime.fromtimestamp(float(rng.integers(0, 100)), tz=UTC),
        )
        got = {h.id for h in idx.search("common", 1000, f)}
        assert got == {c.id for c in chunks if f.matches(c.metadata)}


def test_ties_break_by_id_deterministically(tmp_path: Path) -> None:
    same = [StoredChunk(f"page:{i}:0", "identical text about kafka", {}) for i in (5, 3, 9, 1)]
    idx = BM25Index(tmp_path / "t")
    idx.rebuild(same)
    assert ids(idx.search("kafka", 2)) == ["page:1:0", "page:3:0"]


def test_save_load_round_trip_with_stamp(index: BM25Index) -> None:
    index.stamp = "sync-1"
    index.save()
    loaded = BM25Index(index.path)
    assert loaded.stamp == "sync-1" and len(loaded) == len(CORPUS)
    assert loaded.stemmer == index.stemmer
    f = SearchFilters(labels=("howto",))
    for q in ("ERR-4031", "install connector", "password reset"):
        assert ids(loaded.search(q, 5, f)) == ids(index.search(q, 5, f))
        assert [h.score for h in loaded.search(q, 5)] == pytest.approx(
            [h.score for h in index.search(q, 5)]
        )


def test_save_is_atomic_and_old_versions_are_pruned(index: BM25Index) -> None:
    index.stamp = "v1"
    index.save()
    reader = BM25Index(index.path)  # a server that loaded v1
    for n in range(2, 6):
        index.rebuild(CORPUS[:n])
        index.stamp = f"v{n}"
        index.save()
    assert BM25Index(index.path).stamp == "v5" and len(BM25Index(index.path)) == 5
    assert len(list(index.path.glob("v-*"))) <= 2  # live + the one before
    assert reader.search("ERR-4031", 1)[0].id == "page:1:0"  # a loaded index keeps working
    assert not list(index.path.glob(".stage-*")) and not list(index.path.glob(".CURRENT-*"))


def test_saving_again_under_a_new_stamp(index: BM25Index) -> None:
    index.save()
    assert index.stamp  # save() makes one up
    loaded = BM25Index(index.path)
    loaded.stamp = "restamped"
    loaded.save()
    again = BM25Index(index.path)
    assert again.stamp == "restamped" and len(again) == len(CORPUS)
    assert again.search("ERR-4031", 1)[0].id == "page:1:0"


def test_an_unsaved_rebuild_is_not_visible_to_readers(index: BM25Index) -> None:
    index.stamp = "saved"
    index.save()
    index.rebuild(CORPUS[:1])  # staged, not saved
    assert len(index) == 1
    assert BM25Index(index.path).stamp == "saved" and len(BM25Index(index.path)) == len(CORPUS)


def test_searches_during_rebuilds_see_whole_generations(index: BM25Index) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                for h in index.search("howto ERR-4031 password", 10):
                    assert h.text == next(c.text for c in CORPUS if c.id == h.id)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return

    threads = [threading.Thread(target=search) for _ in range(3)]
    for t in threads:
        t.start()
    for n in range(1, 12):
        index.rebuild(CORPUS[: 1 + n % len(CORPUS)])
    stop.set()
    for t in threads:
        t.join()
    assert not errors


def test_lexical_path_is_per_model_and_store(tmp_path: Path) -> None:
    embedded = lexical_path(tmp_path, None, "sentence-transformers/all-MiniLM-L6-v2")
    server = lexical_path(tmp_path, "http://chroma:8000", "sentence-transformers/all-MiniLM-L6-v2")
    other = lexical_path(tmp_path, None, "BAAI/bge-small-en-v1.5")
    assert embedded.parent == tmp_path / "lexical"
    assert embedded.name.startswith("all-minilm-l6-v2-")
    assert len({embedded, server, other}) == 3
    assert (
        lexical_path(tmp_path, "http://chroma:8000/", "sentence-transformers/all-MiniLM-L6-v2")
        == server
    )


def test_lookup_and_mask_ids_serve_the_dense_leg(index: BM25Index) -> None:
    found = index.lookup(["page:3:0", "page:99:0", "page:1:0"])
    assert set(found) == {"page:3:0", "page:1:0"}
    assert found["page:3:0"].text == CORPUS[2].text
    assert found["page:3:0"].metadata == CORPUS[2].metadata
    f = SearchFilters(labels=("howto",), space_keys=("ENG", "OPS"))
    ids_ = [c.id for c in CORPUS] + ["page:99:0"]
    assert index.mask_ids(ids_, f) == [f.matches(c.metadata) for c in CORPUS] + [None]


def test_the_ancestor_filter_survives_save_and_load_and_older_indexes(
    index: BM25Index, tmp_path: Path
) -> None:
    f = SearchFilters(ancestors=("100",))
    query = "password pipx connector"
    want = ids(index.search(query, 10, f))
    assert sorted(want) == ["comment:7:0", "page:6:0"]
    index.save()
    loaded = BM25Index(index.path)
    assert ids(loaded.search(query, 10, f)) == want
    # an index written before the column existed: the filter reads the chunks' metadata
    folder = index.path / (index.path / "CURRENT").read_text().strip()
    meta = json.loads((folder / "meta.json").read_text())
    del meta["ancestors"]
    (folder / "meta.json").write_text(json.dumps(meta))
    older = BM25Index(index.path)
    assert ids(older.search(query, 10, f)) == want
    assert older.mask_ids(["page:6:0", "page:1:0"], f) == [True, False]

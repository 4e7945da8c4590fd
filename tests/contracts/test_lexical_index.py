"""The LexicalIndex contract: every test runs on every implementation.

``sqlite``: ``SqliteLexicalIndex`` (incremental, the default); ``bm25s``: ``BM25Index``
(rebuilt per batch). The oracle for filters is ``SearchFilters.matches`` on the metadata
the index hands back; for scores, a second index built from the expected chunks alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ragconf.index.lexical import BM25Index
from ragconf.index.lexical_sqlite import SqliteLexicalIndex
from ragconf.index.types import (
    LexicalBatch,
    LexicalCapabilities,
    LexicalIndex,
    SearchFilters,
    StoredChunk,
)

Factory = Callable[[Path], Any]
IMPLEMENTATIONS: dict[str, Factory] = {
    "sqlite": lambda p: SqliteLexicalIndex(p / "lexical.sqlite"),
    "bm25s": lambda p: BM25Index(p / "bm25"),
}
SPACES = [("10", "ENG"), ("20", "OPS"), ("30", "HR")]
WORDS = ["deploy", "rollback", "password", "reset", "quota", "upload", "invoice", "ledger",
         "canary", "webhook", "token", "rotation"]  # fmt: skip


def make_chunk(i: int, words: list[str] | None = None, **over: Any) -> StoredChunk:
    sid, skey = SPACES[i % 3]
    words = words or [WORDS[(i * 7 + k) % len(WORDS)] for k in range(4 + i % 5)]
    text = f"Doc {i} ERR-{4000 + i} " + " ".join(words)
    meta: dict[str, Any] = {
        "content_id": str(100 + i // 2),
        "content_type": ("page", "blogpost", "attachment")[i % 3],
        "title": f"Doc {i // 2}",
        "space_id": sid,
        "space_key": skey,
        "labels": [["howto"], ["faq", "howto"], []][i % 3] or ["misc"],
        "updated_at": f"2024-0{1 + i % 9}-01T00:00:00Z",
        "updated_at_ts": datetime(2024, 1 + i % 9, 1, tzinfo=UTC).timestamp(),
        "version": 1 + i % 3,
        "chunk_index": i % 2,
        "heading_path": f"Part {i % 2}",
        "text_hash": f"h{i}",
    }
    meta.update(over)
    return StoredChunk(f"page:{100 + i // 2}:{i % 2}", text, meta)


CORPUS = [make_chunk(i) for i in range(30)]


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], Any]:
    make = IMPLEMENTATIONS[request.param]
    return lambda name="idx": make(tmp_path / name)


@pytest.fixture
def filled(factory: Callable[..., Any]) -> Any:
    idx = factory()
    with idx.batch() as batch:
        batch.upsert(CORPUS)
    return idx


def test_it_is_a_lexical_index_with_declared_capabilities(filled: Any) -> None:
    assert isinstance(filled, LexicalIndex)
    assert isinstance(filled.capabilities, LexicalCapabilities)
    assert len(filled) == len(CORPUS)
    with filled.batch() as batch:
        assert isinstance(batch, LexicalBatch)


def test_search_finds_identifiers_and_returns_text_and_metadata(filled: Any) -> None:
    hits = filled.search("ERR-4007", 3)
    assert hits[0].id == CORPUS[7].id and hits[0].text == CORPUS[7].text
    assert hits[0].metadata == CORPUS[7].metadata
    scores = [h.score for h in filled.search("deploy rollback", 50)]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert filled.search("zzzz-unknown qqqq", 5) == [] and filled.search("deploy", 0) == []


def test_lookup_and_mask_ids(filled: Any) -> None:
    found = filled.lookup([CORPUS[3].id, "page:nope:0"])
    assert set(found) == {CORPUS[3].id} and found[CORPUS[3].id].metadata == CORPUS[3].metadata
    f = SearchFilters(space_keys=("ENG",))
    flags = filled.mask_ids([c.id for c in CORPUS] + ["page:nope:0"], f)
    assert flags == [f.matches(c.metadata) for c in CORPUS] + [None]


FILTERS = [
    SearchFilters(space_keys=("ENG",)),
    SearchFilters(space_ids=("20", "30")),
    SearchFilters(space_ids=()),
    SearchFilters(content_types=("blogpost",)),
    SearchFilters(labels=("faq",)),
    SearchFilters(updated_after=datetime(2024, 5, 1, tzinfo=UTC)),
    SearchFilters(space_keys=("OPS",), labels=("howto",), content_types=("page", "blogpost")),
]


@pytest.mark.parametrize("f", FILTERS)
def test_filters_equal_search_filters_matches(filled: Any, f: SearchFilters) -> None:
    query = " ".join(WORDS)
    everything = {h.id for h in filled.search(query, 100)}
    want = {c.id for c in CORPUS if c.id in everything and f.matches(c.metadata)}
    got = filled.search(query, 100, f)
    assert {h.id for h in got} == want
    assert all(f.matches(h.metadata) for h in got)
    assert filled.mask_ids([c.id for c in CORPUS], f) == [f.matches(c.metadata) for c in CORPUS]


def test_upsert_replaces_and_delete_removes(filled: Any) -> None:
    new = make_chunk(4, ["zeppelin"], labels=["moved"], space_id="30", space_key="HR")
    with filled.batch() as batch:
        batch.upsert([new])
        batch.delete([CORPUS[5].id, "page:never:0"])
    assert len(filled) == len(CORPUS) - 1
    assert [h.id for h in filled.search("zeppelin", 5)] == [new.id]
    assert CORPUS[5].id not in {h.id for h in filled.search("ERR-4005", 5)}
    assert filled.lookup([new.id])[new.id].metadata["space_key"] == "HR"
    assert filled.lookup([new.id])[new.id].text == new.text
    assert filled.mask_ids([new.id], SearchFilters(labels=("moved",))) == [True]
    assert filled.mask_ids(
        [new.id], SearchFilters(space_keys=(CORPUS[4].metadata["space_key"],))
    ) == [False]


def test_a_failed_batch_changes_nothing(filled: Any) -> None:
    with pytest.raises(RuntimeError), filled.batch() as batch:
        batch.upsert([make_chunk(90, ["halfway"])])
        batch.delete([CORPUS[0].id])
        raise RuntimeError("the sync died")
    assert len(filled) == len(CORPUS)
    assert filled.search("halfway", 5) == [] and filled.lookup([CORPUS[0].id])


def test_another_reader_sees_a_batch_whole_once_committed(factory: Any) -> None:
    writer = factory("shared")
    with writer.batch() as batch:
        batch.upsert(CORPUS[:10])
    reader = factory("shared")
    assert len(reader) == 10
    with writer.batch() as batch:
        batch.upsert([make_chunk(50, ["aurora"]), make_chunk(51, ["aurora"])])
        batch.delete([CORPUS[0].id])
        # before the commit, the reader sees the previous version only
        assert reader.search("aurora", 5) == [] and reader.lookup([CORPUS[0].id])
    if not reader.capabilities.shared:
        assert reader.search("aurora", 5) == []  # a rebuilding index must reload
        assert reader.refresh() is True
    assert {h.id for h in reader.search("aurora", 5)} == {make_chunk(50).id, make_chunk(51).id}
    assert reader.lookup([CORPUS[0].id]) == {} and len(reader) == 11


def test_rebuild_replaces_everything(filled: Any) -> None:
    filled.rebuild(CORPUS[:4])
    assert len(filled) == 4
    assert {h.id for h in filled.search("ERR-4010 deploy", 50)} <= {c.id for c in CORPUS[:4]}
    filled.rebuild([])
    assert len(filled) == 0 and filled.search("deploy", 5) == []


@pytest.mark.parametrize(
    "scope", [SearchFilters(space_ids=("10", "20")), SearchFilters(space_keys=("ENG", "OPS"))]
)
def test_scoped_statistics_as_declared(filled: Any, factory: Any, scope: SearchFilters) -> None:
    """Searching some spaces: scores equal those of an index of those spaces alone
    (scoped statistics), or the global scores of the same chunks (global statistics)."""
    visible = [c for c in CORPUS if scope.matches(c.metadata)]
    own = factory("own")
    with own.batch() as batch:
        batch.upsert(visible)
    query = "deploy quota token canary"
    scoped = {h.id: h.score for h in filled.search(query, 100, scope)}
    if filled.capabilities.scoped_statistics:
        expected = {h.id: h.score for h in own.search(query, 100)}
    else:
        everything = {h.id: h.score for h in filled.search(query, 100)}
        expected = {cid: s for cid, s in everything.items() if cid in {c.id for c in visible}}
    assert scoped.keys() == expected.keys()
    assert all(abs(scoped[k] - expected[k]) < 1e-5 * max(1.0, expected[k]) for k in scoped)


def expected_coverage(index: Any, chunks: list[StoredChunk], query: str) -> dict[str, float]:
    """The definition, from the texts: idf-weighted share of the distinct query terms."""
    terms = list(dict.fromkeys(index.tokens(query)))
    n = len(chunks)
    df = {t: sum(t in index.tokens(c.text) for c in chunks) for t in terms}
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms}
    total = sum(idf.values())
    return {
        c.id: sum(idf[t] for t in terms if t in set(index.tokens(c.text))) / total for c in chunks
    }


@pytest.mark.parametrize("query", ["deploy quota", "ERR-4003 canary canary nosuchword", "ledger"])
def test_coverage_is_the_idf_weighted_share_of_query_terms(filled: Any, query: str) -> None:
    ids = [c.id for c in CORPUS]
    got = filled.coverage(query, [*ids, "page:999:0"])
    want = expected_coverage(filled, CORPUS, query)
    assert got.keys() == want.keys()  # the unknown id is left out
    assert all(abs(got[k] - want[k]) < 1e-9 for k in want)
    assert any(v > 1 - 1e-12 for v in got.values()) or query.endswith("nosuchword")
    assert any(0 < v < 1 for v in got.values()) or query == "ledger"
    # a term that no chunk holds weighs like any other absent term: nobody reaches 1
    if query.endswith("nosuchword"):
        assert max(got.values()) < 1.0


def test_coverage_of_nothing(filled: Any) -> None:
    assert filled.coverage("the and of", [c.id for c in CORPUS]) == {}  # stop words only
    assert filled.coverage("deploy", []) == {}


def test_coverage_uses_the_statistics_search_uses(filled: Any) -> None:
    """Inside a permission scope the weights come from that scope's statistics, where the
    index keeps scoped statistics: what the reader cannot see does not shift them."""
    scope = SearchFilters(space_ids=("10",))
    visible = [c for c in CORPUS if scope.matches(c.metadata)]
    query = "deploy rollback token"
    got = filled.coverage(query, [c.id for c in visible], scope)
    pool = visible if filled.capabilities.scoped_statistics else CORPUS
    want = expected_coverage(filled, pool, query)
    assert all(abs(got[c.id] - want[c.id]) < 1e-9 for c in visible)


def test_a_query_finds_compounds_it_splits_and_nothing_else(factory: Any) -> None:
    idx = factory()
    with idx.batch() as batch:
        batch.upsert([
            make_chunk(0, ["Rollback", "with", "argocd"]),
            make_chunk(1, ["roll", "the", "dice"]),
            make_chunk(2, ["login", "page"]),
            make_chunk(3, ["quota", "invoice"]),
        ])  # fmt: skip
    found = [h.id for h in idx.search("how do I roll back", k=5)]
    assert found[0] == make_chunk(0).id and make_chunk(1).id in found
    assert [h.id for h in idx.search("log in", k=5)] == [make_chunk(2).id]
    # only spaces join two words: "roll, back" and a line break do not
    assert [h.id for h in idx.search("roll, back", k=5)] == [make_chunk(1).id]
    assert [h.id for h in idx.search("roll\nback", k=5)] == [make_chunk(1).id]
    # a joined pair the index never saw changes no score
    plain = {h.id: h.score for h in idx.search("quota", k=5)}
    joined = {h.id: h.score for h in idx.search("quota bill", k=5)}
    assert joined == plain

"""Hybrid retrieval over a real embedded Chroma + BM25 index (HashEmbedder vectors)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ragconf.errors import InvalidQueryError
from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.store import ChromaStore, open_store
from ragconf.index.types import Chunk, Hit, SearchFilters, chunk_id, text_hash
from ragconf.search._dense import FilterRates, dense_leg, is_bare
from ragconf.search._fusion import FusionConfig, fuse, fuse_scores
from ragconf.search._lexical_holder import LexicalHolder
from ragconf.search._snippets import make_snippet, query_terms
from ragconf.search.retrieve import Retriever

BASE = "https://acme.atlassian.net/wiki"

# (content_type, id, title, space, labels, updated_at, [(heading, anchor, body), ...])
CORPUS = [
    (
        "page",
        "101",
        "Deploy runbook",
        "ENG",
        ["ops", "runbook"],
        "2024-03-01T10:00:00Z",
        [
            (
                "Rollback",
                "Deployrunbook-Rollback",
                "To roll back a release, redeploy the previous tag. Rollbacks take five minutes.",
            ),
            (
                "Error codes",
                "Deployrunbook-Errorcodes",
                "ERR-4031 means the upload was rejected by the artifact store. "
                "Retry the upload once.",
            ),
        ],
    ),
    (
        "page",
        "102",
        "Onboarding checklist",
        "HR",
        ["onboarding"],
        "2023-06-01T09:00:00Z",
        [
            (
                "First day",
                "Onboardingchecklist-Firstday",
                "New hires receive a laptop and a badge on the first day. Accounts take two days.",
            ),
        ],
    ),
    (
        "blogpost",
        "201",
        "Quarterly release notes",
        "ENG",
        ["release"],
        "2024-05-10T08:00:00Z",
        [
            ("", None, "This quarter we shipped faster rollbacks and a new upload service."),
        ],
    ),
    (
        "attachment",
        "att301",
        "upload-limits.pdf",
        "ENG",
        [],
        "2022-01-01T00:00:00Z",
        [
            ("", None, "Upload size limits: 50 MB per file, 2 GB per release artifact."),
        ],
    ),
    (
        "custom_content",
        "401",
        "Team calendar",
        "HR",
        ["calendar"],
        "2024-02-02T00:00:00Z",
        [
            ("", None, "Holiday calendar: the office is closed in August."),
        ],
    ),
    # two documents with the same text: their order must follow the content id
    (
        "page",
        "502",
        "Coffee machine",
        "OPS",
        [],
        "2024-01-01T00:00:00Z",
        [
            ("", None, "Descale the coffee machine every Friday."),
        ],
    ),
    (
        "page",
        "501",
        "Coffee machine",
        "OPS",
        [],
        "2024-01-01T00:00:00Z",
        [
            ("", None, "Descale the coffee machine every Friday."),
        ],
    ),
]


def _chunks() -> list[Chunk]:
    out = []
    for ctype, cid, title, space, labels, updated, sections in CORPUS:
        url = f"{BASE}/spaces/{space}/pages/{cid}"
        for i, (heading, anchor, body) in enumerate(sections):
            prefix = " › ".join(x for x in (title, heading) if x)
            out.append(
                Chunk(
                    id=chunk_id(ctype, cid, i),
                    text=f"{prefix}\n{body}",
                    metadata={
                        "content_id": cid,
                        "content_type": ctype,
                        "title": title,
                        "url": url,
                        "anchor_url": f"{url}#{anchor}" if anchor else url,
                        "heading_path": heading,
                        "chunk_index": i,
                        "text_hash": text_hash(body),
                        "space_id": f"sp-{space}",
                        "space_key": space,
                        "space_name": f"{space} space",
                        "breadcrumbs": f"{space} Home › Docs",
                        "labels": labels,
                        "updated_at": updated,
                        "version": 1,
                    },
                )
            )
    return out


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[ChromaStore, BM25Index, HashEmbedder]:
    data = tmp_path_factory.mktemp("retrieve")
    emb = HashEmbedder(dimension=256)
    store = open_store(data, model_name=emb.model_name, dimension=emb.dimension)
    chunks = _chunks()
    store.upsert(chunks, emb.embed_documents([c.text for c in chunks]))
    bm25 = BM25Index(data / "bm25")
    bm25.rebuild(store.iter_all())
    return store, bm25, emb


@pytest.fixture
def retriever(index: tuple[ChromaStore, BM25Index, HashEmbedder]) -> Retriever:
    store, bm25, emb = index
    return Retriever(store, emb, bm25)


def test_exact_phrase_finds_its_page_first_with_links(retriever: Retriever) -> None:
    res = retriever.search("ERR-4031 upload rejected", k=5)
    top = res.results[0]
    assert (top.content_type, top.content_id) == ("page", "101")
    assert top.url == f"{BASE}/spaces/ENG/pages/101"
    assert top.anchor_url == top.url + "#Deployrunbook-Errorcodes"
    assert top.space_key == "ENG" and top.labels == ["ops", "runbook"]
    assert top.breadcrumbs == ["ENG space", "ENG Home", "Docs", "Error codes"]
    assert top.updated_at == "2024-03-01T10:00:00Z"
    assert (
        "**ERR**-**4031**" in top.snippet
        or "**ERR-4031**" in top.snippet
        or "**4031**" in top.snippet
    )
    assert "**" not in top.snippet_plain and "ERR-4031" in top.snippet_plain
    assert set(res.timings) == {"encode_ms", "dense_ms", "lexical_ms", "fuse_ms", "total_ms"}


def test_results_are_grouped_per_document_with_sections(retriever: Retriever) -> None:
    res = retriever.search("roll back release upload", k=10)
    keys = [(d.content_type, d.content_id) for d in res.results]
    assert len(keys) == len(set(keys))
    runbook = next(d for d in res.results if d.content_id == "101")
    assert len(runbook.sections) == 1
    other = runbook.sections[0]
    assert other.anchor_url.startswith(runbook.url + "#")
    assert other.anchor_url != runbook.anchor_url
    assert other.heading_path in ("Rollback", "Error codes")
    assert runbook.chunks[0].id != other.chunk_id
    assert runbook.to_dict()["sections"][0]["snippet"]
    assert "chunks" not in runbook.to_dict()


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize(
    ("filters", "allowed"),
    [
        (SearchFilters(space_keys=("HR",)), {"102", "401"}),
        (SearchFilters(labels=("runbook", "calendar")), {"101", "401"}),
        (SearchFilters(content_types=("blogpost", "attachment")), {"201", "att301"}),
        (SearchFilters(updated_after=datetime(2024, 2, 15, tzinfo=UTC)), {"101", "201"}),
        (SearchFilters(space_ids=("sp-OPS",)), {"501", "502"}),
    ],
)
def test_filters_narrow_both_legs(
    retriever: Retriever, mode: str, filters: SearchFilters, allowed: set[str]
) -> None:
    query = "upload release rollback laptop calendar coffee machine august badge"
    res = retriever.search(query, k=20, filters=filters, mode=mode)
    found = {d.content_id for d in res.results}
    assert found <= allowed
    assert found, "the filter should leave something to find"
    unfiltered = {d.content_id for d in retriever.search(query, k=20, mode=mode).results}
    assert unfiltered - allowed, "the unfiltered search must find more than the filter allows"


def test_ties_are_ordered_by_content_id(retriever: Retriever) -> None:
    for mode in ("hybrid", "dense", "bm25"):
        res = retriever.search("descale coffee machine", k=2, mode=mode)
        assert [d.content_id for d in res.results] == ["501", "502"]
        assert res.results[0].score == res.results[1].score
    first = [d.content_id for d in retriever.search("upload", k=10).results]
    assert first == [d.content_id for d in retriever.search("upload", k=10).results]


def test_allow_hides_documents_before_fusion(retriever: Retriever) -> None:
    res = retriever.search("ERR-4031 upload", k=10, allow=lambda md: md.get("content_id") != "101")
    assert "101" not in {d.content_id for d in res.results}
    assert res.results


def test_k_limits_the_number_of_documents(retriever: Retriever) -> None:
    assert len(retriever.search("the", k=1).results) <= 1
    assert len(retriever.search("upload release coffee laptop", k=3).results) == 3


@pytest.mark.parametrize(
    ("query", "k", "mode"),
    [
        ("", 10, "hybrid"),
        ("   ", 10, "hybrid"),
        ("x" * 2001, 10, "hybrid"),
        ("ok", 0, "hybrid"),
        ("ok", 101, "hybrid"),
        ("ok", 10, "fuzzy"),
    ],
)
def test_bad_queries_are_rejected(retriever: Retriever, query: str, k: int, mode: str) -> None:
    with pytest.raises(InvalidQueryError):
        retriever.search(query, k=k, mode=mode)


def test_unknown_words_give_no_lexical_hits_but_dense_still_answers(retriever: Retriever) -> None:
    assert retriever.search("zzqxv", k=5, mode="bm25").results == []
    assert retriever.search("zzqxv", k=5, mode="dense").results


# -- fusion -------------------------------------------------------------------------------


def _hit(doc: str, chunk: int, score: float) -> Hit:
    return Hit(f"page:{doc}:{chunk}", score, "", {"content_type": "page", "content_id": doc})


def test_rrf_rewards_documents_found_by_both_legs() -> None:
    dense = [_hit("a", 0, 0.9), _hit("b", 0, 0.8), _hit("c", 0, 0.7)]
    lexical = [_hit("c", 1, 12.0), _hit("d", 0, 11.0)]
    docs, chunks = fuse(dense, lexical, FusionConfig(method="rrf", rrf_c=60))
    assert max(docs, key=lambda d: docs[d]) == "page:c"
    assert set(chunks) == {"page:a:0", "page:b:0", "page:c:0", "page:c:1", "page:d:0"}


def test_convex_fusion_normalises_each_leg() -> None:
    dense = {"x": 0.9, "y": 0.5}
    lexical = {"x": 2.0, "z": 30.0}
    out = fuse_scores(dense, lexical, FusionConfig(method="convex", alpha=0.5, norm="minmax"))
    assert out == {"x": pytest.approx(0.5), "y": pytest.approx(0.0), "z": pytest.approx(0.5)}
    dense_only = fuse_scores(dense, lexical, FusionConfig(alpha=1.0))
    assert dense_only["x"] == 1.0 and dense_only["z"] == 0.0
    z = fuse_scores({"a": 1.0, "b": 2.0, "c": 3.0}, {}, FusionConfig(alpha=1.0, norm="zscore"))
    assert z["a"] < z["b"] < z["c"] and all(0 <= v <= 1 for v in z.values())


# -- snippets -----------------------------------------------------------------------------


def test_snippet_picks_the_window_with_the_query_terms_and_marks_them() -> None:
    text = (
        "Runbook › Intro\nThis page is long. It has many parts. "
        "Passwords expire after ninety days. Reset yours in Settings. Lunch is at noon."
    )
    s = make_snippet("how do I reset an expired password", text, max_chars=80)
    assert s.marked == "**Passwords** **expire** after ninety days. **Reset** yours in Settings."
    assert "Lunch" not in s.plain and "Runbook" not in s.plain
    assert s.plain.replace("**", "") == s.plain
    assert len(s.plain) <= 80


def test_snippet_of_a_long_sentence_is_cut_around_the_match() -> None:
    text = "T\n" + " ".join(["filler"] * 100) + " the magic token appears here " + "tail " * 50
    s = make_snippet("magic token", text, max_chars=120)
    assert "**magic** **token**" in s.marked
    assert len(s.plain) <= 125


def test_markdown_bold_in_the_text_is_not_mistaken_for_a_match() -> None:
    s = make_snippet("failover", "Runbook\n**When to use** before a failover.")
    assert s.marked == "When to use before a **failover**."
    assert s.plain == "When to use before a failover."


def test_a_compound_the_query_splits_is_marked_where_the_text_joins_it() -> None:
    s = make_snippet("roll back a deploy", "T\nRollback with argocd; never redeploy.")
    assert s.marked == "**Rollback** with argocd; never redeploy."


def test_query_terms_drop_stopwords_but_keep_something() -> None:
    assert query_terms("how do I reset the passwords") == {"reset", "password"}
    assert query_terms("the") == {"the"}


# -- lexical refresh ----------------------------------------------------------------------


def test_holder_reloads_a_newer_saved_index_in_the_background(tmp_path: Path) -> None:
    from ragconf.index.types import StoredChunk

    path = tmp_path / "bm25"
    first = BM25Index(path)
    first.rebuild([StoredChunk("page:1:0", "alpha release", {"content_id": "1"})])
    first.save()
    holder = LexicalHolder(BM25Index(path), load=lambda: BM25Index(path), check_interval_s=0.0)
    assert not holder.stale()
    writer = BM25Index(path)  # another process (a sync) writes a new version
    writer.rebuild([StoredChunk("page:2:0", "beta release", {"content_id": "2"})])
    writer.save()
    assert holder.stale()
    assert holder.check(wait=True)
    assert [h.id for h in holder().search("beta", 3)] == ["page:2:0"]
    assert holder.reloads == 1 and not holder.stale()


def test_holder_rebuilds_from_the_store_when_its_stamp_is_unknown_on_disk(
    index: tuple[ChromaStore, BM25Index, HashEmbedder], tmp_path: Path
) -> None:
    store, _, emb = index

    class StampedStore:
        """The real store, naming a lexical stamp no file on this machine has."""

        def get_meta(self) -> dict[str, str]:
            return {"lexical_stamp": "from-another-host"}

    empty = BM25Index(tmp_path / "other")
    rebuilt: list[BM25Index] = []

    def rebuild() -> BM25Index:
        fresh = BM25Index(tmp_path / "rebuilt")
        fresh.rebuild(store.iter_all())
        fresh.stamp = "from-another-host"
        rebuilt.append(fresh)
        return fresh

    holder = LexicalHolder(empty, store=StampedStore(), rebuild=rebuild, check_interval_s=0.0)
    assert holder.check(wait=True)
    assert holder.rebuilds == 1 and holder.current is rebuilt[0]
    assert len(holder.current) == store.count()
    assert not holder.check()  # stamps agree now: nothing more to do
    r = Retriever(store, emb, holder, mode="bm25")
    assert r.search("ERR-4031", k=1).results[0].content_id == "101"


# -- the dense fast path (ids from the store, text/metadata from the lexical index) -----------


FILTERS = [
    SearchFilters(),
    SearchFilters(space_keys=("ENG",)),
    SearchFilters(labels=("onboarding", "runbook")),
    SearchFilters(content_types=("page",), updated_after=datetime(2023, 1, 1, tzinfo=UTC)),
]


@pytest.mark.parametrize("filters", FILTERS)
def test_fast_dense_path_finds_what_the_stores_filtered_query_finds(
    index: tuple[ChromaStore, BM25Index, HashEmbedder], filters: SearchFilters
) -> None:
    """Ids from ``query_ids`` filtered on the lexical index's columns, text and metadata
    read back after: the same chunks, scores, texts and metadata as the store's own
    (Chroma-side filtered) query."""
    store, bm25, emb = index
    rates = FilterRates()
    for q in ("upload release", "laptop badge first day", "coffee machine", "ERR-4031"):
        vec = emb.embed_query(q)
        fast = dense_leg(store, bm25, vec, 5, filters, need_metadata=True, rates=rates)
        plain = store.query(vec, 5, filters)
        assert [(h.id, round(h.score, 5), h.text) for h in fast] == [
            (h.id, round(h.score, 5), h.text) for h in plain]
        assert [h.metadata for h in fast] == [h.metadata for h in plain]
        assert not any(is_bare(h) for h in fast)


def test_chunks_missing_from_a_stale_lexical_index_are_checked_on_the_store(
    index: tuple[ChromaStore, BM25Index, HashEmbedder], tmp_path: Path
) -> None:
    store, _, emb = index
    stale = BM25Index(tmp_path / "stale")  # built before the HR documents were synced
    stale.rebuild(c for c in store.iter_all() if c.metadata["space_key"] != "HR")
    r = Retriever(store, emb, stale, mode="dense")
    res = r.search("laptop badge holiday calendar", k=5, filters=SearchFilters(space_keys=("HR",)))
    assert {d.content_id for d in res.results} == {"102", "401"}
    assert all(d.title and d.url for d in res.results)  # read back from the store


def test_one_lexical_snapshot_per_query_even_when_the_index_is_empty(
    index: tuple[ChromaStore, BM25Index, HashEmbedder], tmp_path: Path
) -> None:
    store, _, emb = index
    empty = BM25Index(tmp_path / "empty")  # len 0: falsy
    calls: list[int] = []

    def current() -> BM25Index:
        calls.append(1)
        return empty

    r = Retriever(store, emb, current, mode="dense")
    assert r.search("coffee machine", k=3).results
    assert len(calls) == 1


def test_chroma_server_location_names_the_port_it_connects_to() -> None:
    from ragconf.index.store._meta import server_address

    assert server_address("https://chroma.example") == (
        "chroma.example",
        443,
        True,
        "https://chroma.example:443",
    )
    assert server_address("chroma:9000")[1:] == (9000, False, "http://chroma:9000")
    assert server_address("http://u:secret@chroma")[3] == "http://chroma:8000"

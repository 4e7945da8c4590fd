"""The ranking stages: identifiers in keyword queries, query-word coverage, document evidence,
feedback, switches.

Real parts: an embedded Chroma store and the BM25 index over small synthetic corpora; the
dense leg is a hashing embedder, or one that always answers with a chosen decoy's vector
(to show that an identifier wins *whatever the dense leg says*).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.store import open_store
from ragconf.index.types import Chunk, Hit, chunk_id, text_hash
from ragconf.search._fusion import FusionConfig, adaptive_alpha, doc_evidence
from ragconf.search._prf import PRF, expansion_terms, feedback_search, is_flat
from ragconf.search._query import analyse, is_identifier, mentions
from ragconf.search._rank import (
    STAGES,
    Ranking,
    coverage_boost,
    describe,
    identifier_boost,
    with_stage,
)
from ragconf.search.retrieve import DEFAULT_RANKING, Retriever

BASE = "https://acme.atlassian.net/wiki"


def _chunk(cid: str, i: int, title: str, body: str) -> Chunk:
    url = f"{BASE}/spaces/ENG/pages/{cid}"
    md = {
        "content_id": cid,
        "content_type": "page",
        "title": title,
        "url": url,
        "anchor_url": url,
        "heading_path": "",
        "chunk_index": i,
        "text_hash": text_hash(body),
        "space_id": "sp-ENG",
        "space_key": "ENG",
        "version": 1,
    }
    return Chunk(chunk_id("page", cid, i), f"{title}\n{body}", md)


class DecoyEmbedder(HashEmbedder):
    """Embeds documents by hashing, and every query as ``decoy``: the dense leg's favourite
    is whatever resembles ``decoy`` most, whatever the query says."""

    def __init__(self, decoy: str) -> None:
        super().__init__(dimension=256)
        self.decoy = decoy

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(self.decoy)


def _index(tmp: Path, docs: list[tuple[str, str, list[str]]], emb: HashEmbedder) -> tuple:
    store = open_store(tmp, model_name=emb.model_name, dimension=emb.dimension)
    chunks = [_chunk(cid, i, title, b) for cid, title, bodies in docs for i, b in enumerate(bodies)]
    store.upsert(chunks, emb.embed_documents([c.text for c in chunks]))
    bm25 = BM25Index(tmp / "bm25")
    bm25.rebuild(store.iter_all())
    return store, bm25


UPLOAD_DOCS = [
    # the page that names the error code, among unrelated words
    ("1", "Artifact store", ["Limits and quotas. ERR-4031 means the store refused the file."]),
    ("2", "Upload troubleshooting", ["Upload errors: when an upload fails, retry the upload."]),
    ("3", "Upload guide", ["How to upload files. Uploads fail when the network drops."]),
    ("4", "Config loader", ["The loader calls parse_config on start and validates keys."]),
    ("5", "Configuration", ["Configuration parsing: how the configuration is parsed."]),
    ("6", "Release notes", ["The release brought faster uploads and fewer errors."]),
]


@pytest.mark.parametrize(
    ("query", "decoy", "target"),
    [
        ("ERR-4031 upload", "Upload errors: when an upload fails, retry the upload.", "1"),
        ("parse_config", "Configuration parsing: how the configuration is parsed.", "4"),
    ],
)
def test_an_identifier_in_a_keyword_query_wins_over_the_dense_favourite(
    tmp_path: Path, query: str, decoy: str, target: str
) -> None:
    emb = DecoyEmbedder(decoy)
    store, bm25 = _index(tmp_path, UPLOAD_DOCS, emb)
    alone = replace(DEFAULT_RANKING, coverage=0.0)  # coverage alone lifts page 1 as well
    on = Retriever(store, emb, bm25, ranking=replace(alone, identifiers=True))
    off = Retriever(store, emb, bm25, ranking=replace(alone, identifiers=False))
    # without the stage the dense leg's favourite is on top: the case the stage is for
    assert off.search(query, k=3).results[0].content_id != target
    for mode in ("hybrid", "bm25"):
        assert on.search(query, k=3, mode=mode).results[0].content_id == target
    # a long question is not a keyword query: the stage leaves its order alone
    long_query = f"why does {query} keep happening to our team every single morning"
    assert [d.content_id for d in on.search(long_query, k=5).results] == [
        d.content_id for d in off.search(long_query, k=5).results
    ]


def test_identifier_tiers_keep_the_fused_order_inside_a_tier() -> None:
    shape = analyse("ERR-4031 ERR-77")
    hits = [
        Hit("page:a:0", 1.0, "ERR-4031 and ERR-77", {"content_type": "page", "content_id": "a"}),
        Hit("page:b:0", 1.0, "only ERR-4031 here", {"content_type": "page", "content_id": "b"}),
        Hit("page:c:0", 1.0, "also ERR-4031", {"content_type": "page", "content_id": "c"}),
        Hit("page:d:0", 1.0, "nothing", {"content_type": "page", "content_id": "d"}),
    ]
    fused = {"page:a": 0.1, "page:b": 0.3, "page:c": 0.5, "page:d": 0.9}
    out = identifier_boost(shape, fused, hits)
    assert sorted(out, key=lambda k: -out[k]) == ["page:a", "page:c", "page:b", "page:d"]
    # no identifier, or a long query: nothing changes
    assert identifier_boost(analyse("upload fails"), fused, hits) == fused
    long_shape = analyse("is ERR-4031 raised when the upload of a very large file times out")
    assert identifier_boost(long_shape, fused, hits) == fused


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("ERR-4031", True),
        ("parse_config", True),
        ("getUserById", True),
        ("HTTPServer", True),
        ("config.yaml", True),
        ("v2.3.1", True),
        ("long-term", False),
        ("Upload", False),
        ("2024", False),
        ("e.g", False),
    ],
)
def test_what_counts_as_an_identifier(token: str, expected: bool) -> None:
    assert is_identifier(token) is expected


def test_query_shape_and_mentions() -> None:
    assert analyse("ERR-4031 upload fails").identifiers == ("err-4031",)
    assert analyse("ERR-4031 upload fails").short
    assert not analyse("what should I do when uploads of big files fail at night").short
    assert mentions("see ERR-4031/upload", ["err-4031"]) == 1
    assert mentions("code ERR-40311", ["err-4031"]) == 0
    assert mentions("err-4031 and x_y", ["err-4031", "x_y", "zz"]) == 2


# -- document evidence ------------------------------------------------------------------------


def _h(doc: str, i: int, score: float) -> Hit:
    return Hit(f"page:{doc}:{i}", score, "", {"content_type": "page", "content_id": doc})


def test_maxsum_adds_damped_margins_of_the_other_chunks_over_the_floor() -> None:
    hits = [_h("a", 0, 10.0), _h("a", 1, 9.0), _h("a", 2, 1.0), _h("b", 0, 10.5), _h("c", 0, 5.0)]
    assert doc_evidence(hits, "max") == {"page:a": 10.0, "page:b": 10.5, "page:c": 5.0}
    depth, damping = 4, 0.5
    floor = sorted((h.score for h in hits), reverse=True)[depth - 1]
    out = doc_evidence(hits, "maxsum", damping, depth)
    # a's second chunk adds half its margin over the floor; its third is below the floor
    assert out["page:a"] == pytest.approx(10.0 + damping * (9.0 - floor))
    assert out["page:b"] == 10.5 and out["page:c"] == 5.0
    assert out["page:a"] > out["page:b"]  # two good chunks beat one slightly better one
    assert doc_evidence([], "maxsum") == {}
    with pytest.raises(ValueError):
        doc_evidence(hits, "mean")


def test_maxsum_never_ranks_a_document_below_its_best_chunk_alone() -> None:
    rng = np.random.default_rng(3)
    hits = [_h(str(rng.integers(0, 20)), i, float(rng.random())) for i in range(200)]
    best = doc_evidence(hits, "max")
    summed = doc_evidence(hits, "maxsum", 0.5, 30)
    assert summed.keys() == best.keys()
    assert all(summed[k] >= best[k] for k in best)


# -- pseudo-relevance feedback --------------------------------------------------------------


FEEDBACK_DOCS = [
    ("10", "Cell energy", ["Mitochondria produce energy in the cell. Mitochondria divide."]),
    ("11", "Cell power", ["Energy in the cell comes from mitochondria and glucose."]),
    ("12", "Organelles", ["Mitochondria and ribosomes are organelles of every cell."]),
    ("13", "Respiration", ["Oxidative phosphorylation happens inside mitochondria membranes."]),
    ("14", "Plants", ["Chloroplasts capture light for the plant."]),
    ("15", "Garden", ["Water the plant every week and give it light."]),
]


def test_expansion_terms_come_from_the_feedback_passages(tmp_path: Path) -> None:
    emb = HashEmbedder(dimension=128)
    _, bm25 = _index(tmp_path, FEEDBACK_DOCS, emb)
    first = bm25.search("cell energy", 3)
    terms = expansion_terms("cell energy", first, bm25.tokens, terms=3)
    assert terms and len(terms) <= 3
    feedback_terms = {t for h in first for t in bm25.tokens(h.text)}
    assert set(terms) <= feedback_terms
    assert not set(terms) & set(bm25.tokens("cell energy"))
    assert bm25.tokens("mitochondria")[0] in terms  # the word every feedback passage repeats


def test_idf_prefers_a_rare_feedback_term_to_one_every_passage_has() -> None:
    tokens = str.split
    feedback = [Hit("p:1:0", 2.0, "common rare", {}), Hit("p:2:0", 1.0, "common common", {})]
    assert expansion_terms("q", feedback, tokens, terms=1) == ["common"]
    N = 1000
    dfs = {"common": 900, "rare": 3}
    ranked = expansion_terms(
        "q", feedback, tokens, terms=1, doc_freq=lambda ts: [dfs[t] for t in ts], collection_size=N
    )
    assert ranked == ["rare"]


def test_feedback_finds_a_passage_that_shares_no_query_word(tmp_path: Path) -> None:
    emb = HashEmbedder(dimension=128)
    _, bm25 = _index(tmp_path, FEEDBACK_DOCS, emb)
    plain = bm25.search("cell energy", 10)
    assert "page:13:0" not in {h.id for h in plain}  # "Respiration" says neither word
    expanded = feedback_search(bm25, "cell energy", plain, 10, None, PRF(mode="on", docs=3))
    ids = [h.id for h in expanded]
    assert "page:13:0" in ids
    # the passages that matched the query keep their lead over the ones feedback added
    assert ids.index("page:10:0") < ids.index("page:13:0")
    assert feedback_search(bm25, "cell energy", plain, 10, None, PRF(mode="off")) == plain


def test_feedback_never_learns_from_a_page_the_reader_cannot_see(tmp_path: Path) -> None:
    emb = HashEmbedder(dimension=128)
    docs = [
        ("20", "Secret plan", ["Zebra budget: the zebra team budget doubles for zebra."]),
        ("21", "Zoo", ["The zebra enclosure needs a new fence."]),
        ("22", "Finance", ["Quarterly figures and the travel budget."]),
    ]
    store, bm25 = _index(tmp_path, docs, emb)
    ranking = replace(DEFAULT_RANKING, prf=PRF(mode="on", docs=1, terms=2))
    r = Retriever(store, emb, bm25, ranking=ranking)
    seen = {d.content_id for d in r.search("budget", k=5, mode="bm25").results}
    assert "21" in seen  # feedback from the secret page reached the zoo page
    hidden = {
        d.content_id
        for d in r.search(
            "budget", k=5, mode="bm25", allow=lambda md: md["content_id"] != "20"
        ).results
    }
    assert "20" not in hidden and "21" not in hidden


def test_flat_scores_trigger_feedback_and_a_clear_winner_does_not() -> None:
    flat = [_h("a", i, s) for i, s in enumerate([5.0, 4.9, 4.8, 4.7])]
    peaked = [_h("a", i, s) for i, s in enumerate([9.0, 2.0, 1.9, 1.8])]
    assert is_flat(flat, rank=4, ratio=0.8)
    assert not is_flat(peaked, rank=4, ratio=0.8)


# -- query-word coverage ---------------------------------------------------------------------


def test_coverage_boost_adds_each_documents_best_chunk_share() -> None:
    hits = [
        Hit("page:a:0", 0.0, "", {"content_type": "page", "content_id": "a"}),
        Hit("page:a:1", 0.0, "", {"content_type": "page", "content_id": "a"}),
        Hit("page:b:0", 0.0, "", {}),  # a bare dense hit: its id names the document
    ]
    fused = {"page:a": 0.5, "page:b": 0.6, "page:c": 0.7}
    cov = {"page:a:0": 0.25, "page:a:1": 1.0, "page:b:0": 0.5}
    out = coverage_boost(fused, hits, cov, 0.2)
    assert out == pytest.approx({"page:a": 0.7, "page:b": 0.7, "page:c": 0.7})
    assert coverage_boost(fused, hits, {}, 0.2) == fused


# two pages about deploys; only one names both rare words of the question, the other
# repeats the common one (BM25 saturates, the dense leg is blind to which)
COVERAGE_DOCS = [
    ("1", "Deploy notes", ["deploy deploy deploy deploy the service on monday"]),
    ("2", "Canary", ["the canary deploy waits for a webhook before it goes on"]),
    *[(str(10 + i), f"Misc {i}", [f"deploy log {i} on tuesday"]) for i in range(6)],
]


@pytest.mark.parametrize("lexical_kind", ["bm25s", "sqlite"])
def test_coverage_lifts_the_page_that_has_every_query_word(
    tmp_path: Path, lexical_kind: str
) -> None:
    from ragconf.index.lexical_sqlite import SqliteLexicalIndex

    emb = DecoyEmbedder("deploy deploy deploy deploy the service on monday")
    store, bm25 = _index(tmp_path, COVERAGE_DOCS, emb)
    lexical = bm25
    if lexical_kind == "sqlite":
        lexical = SqliteLexicalIndex(tmp_path / "lexical.sqlite")
        with lexical.batch() as batch:
            batch.upsert(list(store.iter_all()))
    query = "deploy canary webhook"
    on = Retriever(store, emb, lexical, ranking=replace(DEFAULT_RANKING, coverage=0.5))
    off = Retriever(store, emb, lexical, ranking=replace(DEFAULT_RANKING, coverage=0.0))
    got_on = on.search(query, k=3).results
    got_off = off.search(query, k=3).results
    # the dense decoy's favourite wins without the stage; page 2 has every word, page 1 one
    assert got_off[0].content_id == "1"
    assert got_on[0].content_id == "2"
    assert got_on[0].score - got_off[[d.content_id for d in got_off].index("2")].score > 0.4
    # the other modes do not use it
    for mode in ("dense", "bm25"):
        assert [d.content_id for d in on.search(query, k=3, mode=mode).results] == [
            d.content_id for d in off.search(query, k=3, mode=mode).results
        ]


# -- switches --------------------------------------------------------------------------------


def test_every_stage_switch_changes_only_its_stage() -> None:
    base = Ranking(fusion=FusionConfig(), prf=PRF(mode="off"), identifiers=False)
    for stage, values in STAGES.items():
        for value in values:
            changed = describe(with_stage(base, stage, value))
            assert changed[stage] == value
            assert {k: v for k, v in changed.items() if k != stage} == {
                k: v for k, v in describe(base).items() if k != stage
            }
    with pytest.raises(ValueError):
        with_stage(base, "prf", "sometimes")


# -- adaptive fusion weight -------------------------------------------------------------------


def test_adaptive_weight_leans_toward_the_leg_with_a_clear_winner() -> None:
    clear = {"a": 10.0, "b": 2.0, "c": 1.9, "d": 1.8, "e": 1.7}
    flat = {"a": 5.0, "b": 4.9, "c": 4.8, "d": 4.7, "e": 4.6}
    assert adaptive_alpha(clear, flat, 0.5, 30) > 0.5  # the dense leg is the surer one
    assert adaptive_alpha(flat, clear, 0.5, 30) < 0.5
    assert adaptive_alpha(clear, clear, 0.55, 30) == pytest.approx(0.55)
    # a leg with nothing to say leaves the configured weight alone
    assert adaptive_alpha(clear, {}, 0.55, 30) == 0.55
    # only each leg's own spread matters: rescaling one leg's scores changes nothing
    scaled = {k: 100 * v + 7 for k, v in flat.items()}
    assert adaptive_alpha(clear, scaled, 0.5, 30) == pytest.approx(
        adaptive_alpha(clear, flat, 0.5, 30)
    )


def test_doc_freqs_counts_the_chunks_that_hold_each_term(tmp_path: Path) -> None:
    emb = HashEmbedder(dimension=64)
    _, bm25 = _index(tmp_path, FEEDBACK_DOCS, emb)
    terms = [bm25.tokens("mitochondria")[0], bm25.tokens("plant")[0], "zzz-unknown"]
    texts = [h.text for h in bm25.search("mitochondria plant cell energy light", 50)]
    expected = [sum(t in bm25.tokens(x) for x in texts) for t in terms]
    assert bm25.doc_freqs(terms) == expected
    assert expected[0] > 0 and expected[2] == 0

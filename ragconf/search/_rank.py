"""The ranking stages after the two legs have answered, and the switches that ablate them.

    lexical hits --(prf, fields)--> lexical hits'
    dense hits + lexical hits' --(fusion, document evidence)--> document scores
    document scores --(coverage)--> document scores --(identifiers)--> document scores'

* ``prf``: pseudo-relevance feedback for the lexical leg (``_prf``);
* ``fields``: query words in a chunk's title/heading line or its page's ancestor titles
  add to its lexical score (``_fields``);
* ``fusion``: how the legs combine and how a document's chunks make its score
  (``_fusion``: convex, convex with a per-query weight, or RRF; best chunk, or best chunk
  plus its other matching chunks);
* ``coverage``: each document gains ``coverage`` times the share of the query's words its
  best-covering chunk contains, each word weighted by its idf (``LexicalIndex.coverage``):
  a page that has every rare word of the question beats one that repeats a few of them,
  whichever leg found it. The postings are those the lexical leg has just read;
* ``identifiers``: in a short keyword query that names an identifier (``ERR-4031``,
  ``parse_config``, see ``_query``), the documents whose matching text contains it rank
  above those that don't, whatever the dense leg thinks of them; among themselves they keep
  their fused order. Long questions are left alone: there an identifier is one word of many.

:data:`STAGES` lists the switches (a stage name and its values) that ``bench/quality.py``
and ``bench/tune_rank.py`` ablate; :func:`with_stage` turns one off or changes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ragconf.index.types import Hit, LexicalIndex, SearchFilters
from ragconf.search._fields import title_boost
from ragconf.search._fusion import FusionConfig, doc_evidence, doc_key, fuse
from ragconf.search._prf import PRF, feedback_search
from ragconf.search._query import QueryShape, mentions

__all__ = [
    "COVERAGE_WEIGHT",
    "DEFAULT_FUSION",
    "DEFAULT_RANKING",
    "STAGES",
    "Ranking",
    "coverage_boost",
    "describe",
    "identifier_boost",
    "lexical_stages",
    "rank_documents",
    "with_stage",
]


@dataclass(frozen=True)
class Ranking:
    """Everything that orders results once the legs have answered (see the module docstring)."""

    fusion: FusionConfig = field(default_factory=FusionConfig)
    prf: PRF = field(default_factory=PRF)
    #: weight of a query term found in the title/path line (0: off); see ``_fields``
    fields: float = 0.0
    identifiers: bool = True
    #: what a document whose best chunk holds every query word gains (0: off); hybrid only
    coverage: float = 0.0


#: the fusion chosen by bench/tune_fusion.py on SciFact train (see its docstring)
DEFAULT_FUSION = FusionConfig(method="convex", alpha=0.55, norm="zscore", norm_depth=30)

#: the stages chosen by bench/tune_rank.py on SciFact train (its docstring has the numbers):
#: the fusion weight adapts per query, query-word coverage adds up to 0.2, identifiers lift
#: their documents; feedback, field weighting and summed document evidence each lowered
#: train nDCG@10 and stay off
DEFAULT_RANKING = Ranking(
    fusion=replace(DEFAULT_FUSION, method="adaptive"),
    prf=PRF(mode="off"),
    identifiers=True,
    coverage=0.2,
)

#: stage -> the values it can be set to (the first is "off" / the plain baseline)
STAGES: dict[str, tuple[str, ...]] = {
    "prf": ("off", "on", "flat"),
    "fields": ("off", "on"),
    "evidence": ("max", "maxsum"),
    "fusion": ("convex", "adaptive", "rrf"),
    "identifiers": ("off", "on"),
    "coverage": ("off", "on"),
}

#: the coverage weight a stage switched "on" gets when its ranking has none
COVERAGE_WEIGHT = 0.2


def with_stage(ranking: Ranking, stage: str, value: str) -> Ranking:
    """``ranking`` with one stage set to ``value`` (one of ``STAGES[stage]``)."""
    if stage not in STAGES or value not in STAGES[stage]:
        raise ValueError(f"unknown stage setting {stage}={value}; known: {STAGES}")
    if stage == "prf":
        return replace(ranking, prf=replace(ranking.prf, mode=value))
    if stage == "evidence":
        return replace(ranking, fusion=replace(ranking.fusion, evidence=value))
    if stage == "fusion":
        return replace(ranking, fusion=replace(ranking.fusion, method=value))
    if stage == "fields":
        return replace(ranking, fields=(ranking.fields or 1.0) if value == "on" else 0.0)
    if stage == "coverage":
        on = ranking.coverage or COVERAGE_WEIGHT
        return replace(ranking, coverage=on if value == "on" else 0.0)
    return replace(ranking, identifiers=value == "on")


def describe(ranking: Ranking) -> dict[str, str]:
    """The stage settings of ``ranking`` (for benchmark output)."""
    return {
        "prf": ranking.prf.mode,
        "fields": "on" if ranking.fields > 0 else "off",
        "evidence": ranking.fusion.evidence,
        "fusion": ranking.fusion.method,
        "identifiers": "on" if ranking.identifiers else "off",
        "coverage": "on" if ranking.coverage > 0 else "off",
    }


def identifier_boost(
    shape: QueryShape, doc_scores: dict[str, float], lexical_hits: Sequence[Hit]
) -> dict[str, float]:
    """Lift the documents that contain the query's identifiers above the rest.

    Only for short queries with identifiers (otherwise ``doc_scores`` comes back as it is).
    A document's tier is the number of distinct query identifiers one of its lexical hits'
    texts contains; each tier adds more than the whole range of the fused scores, so tiers
    never mix and the order inside a tier is the fused one.
    """
    if not (shape.short and shape.identifiers) or not doc_scores:
        return doc_scores
    tiers: dict[str, int] = {}
    for h in lexical_hits:
        key = doc_key(h)
        if key in doc_scores and h.text:
            tiers[key] = max(tiers.get(key, 0), mentions(h.text, shape.identifiers))
    if not any(tiers.values()):
        return doc_scores
    step = 1.0 + max(doc_scores.values()) - min(0.0, min(doc_scores.values()))
    return {key: s + step * tiers.get(key, 0) for key, s in doc_scores.items()}


def coverage_boost(
    doc_scores: dict[str, float],
    hits: Sequence[Hit],
    coverage: Mapping[str, float],
    weight: float,
) -> dict[str, float]:
    """Each document's fused score plus ``weight`` times its best chunk's query coverage."""
    best: dict[str, float] = {}
    seen: set[str] = set()
    for h in hits:  # a chunk both legs found comes twice; one with no query word adds 0
        c = coverage.get(h.id, 0.0)
        if c <= 0.0 or h.id in seen:
            continue
        seen.add(h.id)
        key = doc_key(h)
        if c > best.get(key, 0.0):
            best[key] = c
    return {key: s + weight * best.get(key, 0.0) for key, s in doc_scores.items()}


def lexical_stages(
    lexical: LexicalIndex,
    query: str,
    hits: list[Hit],
    n: int,
    filters: SearchFilters | None,
    ranking: Ranking,
    check: Callable[[list[Hit]], list[Hit]] | None = None,
) -> list[Hit]:
    """The lexical leg's first-pass ``hits`` after feedback and field weighting."""
    hits = feedback_search(lexical, query, hits, n, filters, ranking.prf, check=check)
    if ranking.fields > 0:
        hits = title_boost(lexical, query, hits, ranking.fields)
    return hits


def rank_documents(
    mode: str,
    ranking: Ranking,
    shape: QueryShape,
    dense_hits: Sequence[Hit],
    lexical_hits: Sequence[Hit],
    coverage: Mapping[str, float] | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """``(doc_scores, chunk_scores)`` for a search in ``mode`` (hybrid, dense or bm25).

    ``coverage``: chunk id -> ``LexicalIndex.coverage`` of the query, for the coverage stage.
    """
    cfg = ranking.fusion
    if mode == "hybrid":
        doc_scores, chunk_scores = fuse(dense_hits, lexical_hits, cfg)
        if ranking.coverage > 0 and coverage and doc_scores:
            # convex scores lie on [0, 1]; RRF's are ~1/60: scale the gain to its best score
            scale = max(doc_scores.values()) if cfg.method == "rrf" else 1.0
            doc_scores = coverage_boost(
                doc_scores, (*dense_hits, *lexical_hits), coverage, ranking.coverage * scale
            )
    else:
        hits = dense_hits if mode == "dense" else lexical_hits
        doc_scores = doc_evidence(hits, cfg.evidence, cfg.damping, cfg.norm_depth)
        chunk_scores = {h.id: h.score for h in hits}
    if ranking.identifiers and mode != "dense":
        doc_scores = identifier_boost(shape, doc_scores, lexical_hits)
    return doc_scores, chunk_scores

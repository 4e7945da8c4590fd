"""Fusing the dense and the lexical leg: per-document scores, normalisation, RRF or convex.

Both legs return chunk hits. Relevance is judged per *document* (a page answers a question,
not a 256-token window of it), so each leg is first collapsed to the best chunk of every
document, then the two document lists are fused:

* ``convex``: ``alpha * norm(dense) + (1 - alpha) * norm(bm25)``, where ``norm`` is
  ``minmax`` (max -> 1, the ``norm_depth``-th best -> 0, clipped) or ``zscore``
  (distribution-based: (s - mean) / std over the top ``norm_depth``, clipped to [-3, 3] and
  mapped to [0, 1]). A document missing from a leg gets 0 there. The statistics come from a
  fixed number of top scores, not from the whole candidate list, so asking for k=10 gives
  the first ten of what k=100 gives (the candidate depth grows with k).
* ``adaptive``: ``convex`` with the dense weight set per query from how clearly each leg's
  best document stands out of its top ``norm_depth`` (``adaptive_alpha``): no collection's
  score scale enters, only each leg's own spread on this query.
* ``rrf``: ``w_d / (c + rank_d) + w_l / (c + rank_l)`` (reciprocal rank fusion).

The defaults were chosen by ``bench/tune_fusion.py`` on the SciFact *train* qrels only;
its docstring records the grid and the scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ragconf.index.keys import doc_key_of, owner_key
from ragconf.index.types import Hit

__all__ = ["FusionConfig", "adaptive_alpha", "doc_evidence", "doc_key", "fuse"]


@dataclass(frozen=True)
class FusionConfig:
    """How the two legs are combined (see the module docstring).

    >>> FusionConfig(method="rrf", rrf_c=60).method
    'rrf'
    """

    method: str = "convex"  # convex | adaptive (convex, alpha per query) | rrf
    alpha: float = 0.5  # weight of the dense leg in convex fusion
    norm: str = "minmax"  # minmax | zscore
    norm_depth: int = 50  # how many top scores of a leg set its normalisation
    rrf_c: float = 60.0
    rrf_dense_weight: float = 1.0
    rrf_lexical_weight: float = 1.0
    #: how a document's chunks make its score in each leg: ``max`` (its best chunk) or
    #: ``maxsum`` (its best chunk plus ``damping`` times what its other chunks score above
    #: the leg's ``norm_depth``-th best chunk)
    evidence: str = "max"
    damping: float = 0.5


def doc_key(hit: Hit) -> str:
    """The document a chunk belongs to: ``content_type:content_id``.

    A comment belongs to what it is on: its hits count for (and are shown as) the page,
    blog post, attachment or custom content that holds the thread.
    """
    # the chunk id names it too ("type:id:index"), for chunks without metadata
    return owner_key(hit.metadata) or doc_key_of(hit.id)


def best_per_doc(hits: Sequence[Hit]) -> dict[str, float]:
    """Each document's best chunk score in one leg."""
    best: dict[str, float] = {}
    for h in hits:
        key = doc_key(h)
        if key not in best or h.score > best[key]:
            best[key] = h.score
    return best


def doc_evidence(
    hits: Sequence[Hit], how: str = "max", damping: float = 0.5, depth: int = 50
) -> dict[str, float]:
    """Each document's score in one leg, from its chunks' scores.

    ``max``: the best chunk. ``maxsum``: the best chunk plus ``damping`` times the sum of
    its other chunks' margins over a floor, the leg's ``depth``-th best chunk score (or its
    worst, when it has fewer). Only evidence above the floor counts, so a long page's many
    middling chunks do not add up to a good one, and the result stays in the leg's own
    units (BM25 or cosine), which the fusion normalises per query anyway.
    """
    if how == "max":
        return best_per_doc(hits)
    if how != "maxsum":
        raise ValueError(f"unknown document evidence {how!r}")
    if not hits:
        return {}
    ranked = sorted((h.score for h in hits), reverse=True)
    floor = ranked[min(len(ranked), max(1, depth)) - 1]
    per_doc: dict[str, list[float]] = {}
    for h in hits:
        per_doc.setdefault(doc_key(h), []).append(h.score)
    out = {}
    for key, scores in per_doc.items():
        scores.sort(reverse=True)
        out[key] = scores[0] + damping * sum(max(0.0, s - floor) for s in scores[1:])
    return out


def _normalise(scores: dict[str, float], how: str, depth: int = 50) -> dict[str, float]:
    if not scores:
        return {}
    values = sorted(scores.values(), reverse=True)[: max(1, depth)]
    if how == "zscore":
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / len(values)
        std = math.sqrt(var)
        if std == 0:
            return {k: 1.0 for k in scores}
        # mean±3σ spans [0, 1]; clipping keeps one outlier from flattening the rest
        return {k: min(1.0, max(0.0, ((v - mean) / std + 3) / 6)) for k, v in scores.items()}
    lo, hi = values[-1], values[0]
    if hi == lo:
        return {k: 1.0 if v >= hi else 0.0 for k, v in scores.items()}
    return {k: min(1.0, max(0.0, (v - lo) / (hi - lo))) for k, v in scores.items()}


def _top_z(scores: dict[str, float], depth: int) -> float:
    """How far the best score stands above the leg's top ``depth`` (in standard deviations)."""
    values = sorted(scores.values(), reverse=True)[: max(1, depth)]
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return (values[0] - mean) / std if std > 0 else 0.0


def adaptive_alpha(
    dense: dict[str, float], lexical: dict[str, float], alpha: float, depth: int
) -> float:
    """The dense weight for this query: ``alpha`` shifted toward the leg whose best result
    stands out more from its own top ``depth`` (a leg that found a clear winner is surer).

    ``alpha * zd / (alpha * zd + (1 - alpha) * zl)`` with ``zd``, ``zl`` each leg's best
    z-score; ``alpha`` itself when either leg has nothing to say.
    """
    zd, zl = _top_z(dense, depth), _top_z(lexical, depth)
    if zd <= 0 or zl <= 0:
        return alpha
    return alpha * zd / (alpha * zd + (1 - alpha) * zl)


def _ranks(scores: dict[str, float]) -> dict[str, int]:
    order = sorted(scores, key=lambda k: (-scores[k], k))
    return {k: i + 1 for i, k in enumerate(order)}


def fuse_scores(
    dense: dict[str, float], lexical: dict[str, float], config: FusionConfig
) -> dict[str, float]:
    """Fuse two ``key -> score`` maps (documents or chunks) into one."""
    keys = set(dense) | set(lexical)
    if config.method == "rrf":
        rd, rl = _ranks(dense), _ranks(lexical)
        out: dict[str, float] = {}
        for key in keys:
            s = 0.0
            if key in rd:
                s += config.rrf_dense_weight / (config.rrf_c + rd[key])
            if key in rl:
                s += config.rrf_lexical_weight / (config.rrf_c + rl[key])
            out[key] = s
        return out
    nd = _normalise(dense, config.norm, config.norm_depth)
    nl = _normalise(lexical, config.norm, config.norm_depth)
    a = config.alpha
    if config.method == "adaptive":
        a = adaptive_alpha(dense, lexical, a, config.norm_depth)
    return {key: a * nd.get(key, 0.0) + (1 - a) * nl.get(key, 0.0) for key in keys}


def fuse(
    dense_hits: Sequence[Hit], lexical_hits: Sequence[Hit], config: FusionConfig
) -> tuple[dict[str, float], dict[str, float]]:
    """Document scores and chunk scores after fusing the two legs.

    Returns ``(doc_scores, chunk_scores)``; chunk scores rank the sections inside a
    document (its best chunk first).
    """
    dense = doc_evidence(dense_hits, config.evidence, config.damping, config.norm_depth)
    lexical = doc_evidence(lexical_hits, config.evidence, config.damping, config.norm_depth)
    doc_scores = fuse_scores(dense, lexical, config)
    chunk_scores = fuse_scores(
        {h.id: h.score for h in dense_hits}, {h.id: h.score for h in lexical_hits}, config
    )
    return doc_scores, chunk_scores

"""Pseudo-relevance feedback for the lexical leg (RM3-style query expansion).

>>> hits = lexical.search(query, n)                                   # doctest: +SKIP
>>> hits = feedback_search(lexical, query, hits, n, filters, PRF())  # doctest: +SKIP

The first lexical pass's top passages are taken to be relevant; the terms that are frequent
in them (weighted by each passage's score, as in RM3's relevance model) and are not in the
query already become a second query, and each chunk's lexical score becomes

    score(query) + w * score(expansion terms)

which is RM3's interpolated query when the expansion terms weigh the same:
``w = (1 - lam) / lam * |query terms| / |expansion terms|`` with ``lam`` the weight of the
original query (0.5 unless configured). This needs nothing but the lexical index's
``search(text, k, filters)``: the expansion is sent as text, in terms the index maps back to
themselves. Two optional capabilities are used when the index has them: ``tokens(text)``
(its own tokenizer; ragconf's BM25 tokenizer otherwise) and ``doc_freqs(terms)`` with
``len(index)`` (to weigh candidate terms by idf, so that words every passage of the
collection uses do not crowd out the telling ones).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ragconf.index.types import Hit, LexicalIndex, SearchFilters

__all__ = ["PRF", "expansion_terms", "feedback_search", "is_flat"]


@dataclass(frozen=True)
class PRF:
    """``mode``: ``off``; ``on`` (every query); ``flat`` (only when the first pass found no
    clear winner: its ``flat_rank``-th score is at least ``flat_ratio`` of its best).
    ``docs`` feedback passages, ``terms`` expansion terms, ``original_weight`` = RM3's lambda."""

    mode: str = "off"
    docs: int = 10
    terms: int = 10
    original_weight: float = 0.5
    idf: bool = True
    flat_rank: int = 10
    flat_ratio: float = 0.8


@lru_cache(maxsize=1)
def _default_tokens() -> Callable[[str], list[str]]:
    from ragconf.index._lexical_text import make_tokenizer

    return make_tokenizer("english").tokens


def tokenizer_of(lexical: LexicalIndex | None) -> Callable[[str], list[str]]:
    return lexical.tokens if lexical is not None else _default_tokens()


def is_flat(hits: Sequence[Hit], rank: int, ratio: float) -> bool:
    """True when the ``rank``-th best score is at least ``ratio`` of the best one."""
    if len(hits) < rank or hits[0].score <= 0:
        return len(hits) > 0
    return hits[rank - 1].score >= ratio * hits[0].score


def expansion_terms(
    query: str,
    feedback: Sequence[Hit],
    tokens: Callable[[str], list[str]],
    *,
    terms: int = 10,
    doc_freq: Callable[[list[str]], list[int]] | None = None,
    collection_size: int = 0,
) -> list[str]:
    """The ``terms`` best expansion terms from ``feedback`` (best first), as index terms.

    RM3's relevance model: ``sum over passages d of P(d) * tf(t, d) / |d|``, with ``P(d)``
    the passage's share of the feedback scores, times ``idf(t)`` when ``doc_freq`` is given.
    Query terms, numbers and terms of fewer than 3 characters are left out.
    """
    query_terms = set(tokens(query))
    total = sum(max(h.score, 0.0) for h in feedback)
    if total <= 0:
        return []
    weights: dict[str, float] = {}
    for h in feedback:
        passage = tokens(h.text)
        if not passage or h.score <= 0:
            continue
        share = h.score / total / len(passage)
        for term, tf in Counter(passage).items():
            if term in query_terms or len(term) < 3 or term.isdigit():
                continue
            weights[term] = weights.get(term, 0.0) + share * tf
    if not weights:
        return []
    # only terms that survive a round trip through the tokenizer can be sent as text
    ranked = sorted(weights, key=lambda t: (-weights[t], t))[: terms * 3]
    if doc_freq is not None and collection_size > 0:
        dfs = doc_freq(ranked)
        n = collection_size
        for t, df in zip(ranked, dfs, strict=True):
            weights[t] *= math.log(1 + (n - df + 0.5) / (df + 0.5))
        ranked.sort(key=lambda t: (-weights[t], t))
    out = []
    for t in ranked:
        if tokens(t) == [t]:
            out.append(t)
            if len(out) == terms:
                break
    return out


def feedback_search(
    lexical: LexicalIndex,
    query: str,
    first: list[Hit],
    n: int,
    filters: SearchFilters | None,
    config: PRF,
    *,
    check: Callable[[list[Hit]], list[Hit]] | None = None,
) -> list[Hit]:
    """The lexical hits re-scored with the expanded query (see the module docstring).

    ``first`` is the first pass (best first); returns it unchanged when feedback is off, is
    not warranted (``flat`` mode and a clear winner) or finds no expansion terms. ``check``
    filters the second pass's hits as the caller filtered the first's.
    """
    if config.mode == "off" or not first:
        return first
    if config.mode == "flat" and not is_flat(first, config.flat_rank, config.flat_ratio):
        return first
    tokens = tokenizer_of(lexical)
    expansion = expansion_terms(
        query,
        first[: config.docs],
        tokens,
        terms=config.terms,
        doc_freq=lexical.doc_freqs if config.idf else None,
        collection_size=len(lexical) if config.idf else 0,
    )
    if not expansion:
        return first
    n_query = max(1, len(set(tokens(query))))
    lam = min(max(config.original_weight, 1e-6), 1.0)
    w = (1 - lam) / lam * n_query / len(expansion)
    second = lexical.search(" ".join(expansion), n, filters)
    if check is not None:
        second = check(second)
    scores = {h.id: h.score for h in first}
    hits = {h.id: h for h in first}
    for h in second:
        scores[h.id] = scores.get(h.id, 0.0) + w * h.score
        hits.setdefault(h.id, h)
    order = sorted(scores, key=lambda i: (-scores[i], i))[:n]
    return [Hit(i, scores[i], hits[i].text, hits[i].metadata) for i in order]

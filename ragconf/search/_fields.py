"""Field-aware lexical scoring: a query word in a page's title or path counts more than in its body.

>>> hits = lexical.search("rotate api key", 50)                        # doctest: +SKIP
>>> hits = title_boost(lexical, "rotate api key", hits)                 # doctest: +SKIP

Every chunk's text starts with its "Title › H1 › H2" line (``ragconf.index.chunk``), so the
body score already counts the title once. This adds, per query term found in that line or in
the page's ancestor titles (``breadcrumbs`` metadata), ``weight * idf(term)`` to the chunk's
lexical score: about what one more occurrence in a short field earns in BM25, i.e. the
title and path weigh ``1 + weight`` times the body, as in BM25F with a boosted title.

Needs the lexical index's ``doc_freqs(terms)`` and ``len(index)`` for the idf; an index
without them gets its hits back unchanged. Hits are re-sorted by the new scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ragconf.index.types import Hit, LexicalIndex
from ragconf.search._prf import tokenizer_of

__all__ = ["head_text", "title_boost"]


def head_text(hit: Hit) -> str:
    """The chunk's title/heading line and its page's ancestor titles."""
    first, _sep, _rest = hit.text.partition("\n")
    crumbs = hit.metadata.get("breadcrumbs") or ""
    if not isinstance(crumbs, str):
        crumbs = " › ".join(str(c) for c in crumbs)
    return f"{first} › {crumbs}" if crumbs else first


def title_boost(
    lexical: LexicalIndex, query: str, hits: Sequence[Hit], weight: float = 1.0
) -> list[Hit]:
    """``hits`` with the title/path bonus added (see the module docstring), best first."""
    doc_freqs = lexical.doc_freqs
    if not hits or weight <= 0:
        return list(hits)
    tokens = tokenizer_of(lexical)
    terms = sorted(set(tokens(query)))
    if not terms:
        return list(hits)
    n = len(lexical)
    idf = {
        t: math.log(1 + (n - df + 0.5) / (df + 0.5))
        for t, df in zip(terms, doc_freqs(terms), strict=True)
    }
    heads: dict[str, set[str]] = {}
    out = []
    for h in hits:
        head = head_text(h)
        found = heads.get(head)
        if found is None:  # chunks of one page share their head: tokenise it once
            found = heads[head] = set(tokens(head)) & idf.keys()
        bonus = weight * sum(idf[t] for t in found)
        out.append(Hit(h.id, h.score + bonus, h.text, h.metadata) if bonus else h)
    out.sort(key=lambda h: (-h.score, h.id))
    return out

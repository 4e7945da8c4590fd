"""LLM context packs: numbered, citable passages packed under a token budget.

>>> from ragconf.search.context import build_context
>>> pack = build_context(retriever, "rotate the API key?", k=5, max_tokens=800)  # doctest: +SKIP
>>> print(pack.context)                                                     # doctest: +SKIP
[1] Rotating credentials — https://acme.atlassian.net/wiki/spaces/ENG/pages/42
To rotate the key, open …

Layout: one passage per document, numbered from 1 in rank order: a header line
``[n] Title — url`` and then the document's best matching text. Packing is by relevance
(``_packing``): the text is cut into units (a sentence; a whole list item, code block or
table row, a row bringing its table's header along), each scored by how many of the
question's words it covers; the budget takes each document's best unit first, then the
rest by score. Within a passage the chosen units keep reading order and every sentence
appears once, so the overlap between neighbouring chunks is merged away. Only when nothing
fits whole is the best unit cut at a word boundary (marked "…"). Tokens are counted with
the embedding model's tokenizer (``count_tokens``; its name is reported as ``tokenizer``),
and the finished context is re-counted as a whole, so ``tokens <= max_tokens`` always
holds. ``citations`` name exactly the documents whose passage made it into the context,
with consecutive numbers in rank order (a smaller budget never renumbers them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ragconf.errors import InvalidQueryError
from ragconf.index.types import Metadata, SearchFilters
from ragconf.search._checks import Allow
from ragconf.search._packing import Unit, doc_units, query_words, select_units
from ragconf.search.retrieve import DocumentResult, Retriever

__all__ = [
    "MAX_CONTEXT_K",
    "MAX_CONTEXT_TOKENS",
    "Citation",
    "ContextPack",
    "build_context",
    "pack_context",
]

MAX_CONTEXT_K = 50
MIN_CONTEXT_TOKENS = 16
MAX_CONTEXT_TOKENS = 32_000


@dataclass(frozen=True)
class Citation:
    n: int
    title: str
    url: str
    anchor_url: str
    content_id: str


@dataclass
class ContextPack:
    """The context text, its citations, and how it was counted."""

    query: str
    context: str
    citations: list[Citation]
    tokens: int
    max_tokens: int
    tokenizer: str
    truncated: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> Metadata:
        return {
            "query": self.query,
            "context": self.context,
            "citations": [
                {
                    "n": c.n,
                    "title": c.title,
                    "url": c.url,
                    "anchor_url": c.anchor_url,
                    "content_id": c.content_id,
                }
                for c in self.citations
            ],
            "tokens": self.tokens,
            "max_tokens": self.max_tokens,
            "tokenizer": self.tokenizer,
            "truncated": self.truncated,
        }


def build_context(
    retriever: Retriever,
    query: str,
    k: int = 5,
    max_tokens: int = 1500,
    *,
    filters: SearchFilters | None = None,
    allow: Allow | None = None,
    mode: str | None = None,
) -> ContextPack:
    """Search, then pack the ``k`` best documents' matching text under ``max_tokens``."""
    validate_context(k, max_tokens)
    res = retriever.search(query, k=k, filters=filters, mode=mode, allow=allow)
    emb = retriever.embedder
    pack = pack_context(
        res.query, res.results, max_tokens, emb.count_tokens, tokenizer=emb.model_name
    )
    pack.timings = dict(res.timings)
    return pack


def validate_context(k: int, max_tokens: int) -> None:
    if not isinstance(k, int) or not 1 <= k <= MAX_CONTEXT_K:
        raise InvalidQueryError(f"k must be between 1 and {MAX_CONTEXT_K}, got {k!r}")
    if not isinstance(max_tokens, int) or not (
        MIN_CONTEXT_TOKENS <= max_tokens <= MAX_CONTEXT_TOKENS
    ):
        raise InvalidQueryError(
            f"max_tokens must be between {MIN_CONTEXT_TOKENS} and {MAX_CONTEXT_TOKENS}, "
            f"got {max_tokens!r}"
        )


def _join(units: list[Unit]) -> str:
    out: list[str] = []
    for i, u in enumerate(units):
        if i:
            out.append("\n" if units[i - 1].eol else " ")
        out.append(u.text)
    return "".join(out)


def _cut_words(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The longest word-boundary prefix of ``text`` (plus " …") within ``budget`` tokens."""
    words = text.split(" ")
    lo, hi = 0, len(words)
    while lo < hi:  # binary search on the number of words
        mid = (lo + hi + 1) // 2
        if count(" ".join(words[:mid]) + " …") <= budget:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo]) + " …" if lo else ""


def pack_context(
    query: str,
    docs: list[DocumentResult],
    max_tokens: int,
    count_tokens: Callable[[str], int],
    *,
    tokenizer: str = "",
) -> ContextPack:
    """Pack already-retrieved documents (rank order) under ``max_tokens``, best text first."""
    words = query_words(query)
    units = [doc_units(doc, words, count_tokens) for doc in docs]
    headers = [f"{doc.title} — {doc.url}" for doc in docs]
    # "[n] " costs the same for every n below 10 000 under WordPiece; reserve it generously
    header_costs = [count_tokens(f"[{len(docs)}] {h}") for h in headers]
    order = select_units(units, header_costs, max_tokens)
    total_units = sum(len(u) for u in units)
    cut: tuple[int, Unit] | None = None
    if not order and total_units:
        cut = _cut_best(units, header_costs, max_tokens, count_tokens)
    while True:
        context, citations = _render(docs, units, headers, order, cut)
        tokens = count_tokens(context) if context else 0
        # Token counts of the pieces add up for WordPiece (it splits on whitespace first);
        # re-count the whole and give back the last unit taken if a tokenizer disagrees.
        if tokens <= max_tokens or not order:
            break
        order.pop()
    if tokens > max_tokens:  # only a cut unit is left and it does not fit either
        context, citations, tokens, cut = "", [], 0, None
    truncated = len(order) + (1 if cut else 0) < total_units
    return ContextPack(
        query=query,
        context=context,
        citations=citations,
        tokens=tokens,
        max_tokens=max_tokens,
        tokenizer=tokenizer,
        truncated=truncated,
    )


def _cut_best(
    units: list[list[Unit]], header_costs: list[int], max_tokens: int, count: Callable[[str], int]
) -> tuple[int, Unit] | None:
    """Nothing fits whole: the first document's best unit, cut at a word boundary."""
    for d, doc_units_ in enumerate(units):
        if not doc_units_:
            continue
        best = min(doc_units_, key=lambda u: (-u.score, u.chunk_rank, u.pos))
        part = _cut_words(best.text, max_tokens - header_costs[d], count)
        if not part:
            return None
        return d, Unit(part, True, best.pos, best.chunk_rank, best.score, count(part))
    return None


def _render(
    docs: list[DocumentResult],
    units: list[list[Unit]],
    headers: list[str],
    order: list[tuple[int, int]],
    cut: tuple[int, Unit] | None,
) -> tuple[str, list[Citation]]:
    picked: dict[int, list[Unit]] = {}
    for d, pos in order:
        picked.setdefault(d, []).append(units[d][pos])
    if cut is not None:
        picked.setdefault(cut[0], []).append(cut[1])
    parts: list[str] = []
    citations: list[Citation] = []
    for d in sorted(picked):  # rank order: numbers never depend on what the budget let in
        doc = docs[d]
        n = len(citations) + 1
        body = _join(sorted(picked[d], key=lambda u: u.pos))
        parts.append(f"[{n}] {headers[d]}\n{body}")
        citations.append(Citation(n, doc.title, doc.url, doc.anchor_url or doc.url, doc.content_id))
    return "\n\n".join(parts), citations

"""LLM context packs: numbered, citable passages packed under a token budget.

>>> from ragconf.search.context import build_context
>>> pack = build_context(retriever, "rotate the API key?", k=5, max_tokens=800)  # doctest: +SKIP
>>> print(pack.context)                                                     # doctest: +SKIP
[1] Rotating credentials — https://acme.atlassian.net/wiki/spaces/ENG/pages/42
To rotate the key, open …

Layout: one passage per document, in rank order, numbered from 1: a header line
``[n] Title — url`` and then the document's matching text. Within a document, the matching
chunks are put back in reading order (chunk index) and every sentence appears once, so the
overlap between neighbouring chunks and repeated boilerplate are merged away. Text is cut at
sentence boundaries; a single sentence longer than the remaining budget is cut at a word
boundary (marked "…"). Tokens are counted with the embedding model's tokenizer
(``count_tokens``; its name is reported as ``tokenizer``), and the finished context is
re-counted as a whole, so ``tokens <= max_tokens`` always holds. ``citations`` name exactly the
documents whose passage made it into the context, with consecutive numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ragconf.errors import InvalidQueryError
from ragconf.index.types import Metadata, SearchFilters
from ragconf.search._checks import Allow
from ragconf.search._snippets import body_of, split_sentences
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
_SPACE = re.compile(r"\s+")
_TABLE_RULE = re.compile(r"^\|[\s\-:|]+\|$")


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


def _doc_sentences(doc: DocumentResult) -> list[tuple[str, bool]]:
    """The document's matching text in reading order, each sentence once.

    Each sentence comes with whether a line ends after it: table rows, list items and code
    lines keep their line breaks, so an LLM still sees a table as a table.
    """
    # the document's own text first, then its comments (each under who wrote it, when)
    chunks = sorted(doc.chunks, key=lambda h: (
        h.metadata.get("content_type") == "comment", str(h.metadata.get("updated_at") or ""),
        int(h.metadata.get("chunk_index", 0) or 0), h.id))  # fmt: skip
    seen: set[str] = set()
    out: list[tuple[str, bool]] = []
    for h in chunks:
        lines = body_of(h.text).splitlines()
        if h.metadata.get("content_type") == "comment" and h.metadata.get("heading_path"):
            lines.insert(0, f"{str(h.metadata['heading_path']).split(' › ')[0]}:")
        for line in lines:
            sentences = split_sentences(line)
            for i, s in enumerate(sentences):
                text = _SPACE.sub(" ", s).strip()
                norm = text.lower()
                # a table's |---| rule line repeats in every table and must stay with it
                if not norm or (norm in seen and not _TABLE_RULE.match(norm)):
                    continue
                seen.add(norm)
                out.append((text, i == len(sentences) - 1))
    return out


def _join(body: list[tuple[str, bool]]) -> str:
    out: list[str] = []
    for i, (text, _) in enumerate(body):
        if i:
            out.append("\n" if body[i - 1][1] else " ")
        out.append(text)
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
    """Pack already-retrieved documents (rank order) under ``max_tokens``."""
    parts: list[str] = []  # finished passages
    citations: list[Citation] = []
    used = 0
    truncated = False
    sep_cost = 0  # passages are joined with blank lines, which cost no tokens for WordPiece
    for doc in docs:
        sentences = _doc_sentences(doc)
        if not sentences:
            continue
        n = len(citations) + 1
        header = f"[{n}] {doc.title} — {doc.url}"
        cost = count_tokens(header)
        if used + sep_cost + cost >= max_tokens:
            truncated = True
            break
        body: list[tuple[str, bool]] = []
        body_cost = 0
        for s, eol in sentences:
            c = count_tokens(s)
            if used + sep_cost + cost + body_cost + c <= max_tokens:
                body.append((s, eol))
                body_cost += c
                continue
            truncated = True
            if not body:  # one long first sentence: cut it at a word boundary
                part = _cut_words(s, max_tokens - used - sep_cost - cost, count_tokens)
                if part:
                    body.append((part, True))
                    body_cost += count_tokens(part)
            break
        if not body:
            break
        parts.append(header + "\n" + _join(body))
        citations.append(Citation(n, doc.title, doc.url, doc.anchor_url or doc.url, doc.content_id))
        used += sep_cost + cost + body_cost
        if truncated:
            break
    context = "\n\n".join(parts)
    total = count_tokens(context) if context else 0
    # Token counts of the pieces add up for WordPiece (it splits on whitespace first), but
    # re-count the whole and drop trailing passages if a tokenizer disagrees.
    while total > max_tokens and parts:
        parts.pop()
        citations.pop()
        truncated = True
        context = "\n\n".join(parts)
        total = count_tokens(context) if context else 0
    return ContextPack(
        query=query,
        context=context,
        citations=citations,
        tokens=total,
        max_tokens=max_tokens,
        tokenizer=tokenizer,
        truncated=truncated,
    )

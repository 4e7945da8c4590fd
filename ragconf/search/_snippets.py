"""Snippets: the best sentence window of a chunk, with the query terms marked.

Marking convention (documented in the README and the API schema): each matched term is
wrapped in Markdown bold, ``**term**``. It renders in Markdown, reads fine as plain text, and
needs no HTML escaping by clients; ``snippet_plain`` carries the same window unmarked.

>>> s = make_snippet("Reset a password", "Intro.\\nTo reset your password, open Settings.")
>>> s.marked
'To **reset** your **password**, open Settings.'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from ragconf.index._lexical_text import joined_pairs

__all__ = ["Snippet", "body_of", "make_snippet", "query_terms", "split_sentences"]

_WORD = re.compile(r"\w+", re.UNICODE)
# A sentence ends at . ! ? (or a CJK full stop) followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n+")

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "so",
        "than",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


@dataclass(frozen=True)
class Snippet:
    marked: str
    plain: str
    matched: int  # how many distinct query terms the window contains


@lru_cache(maxsize=1)
def _snowball() -> Callable[[str], str] | None:
    try:
        import Stemmer  # PyStemmer: the same English stemmer the BM25 index uses
    except ImportError:
        return None
    return Stemmer.Stemmer("english").stemWord  # type: ignore[no-any-return]


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """'Passwords' -> 'password', 'expired' -> 'expir' (Snowball; a suffix stripper without it)."""
    w = word.lower()
    stem = _snowball()
    if stem is not None:
        return stem(w)
    for suffix in ("ing", "ed", "es", "s", "e"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def query_terms(query: str) -> set[str]:
    """Stemmed, lower-cased query words without stopwords (all words if only stopwords)."""
    return set(_query_terms(query))


@lru_cache(maxsize=1024)
def _query_terms(query: str) -> frozenset[str]:
    words = [w.lower() for w in _WORD.findall(query)]
    terms = {_stem(w) for w in words if w not in _STOPWORDS and len(w) > 1}
    return frozenset(terms or {_stem(w) for w in words})


@lru_cache(maxsize=1024)
def _marked_terms(query: str) -> frozenset[str]:
    # "roll back" also marks "Rollback", as the BM25 leg that found the page matched it
    return _query_terms(query) | {_stem(w) for w in joined_pairs(query)}


@lru_cache(maxsize=4096)
def _analysed(chunk_text: str) -> tuple[tuple[str, ...], tuple[frozenset[str], ...]]:
    """A chunk's sentences and each sentence's stemmed words. They do not depend on the
    query, and the same chunks come back for many queries: a search shows ~20 of them,
    and splitting and stemming them was a tenth of a served search's CPU."""
    sentences = tuple(split_sentences(body_of(chunk_text)))
    return sentences, tuple(frozenset(_stem(w) for w in _WORD.findall(s)) for s in sentences)


_EMPHASIS = re.compile(r"\*\*|__")


def body_of(chunk_text: str) -> str:
    """The chunk text without its "Title › H1 › H2" prefix line (added by the chunker).

    Markdown bold markers are dropped too, so ``**`` in a snippet only ever marks a match.
    """
    _first, sep, rest = chunk_text.partition("\n")
    body = rest if sep and rest.strip() else chunk_text
    return _EMPHASIS.sub("", body)


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _mark(text: str, terms: frozenset[str]) -> str:
    def repl(m: re.Match[str]) -> str:
        word = m.group(0)
        return f"**{word}**" if _stem(word) in terms else word

    return _WORD.sub(repl, text)


def make_snippet(query: str, chunk_text: str, *, max_chars: int = 300) -> Snippet:
    """The window of consecutive sentences that covers the most query terms, ≤ max_chars.

    Windows start at a sentence with a match (or at the top when nothing matches); ties go
    to the earlier, then the shorter window.
    A sentence longer than ``max_chars`` is cut at a word boundary around its first match.
    """
    return _snippet(_marked_terms(query), chunk_text, max_chars)


@lru_cache(maxsize=8192)
def _snippet(terms: frozenset[str], chunk_text: str, max_chars: int) -> Snippet:
    # a function of the query's terms and the chunk only: a repeated (or reworded) query
    # showing the same chunk reuses it (Snippet is frozen, so sharing it is safe)
    sentences, stems = _analysed(chunk_text)
    if not sentences:
        return Snippet("", "", 0)
    found = [s & terms for s in stems]  # once per sentence, not per window
    best: tuple[int, int, int, int] | None = None  # (covered, hits, -start, end)
    matching = [i for i, m in enumerate(found) if m] or [0]
    for start in matching:
        covered: set[str] = set()
        hits = 0
        length = 0
        for end in range(start, len(sentences)):
            length += len(sentences[end]) + (1 if end > start else 0)
            if length > max_chars and end > start:
                break
            m = found[end]
            covered |= m
            hits += len(m)
            cand = (len(covered), hits, -start, end)
            if best is None or cand[:3] > best[:3]:
                best = cand
            if length > max_chars:
                break
    assert best is not None
    start, end = -best[2], best[3]
    plain = " ".join(sentences[start : end + 1])
    if len(plain) > max_chars:
        plain = _cut_around_match(plain, terms, max_chars)
    return Snippet(_mark(plain, terms), plain, best[0])


def _cut_around_match(text: str, terms: frozenset[str], max_chars: int) -> str:
    first = next((m.start() for m in _WORD.finditer(text) if _stem(m.group(0)) in terms), 0)
    start = max(0, first - max_chars // 3)
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    window = text[start : start + max_chars]
    if start + max_chars < len(text):
        cut = window.rfind(" ")
        window = window[: cut if cut > max_chars // 2 else len(window)] + " …"
    return ("… " if start > 0 else "") + window

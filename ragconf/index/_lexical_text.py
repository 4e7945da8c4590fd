"""Tokenisation for BM25: exact identifiers survive, words are normalised.

>>> make_tokenizer("english").tokens("ERR-4031: Uploading to ConfluenceCloud v2.3 fails")
['err-4031', 'err', '4031', 'upload', 'confluencecloud', 'confluenc', 'cloud',
 'v2.3', 'v2', '3', 'fail']

- a run of word characters joined by ``-``, ``_``, ``.``, ``/`` or ``:`` (an error code, a
  version, a file or package name) is kept whole and lower-cased, and its parts are added,
  so ``ERR-4031`` matches the query "ERR-4031" best and "error 4031" still finds it;
- a camelCase / PascalCase word is kept whole and its words are added;
- other words are lower-cased, dropped when they are English stop words (Lucene's list,
  as bm25s ships it), and stemmed with Snowball (PyStemmer) when it is installed;
- pure numbers are kept, single letters are dropped.

A query also looks for each pair of adjacent words written as one (``query_tokens``): "roll
back" finds "rollback", "log in" finds "login". People and pages split compounds
differently; a joined pair the index never saw scores nothing.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["Tokenizer", "joined_pairs", "make_tokenizer"]

_TOKEN = re.compile(r"\w+(?:[-./:]\w+)*")
_SPLIT = re.compile(r"[-_./:]+")
# two plain words of 2+ letters with only spaces between (the second one looked ahead, so
# "set up the" yields both "setup" and "upthe")
_PAIR = re.compile(r"(?<![\w./:-])([A-Za-z]{2,})[ \t]+(?=([A-Za-z]{2,})(?![\w./:-]))")


def _stopwords() -> frozenset[str]:
    try:
        from bm25s.stopwords import STOPWORDS_EN

        return frozenset(STOPWORDS_EN)
    except ImportError:  # pragma: no cover - bm25s is a dependency
        return frozenset()


@dataclass
class Tokenizer:
    """Text -> BM25 terms (see the module docstring); deterministic, thread-safe."""

    stemmer_name: str | None
    stopwords: frozenset[str] = field(default_factory=_stopwords)
    _stemmer: Any = None

    def __post_init__(self) -> None:
        if self.stemmer_name:
            self._stemmer = _load_stemmer(self.stemmer_name)
            if self._stemmer is None:
                self.stemmer_name = None
        self._stem_cache: dict[str, str] = {}
        self._stem_lock = threading.Lock()  # PyStemmer objects are not thread-safe

    def _word(self, word: str) -> str | None:
        """A plain lower-cased word -> its term (None for stop words and single letters)."""
        if word in self.stopwords or (len(word) == 1 and not word.isdigit()):
            return None
        if self._stemmer is None or not word.isalpha():
            return word
        stem = self._stem_cache.get(word)
        if stem is None:
            with self._stem_lock:
                stem = self._stemmer.stemWord(word)
            if len(self._stem_cache) < 500_000:
                self._stem_cache[word] = stem
        return stem

    def query_tokens(self, text: str) -> list[str]:
        """``tokens(text)``, then the compound of each pair of adjacent words not already
        among them (see the module docstring)."""
        out = self.tokens(text)
        seen = set(out)
        for joined in joined_pairs(text):
            term = self._word(joined)
            if term and term not in seen:
                seen.add(term)
                out.append(term)
        return out

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        for match in _TOKEN.finditer(text):
            raw = match.group()
            low = raw.lower()
            parts = [p for p in _SPLIT.split(low) if p]
            if len(parts) > 1:
                out.append(low)  # the identifier as written
                out.extend(t for t in map(self._word, parts) if t)
                continue
            camel = _camel_parts(raw)
            if len(camel) > 1:
                out.append(low)
                out.extend(t for t in (self._word(c.lower()) for c in camel) if t)
                continue
            term = self._word(low)
            if term:
                out.append(term)
        return out


def joined_pairs(text: str) -> list[str]:
    """Each two adjacent plain words of ``text`` as one lower-case word.

    >>> joined_pairs("How do I roll back, then log in")
    ['howdo', 'rollback', 'thenlog', 'login']
    """
    return [(m.group(1) + m.group(2)).lower() for m in _PAIR.finditer(text)]


def _camel_parts(word: str) -> list[str]:
    """``HTTPServer`` -> HTTP, Server; ``iPhone`` -> i, Phone; other words -> [word]."""
    if word.islower() or word.isupper() or len(word) < 3:
        return [word]
    cuts = [0]
    for i in range(1, len(word)):
        a, b = word[i - 1], word[i]
        lower_to_upper = (a.islower() or a.isdigit()) and b.isupper()
        # the last capital of a run starts the next word: HTTP|Server
        run_end = a.isupper() and b.isupper() and i + 1 < len(word) and word[i + 1].islower()
        if lower_to_upper or run_end:
            cuts.append(i)
    if len(cuts) == 1:
        return [word]
    return [word[x:y] for x, y in zip(cuts, [*cuts[1:], len(word)], strict=True)]


@lru_cache(maxsize=4)
def _load_stemmer(name: str) -> Any:
    try:
        import Stemmer
    except ImportError:
        return None
    try:
        return Stemmer.Stemmer(name)
    except (KeyError, ValueError):
        return None


def make_tokenizer(stemmer: str | None = "english") -> Tokenizer:
    """A Tokenizer; ``stemmer`` is a Snowball language or None (falls back to None if absent)."""
    return Tokenizer(stemmer)

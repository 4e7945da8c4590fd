"""What kind of query this is: identifiers it names, and whether it is a short keyword query.

>>> shape = analyse("ERR-4031 upload fails")
>>> shape.identifiers, shape.short
(('err-4031',), True)
>>> analyse("Does the upload of a large file fail with an error?").short
False

An *identifier* is a token people type to find the one page that mentions it, not a topic:
an error code or ticket key (``ERR-4031``, ``PROJ-12``), a version (``v2.3.1``), a file, module
or package name (``config.yaml``, ``ragconf.search``), a ``snake_case`` or ``camelCase`` name
(``parse_config``, ``getUserById``, ``HTTPServer``). Plain words, hyphenated words
(``long-term``) and bare numbers are not identifiers.

A *short* query has at most ``SHORT_WORDS`` content words (stop words left out): a keyword
search rather than a question. The ranking treats an identifier in a short query as the
point of the query (see ``_rank``); in a long question it is one word among others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["SHORT_WORDS", "QueryShape", "analyse", "is_identifier", "mentions"]

#: a query with at most this many content words is a keyword query
SHORT_WORDS = 4

# the lexical tokenizer's notion of a token: word characters joined by - _ . / :
_TOKEN = re.compile(r"\w+(?:[-./:]\w+)*")
_CAMEL = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2}[a-z]")

_STOPWORD_LIST = (
    "a an and are as at be but by can could did do does for from had has have how i if in into "
    "is it its me my no not of on or our shall should so than that the their them then there "
    "these they this to was we were what when where which who whom why will with would you "
    "your"
)
_STOPWORDS = frozenset(_STOPWORD_LIST.split())


@dataclass(frozen=True)
class QueryShape:
    """``words``: the content words, lower-cased; ``identifiers``: see the module docstring,
    lower-cased, in query order, without repeats; ``short``: a keyword query."""

    words: tuple[str, ...]
    identifiers: tuple[str, ...]
    short: bool


def is_identifier(token: str) -> bool:
    """Does this token (as the lexical tokenizer would cut it) look like an identifier?"""
    if not _TOKEN.fullmatch(token) or len(token) < 2:
        return False
    letters = any(c.isalpha() for c in token)
    digits = any(c.isdigit() for c in token)
    if not letters:
        return False  # a number, a date: too common to single out
    if "_" in token.strip("_"):
        return True
    if digits:
        return True  # ERR-4031, v2, IPv6, S3
    if any(sep in token for sep in "./:"):
        return len(token) >= 4 and not _is_abbreviation(token)  # config.yaml, ragconf.search
    return bool(_CAMEL.search(token))  # getUserById, HTTPServer (not a plain Capitalised word)


def _is_abbreviation(token: str) -> bool:
    # "e.g", "U.S", "i.e": one-letter parts joined by dots
    return all(len(p) <= 1 for p in re.split(r"[./:]", token))


def analyse(query: str) -> QueryShape:
    """The shape of ``query`` (see the module docstring)."""
    words: list[str] = []
    identifiers: list[str] = []
    for match in _TOKEN.finditer(query):
        token = match.group().strip("_")
        low = token.lower()
        if not low or low in _STOPWORDS:
            continue
        words.append(low)
        if is_identifier(token) and low not in identifiers:
            identifiers.append(low)
    return QueryShape(tuple(words), tuple(identifiers), len(words) <= SHORT_WORDS)


def mentions(text: str, identifiers: Iterable[str]) -> int:
    """How many of ``identifiers`` appear in ``text``, case-insensitively, not inside a longer
    word (``ERR-4031`` is in "see ERR-4031/upload", not in "ERR-40311")."""
    return sum(1 for ident in set(identifiers) if _pattern(ident).search(text))


@lru_cache(maxsize=256)
def _pattern(identifier: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(identifier)}(?!\w)", re.IGNORECASE)

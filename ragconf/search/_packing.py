"""Relevance packing for ``ragconf.search.context``: units, their scores, the selection.

A document's matching text is cut into *units*, the smallest pieces that still make sense
alone: a sentence of a paragraph, a whole list item, a whole code block, a table row (which
brings its table's header row and rule along). Each unit is scored by how many of the
question's content words it covers (stemmed; "roll back" also matches "rollback"). The
budget is then filled best-first: first each document's best unit, in rank order, then the
remaining units by score. The chosen units are printed in reading order under their
document's header, and documents keep their rank order, so citation numbers never depend
on the budget.

>>> words = query_words("how do we roll back a release?")
>>> sorted(words.terms), sorted(words.compounds)
(['back', 'releas', 'roll'], ['backreleas', 'rollback'])
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ragconf.search._snippets import _STOPWORDS, _WORD, _stem, body_of, split_sentences
from ragconf.search.retrieve import DocumentResult

__all__ = ["QueryWords", "Unit", "doc_units", "query_words", "select_units"]

_SPACE = re.compile(r"\s+")
_TABLE_RULE = re.compile(r"^\|[\s\-:|]+\|$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)]|[a-zA-Z][.)])\s+\S")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


@dataclass(frozen=True)
class QueryWords:
    """The question's content words (stemmed) and adjacent pairs written as one word."""

    terms: frozenset[str]
    compounds: dict[str, tuple[str, str]]

    def covered(self, text: str) -> int:
        """How many of the question's content words ``text`` covers."""
        if not self.terms:
            return 0
        found: set[str] = set()
        for word in _WORD.findall(text):
            stem = _stem(word)
            if stem in self.terms:
                found.add(stem)
            pair = self.compounds.get(stem)
            if pair:
                found.update(pair)
        return len(found)


def query_words(query: str) -> QueryWords:
    words = [w.lower() for w in _WORD.findall(query)]
    content = [w for w in words if w not in _STOPWORDS and len(w) > 1]
    stems = [_stem(w) for w in content]
    compounds = {_stem(a + b): (_stem(a), _stem(b)) for a, b in itertools.pairwise(content)}
    return QueryWords(frozenset(stems), compounds)


@dataclass
class Unit:
    """One piece of a document's text that is packed whole (or not at all)."""

    text: str
    eol: bool  # a line break follows it
    pos: int  # reading order within the document
    chunk_rank: int  # 0 for the document's best-matching chunk
    score: int = 0
    cost: int = 0
    needs: tuple[int, ...] = ()  # positions that must come along (a row's header and rule)


@dataclass
class _Table:
    header: int | None = None
    rule: int | None = None


@dataclass
class _Reader:
    """Turns a document's chunks into units, each distinct text once."""

    units: list[Unit] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)  # normalised text -> unit position

    def add(
        self,
        text: str,
        eol: bool,
        rank: int,
        *,
        dedupe: bool = True,
        needs: Sequence[int | None] = (),
    ) -> int | None:
        text = text.strip() if "\n" in text else _SPACE.sub(" ", text).strip()
        norm = _SPACE.sub(" ", text).lower()
        if not norm:
            return None
        if dedupe and norm in self.seen:
            return self.seen[norm]
        pos = len(self.units)
        kept = tuple(n for n in needs if n is not None)
        self.units.append(Unit(text, eol, pos, rank, needs=kept))
        self.seen.setdefault(norm, pos)
        return pos

    def read(self, text: str, rank: int) -> None:
        lines = body_of(text).splitlines()
        table: _Table | None = None
        i = 0
        while i < len(lines):
            line = lines[i]
            fence = _FENCE.match(line)
            if fence:  # a code block is one unit, up to its closing fence (or the chunk's end)
                j = i + 1
                while j < len(lines) and not lines[j].strip().startswith(fence.group(1)):
                    j += 1
                self.add("\n".join(lines[i : j + 1]), True, rank)
                i, table = j + 1, None
                continue
            stripped = line.strip()
            if stripped.startswith("|"):
                norm = _SPACE.sub(" ", stripped).lower()
                if table is None:
                    table = _Table(header=self.add(stripped, True, rank))
                elif table.rule is None and _TABLE_RULE.match(norm):
                    # the rule line repeats in every table and must stay with it
                    table.rule = self.add(stripped, True, rank, dedupe=False, needs=[table.header])
                else:
                    self.add(stripped, True, rank, needs=[table.header, table.rule])
            elif _LIST_ITEM.match(line):
                table = None
                self.add(stripped, True, rank)
            else:
                table = None
                sentences = split_sentences(line)
                for k, s in enumerate(sentences):
                    self.add(s, k == len(sentences) - 1, rank)
            i += 1


def doc_units(doc: DocumentResult, words: QueryWords, count: Callable[[str], int]) -> list[Unit]:
    """The document's matching text as scored, costed units in reading order."""
    rank = {h.id: i for i, h in enumerate(doc.chunks)}  # chunks come best first
    reader = _Reader()
    # the document's own text first, then its comments (oldest first), each comment's text
    # under who wrote it and when, a line no unit of that comment goes without
    ordered = sorted(doc.chunks, key=lambda h: (
        h.metadata.get("content_type") == "comment", str(h.metadata.get("updated_at") or ""),
        int(h.metadata.get("chunk_index", 0) or 0), h.id))  # fmt: skip
    for h in ordered:
        r = rank.get(h.id, len(rank))
        heading = h.metadata.get("heading_path")
        lead = None
        if h.metadata.get("content_type") == "comment" and heading:
            lead = reader.add(f"{str(heading).split(' › ')[0]}:", True, r)
        start = len(reader.units)
        reader.read(h.text, r)
        if lead is not None:
            for u in reader.units[start:]:
                u.needs = (*u.needs, lead)
    for u in reader.units:
        u.score = words.covered(u.text)
        u.cost = count(u.text)
    return reader.units


def _closure(units: Sequence[Unit], pos: int) -> list[int]:
    out: list[int] = []
    todo = [pos]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.append(p)
        todo.extend(units[p].needs)
    return out


def select_units(
    docs: Sequence[list[Unit]], header_costs: Sequence[int], budget: int
) -> list[tuple[int, int]]:
    """(document, unit position) pairs in the order they were chosen, within ``budget``."""
    chosen: set[tuple[int, int]] = set()
    order: list[tuple[int, int]] = []
    used = 0

    def take(d: int, pos: int) -> None:
        nonlocal used
        new = [p for p in _closure(docs[d], pos) if (d, p) not in chosen]
        if not new:
            return
        cost = sum(docs[d][p].cost for p in new)
        if not any(key[0] == d for key in chosen):
            cost += header_costs[d]
        if used + cost > budget:
            return
        used += cost
        for p in sorted(new):
            chosen.add((d, p))
            order.append((d, p))

    # each document's best unit first, in rank order: the top evidence of every document
    for d, units in enumerate(docs):
        if units:
            best = min(units, key=lambda u: (-u.score, u.chunk_rank, u.pos))
            take(d, best.pos)
    rest = sorted(
        ((d, u) for d, units in enumerate(docs) for u in units),
        key=lambda du: (-du[1].score, du[0], du[1].chunk_rank, du[1].pos),
    )
    for d, u in rest:
        take(d, u.pos)
    return order

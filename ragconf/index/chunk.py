"""Heading-aware chunking bounded in the embedding model's own tokens.

Rules (what the tests in ``tests/test_chunk.py`` check):

* A chunk never mixes text from two headings. Consecutive sections under the *same*
  heading (a paragraph, the table after it, the code after that) are packed together
  while they fit, so a short lead-in stays with its table.
* ``count_tokens(chunk.text) <= max_tokens - 2`` (room for [CLS]/[SEP]); ``chunk.text`` is
  the prefix line "Title › H1 › H2", a newline, and the body. An overlong prefix is
  shortened (title and innermost heading, then truncated) to at most half the budget.
* Text is split at paragraphs, then lines, then sentences, then words (a single
  overlong word is cut by characters). Consecutive chunks of one long text section share
  up to ``overlap_tokens`` of trailing words; nothing else overlaps.
* Tables are split only between rows and every piece repeats the header row; code only
  between lines and every piece is re-fenced with the language (an overlong line is cut
  at the bound as a last resort).
* Each unit is counted once and packed greedily; each finished chunk is counted once more
  to verify the bound (tokenizers are not exactly additive), so cost stays linear.
* A document with no text gets one chunk holding just its title (so a title-only page
  can still be found); with no title either, it gets none. That chunk's ``text_hash``
  covers the title, since the title is all there is to embed.
* ``text_hash`` otherwise hashes the text without the title part of the prefix, so a
  rename alone does not force re-embedding. ``metadata`` is a copy of ``doc.metadata``
  plus content_id, content_type, title, url, anchor_url, heading_path, chunk_index,
  text_hash.

Example::

    chunker = Chunker(embedder.count_tokens, max_tokens=256, overlap_tokens=32)
    for chunk in chunker.chunk(doc):
        print(chunk.id, chunk.metadata["anchor_url"], chunk.text.splitlines()[0])
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable, Iterable
from urllib.parse import quote

from ragconf.index._chunk_units import SENTENCE_END, Atom, Splitter, render
from ragconf.index.types import Chunk, Document, Section, chunk_id, text_hash

__all__ = ["Chunker"]

SEPARATOR = " › "


class Chunker:
    """Splits a :class:`Document` into :class:`Chunk` s that fit the embedding model.

    ``count_tokens`` counts tokens without special tokens (e.g. the embedder's
    ``count_tokens``). See the module docstring for the rules.

    Example::

        chunker = Chunker(lambda s: len(s.split()), max_tokens=64, overlap_tokens=8)
        chunks = chunker.chunk(doc)
        assert all(len(c.text.split()) <= 62 for c in chunks)
    """

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        max_tokens: int = 256,
        overlap_tokens: int = 32,
    ) -> None:
        if max_tokens < 16:
            raise ValueError(f"max_tokens must be at least 16, got {max_tokens}")
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.limit = max_tokens - 2  # [CLS] and [SEP]
        self.overlap_tokens = max(0, min(overlap_tokens, self.limit // 4))
        self._sep_cost: int | None = None
        self._splitter = Splitter(count_tokens, self._separator_cost)

    # ----------------------------------------------------------------- public
    def chunk(self, doc: Document) -> list[Chunk]:
        """The chunks of ``doc``, ids ``chunk_id(type, id, 0..n-1)``; ``doc`` is not modified."""
        title = _one_line(doc.title)
        chunks: list[Chunk] = []
        for group in _heading_groups(doc.sections):
            headings = SEPARATOR.join(_one_line(h) for h in group[0].heading_path if h.strip())
            title_part, heading_part = self._fit_prefix(title, headings)
            prefix = SEPARATOR.join(p for p in (title_part, heading_part) if p)
            for body in self._chunk_group(group, prefix):
                text = f"{prefix}\n{body}" if prefix else body
                hashed = f"{heading_part}\n{body}"
                chunks.append(self._make(doc, len(chunks), text, hashed, group[0]))
        if not chunks and title:
            return [self._title_chunk(doc, title)]
        return chunks

    # --------------------------------------------------------------- assembly
    def _make(
        self, doc: Document, index: int, text: str, hashed: str, section: Section | None
    ) -> Chunk:
        metadata = copy.deepcopy(doc.metadata)
        anchor = section.anchor if section is not None else None
        metadata.update(
            content_id=doc.content_id,
            content_type=doc.content_type,
            title=doc.title,
            url=doc.url,
            anchor_url=f"{doc.url}#{quote(anchor, safe=_FRAGMENT_SAFE)}" if anchor else doc.url,
            heading_path=SEPARATOR.join(section.heading_path) if section is not None else "",
            chunk_index=index,
            text_hash=text_hash(hashed),
        )
        return Chunk(id=chunk_id(doc.content_type, doc.content_id, index), text=text,
                     metadata=metadata)  # fmt: skip

    def _title_chunk(self, doc: Document, title: str) -> Chunk:
        text = self._truncate(title, self.limit)
        return self._make(doc, 0, text, text, None)

    def _fit_prefix(self, title: str, headings: str) -> tuple[str, str]:
        """(title part, headings part) of the prefix, shortened to half the budget."""
        cap = self.limit // 2
        prefix = SEPARATOR.join(p for p in (title, headings) if p)
        if not prefix or self.count_tokens(prefix) <= cap:
            return title, headings
        innermost = headings.rsplit(SEPARATOR, 1)[-1] if headings else ""
        inner = self._truncate(innermost, cap // 2) if innermost else ""
        rest = cap - (self.count_tokens(inner) + 1 if inner else 0)
        return self._truncate(title, max(rest, 1)) if title else "", inner

    def _truncate(self, text: str, cap: int) -> str:
        """The longest word-prefix of ``text`` within ``cap`` tokens (characters if needed)."""
        if self.count_tokens(text) <= cap:
            return text
        words = text.split(" ")
        lo, hi = 0, len(words)
        while lo < hi:  # binary search: O(log n) counts
            mid = (lo + hi + 1) // 2
            if self.count_tokens(" ".join(words[:mid])) <= cap:
                lo = mid
            else:
                hi = mid - 1
        if lo:
            return " ".join(words[:lo])
        return self._splitter.hard_pieces(words[0], cap)[0]

    # ---------------------------------------------------------------- packing
    def _chunk_group(self, group: list[Section], prefix: str) -> list[str]:
        budget = self.limit - (self.count_tokens(prefix + "\n") if prefix else 0)
        atoms: list[Atom] = []
        for index, section in enumerate(group):
            atoms.extend(self._splitter.atoms(section, index, budget))
        return self._pack(atoms, budget, prefix)

    def _pack(self, atoms: Iterable[Atom], budget: int, prefix: str) -> list[str]:
        bodies: list[str] = []
        pending = deque(atoms)
        current: list[Atom] = []
        last: list[Atom] = []
        estimate = 0
        while pending or current:
            if not pending:  # the last chunk; its verification may push atoms back
                last = self._flush(current, pending, bodies, prefix)
                current, estimate = [], 0
                continue
            atom = pending[0]
            if not current and last:
                current = self._overlap(last, atom, budget)
                estimate = sum(a.tokens for a in current)
                last = []
            cost = self._cost(current, atom)
            if current and estimate + cost > budget:
                if all(a.overlap for a in current):
                    current, estimate = [], 0  # the overlap alone leaves no room
                    continue
                last = self._flush(current, pending, bodies, prefix)
                current, estimate = [], 0
                continue
            pending.popleft()
            current.append(atom)
            estimate += cost
        return bodies

    def _flush(
        self, current: list[Atom], pending: deque[Atom], bodies: list[str], prefix: str
    ) -> list[Atom]:
        """Emit ``current`` (verified against the real count); push back what did not fit."""
        while current:
            body = render(current)
            text = f"{prefix}\n{body}" if prefix else body
            if self.count_tokens(text) <= self.limit:
                bodies.append(body)
                return current
            real = [a for a in current if not a.overlap]
            if len(real) > 1:
                pending.appendleft(current.pop())
            elif len(real) < len(current):
                current = real  # drop the overlap before splitting anything
            else:
                atom = current[0]
                room = self.limit - (self.count_tokens(prefix + "\n") if prefix else 0)
                room -= atom.wrap.tokens if atom.wrap else 0
                smaller = self._splitter.hard_pieces(
                    atom.text, max(1, min(room, atom.tokens) * 3 // 4)
                )
                if len(smaller) > 1 or len(smaller[0]) < len(atom.text):
                    seps = [atom.sep] + ["" if atom.wrap is None else "\n"] * (len(smaller) - 1)
                    pieces = [
                        Atom(t, self.count_tokens(t), s, atom.section, atom.wrap)
                        for t, s in zip(smaller, seps, strict=True)
                    ]
                    pending.extendleft(reversed(pieces))
                return []  # an atom that cannot be made smaller is dropped (pathological)
        return []

    def _cost(self, current: list[Atom], atom: Atom) -> int:
        cost = atom.tokens
        if current:
            cost += self._separator_cost()
        if atom.wrap is not None and (not current or current[-1].wrap is not atom.wrap):
            cost += atom.wrap.tokens
        return cost

    def _separator_cost(self) -> int:
        if self._sep_cost is None:
            base = self.count_tokens("a") + self.count_tokens("b")
            self._sep_cost = max(
                0, *(self.count_tokens(f"a{sep}b") - base for sep in ("\n\n", "\n", " "))
            )
        return self._sep_cost

    def _overlap(self, previous: list[Atom], nxt: Atom, budget: int) -> list[Atom]:
        """The end of the previous chunk, when it and ``nxt`` continue one text section."""
        last = previous[-1]
        if not self.overlap_tokens or nxt.wrap is not None or last.wrap is not None:
            return []
        if last.overlap or last.section != nxt.section:
            return []
        cap = min(self.overlap_tokens, budget - nxt.tokens - 2 * self._separator_cost())
        if cap <= 0:
            return []
        # Whole trailing units (list lines, sentences, short paragraphs) read best ...
        picked: list[Atom] = []
        total = 0
        for atom in reversed(previous):
            if atom.overlap or atom.section != nxt.section or atom.wrap is not None:
                break
            cost = atom.tokens + (self._separator_cost() if picked else 0)
            if total + cost > cap:
                break
            picked.append(atom)
            total += cost
        if picked:
            picked.reverse()
            text = picked[0].text + "".join(a.sep + a.text for a in picked[1:])
        else:  # ... else the last sentences or words of the last unit
            text = self._tail(last.text, cap)
        if not text.strip():
            return []
        return [Atom(text, self.count_tokens(text), " ", nxt.section, overlap=True)]

    def _tail(self, text: str, cap: int) -> str:
        sentences = [s for s in SENTENCE_END.split(text) if s.strip()]
        tail = ""
        for sentence in reversed(sentences[1:]):
            candidate = f"{sentence} {tail}" if tail else sentence
            if self.count_tokens(candidate) > cap:
                break
            tail = candidate
        if tail:
            return tail
        words = text.split()[-cap:]
        lo, hi = 0, len(words)
        while lo < hi:  # binary search for the longest tail within cap
            mid = (lo + hi + 1) // 2
            if self.count_tokens(" ".join(words[-mid:])) <= cap:
                lo = mid
            else:
                hi = mid - 1
        return " ".join(words[-lo:]) if lo else ""


_FRAGMENT_SAFE = "-._~!$&'()*+,;=:@/?"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _heading_groups(sections: Iterable[Section]) -> list[list[Section]]:
    groups: list[list[Section]] = []
    for section in sections:
        if not section.text.strip():
            continue
        if groups and (groups[-1][0].heading_path, groups[-1][0].anchor) == (
            section.heading_path,
            section.anchor,
        ):
            groups[-1].append(section)
        else:
            groups.append([section])
    return groups

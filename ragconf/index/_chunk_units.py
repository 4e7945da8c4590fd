"""Units the chunker packs: how sections are cut into atoms (private helper of chunk.py).

An :class:`Atom` is a piece of one section that fits the budget on its own, remembering
the separator that joined it to its predecessor in the source (paragraph, line, sentence
or word), and, for split tables and code, the :class:`Wrap` (header row, fences) that
every chunk holding it must repeat. Each unit is counted once, so cutting stays linear.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ragconf.index.types import Section

__all__ = ["Atom", "Splitter", "Wrap", "paragraphs", "render"]

SENTENCE_END = re.compile(r"(?<=[.!?。！？;:])\s+")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_WORD, _CHAR = 0, 1


@dataclass(eq=False)
class Wrap:
    """Text repeated around every piece of a split table (header) or code block (fences)."""

    head: str
    tail: str
    tokens: int


@dataclass(eq=False)
class Atom:
    text: str
    tokens: int
    sep: str  # what joined this atom to the previous one in the source
    section: int  # index of the section within its heading group
    wrap: Wrap | None = None
    overlap: bool = False


class Splitter:
    """Cuts sections into atoms of at most ``budget`` tokens."""

    def __init__(self, count_tokens: Callable[[str], int], separator_cost: Callable[[], int]):
        self.count_tokens = count_tokens
        self.separator_cost = separator_cost

    def atoms(self, section: Section, index: int, budget: int) -> list[Atom]:
        text = section.text.strip("\n")
        if not text.strip():
            return []
        if section.kind in ("table", "code"):
            tokens = self.count_tokens(text)
            if tokens <= budget:
                return [Atom(text, tokens, "\n\n", index)]
            lines = text.split("\n")
            if section.kind == "table" and len(lines) > 2:
                head, tail, body = "\n".join(lines[:2]), "", lines[2:]
            elif section.kind == "code" and len(lines) > 2 and FENCE.match(lines[0]):
                head, tail, body = lines[0], lines[-1], lines[1:-1]
            else:
                head, tail, body = "", "", []
            wrap_tokens = self.count_tokens(f"{head}\n{tail}") if head else 0
            if head and wrap_tokens <= budget // 2:
                wrap = Wrap(head, tail, wrap_tokens)
                room = budget - wrap_tokens
                atoms: list[Atom] = []
                for line in body:
                    # An overlong row or line is cut at spaces, then characters.
                    pieces = self._split(line, room, level=_WORD)
                    atoms.extend(Atom(piece, n, "\n", index, wrap) for piece, n in pieces)
                return atoms
        return [Atom(piece, n, sep, index) for piece, n, sep in self._split_text(text, budget)]

    def _split_text(self, text: str, budget: int) -> list[tuple[str, int, str]]:
        out: list[tuple[str, int, str]] = []
        for para in paragraphs(text):
            first = True
            for level_sep, (piece, n) in self._split_levels(para, budget):
                out.append((piece, n, "\n\n" if first else level_sep))
                first = False
        return out

    def _split_levels(self, unit: str, budget: int) -> list[tuple[str, tuple[str, int]]]:
        """(separator before it, (piece, tokens)) for a paragraph, recursively finer."""
        n = self.count_tokens(unit)
        if n <= budget:
            return [("\n", (unit, n))]
        for pattern, sep in ((r"\n", "\n"), (SENTENCE_END.pattern, " ")):
            parts = [p for p in re.split(pattern, unit) if p.strip()]
            if len(parts) > 1:
                result: list[tuple[str, tuple[str, int]]] = []
                for part in parts:
                    sub = self._split_levels(part, budget)
                    result.append((sep, sub[0][1]))
                    result.extend(sub[1:])
                return result
        return [(" ", piece) for piece in self._split(unit, budget, level=_WORD)]

    def _split(self, text: str, budget: int, level: int) -> list[tuple[str, int]]:
        """Pack words (or characters) of one overlong unit into pieces within ``budget``."""
        n = self.count_tokens(text)
        if n <= budget:
            return [(text, n)]
        if level == _CHAR:
            return [(p, self.count_tokens(p)) for p in self.hard_pieces(text, budget)]
        pieces: list[tuple[str, int]] = []
        words: list[str] = []
        total = 0
        counts: dict[str, int] = {}
        for word in text.split():
            wn = counts.get(word)
            if wn is None:
                wn = counts[word] = self.count_tokens(word)
            if wn > budget:
                if words:
                    pieces.append((" ".join(words), total))
                    words, total = [], 0
                pieces.extend(self._split(word, budget, level=_CHAR))
                continue
            if words and total + wn + self.separator_cost() > budget:
                pieces.append((" ".join(words), total))
                words, total = [], 0
            words.append(word)
            total += wn + (self.separator_cost() if len(words) > 1 else 0)
        if words:
            pieces.append((" ".join(words), total))
        return pieces

    def hard_pieces(self, text: str, cap: int) -> list[str]:
        """Cut ``text`` by characters into pieces of at most ``cap`` tokens (last resort)."""
        pieces: list[str] = []
        total = max(self.count_tokens(text), 1)
        step = max(1, int(len(text) * cap / total * 0.9))
        pos = 0
        while pos < len(text):
            size = min(step, len(text) - pos)
            while size > 1 and self.count_tokens(text[pos : pos + size]) > cap:
                size = max(1, size * 3 // 4)
            pieces.append(text[pos : pos + size])
            pos += size
        return pieces or [text]


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, never cutting inside a fenced code block."""
    out: list[str] = []
    fence: str | None = None
    for para in text.split("\n\n"):
        if fence is not None:
            out[-1] += "\n\n" + para
        else:
            out.append(para)
        for line in para.split("\n"):
            m = FENCE.match(line.strip())
            if m:
                marker = m.group(1)
                if fence is None:
                    fence = marker
                elif marker.startswith(fence[0]) and len(marker) >= len(fence):
                    fence = None
    return [p for p in out if p.strip()]


def render(atoms: list[Atom]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(atoms):
        atom = atoms[i]
        if atom.wrap is not None:
            j = i
            while j < len(atoms) and atoms[j].wrap is atom.wrap:
                j += 1
            inner = "\n".join(a.text for a in atoms[i:j])
            tail = f"\n{atom.wrap.tail}" if atom.wrap.tail else ""
            segment = f"{atom.wrap.head}\n{inner}{tail}"
            sep = "\n\n"
            i = j
        else:
            segment = atom.text
            prev = atoms[i - 1] if i else None
            same = prev is not None and prev.section == atom.section and prev.wrap is None
            sep = atom.sep if same else "\n\n"
            i += 1
        if parts:
            parts.append(sep)
        parts.append(segment)
    return "".join(parts)

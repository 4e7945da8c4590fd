"""Citation checks for LLM answers: a ``[n]`` must name a passage the model was given.

>>> clean_citations("Tag main [1] and roll back [2, 7].", {1, 2})
('Tag main [1] and roll back [2].', [1, 2], [7])
>>> f = CitationFilter({1})
>>> f.feed("Yes [") + f.feed("3] and [1") + f.feed("].") + f.flush()
'Yes and [1].'
>>> f.removed, f.cited
([3], [1])
>>> g = CitationFilter({1})
>>> "".join(g.feed(p) for p in ["Not ", "[8", "]."]) + g.flush()
'Not.'

"""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = ["CitationFilter", "clean_citations"]

# [1]  [1, 2]  [1,2,3]  — what the prompt asks for; anything else is plain text
_GROUP = re.compile(r"(\s?)\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\]")
# a text that may still become a group once more text arrives
_PARTIAL = re.compile(r"\s?\[(?:\d{1,4}(?:\s*,\s*\d{0,4})*\s*,?\s*)?")
_MAX_PENDING = 40


def clean_citations(text: str, valid: Collection[int]) -> tuple[str, list[int], list[int]]:
    """``text`` without citations of passages outside ``valid``; (text, cited, removed).

    A group keeps its valid numbers (``[2, 7]`` -> ``[2]``); a group with none is removed
    with the space before it. ``cited`` and ``removed`` are in order of first appearance.
    """
    cited: list[int] = []
    removed: list[int] = []

    def repl(m: re.Match[str]) -> str:
        numbers = [int(x) for x in m.group(2).split(",")]
        keep = [n for n in dict.fromkeys(numbers) if n in valid]
        for n in numbers:
            target = cited if n in valid else removed
            if n not in target:
                target.append(n)
        if not keep:
            return ""
        return f"{m.group(1)}[{', '.join(str(n) for n in keep)}]"

    return _GROUP.sub(repl, text), cited, removed


class CitationFilter:
    """The same check over a stream of text deltas: a possible citation is held back until
    it is complete, so an invalid ``[n]`` is never sent, not even for a moment."""

    def __init__(self, valid: Collection[int]) -> None:
        self.valid = set(valid)
        self.cited: list[int] = []
        self.removed: list[int] = []
        self._pending = ""

    def feed(self, delta: str) -> str:
        text = self._pending + delta
        self._pending = ""
        # hold back a tail that could still turn into a citation group
        cut = _hold_from(text)
        if cut is None:  # trailing space: it goes if an invalid citation follows
            cut = len(text.rstrip(" "))
        text, self._pending = text[:cut], text[cut:]
        return self._clean(text)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return self._clean(text)

    def _clean(self, text: str) -> str:
        out, cited, removed = clean_citations(text, self.valid)
        self.cited.extend(n for n in cited if n not in self.cited)
        self.removed.extend(n for n in removed if n not in self.removed)
        return out


def _hold_from(text: str) -> int | None:
    start = text.rfind("[")
    if start < 0 or len(text) - start > _MAX_PENDING:
        return None
    if start > 0 and text[start - 1].isspace():
        start -= 1
    return start if _PARTIAL.fullmatch(text[start:]) else None

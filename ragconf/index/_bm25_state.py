"""The in-memory generation of the bm25s index (``lexical.BM25Index``): filter columns
and cached row masks over them."""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ragconf.index.types import Chunk, Hit, SearchFilters, StoredChunk

__all__ = ["KEYS", "Changes", "State", "chunk_at", "hit_at", "labels", "read_meta"]

KEYS = ("space_key", "space_id", "content_type")
_KEYS = KEYS


def labels(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [x for x in value.split(",") if x]
    return [str(x) for x in value]


@dataclass
class State:
    """One immutable generation of the index; searches read one state, rebuilds swap it."""

    folder: Path | None
    bm25: Any
    ids: list[str]
    codes: dict[str, np.ndarray]
    values: dict[str, list[str]]
    labels: dict[str, np.ndarray]
    updated: np.ndarray
    offsets: np.ndarray
    docs: mmap.mmap | None
    staged: bool = False
    masks: dict[SearchFilters, np.ndarray] = field(default_factory=dict)
    #: ancestor id (page, folder, …) -> the rows below it (the ``ancestor`` filter)
    ancestors: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> State:
        codes = {k: np.zeros(0, np.int32) for k in _KEYS}
        return cls(
            None,
            None,
            [],
            codes,
            {k: [] for k in _KEYS},
            {},
            np.zeros(0),
            np.zeros(1, np.int64),
            None,
        )

    def mask(self, f: SearchFilters) -> np.ndarray:
        """Boolean row mask equal to ``f.matches`` on each chunk's metadata (cached)."""
        cached = self.masks.get(f)
        if cached is not None:
            return cached
        n = len(self.ids)
        keep = np.ones(n, dtype=bool)
        for key, wanted in zip(_KEYS, (f.space_keys, f.space_ids, f.content_types), strict=True):
            if wanted is None or (not wanted and key != "space_id"):
                continue
            index = {v: i for i, v in enumerate(self.values[key])}
            codes = [index[str(w)] for w in wanted if str(w) in index]
            keep &= np.isin(self.codes[key], np.asarray(codes, dtype=np.int32))
        if f.labels:
            has = np.zeros(n, dtype=bool)
            for label in f.labels:
                if label in self.labels:
                    has[self.labels[label]] = True
            keep &= has
        if f.ancestors:
            below = np.zeros(n, dtype=bool)
            for node in f.ancestors:
                if node in self.ancestors:
                    below[self.ancestors[node]] = True
            keep &= below
        if f.updated_after is not None:
            with np.errstate(invalid="ignore"):  # unknown (NaN) compares False, as in matches()
                keep &= self.updated >= f.updated_after.timestamp()
        if len(self.masks) >= 64:
            self.masks.clear()
        self.masks[f] = keep
        return keep


def read_meta(folder: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((folder / "meta.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


class Changes:
    """Upserts and deletes gathered by ``BM25Index.batch`` until it rebuilds once."""

    def __init__(self) -> None:
        self.new: dict[str, StoredChunk] = {}
        self.gone: set[str] = set()

    def upsert(self, chunks: Sequence[Chunk | StoredChunk]) -> None:
        for c in chunks:
            self.gone.discard(c.id)
            self.new[c.id] = StoredChunk(c.id, c.text, dict(c.metadata))

    def delete(self, ids: Iterable[str]) -> None:
        for cid in ids:
            self.new.pop(cid, None)
            self.gone.add(cid)


def chunk_at(st: State, row: int) -> StoredChunk:
    hit = hit_at(st, row, 0.0)
    return StoredChunk(hit.id, hit.text, hit.metadata)


def hit_at(st: State, row: int, score: float) -> Hit:
    assert st.docs is not None
    rec = json.loads(st.docs[int(st.offsets[row]) : int(st.offsets[row + 1])].decode("utf-8"))
    return Hit(id=rec["id"], score=score, text=rec["text"], metadata=rec["metadata"])

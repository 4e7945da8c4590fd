"""What a process keeps in memory of the SQLite lexical index, and how it catches up.

A :class:`State` is one generation's view: per chunk row its token count and document base,
per base the filter columns, per space the BM25 statistics. Searches read a state and the
database snapshot of the same generation (one read transaction), so a search never mixes
two syncs. :func:`advance` turns a state into the next generation's by reading only the
rows the ``changes`` table names (O(changed chunks)); a state that fell behind the kept
history, or a rebuild, loads everything once.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragconf.index._lexical_sql import labels_of
from ragconf.index.types import SearchFilters

__all__ = ["Ids", "State", "advance", "generation", "load"]


@dataclass
class Ids:
    """chunk id <-> row, shared by every state of one index (rows are never reused for
    another id while a state that knows the old one can still be read)."""

    row_of: dict[str, int] = field(default_factory=dict)
    id_of: dict[int, str] = field(default_factory=dict)


@dataclass
class State:
    gen: int
    length: np.ndarray  # int32 per row, -1: no such chunk
    base: np.ndarray  # int32 per row
    base_space: np.ndarray  # int32 per base id
    base_ctype: np.ndarray  # object (str | None) per base id
    base_updated: np.ndarray  # float64 per base id, NaN: unknown
    base_labels: dict[str, frozenset[int]]
    #: ancestor id (page, folder, …) -> the bases below it (the ``ancestor`` filter)
    base_ancestors: dict[str, frozenset[int]]
    spaces: dict[int, tuple[str | None, str | None, int, int]]  # code -> id, key, n, total
    count: int
    masks: dict[SearchFilters, np.ndarray] = field(default_factory=dict)
    #: chunk rows read from the database to build this state (the cost of catching up)
    read_rows: int = 0

    def codes(self, f: SearchFilters) -> list[int] | None:
        """The space codes a search covers: its permission scope and its space filter
        (None: every space, no restriction)."""
        if f.space_ids is None and not f.space_keys:
            return None
        return sorted(
            code
            for code, (sid, skey, _n, _t) in self.spaces.items()
            if (f.space_ids is None or sid in f.space_ids)
            and (not f.space_keys or skey in f.space_keys)
        )

    def statistics(self, codes: list[int] | None) -> tuple[int, float]:
        """(chunks, average token count) over those spaces (None: all)."""
        if codes is None:
            codes = list(self.spaces)
        n = sum(self.spaces[c][2] for c in codes if c in self.spaces)
        total = sum(self.spaces[c][3] for c in codes if c in self.spaces)
        return n, (total / n if n else 0.0)

    def row_mask(self, f: SearchFilters) -> np.ndarray:
        """Per row: does the chunk exist and pass ``f`` (== ``f.matches`` on its metadata)."""
        cached = self.masks.get(f)
        if cached is not None:
            return cached
        nb = len(self.base_space)
        keep = np.ones(nb, dtype=bool)
        if f.space_keys or f.space_ids is not None:
            ok = set()
            for code, (sid, skey, _n, _t) in self.spaces.items():
                if f.space_keys and skey not in f.space_keys:
                    continue
                if f.space_ids is not None and sid not in f.space_ids:
                    continue
                ok.add(code)
            keep &= np.isin(self.base_space, np.fromiter(ok, dtype=np.int32, count=len(ok)))
        if f.content_types:
            keep &= np.isin(self.base_ctype, np.asarray(f.content_types, dtype=object))
        if f.labels:
            has = np.zeros(nb, dtype=bool)
            for label in f.labels:
                bases = self.base_labels.get(label)
                if bases:
                    has[np.fromiter(bases, dtype=np.int64, count=len(bases))] = True
            keep &= has
        if f.ancestors:
            below = np.zeros(nb, dtype=bool)
            for node in f.ancestors:
                bases = self.base_ancestors.get(node)
                if bases:
                    below[np.fromiter(bases, dtype=np.int64, count=len(bases))] = True
            keep &= below
        if f.updated_after is not None:
            with np.errstate(invalid="ignore"):  # unknown (NaN) compares False, as in matches()
                keep &= self.base_updated >= f.updated_after.timestamp()
        mask = (self.length >= 0) & keep[self.base]
        if len(self.masks) >= 64:
            self.masks.clear()
        self.masks[f] = mask
        return mask


#: the columns _bases reads; ancestors come out of the document's shared metadata (no
#: column of their own, so older index files need no migration)
_BASES = "SELECT id, space, ctype, updated, labels, json_extract(meta, '$.ancestors') FROM bases"


def generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    return int(row[0]) if row else 0


def _meta_int(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return int(row[0]) if row else 0


def _spaces(conn: sqlite3.Connection) -> dict[int, tuple[str | None, str | None, int, int]]:
    return {
        int(code): (sid, skey, int(n), int(total))
        for code, sid, skey, n, total in conn.execute(
            "SELECT code, space_id, space_key, n, total FROM spaces"
        )
    }


def _grow(arr: np.ndarray, size: int, fill: Any) -> np.ndarray:
    if size <= len(arr):
        return arr.copy()
    out = np.full(max(size, int(len(arr) * 1.25) + 16), fill, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


def _bases(state: State, rows: list[tuple[Any, ...]]) -> None:
    """Put base rows (id, space, ctype, updated, labels, ancestors) into ``state`` (arrays
    already own)."""
    added: dict[str, list[int]] = {}
    below: dict[str, list[int]] = {}
    for bid, space, ctype, updated, labels, ancestors in rows:
        state.base_space[bid] = space
        state.base_ctype[bid] = ctype
        state.base_updated[bid] = math.nan if updated is None else updated
        for label in labels_of(labels):
            added.setdefault(label, []).append(bid)
        for node in _ancestors_of(ancestors):
            below.setdefault(node, []).append(bid)
    for label, bids in added.items():
        state.base_labels[label] = state.base_labels.get(label, frozenset()) | frozenset(bids)
    for node, bids in below.items():
        state.base_ancestors[node] = state.base_ancestors.get(node, frozenset()) | frozenset(bids)


def _ancestors_of(value: Any) -> list[str]:
    """The ancestors column as SQLite's json_extract gives it: a JSON array's text, or a
    comma-joined string from an older writer."""
    if isinstance(value, str) and value.startswith("["):
        return [str(x) for x in json.loads(value) if x]
    return labels_of(value)


def load(conn: sqlite3.Connection, ids: Ids) -> State:
    """Everything, once (opening, a rebuild, or a reader far behind)."""
    gen = generation(conn)
    chunks = conn.execute("SELECT row, cid, base, len FROM chunks").fetchall()
    bases = conn.execute(_BASES).fetchall()
    max_row = max((r[0] for r in chunks), default=0)
    max_base = max((b[0] for b in bases), default=0)
    state = State(
        gen=gen,
        length=np.full(max_row + 1, -1, dtype=np.int32),
        base=np.zeros(max_row + 1, dtype=np.int32),
        base_space=np.full(max_base + 1, -1, dtype=np.int32),
        base_ctype=np.full(max_base + 1, None, dtype=object),
        base_updated=np.full(max_base + 1, math.nan, dtype=np.float64),
        base_labels={},
        base_ancestors={},
        spaces=_spaces(conn),
        count=len(chunks),
        read_rows=len(chunks),
    )
    ids.row_of.clear()
    ids.id_of.clear()
    for row, cid, base, length in chunks:
        state.length[row] = length
        state.base[row] = base
        ids.row_of[cid] = row
        ids.id_of[row] = cid
    _bases(state, bases)
    return state


def advance(conn: sqlite3.Connection, state: State, ids: Ids) -> State:
    """The state of the database's current generation (read inside the caller's snapshot)."""
    gen = generation(conn)
    if gen == state.gen:
        return state
    behind = state.gen + 1 < _meta_int(conn, "oldest_change") or gen < state.gen
    rows = [
        r for (r,) in conn.execute("SELECT DISTINCT row FROM changes WHERE gen > ?", (state.gen,))
    ]
    if behind or -1 in rows or len(rows) > max(1000, state.count // 2):
        return load(conn, ids)
    found: dict[int, tuple[str, int, int]] = {}
    for start in range(0, len(rows), 500):
        part = rows[start : start + 500]
        marks = ",".join("?" * len(part))
        for row, cid, base, length in conn.execute(
            f"SELECT row, cid, base, len FROM chunks WHERE row IN ({marks})", part
        ):
            found[row] = (cid, base, length)
    max_row = max([len(state.length) - 1, *rows])
    new = State(
        gen=gen,
        length=_grow(state.length, max_row + 1, -1),
        base=_grow(state.base, max_row + 1, 0),
        base_space=state.base_space,
        base_ctype=state.base_ctype,
        base_updated=state.base_updated,
        base_labels=dict(state.base_labels),
        base_ancestors=dict(state.base_ancestors),
        spaces=_spaces(conn),
        count=state.count,
        read_rows=len(found),
    )
    wanted_bases: set[int] = set()
    for row in rows:
        old_id = ids.id_of.get(row)
        if row in found:
            cid, base, length = found[row]
            if old_id is None or new.length[row] < 0:
                new.count += 1
            new.length[row], new.base[row] = length, base
            ids.row_of[cid], ids.id_of[row] = row, cid
            if base >= len(state.base_space) or state.base_space[base] < 0:
                wanted_bases.add(base)
        elif new.length[row] >= 0:
            new.length[row] = -1
            new.count -= 1
            if old_id is not None and ids.row_of.get(old_id) == row:
                del ids.row_of[old_id]
    if wanted_bases:
        top = max(wanted_bases) + 1
        new.base_space = _grow(state.base_space, top, -1)
        new.base_ctype = _grow(state.base_ctype, top, None)
        new.base_updated = _grow(state.base_updated, top, math.nan)
        wb = sorted(wanted_bases)
        for start in range(0, len(wb), 500):
            part = wb[start : start + 500]
            marks = ",".join("?" * len(part))
            _bases(
                new,
                conn.execute(
                    f"{_BASES} WHERE id IN ({marks})",
                    part,
                ).fetchall(),
            )
    return new

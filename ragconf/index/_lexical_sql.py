"""The SQLite side of the incremental lexical index: schema, connections, one write batch.

Tables (one database file, WAL journal, so readers keep a snapshot while a sync writes):

``meta``      format, k1/b/stemmer, ``generation`` (one more per committed batch)
``spaces``    code -> (space_id, space_key), with the chunk count ``n`` and token total
              ``total`` of that space: the BM25 statistics, per space
``bases``     a document's shared metadata, stored once (content-addressed by its JSON):
              every key but the per-chunk ones, plus the filter columns (ids, like chunk
              rows, are never reused, so a reader's cached copy of one never goes wrong)
``chunks``    row -> chunk id, base, token count, text and the per-chunk metadata keys;
              text as raw DEFLATE (half the bytes; only shown chunks are read back, and
              a TEXT value from an older file reads as it is), an ``anchor_url`` that
              extends the document's ``url`` as its suffix (``anchor``)
``terms``     term -> id (the vocabulary)
``postings``  (term, space, block) -> packed (row offset, tf) pairs of the rows
              ``block * 1024 .. block * 1024 + 1023``; clustered by term then space, so a
              query reads one contiguous range per term and visible space, nothing of
              other spaces, and a changed chunk rewrites one block (<= 4 KB) per term
``changes``   (generation, row): what each batch touched, so another process catches up
              in O(changed chunks) (pruned; a reader further behind reloads)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragconf.index._lexical_text import Tokenizer
from ragconf.index.store._meta import to_chroma_metadata

__all__ = [
    "BLOCK",
    "CHUNK_KEYS",
    "FORMAT",
    "Writer",
    "chunk_metadata",
    "connect",
    "labels_of",
    "pack_text",
    "postings",
    "split_metadata",
    "term_ids",
    "unpack",
    "unpack_text",
]

FORMAT = "2"
#: rows per postings block (a block's offsets fit in uint16)
BLOCK = 1024
#: dirty postings held in memory before they are written (still inside the transaction)
_FLUSH_AT = 250_000
#: metadata keys that differ between the chunks of one document (the rest is shared)
CHUNK_KEYS = frozenset({"chunk_index", "heading_path", "anchor_url", "text_hash"})
#: how many generations of ``changes`` are kept for readers that are behind
KEEP_GENERATIONS = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS spaces(
    code INTEGER PRIMARY KEY, space_id TEXT, space_key TEXT,
    n INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS spaces_ids ON spaces(coalesce(space_id, ''),
    coalesce(space_key, ''));
CREATE TABLE IF NOT EXISTS bases(
    id INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT UNIQUE NOT NULL, meta TEXT NOT NULL,
    space INTEGER NOT NULL, ctype TEXT, updated REAL, labels TEXT,
    refs INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS chunks(
    row INTEGER PRIMARY KEY AUTOINCREMENT, cid TEXT UNIQUE NOT NULL, base INTEGER NOT NULL,
    len INTEGER NOT NULL, text TEXT NOT NULL, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS terms(id INTEGER PRIMARY KEY, term TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS postings(
    term INTEGER NOT NULL, space INTEGER NOT NULL, block INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY(term, space, block)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes(
    gen INTEGER NOT NULL, row INTEGER NOT NULL, PRIMARY KEY(gen, row)) WITHOUT ROWID;
"""


def connect(path: Path, *, write: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode; autocommit (transactions are explicit ``BEGIN``s)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=60.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-16000")  # 16 MB page cache per connection
    if write:
        conn.executescript(_SCHEMA)
    return conn


def unpack(block: int, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(rows, tfs) of one postings block."""
    pairs = np.frombuffer(data, dtype=np.uint16).reshape(2, -1)
    return pairs[0].astype(np.int64) + block * BLOCK, pairs[1].astype(np.float64)


def _pack(entries: dict[int, int]) -> bytes:
    offsets = sorted(entries)
    tfs = [min(entries[o], 65535) for o in offsets]
    return np.asarray([offsets, tfs], dtype=np.uint16).tobytes()


def labels_of(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [x for x in value.split(",") if x]
    return [str(x) for x in value]


def split_metadata(md: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(shared document part, per-chunk part) of one chunk's metadata; an ``anchor_url``
    that extends the document's ``url`` is kept as its suffix (see ``chunk_metadata``)."""
    base = {k: v for k, v in md.items() if k not in CHUNK_KEYS}
    own = {k: v for k, v in md.items() if k in CHUNK_KEYS}
    anchor, url = own.get("anchor_url"), base.get("url")
    if isinstance(anchor, str) and isinstance(url, str) and url and anchor.startswith(url):
        own["anchor"] = anchor[len(url) :]
        del own["anchor_url"]
    return base, own


def chunk_metadata(base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """A chunk's whole metadata from its document's part and its own (split_metadata's
    inverse); ``base`` is not modified (callers share one decoded copy)."""
    md = {**base, **own}
    if "anchor" in own:  # ours (a document key of that name, if any, stays as it is)
        md["anchor_url"] = f"{base.get('url', '')}{own['anchor']}"
        if "anchor" in base:
            md["anchor"] = base["anchor"]
        else:
            del md["anchor"]
    return md


def pack_text(text: str) -> bytes:
    return zlib.compress(text.encode(), 9, wbits=-15)


def unpack_text(value: str | bytes) -> str:
    """A chunk's text as stored: raw DEFLATE, or TEXT (files written before compression)."""
    if isinstance(value, bytes):
        return zlib.decompress(value, wbits=-15).decode()
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _timestamp(md: dict[str, Any]) -> float | None:
    ts = md.get("updated_at_ts")
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        return float(ts)
    return None


class Writer:
    """One write batch: everything between ``begin`` and ``commit`` is one transaction.

    Counts what it touched (``chunks_written``, ``chunks_deleted``, ``postings_written``,
    ``postings_deleted``): the work of a batch is proportional to the chunks it changes.
    """

    def __init__(self, conn: sqlite3.Connection, tokenizer: Tokenizer) -> None:
        self.conn = conn
        self.tok = tokenizer
        self.lock = threading.Lock()  # the sync's writer thread and its main thread share it
        self.generation = 0
        self.work: Counter[str] = Counter()
        self._touched_bases: set[int] = set()
        self._spaces: dict[tuple[str | None, str | None], int] = {}
        self._terms: dict[str, int] = {}
        #: (term, space, block) -> {row offset: tf}, read on first touch, written by _flush
        self._dirty: dict[tuple[int, int, int], dict[int, int]] = {}
        self._buffered = 0

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        row = self.conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        self.generation = int(row[0]) + 1 if row else 1
        self.work.clear()
        self._touched_bases.clear()
        self._spaces = {
            (sid, skey): code
            for code, sid, skey in self.conn.execute("SELECT code, space_id, space_key FROM spaces")
        }

    def commit(self) -> None:
        self._flush()
        c = self.conn
        for base in self._touched_bases:  # documents no chunk refers to any more
            c.execute("DELETE FROM bases WHERE id=? AND refs<=0", (base,))
        c.execute("INSERT OR REPLACE INTO meta VALUES('generation', ?)", (str(self.generation),))
        oldest = max(1, self.generation - KEEP_GENERATIONS + 1)
        c.execute("DELETE FROM changes WHERE gen < ?", (oldest,))
        c.execute("INSERT OR REPLACE INTO meta VALUES('oldest_change', ?)", (str(oldest),))
        c.execute("COMMIT")
        if self.work["postings_written"] > 100_000:  # a big batch: give the WAL back
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def clear(self) -> None:
        """Forget every chunk (a rebuild), inside the batch."""
        c = self.conn
        for table in ("postings", "chunks", "bases", "terms"):
            c.execute(f"DELETE FROM {table}")
        c.execute("UPDATE spaces SET n=0, total=0")
        self._terms.clear()
        self._dirty.clear()
        c.execute("INSERT INTO changes(gen, row) VALUES(?, -1)", (self.generation,))
        self.work["cleared"] += 1

    # -- chunks -----------------------------------------------------------------------------

    def upsert(self, cid: str, text: str, metadata: dict[str, Any]) -> None:
        # the metadata as the vector store keeps it (None dropped, updated_at_ts added, …)
        base_md, own = split_metadata(to_chroma_metadata(metadata))
        space = self._space(base_md)
        base = self._base(base_md, space)
        old = self.conn.execute(
            "SELECT c.row, c.base, c.text, b.space FROM chunks c JOIN bases b ON b.id=c.base "
            "WHERE c.cid=?",
            (cid,),
        ).fetchone()
        terms = self.tok.tokens(text)
        if old is not None:
            row, old_base, old_text, old_space = old
            old_text = unpack_text(old_text)
            self._unref(old_base)
            if old_text != text or old_space != space:
                self._unpost(row, old_text, old_space)
                self._post(row, terms, space)
                self._stats(space, 1, len(terms))
            self.conn.execute(
                "UPDATE chunks SET base=?, len=?, text=?, meta=? WHERE row=?",
                (base, len(terms), pack_text(text), _dumps(own), row),
            )
        else:
            cur = self.conn.execute(
                "INSERT INTO chunks(cid, base, len, text, meta) VALUES(?,?,?,?,?)",
                (cid, base, len(terms), pack_text(text), _dumps(own)),
            )
            row = int(cur.lastrowid or 0)
            self._post(row, terms, space)
            self._stats(space, 1, len(terms))
        self.conn.execute("INSERT OR IGNORE INTO changes VALUES(?, ?)", (self.generation, row))
        self.work["chunks_written"] += 1

    def delete(self, ids: Iterable[str]) -> None:
        for cid in ids:
            old = self.conn.execute(
                "SELECT c.row, c.base, c.text, b.space FROM chunks c JOIN bases b ON b.id=c.base "
                "WHERE c.cid=?",
                (cid,),
            ).fetchone()
            if old is None:
                continue
            row, base, text, space = old
            self._unpost(row, unpack_text(text), space)
            self._unref(base)
            self.conn.execute("DELETE FROM chunks WHERE row=?", (row,))
            self.conn.execute("INSERT OR IGNORE INTO changes VALUES(?, ?)", (self.generation, row))
            self.work["chunks_deleted"] += 1

    # -- internals --------------------------------------------------------------------------

    def _space(self, md: dict[str, Any]) -> int:
        sid = None if md.get("space_id") is None else str(md["space_id"])
        skey = None if md.get("space_key") is None else str(md["space_key"])
        code = self._spaces.get((sid, skey))
        if code is None:
            cur = self.conn.execute(
                "INSERT INTO spaces(space_id, space_key) VALUES(?, ?)", (sid, skey)
            )
            code = self._spaces[(sid, skey)] = int(cur.lastrowid or 0)
        return code

    def _base(self, md: dict[str, Any], space: int) -> int:
        text = _dumps(md)
        digest = hashlib.sha256(text.encode()).hexdigest()[:24]
        found = self.conn.execute("SELECT id FROM bases WHERE hash=?", (digest,)).fetchone()
        if found is None:
            labels = ",".join(labels_of(md.get("labels")))
            ctype = None if md.get("content_type") is None else str(md["content_type"])
            cur = self.conn.execute(
                "INSERT INTO bases(hash, meta, space, ctype, updated, labels, refs) "
                "VALUES(?,?,?,?,?,?,1)",
                (digest, text, space, ctype, _timestamp(md), labels),
            )
            return int(cur.lastrowid or 0)
        self.conn.execute("UPDATE bases SET refs=refs+1 WHERE id=?", (found[0],))
        return int(found[0])

    def _unref(self, base: int) -> None:
        self.conn.execute("UPDATE bases SET refs=refs-1 WHERE id=?", (base,))
        self._touched_bases.add(base)

    def _term_ids(self, terms: Iterable[str], create: bool) -> dict[str, int]:
        known = self._terms
        wanted = [t for t in dict.fromkeys(terms) if t not in known]
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            known.update(
                self.conn.execute(
                    f"SELECT term, id FROM terms WHERE term IN ({marks})", part
                ).fetchall()
            )
        if create:
            for term in wanted:
                if term not in known:
                    cur = self.conn.execute("INSERT INTO terms(term) VALUES(?)", (term,))
                    known[term] = int(cur.lastrowid or 0)
        return known

    def _block(self, term: int, space: int, block: int) -> dict[int, int]:
        key = (term, space, block)
        entries = self._dirty.get(key)
        if entries is None:
            found = self.conn.execute(
                "SELECT data FROM postings WHERE term=? AND space=? AND block=?", key
            ).fetchone()
            entries = {}
            if found is not None:
                pairs = np.frombuffer(found[0], dtype=np.uint16).reshape(2, -1)
                entries = dict(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True))
            self._dirty[key] = entries
            self._buffered += len(entries) + 1
        return entries

    def _post(self, row: int, terms: Sequence[str], space: int) -> None:
        tf = Counter(terms)
        ids = self._term_ids(tf, create=True)
        block, offset = divmod(row, BLOCK)
        for term, n in tf.items():
            self._block(ids[term], space, block)[offset] = n
        self.work["postings_written"] += len(tf)
        self._buffered += len(tf)
        if self._buffered > _FLUSH_AT:
            self._flush()

    def _unpost(self, row: int, text: str, space: int) -> None:
        terms = self.tok.tokens(text)
        ids = self._term_ids(terms, create=False)
        block, offset = divmod(row, BLOCK)
        for term in set(terms):
            if term in ids:
                self._block(ids[term], space, block).pop(offset, None)
        self._stats(space, -1, -len(terms))
        self.work["postings_deleted"] += len(set(terms))

    def _flush(self) -> None:
        """Write the dirty blocks (inside the open transaction)."""
        gone = [key for key, entries in self._dirty.items() if not entries]
        self.conn.executemany("DELETE FROM postings WHERE term=? AND space=? AND block=?", gone)
        self.conn.executemany(
            "INSERT OR REPLACE INTO postings(term, space, block, data) VALUES(?,?,?,?)",
            [(*key, _pack(entries)) for key, entries in self._dirty.items() if entries],
        )
        self.work["blocks_written"] += len(self._dirty)
        self._dirty.clear()
        self._buffered = 0

    def _stats(self, space: int, n: int, total: int) -> None:
        self.conn.execute("UPDATE spaces SET n=n+?, total=total+? WHERE code=?", (n, total, space))


def term_ids(conn: sqlite3.Connection, terms: list[str]) -> dict[str, int]:
    wanted = list(dict.fromkeys(terms))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    return dict(
        conn.execute(f"SELECT term, id FROM terms WHERE term IN ({marks})", wanted).fetchall()
    )


def postings(
    conn: sqlite3.Connection, term: int, codes: list[int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, tfs) of one term, in those spaces only (None: all)."""
    if codes is None:
        cur = conn.execute("SELECT block, data FROM postings WHERE term=?", (term,))
    else:
        marks = ",".join("?" * len(codes))
        cur = conn.execute(
            f"SELECT block, data FROM postings WHERE term=? AND space IN ({marks})",
            (term, *codes),
        )
    found = cur.fetchall()
    if not found:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    if len(found) == 1:
        return unpack(*found[0])
    # a frequent term has hundreds of blocks: decode them all in one pass, not one by one
    # (each block is its offsets, then its tfs; the result is the blocks in turn)
    sizes = np.fromiter((len(data) // 4 for _, data in found), dtype=np.int64, count=len(found))
    flat = np.frombuffer(b"".join(data for _, data in found), dtype=np.uint16)
    ends = np.cumsum(sizes)
    within = np.arange(int(ends[-1])) - np.repeat(ends - sizes, sizes)
    at = np.repeat(2 * (ends - sizes), sizes) + within
    base = np.repeat(np.fromiter((b for b, _ in found), dtype=np.int64, count=len(found)), sizes)
    rows = flat[at].astype(np.int64) + base * BLOCK
    return rows, flat[at + np.repeat(sizes, sizes)].astype(np.float64)

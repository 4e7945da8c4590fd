"""The incremental lexical index: BM25 over SQLite postings, scored in numpy.

>>> lx = SqliteLexicalIndex(data_dir / "lexical" / "hash-64.sqlite")
>>> with lx.batch() as b:                    # one transaction: readers see all or nothing
...     b.upsert(chunks); b.delete(["page:9:0"])
>>> [h.id for h in lx.search("ERR-4031 upload", k=5)]

Same tokens (``_lexical_text``) and the same scoring as the bm25s index it replaces
(Lucene's BM25: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), k1 = 1.2, b = 0.75), but a
sync's changes cost O(changed chunks): postings rows are inserted and deleted per chunk,
per-space statistics are counters. Every process that opens the same file sees a commit
on its next search: it reads the rows the ``changes`` table names and nothing else
(``_lexical_state``). Text and metadata are kept here, a document's shared metadata once.

Spaces searched (the permission scope ``SearchFilters.space_ids`` and the space filter
``space_keys``): statistics (N, average length, df) come from those spaces only, and
postings are read per (term, space searched), so neither the ranking nor the amount of
work depends on what the caller cannot see. Without either, the statistics are global
(and equal to the bm25s index's).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ragconf.index._lexical_cache import PostingsCache
from ragconf.index._lexical_docs import DocumentReads
from ragconf.index._lexical_reconcile import reconcile
from ragconf.index._lexical_search import PostingsSearch
from ragconf.index._lexical_sql import (
    FORMAT,
    Writer,
    chunk_metadata,
    connect,
    postings,
    term_ids,
    unpack_text,
)
from ragconf.index._lexical_state import Ids, State, advance, generation, load
from ragconf.index._lexical_text import Tokenizer, make_tokenizer
from ragconf.index.types import (
    Chunk,
    Hit,
    LexicalCapabilities,
    Metadata,
    SearchFilters,
    StoredChunk,
)

__all__ = ["SqliteLexicalIndex", "lexical_db_path", "reconcile"]

log = logging.getLogger(__name__)


def lexical_db_path(data_dir: Path, chroma_url: str | None, model_name: str) -> Path:
    """``data_dir/"lexical"/<model slug>-<hash>.sqlite``: one per collection, on this host."""
    from ragconf.index.lexical import lexical_path

    folder = lexical_path(data_dir, chroma_url, model_name)
    return folder.with_name(folder.name + ".sqlite")


#: at most this many rows are kept by lookup() (~1 KB each)
_ROWS_CACHED = 20_000


class _Batch:
    def __init__(self, writer: Writer) -> None:
        self._w = writer

    def upsert(self, chunks: Sequence[Chunk | StoredChunk]) -> None:
        with self._w.lock:
            for c in chunks:
                self._w.upsert(c.id, c.text, dict(c.metadata))

    def delete(self, ids: Iterable[str]) -> None:
        with self._w.lock:
            self._w.delete(list(ids))


class SqliteLexicalIndex(PostingsSearch, DocumentReads):
    """See the module docstring. Thread-safe; one writer (batch) at a time per file."""

    capabilities = LexicalCapabilities(
        incremental=True, shared=True, scoped_statistics=True, documents=True
    )

    def __init__(
        self, path: Path | str, *, k1: float = 1.2, b: float = 0.75, stemmer: str | None = "english"
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.k1, self.b = k1, b
        with connect(self.path, write=True) as conn:
            stored = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if stored.get("format") not in (None, FORMAT):
                raise ValueError(f"{self.path} is not a ragconf lexical index of format {FORMAT}")
            if "format" not in stored:
                stored["uid"] = uuid.uuid4().hex[:12]
                conn.executemany(
                    "INSERT OR REPLACE INTO meta VALUES(?, ?)",
                    [
                        ("uid", stored["uid"]),
                        ("format", FORMAT),
                        ("k1", str(k1)),
                        ("b", str(b)),
                        ("stemmer", stemmer or ""),
                    ],
                )
            else:
                self.k1, self.b = float(stored["k1"]), float(stored["b"])
                stemmer = stored.get("stemmer") or None
        conn.close()
        self._uid = str(stored.get("uid", ""))
        self._stemmer_wanted = stemmer
        self._tok: Tokenizer | None = None  # built on first use (loads the stop-word list)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._ids = Ids()
        self._loaded: State | None = None  # read on first use: a sync never needs it
        self._refreshed: int | None = None  # the generation the last refresh() reported
        #: rows lookup() read (text, decoded metadata), valid for one generation: the same
        #: chunks come back query after query, and decoding their JSON cost more than the rest
        self._rows: dict[str, tuple[str, Metadata]] = {}
        self._postings = PostingsCache()
        self._rows_gen = -1
        #: what the last search on this object did: query terms, postings lookups, rows read
        self.last_work: dict[str, int] = {}

    @property
    def _state(self) -> State:
        st = self._loaded
        if st is None:
            with self._lock:
                if self._loaded is None:
                    with self._read() as conn:
                        self._loaded = load(conn, self._ids)
                st = self._loaded
        return st

    @_state.setter
    def _state(self, value: State) -> None:
        self._loaded = value

    def __len__(self) -> int:
        if self._loaded is None:  # no state to keep: count in SQL
            with self._read() as conn:
                return int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
        self._catch_up()
        return self._state.count

    def __repr__(self) -> str:
        return f"SqliteLexicalIndex({str(self.path)!r}, chunks={len(self)})"

    @property
    def caught_up_rows(self) -> int:
        """Chunk rows read to catch up with the last commit seen (all of them on opening)."""
        return self._state.read_rows

    @property
    def _tokenizer(self) -> Tokenizer:
        if self._tok is None:
            self._tok = make_tokenizer(self._stemmer_wanted)
        return self._tok

    @property
    def stemmer(self) -> str | None:
        return self._tokenizer.stemmer_name

    @property
    def stamp(self) -> str:
        """This database and its generation: changes with every commit, and never names
        another host's index (a replica compares it with the one the store records)."""
        if self._loaded is None:
            with self._read() as conn:
                return f"{self._uid}:{generation(conn)}"
        self._catch_up()
        return f"{self._uid}:{self._state.gen}"

    def tokens(self, text: str) -> list[str]:
        return self._tokenizer.tokens(text)

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[_Batch]:
        """One transaction: commits when the block ends, rolls back if it raises."""
        with self._write_lock:
            conn = connect(self.path, write=True)
            writer = Writer(conn, self._tokenizer)
            try:
                writer.begin()
                yield _Batch(writer)
                if writer.work:
                    writer.commit()
                else:  # nothing changed: no new generation for readers to catch up with
                    writer.rollback()
                self.last_batch = dict(writer.work)
            except BaseException:
                writer.rollback()
                raise
            finally:
                conn.close()
        self._catch_up()

    def rebuild(self, chunks: Iterable[Chunk | StoredChunk]) -> None:
        """Replace everything with ``chunks`` (one transaction)."""
        with self._write_lock:
            conn = connect(self.path, write=True)
            writer = Writer(conn, self._tokenizer)
            try:
                writer.begin()
                writer.clear()
                for c in chunks:
                    writer.upsert(c.id, c.text, dict(c.metadata))
                writer.commit()
                self.last_batch = dict(writer.work)
            except BaseException:
                writer.rollback()
                raise
            finally:
                conn.close()
        self._catch_up()

    def save(self) -> None:
        """Nothing to do: every batch is durable when it commits."""

    # -- reading ---------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Catch up with commits by this or another process; True if the index changed
        since the previous ``refresh()`` (the first call notes where it stands: False).

        Counted from the previous call, not from what this call itself read: a concurrent
        search may have caught up first, and the caller (the API, which reopens its vector
        store on a change) must still hear of it.
        """
        self._catch_up()
        gen = self._state.gen
        with self._lock:
            before, self._refreshed = self._refreshed, gen
        return before is not None and gen != before

    def _catch_up(self) -> None:
        if self._loaded is None:
            return  # nothing held yet: the first use reads the current generation
        with self._read() as conn:
            self._snapshot(conn)

    def doc_freqs(self, terms: Sequence[str]) -> list[int]:
        """How many chunks contain each of ``terms`` (index terms, as ``tokens`` makes them),
        over the whole index (used only by the optional PRF and field-weighting stages)."""
        with self._read() as conn:
            ids = term_ids(conn, list(terms))
            return [len(postings(conn, ids[t], None)[0]) if t in ids else 0 for t in terms]

    def lookup(self, ids: Sequence[str]) -> dict[str, Hit]:
        """Text and metadata of those ``ids`` this index holds (score 0.0)."""
        wanted = list(dict.fromkeys(ids))
        with self._read() as conn:
            gen = generation(conn)
            with self._lock:
                if gen != self._rows_gen:
                    self._rows, self._rows_gen = {}, gen
                rows = self._rows  # this generation's, whatever other threads do next
            missing = [cid for cid in wanted if cid not in rows]
            fetched: dict[str, tuple[str, Metadata]] = {}
            for start in range(0, len(missing), 500):
                part = missing[start : start + 500]
                marks = ",".join("?" * len(part))
                for cid, text, own, base in conn.execute(
                    "SELECT c.cid, c.text, c.meta, b.meta FROM chunks c "
                    f"JOIN bases b ON b.id=c.base WHERE c.cid IN ({marks})",
                    part,
                ):
                    fetched[cid] = (
                        unpack_text(text),
                        chunk_metadata(json.loads(base), json.loads(own)),
                    )
        if fetched:
            with self._lock:
                if len(rows) + len(fetched) > _ROWS_CACHED:
                    rows.clear()
                rows.update(fetched)
        out: dict[str, Hit] = {}
        for cid in wanted:
            row = fetched.get(cid) or rows.get(cid)
            if row is not None:  # a copy per call: callers may change what they get
                text, md = row  # values are scalars or lists of strings: one level is enough
                copy = {k: v.copy() if isinstance(v, list) else v for k, v in md.items()}
                out[cid] = Hit(cid, 0.0, text, copy)
        return out

    def mask_ids(self, ids: Sequence[str], filters: SearchFilters) -> list[bool | None]:
        """For each id: does its chunk pass ``filters`` (None: not in this index)."""
        st = self._state
        mask = st.row_mask(filters)
        row_of = self._ids.row_of
        out: list[bool | None] = []
        for cid in ids:
            row = row_of.get(cid)
            if row is None or row >= len(st.length) or st.length[row] < 0:
                out.append(None)
            else:
                out.append(bool(mask[row]))
        return out

    # -- internals -------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside one read transaction (one snapshot)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def _snapshot(self, conn: sqlite3.Connection) -> State | None:
        """The state matching ``conn``'s snapshot when it differs from the held one."""
        gen = generation(conn)
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = load(conn, self._ids)
                    return self._loaded
        st = self._state
        if gen == st.gen:
            return None
        with self._lock:
            st = self._state
            if gen != st.gen:
                st = advance(conn, st, self._ids)
                if st.gen >= self._state.gen:
                    self._state = st
        return st

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

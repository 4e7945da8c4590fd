"""BM25 over the same chunks as the vector store (bm25s), persisted beside it.

>>> bm25 = BM25Index(lexical_path(data_dir, None, emb.model_name))    # loads if saved before
>>> bm25.rebuild(store.iter_all()); bm25.stamp = "sync-42"; bm25.save()
>>> [h.id for h in bm25.search("ERR-4031 upload", k=5)]

Tokens keep what people search for verbatim (``ERR-4031``, ``v2.3.1``, ``snake_case``,
``HTTPServer``), see ``_lexical_text``. Hits are complete: text and the chunk's full
metadata, read from disk for the hits only.

On disk (``path``): ``CURRENT`` names the live version folder; ``save()`` writes a new folder
and swaps ``CURRENT`` with one atomic rename, so a reader never sees half an index. A folder
holds the bm25s matrices (memory-mapped on load), ``docs.jsonl`` (each chunk's id, text and
metadata; ``columns.npz`` has the line offsets) and the arrays the filters run on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ragconf.index._bm25_state import KEYS as _KEYS
from ragconf.index._bm25_state import Changes, chunk_at, hit_at, read_meta
from ragconf.index._bm25_state import State as _State
from ragconf.index._bm25_state import labels as _labels
from ragconf.index._lexical_search import term_coverage
from ragconf.index._lexical_text import make_tokenizer
from ragconf.index.types import Chunk, Hit, LexicalCapabilities, SearchFilters, StoredChunk

__all__ = ["BM25Index", "lexical_path"]

log = logging.getLogger(__name__)

_FORMAT = 1


def lexical_path(data_dir: Path, chroma_url: str | None, model_name: str) -> Path:
    """``data_dir/"lexical"/<model slug>-<hash>``: one index per collection (model + server)."""
    where = chroma_url.rstrip("/") if chroma_url else "embedded"
    digest = hashlib.sha256(f"{model_name}|{where}".encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", model_name.lower().rsplit("/", 1)[-1]).strip("-")[:40]
    return Path(data_dir) / "lexical" / f"{slug or 'model'}-{digest}"


def _open_docs(folder: Path) -> mmap.mmap | None:
    path = folder / "docs.jsonl"
    if path.stat().st_size == 0:
        return None
    with open(path, "rb") as fh:
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


class BM25Index:
    """BM25 (bm25s) over chunk texts; ``search`` returns full ``Hit``s with filters applied.

    >>> idx = BM25Index(tmp_path / "bm25")
    >>> idx.rebuild([StoredChunk("page:1:0", "ERR-4031 on upload", {"space_key": "ENG"})])
    >>> idx.search("err-4031", k=3)[0].id
    'page:1:0'

    ``stamp``: a string the sync sets before ``save()`` so readers can tell whether the index
    on disk is the one the store expects (``save()`` makes one up when it is unset).
    Not incremental: a batch rebuilds the whole index when it commits.
    """

    capabilities = LexicalCapabilities(
        incremental=False, shared=False, scoped_statistics=False, documents=False
    )

    def __init__(
        self, path: Path | str, *, k1: float = 1.2, b: float = 0.75, stemmer: str | None = "english"
    ) -> None:
        self.path = Path(path)
        self.k1, self.b = k1, b
        self.stamp: str | None = None
        self._tokenizer = make_tokenizer(stemmer)
        self._state = _State.empty()
        self._row_index: tuple[_State, dict[str, int]] | None = None
        self._lock = threading.Lock()
        self._load()

    def __len__(self) -> int:
        return len(self._state.ids)

    def __repr__(self) -> str:
        return f"BM25Index({str(self.path)!r}, chunks={len(self)}, stamp={self.stamp!r})"

    @property
    def stemmer(self) -> str | None:
        return self._tokenizer.stemmer_name

    def tokens(self, text: str) -> list[str]:
        """The terms ``text`` is indexed / searched by (for debugging and snippets)."""
        return self._tokenizer.tokens(text)

    def rebuild(self, chunks: Iterable[StoredChunk | Chunk]) -> None:
        """Index ``chunks`` from scratch; texts stream to disk, not memory. ``save()`` persists."""
        import bm25s

        # new contents, new identity: a reader comparing stamps must see that it changed
        self.stamp = uuid.uuid4().hex
        self.path.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".stage-", dir=self.path))
        vocab: dict[str, int] = {}
        corpus: list[list[int]] = []
        ids: list[str] = []
        raw: dict[str, list[str | None]] = {k: [] for k in _KEYS}
        labels: dict[str, list[int]] = {}
        ancestors: dict[str, list[int]] = {}
        updated: list[float] = []
        offsets = [0]
        with open(stage / "docs.jsonl", "wb") as out:
            for row, chunk in enumerate(chunks):
                ids.append(chunk.id)
                terms = self._tokenizer.tokens(chunk.text)
                corpus.append([vocab.setdefault(t, len(vocab)) for t in terms])
                md = chunk.metadata
                for key in _KEYS:
                    raw[key].append(None if md.get(key) is None else str(md[key]))
                for label in _labels(md.get("labels")):
                    labels.setdefault(label, []).append(row)
                for node in _labels(md.get("ancestors")):
                    ancestors.setdefault(node, []).append(row)
                ts = md.get("updated_at_ts")
                numeric = isinstance(ts, (int, float)) and not isinstance(ts, bool)
                updated.append(float(ts) if numeric else np.nan)  # type: ignore[arg-type]
                rec = {"id": chunk.id, "text": chunk.text, "metadata": md}
                out.write(json.dumps(rec, ensure_ascii=False, default=str).encode() + b"\n")
                offsets.append(out.tell())
        bm25 = None
        if ids:
            bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
            bm25.index((corpus, vocab), create_empty_token=False, show_progress=False)
        del corpus
        values = {k: sorted({v for v in raw[k] if v is not None}) for k in _KEYS}
        codes = {}
        for key in _KEYS:
            index = {v: i for i, v in enumerate(values[key])}
            codes[key] = np.asarray([index.get(v, -1) for v in raw[key]], dtype=np.int32)  # type: ignore[arg-type]
        state = _State(
            stage,
            bm25,
            ids,
            codes,
            values,
            {k: np.asarray(v, dtype=np.int64) for k, v in labels.items()},
            np.asarray(updated, dtype=np.float64),
            np.asarray(offsets, dtype=np.int64),
            _open_docs(stage),
            staged=True,
            ancestors={k: np.asarray(v, dtype=np.int64) for k, v in ancestors.items()},
        )
        self._swap(state)

    @contextmanager
    def batch(self) -> Iterator[Changes]:
        """Collect changes; on a clean exit, rebuild from the current chunks plus them (O(N))."""
        changes = Changes()
        yield changes
        st = self._state
        current = (chunk_at(st, i) for i in range(len(st.ids)))
        kept = (c for c in current if c.id not in changes.gone and c.id not in changes.new)
        self.rebuild([*kept, *changes.new.values()])
        self.save()

    def refresh(self) -> bool:
        """Load a version another process saved; True when one was loaded."""
        try:
            name = (self.path / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return False
        if self._state.folder is not None and self._state.folder.name == name:
            return False
        self._load()
        return True

    def save(self) -> None:
        """Persist atomically: a complete new version folder, then one rename of ``CURRENT``."""
        with self._lock:
            if self.stamp is None:
                self.stamp = uuid.uuid4().hex
            state = self._state
            if not state.staged:
                if state.folder is not None and read_meta(state.folder).get("stamp") == self.stamp:
                    return  # what is on disk is what we hold
                state = self._restage(state)
            assert state.folder is not None
            self._write(state)
            final = self.path / f"v-{uuid.uuid4().hex[:12]}"
            os.replace(state.folder, final)
            state.folder, state.staged = final, False
            tmp = self.path / f".CURRENT-{uuid.uuid4().hex[:8]}"
            tmp.write_text(final.name, encoding="utf-8")
            os.replace(tmp, self.path / "CURRENT")
            self._cleanup(final.name)

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[Hit]:
        """The ``k`` best chunks by BM25 among those passing ``filters`` (score > 0 only)."""
        st = self._state  # one read: a concurrent rebuild cannot mix generations
        if st.bm25 is None or k <= 0:
            return []
        vocab = st.bm25.vocab_dict
        term_ids = [vocab[t] for t in self._tokenizer.query_tokens(query) if t in vocab]
        if not term_ids:
            return []
        scores = st.bm25.get_scores_from_ids(term_ids)
        if filters is not None and not filters.empty:
            scores = np.where(st.mask(filters), scores, 0.0)
        rows = np.flatnonzero(scores > 0)
        if rows.size > k:
            top = rows[np.argpartition(-scores[rows], k - 1)[:k]]
            # keep every row tied with the k-th score, so the id tie-break below is exact
            rows = rows[scores[rows] >= scores[top].min()]
        order = sorted(rows.tolist(), key=lambda i: (-float(scores[i]), st.ids[i]))[:k]
        return [hit_at(st, i, float(scores[i])) for i in order]

    def doc_freqs(self, terms: Sequence[str]) -> list[int]:
        """How many chunks contain each of ``terms`` (index terms, as ``tokens`` makes them)."""
        st = self._state
        if st.bm25 is None:
            return [0 for _ in terms]
        vocab, indptr = st.bm25.vocab_dict, st.bm25.scores["indptr"]
        return [int(indptr[vocab[t] + 1] - indptr[vocab[t]]) if t in vocab else 0 for t in terms]

    def coverage(
        self, query: str, ids: Sequence[str], filters: SearchFilters | None = None
    ) -> dict[str, float]:
        """For each of ``ids`` this index holds: the idf-weighted share of the query's
        distinct terms the chunk contains (statistics over the whole index, as ``search``)."""
        st = self._state
        terms = list(dict.fromkeys(self._tokenizer.tokens(query)))
        if st.bm25 is None or not terms or not ids:
            return {}
        vocab, sc = st.bm25.vocab_dict, st.bm25.scores
        empty = np.zeros(0, dtype=np.int64)
        rows_of = {
            t: (sc["indices"][sc["indptr"][vocab[t]] : sc["indptr"][vocab[t] + 1]], empty)
            if t in vocab else (empty, empty)
            for t in terms
        }  # fmt: skip
        row = self._rows(st)
        known = [cid for cid in ids if cid in row]
        wanted = np.array([row[cid] for cid in known], dtype=np.int64)
        return term_coverage(terms, rows_of, len(st.ids), known, wanted)

    def lookup(self, ids: Sequence[str]) -> dict[str, Hit]:
        """Text and metadata of those ``ids`` this index holds (score 0.0), from the mmap.

        The search reads shown chunks from here instead of the vector store (much cheaper).
        """
        st = self._state
        rows = self._rows(st)
        out: dict[str, Hit] = {}
        for cid in ids:
            row = rows.get(cid)
            if row is not None:
                out[cid] = hit_at(st, row, 0.0)
        return out

    def mask_ids(self, ids: Sequence[str], filters: SearchFilters) -> list[bool | None]:
        """For each id: does its chunk pass ``filters`` (None: not in this index)."""
        st = self._state
        rows = self._rows(st)
        mask = st.mask(filters)
        return [None if (r := rows.get(cid)) is None else bool(mask[r]) for cid in ids]

    def _rows(self, st: _State) -> dict[str, int]:
        # id -> row, built once per loaded/rebuilt state (a race builds it twice, harmlessly)
        cached = self._row_index
        if cached is not None and cached[0] is st:
            return cached[1]
        rows = {cid: i for i, cid in enumerate(st.ids)}
        self._row_index = (st, rows)
        return rows

    # -- internals ---------------------------------------------------------------------------

    def _swap(self, state: _State) -> None:
        with self._lock:
            old, self._state = self._state, state
        if old.staged and old.folder is not None and old.folder != state.folder:
            shutil.rmtree(old.folder, ignore_errors=True)

    def _write(self, st: _State) -> None:
        assert st.folder is not None
        if st.bm25 is not None and not (st.folder / "bm25").is_dir():
            st.bm25.save(str(st.folder / "bm25"), show_progress=False)
        names = sorted(st.labels)
        arrays = {"offsets": st.offsets, "updated_at_ts": st.updated}
        arrays.update({f"code_{k}": v for k, v in st.codes.items()})
        arrays.update({f"label_{i}": st.labels[name] for i, name in enumerate(names)})
        nodes = sorted(st.ancestors)
        arrays.update({f"ancestor_{i}": st.ancestors[n] for i, n in enumerate(nodes)})
        np.savez(st.folder / "columns.npz", **arrays)  # type: ignore[arg-type]
        meta = {
            "format": _FORMAT,
            "stamp": self.stamp,
            "k1": self.k1,
            "b": self.b,
            "stemmer": self._tokenizer.stemmer_name,
            "ids": st.ids,
            "values": st.values,
            "labels": names,
            "ancestors": nodes,
        }
        (st.folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    def _load(self) -> None:
        try:
            folder = self.path / (self.path / "CURRENT").read_text(encoding="utf-8").strip()
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # nothing saved yet: an empty index
        if meta.get("format") != _FORMAT:
            log.warning("ignoring the BM25 index at %s: unknown format", folder)
            return
        if meta.get("stemmer") != self._tokenizer.stemmer_name:
            self._tokenizer = make_tokenizer(meta.get("stemmer"))
            if self._tokenizer.stemmer_name != meta.get("stemmer"):
                log.warning("BM25 index was stemmed with %s, not available here", meta["stemmer"])
        bm25 = None
        if (folder / "bm25").is_dir():
            import bm25s

            bm25 = bm25s.BM25.load(str(folder / "bm25"), mmap=True, show_progress=False)
        with np.load(folder / "columns.npz") as npz:
            arrays = {name: npz[name] for name in npz.files}
        self.k1, self.b, self.stamp = meta["k1"], meta["b"], meta.get("stamp")
        state = _State(
            folder,
            bm25,
            list(meta["ids"]),
            {k: arrays[f"code_{k}"] for k in _KEYS},
            {k: list(meta["values"][k]) for k in _KEYS},
            {name: arrays[f"label_{i}"] for i, name in enumerate(meta["labels"])},
            arrays["updated_at_ts"],
            arrays["offsets"],
            _open_docs(folder),
        )
        if "ancestors" in meta:
            state.ancestors = {n: arrays[f"ancestor_{i}"] for i, n in enumerate(meta["ancestors"])}
        else:  # saved before the ancestor column existed: read it from the documents once
            found: dict[str, list[int]] = {}
            for row in range(len(state.ids)):
                for node in _labels(hit_at(state, row, 0.0).metadata.get("ancestors")):
                    found.setdefault(node, []).append(row)
            state.ancestors = {k: np.asarray(v, dtype=np.int64) for k, v in found.items()}
        self._swap(state)

    def _restage(self, st: _State) -> _State:
        # the same data under a new stamp (or a first save of an empty index): a new folder
        self.path.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".stage-", dir=self.path))
        if st.folder is not None:
            shutil.copytree(st.folder, stage, dirs_exist_ok=True)
        else:
            (stage / "docs.jsonl").write_bytes(b"")
        new = _State(
            stage, st.bm25, st.ids, st.codes, st.values, st.labels, st.updated, st.offsets,
            st.docs, staged=True, ancestors=st.ancestors,
        )  # fmt: skip
        self._state = new
        return new

    def _cleanup(self, live: str) -> None:
        # keep the live version and the one before it (a reader may be loading it right now)
        versions = sorted(
            (p for p in self.path.glob("v-*") if p.is_dir()), key=lambda p: p.stat().st_mtime
        )
        keep = {live} | {p.name for p in versions[-2:]}
        for p in versions:
            if p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)
        # stages left by a crashed rebuild (old enough not to be another process's live one)
        for p in self.path.glob(".stage-*"):
            if p != self._state.folder and p.is_dir() and time.time() - p.stat().st_mtime > 3600:
                shutil.rmtree(p, ignore_errors=True)

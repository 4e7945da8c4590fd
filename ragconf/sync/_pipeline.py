"""Bounded producer/consumer threads, so fetching, converting, embedding and writing overlap.

::

    submit(job) --> [fetch x N threads] --> [convert] --> [embed, 1 thread] --> [write, 1 thread]
               jobs_q               fetched_q      docs_q                  write_q

Embedding is the expensive step, so everything else runs beside it: while the model
embeds batch k, the fetchers download batch k+2, the converter chunks batch k+1 and the
writer stores batch k-1. Every queue is bounded, so memory stays bounded however big a
space is (the caller submits jobs of at most 250 documents). The embed stage collects
chunks across documents into batches of ``embed_batch`` texts (the embedder sorts each
call by length), and forwards documents that need no embedding straight away.

A stage function that raises aborts the whole pipeline (a bug, not a bad document: the
stage functions report per-document failures themselves); ``close()`` re-raises it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, Literal, TypeVar

from ragconf.index.types import Chunk, Vector
from ragconf.sync._documents import Item
from ragconf.sync._report import Outcome

__all__ = ["DocWork", "Pipeline"]


class _End(Enum):
    END = "end"


_END = _End.END
_TICK = 0.2  # seconds between abort checks while blocked on a queue

J = TypeVar("J")  # a job for the fetchers
F = TypeVar("F")  # what a fetcher hands the converter
A = TypeVar("A")
B = TypeVar("B")


@dataclass
class DocWork:
    """One document on its way to the store: its chunks and (reused or new) vectors."""

    item: Item
    chunks: list[Chunk]
    vectors: list[Vector | None]
    #: chunk ids of the previous version that the new one no longer has (deleted after upsert)
    stale_ids: list[str] = field(default_factory=list)
    action: Literal[Outcome.ADDED, Outcome.UPDATED, Outcome.METADATA] = Outcome.UPDATED
    #: chunks written with a stored vector instead of a new embedding
    reused: int = 0
    #: chunk id -> metadata keys the stored chunk has and the new version drops
    removed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def pending(self) -> list[int]:
        if self.action is Outcome.METADATA:  # texts and vectors stay as stored
            return []
        return [i for i, v in enumerate(self.vectors) if v is None]


class PipelineAborted(RuntimeError):
    pass


class Pipeline(Generic[J, F]):
    """Four stages on threads joined by bounded queues.

    >>> seen = []
    >>> p = Pipeline(fetch=lambda job: job, convert=lambda batch: batch,
    ...              embed=lambda docs: docs, write=seen.extend, fetch_workers=2)
    >>> p.start(); p.submit([]); p.close(); seen
    []
    """

    def __init__(
        self,
        *,
        fetch: Callable[[J], F],
        convert: Callable[[F], list[DocWork]],
        embed: Callable[[list[DocWork]], list[DocWork]],
        write: Callable[[list[DocWork]], None],
        fetch_workers: int = 4,
        embed_batch: int = 128,
        queue_size: int = 2,
    ) -> None:
        self._fetch, self._convert, self._embed, self._write = fetch, convert, embed, write
        self.fetch_workers = max(1, fetch_workers)
        self.embed_batch = max(1, embed_batch)
        self._jobs: queue.Queue[J | _End] = queue.Queue(maxsize=self.fetch_workers * 2)
        self._fetched: queue.Queue[F | _End] = queue.Queue(maxsize=queue_size)
        self._docs: queue.Queue[list[DocWork] | _End] = queue.Queue(maxsize=queue_size * 2)
        self._writes: queue.Queue[list[DocWork] | _End] = queue.Queue(maxsize=queue_size * 2)
        self._abort = threading.Event()
        self._error: BaseException | None = None
        self._threads: list[threading.Thread] = []
        self._fetchers_left = self.fetch_workers
        self._lock = threading.Lock()
        #: seconds each stage spent working (not waiting on its queues); fetch sums threads
        self.busy: dict[str, float] = {"fetch": 0.0, "convert": 0.0, "embed": 0.0, "write": 0.0}

    # -- control --------------------------------------------------------------------------

    def start(self) -> None:
        specs = [(self._fetch_loop, f"sync-fetch-{i}") for i in range(self.fetch_workers)]
        specs += [
            (self._convert_loop, "sync-convert"),
            (self._embed_loop, "sync-embed"),
            (self._write_loop, "sync-write"),
        ]
        for target, name in specs:
            t = threading.Thread(target=self._guard(target), name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def submit(self, job: J) -> None:
        """Queue a job for the fetchers; blocks while the pipeline is full."""
        self._put(self._jobs, job)

    def close(self) -> None:
        """No more jobs: drain every stage, join the threads, re-raise a stage's crash."""
        try:
            for _ in range(self.fetch_workers):
                self._put(self._jobs, _END)
        except PipelineAborted:
            pass
        for t in self._threads:
            t.join()
        if self._error is not None:
            raise self._error

    def abort(self, exc: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = exc
        self._abort.set()

    # -- plumbing -------------------------------------------------------------------------

    def _timed(self, stage: str, fn: Callable[[A], B], arg: A) -> B:
        started = time.perf_counter()
        try:
            return fn(arg)
        finally:
            with self._lock:
                self.busy[stage] += time.perf_counter() - started

    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except PipelineAborted:
                pass
            except BaseException as exc:
                self.abort(exc)

        return run

    def _put(self, q: queue.Queue[A], item: A) -> None:
        while True:
            if self._abort.is_set():
                raise PipelineAborted()
            try:
                q.put(item, timeout=_TICK)
                return
            except queue.Full:
                continue

    def _get(self, q: queue.Queue[A]) -> A:
        while True:
            if self._abort.is_set():
                raise PipelineAborted()
            try:
                return q.get(timeout=_TICK)
            except queue.Empty:
                continue

    # -- stages ---------------------------------------------------------------------------

    def _fetch_loop(self) -> None:
        while True:
            job = self._get(self._jobs)
            if job is _END:
                with self._lock:
                    self._fetchers_left -= 1
                    last = self._fetchers_left == 0
                if last:  # the converter ends after the last fetcher's batches
                    self._put(self._fetched, _END)
                return
            self._put(self._fetched, self._timed("fetch", self._fetch, job))

    def _convert_loop(self) -> None:
        while True:
            batch = self._get(self._fetched)
            if batch is _END:
                self._put(self._docs, _END)
                return
            docs = self._timed("convert", self._convert, batch)
            if docs:
                self._put(self._docs, docs)

    def _embed_loop(self) -> None:
        buffered: list[DocWork] = []
        pending = 0
        while True:
            docs = self._get(self._docs)
            if docs is _END:
                break
            ready = [d for d in docs if not d.pending]
            if ready:  # metadata-only or fully reused documents: nothing to wait for
                self._put(self._writes, ready)
            for d in docs:
                if d.pending:
                    buffered.append(d)
                    pending += len(d.pending)
            while pending >= self.embed_batch:
                group, buffered, pending = _take(buffered, self.embed_batch)
                self._emit(group)
        while buffered:
            group, buffered, pending = _take(buffered, self.embed_batch)
            self._emit(group)
        self._put(self._writes, _END)

    def _emit(self, group: list[DocWork]) -> None:
        done = self._timed("embed", self._embed, group)
        if done:
            self._put(self._writes, done)

    def _write_loop(self) -> None:
        while True:
            docs = self._get(self._writes)
            if docs is _END:
                return
            self._timed("write", self._write, docs)


def _take(docs: Sequence[DocWork], n: int) -> tuple[list[DocWork], list[DocWork], int]:
    """Split off whole documents holding at least ``n`` pending chunks (or all of them)."""
    count = 0
    for i, d in enumerate(docs):
        count += len(d.pending)
        if count >= n:
            rest = list(docs[i + 1 :])
            return list(docs[: i + 1]), rest, sum(len(x.pending) for x in rest)
    return list(docs), [], 0

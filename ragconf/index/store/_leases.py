"""ChromaStore's lease records (``types.LeaseStore``): the sync lock's rows in the store.

Leases live in one small collection beside the chunk collections,
``ragconf-sync-leases``, one row per claimant (id = its random token) tagged with the
chunk collection it claims. They are not kept in the chunk collection's metadata on
purpose: Chroma replaces a collection's metadata as a whole, so two hosts writing
different keys at once would silently undo one another; separate rows can't.

A row needs a vector; each gets the same one-dimensional ``[1.0]`` and is never queried.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

from ragconf.index.types import LeaseRecord

__all__ = ["LEASE_COLLECTION", "ChromaLeases", "lease_metadata", "lease_record"]

LEASE_COLLECTION = "ragconf-sync-leases"


def lease_metadata(record: LeaseRecord) -> dict[str, Any]:
    return {
        "collection": record.collection,
        "scopes": ",".join(record.scopes),  # space keys hold no commas
        "host": record.host,
        "pid": int(record.pid),
        "started_at": float(record.started_at),
        "expires_at": float(record.expires_at),
        "held": bool(record.held),
    }


def lease_record(token: str, md: dict[str, Any] | None) -> LeaseRecord | None:
    """A row back as a LeaseRecord; None for a row that is not one of ours."""
    md = md or {}
    try:
        return LeaseRecord(
            token=str(token),
            collection=str(md["collection"]),
            scopes=tuple(x for x in str(md["scopes"]).split(",") if x),
            host=str(md.get("host", "")),
            pid=int(md.get("pid", 0)),
            started_at=float(md.get("started_at", 0.0)),
            expires_at=float(md["expires_at"]),
            held=bool(md.get("held", False)),
        )
    except (KeyError, TypeError, ValueError):
        return None


class ChromaLeases:
    """The LeaseStore methods of ChromaStore (``_chroma``), which sets the attributes below.

    >>> store.put_lease(record); [r.token for r in store.leases()]   # doctest: +SKIP
    ['3f2a…']
    """

    _client: Any
    name: str
    location: str
    #: how long a lease write may take to be visible to every reader (see types.LeaseStore)
    lease_settle_s: float
    _lease_col: Any = None
    _lease_lock: threading.Lock

    def _errors(self, op: str) -> AbstractContextManager[None]:
        raise NotImplementedError  # ChromaStore's: Chroma failures -> StoreError

    def _leases(self) -> Any:
        with self._lease_lock:
            if self._lease_col is None:
                with self._errors("open the lease collection"):
                    self._lease_col = self._client.get_or_create_collection(
                        LEASE_COLLECTION,
                        metadata={"ragconf_purpose": "sync leases"},
                        embedding_function=None,
                    )
            return self._lease_col

    def put_lease(self, record: LeaseRecord) -> None:
        """Write (or overwrite) the claimant's row."""
        col = self._leases()
        with self._errors("write a sync lease"):
            col.upsert(ids=[record.token], embeddings=[[1.0]], metadatas=[lease_metadata(record)])

    def leases(self) -> list[LeaseRecord]:
        """Every lease row for this store's collection, expired ones included."""
        col = self._leases()
        with self._errors("read the sync leases"):
            res = col.get(where={"collection": self.name}, include=["metadatas"])
        rows = zip(res["ids"], res.get("metadatas") or [], strict=False)
        return [r for r in (lease_record(t, md) for t, md in rows) if r is not None]

    def drop_lease(self, token: str) -> None:
        col = self._leases()
        with self._errors("delete a sync lease"):
            col.delete(ids=[token])

"""One result per file: identical attachments on several pages collapse into one; and one
version per document (``newest_version``).

Teams attach the same PDF to several pages; each copy is its own attachment in Confluence
and in the index, so one file used to fill ranks 2 and 3. After fusion, attachments with
the same content are merged: the best-ranked copy stays, and ``places`` lists every copy
(its own first) with the page it hangs on and its link.

Same content means the same fingerprint: the ``content_sha256`` the sync stored, when it
did; otherwise the media type, the size and the extracted text (all of the attachment's
chunks, without the per-copy metadata lines: file name, comment, page, labels). A file
with no extracted text is never merged on size alone.

>>> collapse_duplicates(results, store)            # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ragconf.errors import StoreError
from ragconf.index.types import Hit, Metadata, VectorStore, chunk_id

if TYPE_CHECKING:
    from ragconf.search.retrieve import DocumentResult

__all__ = ["collapse_duplicates", "newest_version", "with_spare"]

#: metadata lines the sync writes at the top of an attachment's text, per copy
_PER_COPY = ("File: ", "Media type: ", "Size: ", "Comment: ", "Attached to: ", "Labels: ")
#: at most this many documents beyond k are assembled, so k survive collapsing
_SPARE = 10


def with_spare(k: int) -> int:
    """How many documents to assemble so that ``k`` remain after collapsing."""
    return k + min(k, _SPARE)


def _place(doc: DocumentResult) -> Metadata:
    md = doc.chunks[0].metadata if doc.chunks else {}
    return {
        "content_id": doc.content_id,
        "title": doc.title,
        "url": doc.url,
        "space_key": doc.space_key,
        "attached_to": md.get("container_title"),
        "breadcrumbs": list(doc.breadcrumbs),
    }


def _fingerprint(doc: DocumentResult, store: VectorStore) -> str | None:
    md = doc.chunks[0].metadata if doc.chunks else {}
    stored = md.get("content_sha256")
    if stored:
        return f"sha256:{stored}"
    try:
        count = int(md.get("chunk_count") or len(doc.chunks))
    except (TypeError, ValueError):
        return None
    ids = [chunk_id("attachment", doc.content_id, i) for i in range(count)]
    chunks = {c.id: c.text for c in doc.chunks}
    if not all(i in chunks for i in ids):  # only some chunks matched: read the rest
        try:
            chunks = {c.id: c.text for c in store.get(ids)}
        except StoreError:  # the store can't say now: leave the result alone
            return None
    if len(chunks) != count:
        return None  # mid-rewrite by a sync: compare next time
    body = []
    for cid in ids:
        lines = chunks[cid].split("\n")[1:]  # the first line is the "Title › …" prefix
        body += [line for line in lines if not line.startswith(_PER_COPY)]
    text = "\n".join(body).strip()
    if not text:
        return None
    key = "\x00".join((str(md.get("media_type")), str(md.get("file_size")), text))
    return "text:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def collapse_duplicates(
    results: Sequence[DocumentResult], store: VectorStore
) -> list[DocumentResult]:
    """``results`` with later copies of an attachment merged into the first (order kept)."""
    out: list[DocumentResult] = []
    first: dict[str, DocumentResult] = {}
    for doc in results:
        fp = _fingerprint(doc, store) if doc.content_type == "attachment" else None
        if fp is None:
            out.append(doc)
            continue
        kept = first.get(fp)
        if kept is None:
            first[fp] = doc
            doc.places = [_place(doc)]
            out.append(doc)
        else:
            kept.places.append(_place(doc))
    for doc in first.values():
        if len(doc.places) == 1:
            doc.places = []  # nothing merged: the plain result
    return out


def newest_version(hits: list[Hit]) -> list[Hit]:
    """The hits of one result that belong to the newest version of their document.

    While a sync rewrites a document, its new chunks are written before the old ones are
    deleted, and BM25 keeps the previous version until the sync ends, so a search can find
    chunks of both; a result must show one version of a document, never a mix. (A result
    holds several documents when comments are grouped under their page: each has its own
    version.)
    """

    def version(h: Hit) -> int:
        try:
            return int(h.metadata.get("version") or 0)
        except (TypeError, ValueError):
            return 0

    def doc(h: Hit) -> tuple[object, object]:
        return h.metadata.get("content_type"), h.metadata.get("content_id")

    newest: dict[tuple[object, object], int] = {}
    for h in hits:
        newest[doc(h)] = max(newest.get(doc(h), 0), version(h))
    return [h for h in hits if version(h) == newest[doc(h)]]

"""What the MCP tools and ``GET /spaces`` do, each within one reader's permission scope.

``search``, ``fetch_document`` and ``list_spaces`` take the opened :class:`Services` and a
permission scope (``narrow`` + ``allow``, as the REST routes get from ``PermissionsDep``),
so an agent sees exactly what the same reader would see through ``/search``.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ragconf.api.deps import PermissionScope, Services
from ragconf.errors import InvalidQueryError, NotFoundError
from ragconf.index.types import SearchFilters
from ragconf.search._snippets import body_of
from ragconf.search.retrieve import Retriever, SearchResult

__all__ = [
    "MAX_DOCUMENT_CHARS",
    "fetch_document",
    "list_spaces",
    "scoped_search",
    "search",
]

#: fetch_document returns at most this much text (an agent's context is finite too)
MAX_DOCUMENT_CHARS = 60_000

_PAGE = re.compile(r"/pages/(\d+)(?:/|$)")
_BLOG = re.compile(r"/blog/(?:\d{4}/\d{2}/\d{2}/)?(\d+)(?:/|$)")
_CUSTOM = re.compile(r"/customcontent/(\d+)(?:/|$)")
_ATTACHMENT = re.compile(r"\b(att\d+)\b")
_ID = re.compile(r"^(?:att)?\d{1,20}$")


def scoped_search(
    retriever: Retriever,
    scope: PermissionScope,
    query: str,
    *,
    k: int,
    filters: SearchFilters,
    mode: str | None = None,
) -> SearchResult:
    """One search within a reader's scope, as every route and tool runs it: the scope
    narrows the filters, checks each candidate, and strikes from the breadcrumbs the
    ancestors the reader can't open."""
    res = retriever.search(
        query, k=k, filters=scope.narrow(filters), mode=mode, allow=scope.allow
    )
    scope.redact_breadcrumbs(res.results)
    return res


def search(
    services: Services, scope: PermissionScope, query: str, k: int, filters: SearchFilters
) -> dict[str, Any]:
    res = scoped_search(services.retriever, scope, query, k=k, filters=filters)
    results = []
    for d in res.results:
        item = d.to_dict()
        item.pop("snippet", None)  # the marked copy is for screens; agents get plain text
        item["snippet"] = item.pop("snippet_plain")
        for s in item["sections"]:
            s.pop("snippet", None)
            s["snippet"] = s.pop("snippet_plain")
        results.append(item)
    return {"query": res.query, "results": results}


def _target(id_or_url: str) -> str:
    """A content id from an id or a Confluence URL (page, blog post, custom content,
    attachment, ``?pageId=``)."""
    value = (id_or_url or "").strip()
    if _ID.match(value):
        return value
    if "://" not in value and not value.startswith("/"):
        raise InvalidQueryError(
            f"not a content id or a Confluence URL: {value[:100]!r}",
            hint="pass an id such as 65570 (or att65553) or the page's URL",
        )
    parts = urlsplit(value)
    path = unquote(parts.path)
    query = parse_qs(parts.query)
    preview = " ".join(query.get("preview", []))
    for pattern, text in ((_ATTACHMENT, preview), (_PAGE, path), (_BLOG, path), (_CUSTOM, path)):
        m = pattern.search(text)
        if m:
            return m.group(1)
    if query.get("pageId"):
        return query["pageId"][0]
    raise InvalidQueryError(
        f"no content id in the URL {value[:200]!r}",
        hint="use the page's own URL (…/pages/<id>/…) or its id",
    )


def fetch_document(services: Services, scope: PermissionScope, id_or_url: str) -> dict[str, Any]:
    """The indexed text of one document in reading order, with its links."""
    content_id = _target(id_or_url)
    store: Any = services.store
    ids = store.ids_for_content([content_id]).get(content_id) or []
    chunks = store.get(ids) if ids else []
    narrowed = scope.narrow(SearchFilters())
    allow = scope.allow
    visible = [c for c in chunks if narrowed.matches(c.metadata)]
    if visible and allow is not None:
        visible = visible if allow(visible[0].metadata) else []
    if not visible:
        # the same answer for "not indexed" and "not yours to see": existence is not leaked
        raise NotFoundError(
            f"no document {content_id} in the index that you may view",
            hint="search first and pass a content_id or url from the results",
        )
    visible.sort(key=lambda c: int(c.metadata.get("chunk_index", 0) or 0))
    md = visible[0].metadata
    lines: list[str] = []
    sections: list[dict[str, str]] = []
    heading = None
    for c in visible:
        path = str(c.metadata.get("heading_path") or "")
        if path and path != heading:
            lines.append(f"\n## {path.split(' › ')[-1]}")
            sections.append({"heading": path, "anchor_url": str(c.metadata.get("anchor_url", ""))})
        heading = path
        lines.append(body_of(c.text).strip())
    text = "\n".join(lines).strip()
    truncated = len(text) > MAX_DOCUMENT_CHARS
    labels = md.get("labels") or []
    if isinstance(labels, str):
        labels = [x for x in labels.split(",") if x]
    return {
        "content_id": str(md.get("content_id")),
        "content_type": md.get("content_type"),
        "title": md.get("title"),
        "space_key": md.get("space_key"),
        "labels": list(labels),
        "updated_at": md.get("updated_at"),
        "version": md.get("version"),
        "text": text[:MAX_DOCUMENT_CHARS],
        "truncated": truncated,
        "links": {
            "url": md.get("url"),
            "sections": sections,
            "parent_id": md.get("parent_id"),
        },
    }


_names: dict[str, str] = {}
_names_lock = threading.Lock()


def _space_name(services: Services, key: str) -> str | None:
    """A space's name, read from one of its chunks (cached per process)."""
    with _names_lock:
        if key in _names:
            return _names[key]
    try:
        vec = services.embedder.embed_query(key)
        hits = services.store.query(vec, 1, SearchFilters(space_keys=(key,)))
    except Exception:  # a name is a nicety; the listing works without it
        return None
    name = str(hits[0].metadata.get("space_name") or "") if hits else ""
    if name:
        with _names_lock:
            _names[key] = name
    return name or None


def list_spaces(services: Services, scope: PermissionScope) -> dict[str, Any]:
    """The indexed spaces the reader may see; chunk counts except in strict mode (where
    a count would include restricted pages)."""
    store: Any = services.store
    stats = store.stats() if hasattr(store, "stats") else {}
    by_space: dict[str, int] = dict(stats.get("by_space") or {})
    view = getattr(scope, "view", None)
    allowed = set(view.keys_by_id.values()) if view is not None else None
    strict = getattr(scope, "mode", "off") == "strict"
    spaces = []
    for key, chunks in sorted(by_space.items()):
        if not key or (allowed is not None and key not in allowed):
            continue
        item: dict[str, Any] = {"key": key, "name": _space_name(services, key)}
        if not strict:
            item["chunks"] = int(chunks)
        spaces.append(item)
    return {"spaces": spaces}

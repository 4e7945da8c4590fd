"""A small in-memory Confluence for the comment and content-tree routes (not yet simulated).

``FakeSite.handler`` answers like REST v2 (opaque cursors in ``_links.next`` and the
``Link`` header, filters kept on the next link, 404 bodies, Basic auth), so it serves an
``httpx.MockTransport`` for client tests; ``serve(site)`` puts the same handler behind a
real socket for CLI tests, which build their client from the configured URL.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

USER = "me@acme.com"
TOKEN = "s3cret-T0KEN-value"
API = "/wiki/api/v2/"
TREE_ROUTES = {
    "pages": "page",
    "folders": "folder",
    "whiteboards": "whiteboard",
    "databases": "database",
    "embeds": "embed",
}


def _stamp(n: int) -> str:
    return f"2026-03-{1 + n % 28:02d}T10:{n % 60:02d}:00.000Z"


@dataclass
class Node:
    id: str
    type: str
    title: str
    parent: str | None
    position: int
    status: str = "current"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeComment:
    id: str
    kind: str  # footer | inline
    container: tuple[str, str] | None  # ("pageId", "101")
    parent: str | None = None
    text: str = ""
    status: str = "current"
    resolution: str | None = None
    selection: str | None = None
    version: int = 1


@dataclass
class FakeSite:
    """Space ENG (id 7, homepage 100) with a mixed content tree and comment threads."""

    nodes: dict[str, Node] = field(default_factory=dict)
    comments: dict[str, FakeComment] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    #: ancestors answer at most this many (the route has no cursor), to exercise re-asking
    ancestors_cap: int = 250

    def add(self, id: str, type: str, title: str, parent: str | None, pos: int, **kw: Any) -> None:
        self.nodes[id] = Node(id, type, title, parent, pos, extra=kw)

    def comment(self, c: FakeComment) -> None:
        self.comments[c.id] = c

    # -- answering ------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401, json={"code": 401, "message": "Unauthorized"})
        path = request.url.path
        if not path.startswith(API):
            return _not_found()
        q = request.url.params
        try:
            return self._route(path[len(API) :].strip("/"), q, request.url)
        except KeyError:
            return _not_found()

    def _route(self, path: str, q: httpx.QueryParams, url: httpx.URL) -> httpx.Response:
        parts = path.split("/")
        bf = q.get("body-format")
        if parts == ["spaces"]:
            keys = q.get("keys", "ENG").split(",")
            return self._page(url, [self._space()] if "ENG" in keys else [])
        if parts[:2] == ["spaces", "7"] and len(parts) == 2:
            return httpx.Response(200, json=self._space())
        if parts == ["spaces", "7", "pages"]:
            assert q.get("depth") == "root"
            roots = [n for n in self.nodes.values() if n.type == "page" and n.parent is None]
            return self._page(url, [self._full(n) for n in roots])
        if parts[0] in TREE_ROUTES and len(parts) == 2:
            node = self.nodes[parts[1]]
            if node.type != TREE_ROUTES[parts[0]]:
                raise KeyError(parts[1])
            return httpx.Response(200, json=self._full(node))
        if parts[0] in TREE_ROUTES and len(parts) == 3 and parts[2] in _TREE_SUBS:
            node = self.nodes[parts[1]]
            if node.type != TREE_ROUTES[parts[0]]:
                raise KeyError(parts[1])
            return _TREE_SUBS[parts[2]](self, node, q, url)
        if parts[0] in ("footer-comments", "inline-comments"):
            kind = parts[0].split("-")[0]
            if len(parts) == 1:
                found = [c for c in self.comments.values() if c.kind == kind]
                return self._page(url, [self._comment(c, bf) for c in found])
            c = self.comments[parts[1]]
            if c.kind != kind:
                raise KeyError(c.id)
            if len(parts) == 2:
                return httpx.Response(200, json=self._comment(c, bf))
            if parts[2] == "children":
                kids = [k for k in self.comments.values() if k.parent == c.id]
                return self._page(url, [self._comment(k, bf) for k in kids])
        if len(parts) == 3 and parts[2] in ("footer-comments", "inline-comments"):
            key = {
                "pages": "pageId",
                "blogposts": "blogPostId",
                "attachments": "attachmentId",
                "custom-content": "customContentId",
            }[parts[0]]
            kind = parts[2].split("-")[0]
            statuses = q.get("status", "current").split(",")
            wanted = q.get("resolution-status")
            found = [
                c
                for c in self.comments.values()
                if c.kind == kind
                and c.container == (key, parts[1])
                and c.parent is None
                and c.status in statuses
                and (not wanted or c.resolution in wanted.split(","))
            ]
            return self._page(url, [self._comment(c, bf) for c in found])
        if parts[0] == "custom-content" and len(parts) == 3 and parts[1] == "3001":
            if parts[2] == "labels":
                labels = [
                    {"id": "801", "name": "team-calendar", "prefix": "global"},
                    {"id": "802", "name": "oncall", "prefix": "global"},
                ]
                return self._page(url, labels)
            if parts[2] == "children":
                kids = [
                    {
                        "id": f"300{i}",
                        "type": "ac:app:item",
                        "status": "current",
                        "title": f"Item {i}",
                        "spaceId": "7",
                    }
                    for i in (2, 3, 4)
                ]
                return self._page(url, kids)
        return _not_found()

    # -- shapes ---------------------------------------------------------------------------

    def _space(self) -> dict[str, Any]:
        return {
            "id": "7",
            "key": "ENG",
            "name": "Engineering",
            "homepageId": "100",
            "_links": {"webui": "/spaces/ENG"},
        }

    def _full(self, n: Node) -> dict[str, Any]:
        parent = self.nodes.get(n.parent or "")
        return {
            "id": n.id,
            "type": n.type,
            "status": n.status,
            "title": n.title,
            "spaceId": "7",
            "parentId": n.parent,
            "parentType": parent.type if parent else None,
            "position": n.position,
            "authorId": "acc-1",
            "ownerId": "acc-1",
            "createdAt": _stamp(int(n.id)),
            "version": {"number": 2, "createdAt": _stamp(int(n.id) + 1), "authorId": "acc-2"},
            "_links": {"webui": f"/spaces/ENG/{n.type}s/{n.id}"},
            **n.extra,
        }

    def _brief(self, n: Node, depth: int | None = None) -> dict[str, Any]:
        item = {
            "id": n.id,
            "status": n.status,
            "title": n.title,
            "type": n.type,
            "spaceId": "7",
            "childPosition": n.position,
        }
        if depth is not None:
            item.update(parentId=n.parent, depth=depth)
        return item

    def _comment(self, c: FakeComment, body_format: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": c.id,
            "status": c.status,
            "title": f"Re: {c.id}",
            "version": {
                "number": c.version,
                "createdAt": _stamp(len(c.id)),
                "authorId": "acc-3",
                "message": "",
                "minorEdit": False,
            },
            "_links": {"webui": f"/spaces/ENG/pages/101?focusedCommentId={c.id}"},
        }
        if c.container:
            item[c.container[0]] = c.container[1]
        if c.parent:
            item["parentCommentId"] = c.parent
        if body_format == "storage":
            item["body"] = {"storage": {"representation": "storage", "value": f"<p>{c.text}</p>"}}
        elif body_format is None:
            item["body"] = {}
        if c.kind == "inline":
            item["resolutionStatus"] = c.resolution
            item["properties"] = {
                "inlineMarkerRef": f"marker-{c.id}",
                "inlineOriginalSelection": c.selection,
            }
        return item

    # -- hierarchy ------------------------------------------------------------------------

    def children_of(self, id: str) -> list[Node]:
        kids = [n for n in self.nodes.values() if n.parent == id]
        return sorted(kids, key=lambda n: n.position)

    def _direct(self, node: Node, q: httpx.QueryParams, url: httpx.URL) -> httpx.Response:
        kids = self.children_of(node.id)
        if q.get("sort") == "-id":
            kids.sort(key=lambda n: -int(n.id))
        return self._page(url, [self._brief(k) for k in kids])

    def _descendants(self, node: Node, q: httpx.QueryParams, url: httpx.URL) -> httpx.Response:
        depth = int(q.get("depth", "2"))
        assert 1 <= depth <= 10, depth
        out, level, frontier = [], 1, [node]
        while frontier and level <= depth:  # top-to-bottom, as the spec says
            frontier = [k for f in frontier for k in self.children_of(f.id)]
            out.extend(self._brief(k, level) for k in frontier)
            level += 1
        return self._page(url, out)

    def _ancestors(self, node: Node, q: httpx.QueryParams, url: httpx.URL) -> httpx.Response:
        chain: list[Node] = []
        cur = self.nodes.get(node.parent or "")
        while cur is not None:
            chain.insert(0, cur)
            cur = self.nodes.get(cur.parent or "")
        cap = min(int(q.get("limit", "25")), self.ancestors_cap)
        # the nearest `cap` ancestors, highest first; no cursor on this route
        results = [{"id": a.id, "type": a.type} for a in chain[-cap:]]
        return httpx.Response(200, json={"results": results})

    # -- paging ---------------------------------------------------------------------------

    def _page(self, url: httpx.URL, items: list[dict[str, Any]]) -> httpx.Response:
        q = url.params
        limit = int(q.get("limit", "25"))
        assert 1 <= limit <= 250, limit
        cursor = q.get("cursor")
        start = json.loads(base64.urlsafe_b64decode(cursor))["offset"] if cursor else 0
        body: dict[str, Any] = {"results": items[start : start + limit], "_links": {}}
        headers = {}
        if start + limit < len(items):
            token = base64.urlsafe_b64encode(json.dumps({"offset": start + limit}).encode())
            kept = [(k, v) for k, v in q.multi_items() if k != "cursor"]
            nxt = url.copy_with(params=[*kept, ("cursor", token.decode())])
            link = f"{nxt.raw_path.decode()}"
            body["_links"]["next"] = link
            headers["Link"] = f'<{link}>; rel="next"'
        return httpx.Response(200, json=body, headers=headers)


_TREE_SUBS = {
    "direct-children": FakeSite._direct,
    "descendants": FakeSite._descendants,
    "ancestors": FakeSite._ancestors,
}


def _not_found() -> httpx.Response:
    return httpx.Response(
        404, json={"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Not Found"}]}
    )


def build_site(chain: int = 13) -> FakeSite:
    """The fake's content: a tree deeper than one descendants batch, and comment threads.

    100 Home ─┬─ 200 folder Designs ─┬─ 300 whiteboard Flow
              │                      ├─ 500 embed Figma (embedUrl)
              │                      └─ 201 folder Archive
              └─ 101 Runbooks ─┬─ 400 database Oncall
                               └─ 1000 L1 ─ 1001 L2 ─ … (a chain of ``chain`` pages)
    900 Orphan root (a second root page)
    """
    site = FakeSite()
    site.add("100", "page", "Home", None, 0)
    site.add("900", "page", "Orphan root", None, 0)
    site.add("101", "page", "Runbooks", "100", 5)
    site.add("200", "folder", "Designs", "100", 1)
    site.add("201", "folder", "Archive", "200", 9)
    site.add("300", "whiteboard", "Flow", "200", 2)
    site.add("500", "embed", "Figma", "200", 3, embedUrl="https://figma.example/f/1")
    site.add("400", "database", "Oncall", "101", 0)
    parent = "101"
    for level in range(chain):
        id = str(1000 + level)
        site.add(id, "page", f"L{level + 1}", parent, 1)
        parent = id
    for i in range(1, 8):
        site.comment(FakeComment(f"f{i}", "footer", ("pageId", "101"), text=f"footer {i}"))
    site.comment(FakeComment("f8", "footer", ("pageId", "101"), text="old", status="trashed"))
    site.comment(FakeComment("f1r1", "footer", ("pageId", "101"), parent="f1", text="reply"))
    site.comment(
        FakeComment(
            "i1",
            "inline",
            ("pageId", "101"),
            text="why?",
            resolution="open",
            selection="rate limit",
            version=3,
        )
    )
    site.comment(
        FakeComment(
            "i2", "inline", ("pageId", "101"), text="done", resolution="resolved", selection="retry"
        )
    )
    site.comment(
        FakeComment(
            "i3",
            "inline",
            ("pageId", "101"),
            text="gone",
            resolution="dangling",
            selection="old text",
        )
    )
    site.comment(
        FakeComment("i1r1", "inline", None, parent="i1", text="because", resolution="open")
    )
    site.comment(FakeComment("b1", "footer", ("blogPostId", "50"), text="nice post"))
    site.comment(
        FakeComment(
            "b2",
            "inline",
            ("blogPostId", "50"),
            text="typo",
            resolution="reopened",
            selection="teh",
        )
    )
    site.comment(FakeComment("a1", "footer", ("attachmentId", "att9"), text="see page 2"))
    site.comment(FakeComment("c1", "footer", ("customContentId", "3001"), text="moved"))
    return site


class _Handler(BaseHTTPRequestHandler):
    site: FakeSite

    def do_GET(self) -> None:
        host = self.headers.get("Host", "127.0.0.1")
        request = httpx.Request("GET", f"http://{host}{self.path}", headers=dict(self.headers))
        response = self.site.handler(request)
        body = response.content
        self.send_response(response.status_code)
        for key, value in response.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the test output is the evidence


@contextmanager
def serve(site: FakeSite) -> Iterator[str]:
    """Serve ``site`` on a free local port; yields the site URL (http://127.0.0.1:PORT)."""
    handler = type("Handler", (_Handler,), {"site": site})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # a short poll interval: shutdown() waits for it at every teardown
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def route_of(request: httpx.Request) -> str:
    """The request's path below the v2 root, e.g. ``pages/101/descendants``."""
    return re.sub(r"^/wiki/api/v2/", "", request.url.path)

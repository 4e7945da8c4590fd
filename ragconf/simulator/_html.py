"""A readable HTML view at the web UI links the API reports (``_links.webui``), so the
links that search results and the demo print open the page instead of a 404.

Served: ``/wiki/spaces/KEY/pages/ID[/Title]``, ``/wiki/spaces/KEY/blog/Y/M/D/ID/Title``,
``/wiki/spaces/KEY[/overview]``, ``/wiki/spaces/KEY/{folder,whiteboard,database,embed,
customcontent}/ID``, ``/wiki/pages/viewpageattachments.action?pageId=ID`` and tiny links
``/wiki/x/CODE``. Comment links (``…?focusedCommentId=N``) land on their page, whose
comments are shown with it.

Auth: the same Basic (or Bearer) credentials as the API, answered with what that user may
see. Without credentials the view is served as the site's first account (the admin of the
demo), a deliberate choice for a local demo whose printed links must open in a browser;
``create_app(public_html=False)`` asks for credentials instead. Wrong credentials are a
401 either way.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ragconf.simulator._app import Env, authenticate
from ragconf.simulator._model import CommentRec, ContentRec, NodeRec, User, iso_ms
from ragconf.simulator._shapes import Shaper
from ragconf.simulator._shapes_base import tiny_id, view_html

__all__ = ["register"]

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;"
          "padding:0 1rem;line-height:1.5}nav,.meta{color:#555;font-size:.9rem}"
          ".comment{border-left:3px solid #ccc;margin:.5rem 0;padding:.2rem .8rem}"
          ".reply{margin-left:1.5rem}mark{background:#fff3b0}")
_NODE_PATHS = {"folder": "folder", "whiteboard": "whiteboard", "database": "database",
               "embed": "embed"}


class _View:
    """One HTML request: who is looking, and what they may see."""

    def __init__(self, request: Request, user: User) -> None:
        env: Env = request.app.state.env
        self.site = env.site
        self.user = user
        self.vis = self.site.visible(user)
        self.shape = Shaper(self.site, f"{request.url.scheme}://{request.url.netloc}/wiki")

    def link(self, item: Any) -> str:
        return "/wiki" + self.shape.webui(item)

    def sees(self, item_id: str) -> bool:
        return self.site.can_view(self.user.email, item_id)


def _viewer(request: Request) -> User | Response:
    env: Env = request.app.state.env
    if request.headers.get("authorization"):
        user = authenticate(request, env.site)
        if user is not None:
            return user
    elif env.public_html and env.site.users:
        return next(iter(env.site.users.values()))
    return Response("Authentication required.", status_code=401, media_type="text/plain",
                    headers={"WWW-Authenticate": 'Basic realm="Confluence"'})


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{escape(title)}"
        f"</title><style>{_STYLE}</style></head><body>{body}</body></html>", status_code=status)


def _missing() -> HTMLResponse:
    return _page("Page not found", "<h1>Page not found</h1><p>It does not exist, or you may "
                 "not see it.</p>", 404)


def _crumbs(view: _View, item: ContentRec | NodeRec) -> str:
    space = view.site.spaces.get(item.space_id)
    parts = [f'<a href="/wiki/spaces/{escape(space.key)}">{escape(space.name)}</a>'] if (
        space is not None) else []
    chain = []
    current = view.site.tree_item(item.parent_id) if item.kind != "blogpost" else None
    while current is not None:
        chain.append(current)
        current = view.site.tree_item(current.parent_id)
    parts += [f'<a href="{escape(view.link(c))}">{escape(c.title)}</a>' for c in chain[::-1]]
    return "<nav>" + " / ".join(parts) + "</nav>"


def _children(view: _View, item_id: str) -> str:
    kids = [view.site.tree_item(i) for i in view.site.derived().children.get(item_id, ())]
    shown = [k for k in kids if k is not None and view.sees(k.id) and k.status != "trashed"]
    if not shown:
        return ""
    rows = "".join(f'<li><a href="{escape(view.link(k))}">{escape(k.title)}</a> '
                   f'<span class="meta">({view.site.tree_type(k.id)})</span></li>'
                   for k in shown)
    return f"<h2>Child pages</h2><ul>{rows}</ul>"


def _comment(view: _View, rec: CommentRec, replies: dict[str, list[CommentRec]]) -> str:
    author = next((u.display_name for u in view.site.users.values()
                   if u.account_id == rec.author_id), rec.author_id)
    head = f"{escape(author)}, {iso_ms(rec.modified_at)[:10]}"
    if rec.kind == "inline" and rec.parent_id is None:
        head += (f" — on <mark>{escape(rec.selection or '')}</mark> "
                 f"({view.site.resolution_of(rec)})")
    inner = "".join(_comment(view, r, replies) for r in replies.get(rec.id, ()))
    cls = "comment reply" if rec.parent_id else "comment"
    return (f'<div class="{cls}" id="comment-{rec.id}"><div class="meta">{head}</div>'
            f"{view_html(rec.body)}{inner}</div>")


def _comments(view: _View, container_ids: set[str]) -> str:
    mine = sorted((c for c in view.site.comments.values()
                   if c.container_id in container_ids and c.id in view.vis.comments),
                  key=lambda c: int(c.id))
    if not mine:
        return ""
    replies: dict[str, list[CommentRec]] = {}
    for c in mine:
        if c.parent_id is not None:
            replies.setdefault(c.parent_id, []).append(c)
    roots = [c for c in mine if c.parent_id is None]
    return "<h2>Comments</h2>" + "".join(_comment(view, c, replies) for c in roots)


def _content_page(view: _View, rec: ContentRec) -> HTMLResponse:
    labels = ", ".join(escape(view.site.labels[i].name) for i in rec.label_ids)
    atts = [a for a in view.site.attachments.values()
            if a.container_id == rec.id and a.id in view.vis.attachments]
    att_html = "".join(
        f'<li><a href="/wiki{escape(view.shape.download_link(a))}">{escape(a.title)}</a></li>'
        for a in atts)
    meta = (f'<p class="meta">Version {rec.version}, updated {iso_ms(rec.modified_at)[:10]}'
            f"{' — ' + rec.status if rec.status != 'current' else ''}"
            f"{' — labels: ' + labels if labels else ''}</p>")
    body = (_crumbs(view, rec) + f"<h1>{escape(rec.title)}</h1>{meta}{view_html(rec.body)}"
            + (f"<h2>Attachments</h2><ul>{att_html}</ul>" if att_html else "")
            + _children(view, rec.id)
            + _comments(view, {rec.id, *(a.id for a in atts)}))
    return _page(rec.title, body)


def register(r: APIRouter) -> None:
    def content(request: Request, content_id: str, kinds: tuple[str, ...]) -> Response:
        user = _viewer(request)
        if isinstance(user, Response):
            return user
        view = _View(request, user)
        try:
            rec = view.site.content(content_id)
        except KeyError:
            return _missing()
        if rec.kind not in kinds or not view.sees(rec.id):
            return _missing()
        return _content_page(view, rec)

    @r.get("/wiki/spaces/{key}/pages/{page_id}", include_in_schema=False)
    def page(request: Request, key: str, page_id: str) -> Response:
        return content(request, page_id, ("page",))

    @r.get("/wiki/spaces/{key}/pages/{page_id}/{title:path}", include_in_schema=False)
    def titled_page(request: Request, key: str, page_id: str, title: str) -> Response:
        return content(request, page_id, ("page",))

    @r.get("/wiki/spaces/{key}/blog/{rest:path}", include_in_schema=False)
    def blog(request: Request, key: str, rest: str) -> Response:
        # /blog/YYYY/MM/DD/ID/Title: the id is the last all-digit segment after the date
        numbers = [part for part in rest.split("/")[3:] if part.isdigit()]
        return content(request, numbers[0] if numbers else "", ("blogpost",))

    @r.get("/wiki/spaces/{key}/customcontent/{content_id}", include_in_schema=False)
    def custom(request: Request, key: str, content_id: str) -> Response:
        return content(request, content_id, ("custom_content",))

    @r.get("/wiki/spaces/{key}/{kind}/{node_id}", include_in_schema=False)
    def node(request: Request, key: str, kind: str, node_id: str) -> Response:
        user = _viewer(request)
        if isinstance(user, Response):
            return user
        view = _View(request, user)
        rec = view.site.nodes.get(node_id)
        if rec is None or _NODE_PATHS.get(kind) != rec.kind or not view.sees(rec.id):
            return _missing()
        extra = (f'<p><a href="{escape(rec.embed_url)}">{escape(rec.embed_url)}</a></p>'
                 if rec.embed_url else "")
        return _page(rec.title, _crumbs(view, rec) + f"<h1>{escape(rec.title)}</h1>"
                     f'<p class="meta">{rec.kind}</p>{extra}{_children(view, rec.id)}')

    @r.get("/wiki/spaces/{key}", include_in_schema=False)
    @r.get("/wiki/spaces/{key}/overview", include_in_schema=False)
    def space(request: Request, key: str) -> Response:
        user = _viewer(request)
        if isinstance(user, Response):
            return user
        view = _View(request, user)
        found = next((s for s in view.site.spaces.values() if s.key == key), None)
        if found is None or found.id not in view.vis.spaces:
            return _missing()
        roots = [view.site.tree_item(i) for i in view.site.derived().roots.get(found.id, ())]
        items = "".join(f'<li><a href="{escape(view.link(x))}">{escape(x.title)}</a></li>'
                        for x in roots if x is not None and view.sees(x.id)
                        and x.status != "trashed")
        return _page(found.name, f"<h1>{escape(found.name)}</h1>"
                     f"<p>{escape(found.description)}</p><ul>{items}</ul>")

    @r.get("/wiki/pages/viewpageattachments.action", include_in_schema=False)
    def attachments(request: Request) -> Response:
        return content(request, request.query_params.get("pageId", ""),
                       ("page", "blogpost", "custom_content"))

    @r.get("/wiki/x/{code}", include_in_schema=False)
    def tiny(request: Request, code: str) -> Response:
        user = _viewer(request)
        if isinstance(user, Response):
            return user
        view = _View(request, user)
        target = tiny_id(code)
        try:
            rec = view.site.content(target or "")
        except KeyError:
            return _missing()
        if not view.sees(rec.id):
            return _missing()
        return RedirectResponse(view.link(rec), status_code=302)

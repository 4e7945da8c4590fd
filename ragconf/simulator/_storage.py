"""Builders for Confluence storage-format markup (the XHTML dialect with ac:/ri: tags).

They write exactly what the Cloud editor stores (see storage-samples/), so corpora stay
short to write and always well-formed.

>>> p("Deploy with ", status("CAUTION", "Yellow")).startswith('<p>Deploy with <ac:structured')
True
>>> p(esc("a < b"))
'<p>a &lt; b</p>'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "anchor", "attachment_link", "children", "code", "emoticon", "esc", "expand", "h",
    "image", "include", "jira", "layout", "mention", "ol", "p", "page_link", "panel",
    "status", "table", "task_list", "time", "toc", "ul",
]


def esc(text: str) -> str:
    return escape(text)


def _macro_id(*parts: str) -> str:
    d = hashlib.sha1("|".join(parts).encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


def _macro(name: str, params: dict[str, str], body: str = "", *, plain: bool = False) -> str:
    head = (f'<ac:structured-macro ac:name="{name}" ac:schema-version="1" '
            f'ac:macro-id="{_macro_id(name, repr(sorted(params.items())), body)}">')
    inner = "".join(f'<ac:parameter ac:name="{k}">{escape(v)}</ac:parameter>'
                    for k, v in params.items())
    if body:
        if plain:
            inner += f"<ac:plain-text-body><![CDATA[{body}]]></ac:plain-text-body>"
        else:
            inner += f"<ac:rich-text-body>{body}</ac:rich-text-body>"
    return head + inner + "</ac:structured-macro>"


def p(*parts: str) -> str:
    return "<p>" + "".join(parts) + "</p>"


def h(level: int, text: str) -> str:
    return f"<h{level}>{escape(text)}</h{level}>"


def ul(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def ol(items: Iterable[str]) -> str:
    return "<ol>" + "".join(f"<li>{i}</li>" for i in items) + "</ol>"


def code(source: str, language: str = "", *, title: str | None = None) -> str:
    params = {"language": language, "linenumbers": "false"}
    if title:
        params["title"] = title
    return _macro("code", params, source.strip("\n"), plain=True)


def panel(kind: str, body: str, *, title: str | None = None) -> str:
    """kind: info | note | warning | tip."""
    return _macro(kind, {"title": title} if title else {}, body)


def status(title: str, colour: str = "Grey") -> str:
    return _macro("status", {"colour": colour, "title": title})


def expand(title: str, body: str) -> str:
    return _macro("expand", {"title": title}, body)


def toc() -> str:
    return _macro("toc", {"maxLevel": "3", "style": "default"})


def children() -> str:
    return _macro("children", {"all": "true"})


def anchor(name: str) -> str:
    return _macro("anchor", {"": name})


def jira(key: str) -> str:
    server_id = "b7e4c7a0-1f2d-3c4b-9a8e-5d6f7a8b9c0d"
    return _macro("jira", {"server": "Larkspur Jira", "serverId": server_id, "key": key})


def page_link(title: str, text: str | None = None, *, space_key: str | None = None) -> str:
    space = f" ri:space-key={quoteattr(space_key)}" if space_key else ""
    body = (f"<ac:plain-text-link-body><![CDATA[{text}]]></ac:plain-text-link-body>"
            if text else "")
    return f"<ac:link><ri:page ri:content-title={quoteattr(title)}{space} />{body}</ac:link>"


def include(title: str, *, space_key: str | None = None) -> str:
    space = f" ri:space-key={quoteattr(space_key)}" if space_key else ""
    link = f"<ac:link><ri:page ri:content-title={quoteattr(title)}{space} /></ac:link>"
    return (f'<ac:structured-macro ac:name="include" ac:schema-version="1" '
            f'ac:macro-id="{_macro_id("include", title)}">'
            f'<ac:parameter ac:name="">{link}</ac:parameter></ac:structured-macro>')


def attachment_link(filename: str, text: str) -> str:
    return (f"<ac:link><ri:attachment ri:filename={quoteattr(filename)} />"
            f"<ac:plain-text-link-body><![CDATA[{text}]]></ac:plain-text-link-body></ac:link>")


def image(filename: str, alt: str, width: int = 600) -> str:
    return (f'<ac:image ac:align="center" ac:layout="center" ac:width="{width}" '
            f"ac:alt={quoteattr(alt)}><ri:attachment ri:filename={quoteattr(filename)} />"
            f"<ac:caption><p>{escape(alt)}</p></ac:caption></ac:image>")


def mention(account_id: str) -> str:
    return f'<ac:link><ri:user ri:account-id="{account_id}" /></ac:link>'


def emoticon(name: str) -> str:
    return f'<ac:emoticon ac:name="{name}" />'


def time(day: str) -> str:
    """``<time datetime="2026-05-20" />`` (a date picker value; tasks take it as due date)."""
    return f'<time datetime="{day}" />'


def task_list(tasks: Sequence[tuple[int, bool, str]]) -> str:
    """(task id, done?, body) triples -> ``<ac:task-list>``."""
    items = "".join(
        f"<ac:task><ac:task-id>{tid}</ac:task-id>"
        f"<ac:task-uuid>{_macro_id('task', str(tid), body)}</ac:task-uuid>"
        f"<ac:task-status>{'complete' if done else 'incomplete'}</ac:task-status>"
        f"<ac:task-body>{body}</ac:task-body></ac:task>"
        for tid, done, body in tasks
    )
    return f"<ac:task-list>{items}</ac:task-list>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th><p><strong>{c}</strong></p></th>" for c in headers)
    body = "".join("<tr>" + "".join(f"<td><p>{c}</p></td>" for c in row) + "</tr>"
                   for row in rows)
    return (f'<table data-layout="default" data-table-width="760"><tbody><tr>{head}</tr>'
            f"{body}</tbody></table>")


def layout(*sections: tuple[str, Sequence[str]]) -> str:
    """(section type, cells) pairs, e.g. ("two_equal", [left, right])."""
    out = "".join(
        f'<ac:layout-section ac:type="{kind}">'
        + "".join(f"<ac:layout-cell>{cell}</ac:layout-cell>" for cell in cells)
        + "</ac:layout-section>"
        for kind, cells in sections
    )
    return f"<ac:layout>{out}</ac:layout>"

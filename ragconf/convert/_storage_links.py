"""Links, mentions and images in storage format (private helper of convert.py).

What a reader sees of a reference is what we keep: a link's text, else the page title,
space key, "@Display Name" or URL; an attachment link's text and file name; an image's
alt text or caption and its file name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ragconf.convert._storage_parse import attr, collapse, finish, qname, text_of

if TYPE_CHECKING:
    from ragconf.convert._storage_render import Renderer

__all__ = ["ac_link", "image", "mention"]


def mention(users: Mapping[str, str], user: Any) -> str:
    """A user reference as "@Display Name"; never a raw account id ("@user" if unknown)."""
    for key in ("ri:account-id", "ri:userkey", "ri:username"):
        value = attr(user, key)
        if value and value in users:
            return "@" + collapse(users[value]).strip()
    username = attr(user, "ri:username")  # Server usernames are names people chose
    return f"@{username}" if username else "@user"


def ac_link(r: Renderer, el: Any) -> str:
    body = ""
    target: Any = None
    for node in el.iterdescendants():
        name = qname(node)
        if name == "ac:link-body" and not body:
            out: list[str] = []
            r.inline_into(node, out)
            body = finish("".join(out)).replace("\n", " ")
        elif name == "ac:plain-text-link-body" and not body:
            body = collapse(text_of(node)).strip()
        elif name.startswith("ri:") and target is None:
            target = node
    kind = qname(target) if target is not None else ""
    if kind == "ri:attachment":
        filename = attr(target, "ri:filename").strip()
        if body and filename and body != filename:
            return f"{body} ({filename})"
        return body or filename
    if body:
        return body
    if kind == "ri:user":
        return mention(r.users, target)
    if kind in ("ri:page", "ri:blog-post"):
        return collapse(attr(target, "ri:content-title")).strip()
    if kind == "ri:space":
        return attr(target, "ri:space-key").strip()
    if kind == "ri:url":
        return attr(target, "ri:value").strip()
    return collapse(attr(el, "ac:anchor")).strip()


def image(r: Renderer, el: Any, name: str) -> str:
    """``![alt](file)`` (alt from ac:alt, title or caption); padded with spaces."""
    caption = ""
    if name == "img":
        label = collapse(el.get("alt") or el.get("title") or "").strip()
        source = _basename(el.get("src") or "")
    else:
        label = collapse(attr(el, "ac:alt") or attr(el, "ac:title")).strip()
        source = ""
        for child in el:
            cname = qname(child)
            if cname == "ri:attachment":
                source = attr(child, "ri:filename").strip()
            elif cname == "ri:url":
                source = _basename(attr(child, "ri:value"))
            elif cname == "ac:caption":
                caption = finish(r.plain_text(child)).replace("\n", " ")
        label = label or caption
    if r.plain:
        text = label or source
    elif source:
        alt = label.replace("[", "\\[").replace("]", "\\]")
        target = f"<{source}>" if " " in source or ")" in source else source
        text = f"![{alt}]({target})"
    else:
        text = label
    if caption and caption != label:
        text = f"{text} {caption}"
    return f" {text} " if text else ""


def _basename(url: str) -> str:
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return ""
    return unquote(path.rsplit("/", 1)[-1]).strip()

"""Confluence macros and ADF extensions as Markdown (private helper of convert.py).

Rules: a macro's parameters never reach the text, with a few deliberate exceptions where a
parameter *is* the visible content (status title, Jira issue key, code language, panel and
expand titles, the page an include macro pulls in). Bodies are kept: rich-text bodies as
blocks, plain-text bodies as fenced code. Macros without a body (toc, children, gliffy …)
render nothing.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ragconf.convert._storage_parse import Block, attr, qname, text_of

if TYPE_CHECKING:
    from ragconf.convert._storage_render import Renderer

__all__ = [
    "adf_blocks",
    "anchor_macro_name",
    "code_block",
    "inline_macro_text",
    "is_block_macro",
    "macro_blocks",
]

#: Macros whose content sits inside a line of text.
INLINE_MACROS = frozenset(
    {"status", "jira", "anchor", "emoticon", "mention", "span", "color", "highlight",
     "tooltip", "footnote", "cite", "lozenge", "link", "viewfile", "profile-picture",
     "unmigrated-inline-wiki-markup", "sub", "sup", "strikethrough", "underline"}
)  # fmt: skip
CODE_MACROS = frozenset({"code", "noformat", "code-block", "sourcecode"})
#: Plain-text-body macros whose name is also a fence language.
LANGUAGE_MACROS = frozenset({"html", "sql", "plantuml", "mermaid", "json", "xml", "yaml", "csv"})
INCLUDE_MACROS = frozenset({"include", "excerpt-include", "include-page", "multiexcerpt-include"})
ADMONITIONS = {
    "info": "Info",
    "note": "Note",
    "warning": "Warning",
    "tip": "Tip",
    "error": "Error",
    "success": "Success",
}
#: Macros whose ``title`` parameter is shown to readers.
TITLED = frozenset({"panel", "expand", "ui-expand", "ui-tab", "info", "note", "warning", "tip",
                    "deck", "card", "tab", "collapse", "aui-expander"})  # fmt: skip
_LANG_CHARS = re.compile(r"[^\w+#.-]")
_DEFAULT_EXPAND_TITLES = frozenset({"", "click here to expand...", "click here to expand…"})


def macro_name(el: Any) -> str:
    return attr(el, "ac:name").strip().lower()


def _child(el: Any, name: str) -> Any:
    for child in el:
        if qname(child) == name:
            return child
    return None


def _param_el(el: Any, name: str) -> Any:
    for child in el:
        cname = qname(child)
        if cname == "ac:parameter" and attr(child, "ac:name") == name:
            return child
        if cname == "ac:default-parameter" and name == "":
            return child
    return None


def param(el: Any, name: str) -> str:
    node = _param_el(el, name)
    return " ".join(text_of(node).split()) if node is not None else ""


def is_block_macro(el: Any) -> bool:
    name = macro_name(el)
    if name in INLINE_MACROS:
        return False
    if name in CODE_MACROS or name in INCLUDE_MACROS:
        return True
    # Unknown macros: a body makes it a block; a bodiless one (toc, gliffy) renders nothing.
    return _child(el, "ac:rich-text-body") is not None or (
        _child(el, "ac:plain-text-body") is not None
    )


def anchor_macro_name(el: Any) -> str | None:
    """The name of the first anchor macro inside ``el`` (an explicit heading anchor)."""
    for node in el.iterdescendants():
        if qname(node) in ("ac:structured-macro", "ac:macro") and macro_name(node) == "anchor":
            name = param(node, "")
            if name:
                return name
    return None


def code_block(code: str, language: str) -> Iterator[Block]:
    """A fenced code block, longer fence when the code itself contains backtick fences."""
    code = textwrap.dedent(code.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in code.split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return
    body = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    lang = _LANG_CHARS.sub("", language.strip().lower())[:32]
    yield Block("code", f"{fence}{lang}\n{body}\n{fence}")


def _include_text(el: Any) -> str:
    target = _param_el(el, "")
    if target is None:
        return ""
    for node in target.iter():
        if qname(node) in ("ri:page", "ri:blog-post"):
            title = " ".join(attr(node, "ri:content-title").split())
            return f"(includes: {title})" if title else ""
    return ""


def _labelled(blocks: Iterable[Block], label: str, title: str) -> Iterator[Block]:
    """Body blocks, with a title line and/or a "**Note:**" label merged into the first one."""
    it = iter(blocks)
    first = next(it, None)
    if first is None:
        return
    if title:
        yield Block("p", f"**{title}**")
    if label:
        if first.kind == "p":
            first = Block("p", f"{label} {first.text}")
        else:
            yield Block("p", label)
    yield first
    yield from it


def macro_blocks(r: Renderer, el: Any) -> Iterator[Block]:
    name = macro_name(el)
    if name in CODE_MACROS:
        body = _child(el, "ac:plain-text-body")
        if body is None:
            body = _child(el, "ac:rich-text-body")
        title = param(el, "title")
        code = list(code_block(text_of(body), param(el, "language"))) if body is not None else []
        if code and title:
            yield Block("p", f"**{title}**")
        yield from code
        return
    if name in INCLUDE_MACROS:
        text = _include_text(el)
        if text:
            yield Block("p", text)
        return
    if name in INLINE_MACROS:
        text = inline_macro_text(r, el).strip()
        if text:
            yield Block("p", text)
        return
    title = param(el, "title") if name in TITLED else ""
    if title.lower() in _DEFAULT_EXPAND_TITLES:
        title = ""
    label = f"**{ADMONITIONS[name]}:**" if name in ADMONITIONS and not title else ""
    body = _child(el, "ac:rich-text-body")
    if body is not None:
        yield from _labelled(r.blocks(body), label, title)
        return
    plain = _child(el, "ac:plain-text-body")
    if plain is not None:
        language = param(el, "language") or (name if name in LANGUAGE_MACROS else "")
        yield from _labelled(code_block(text_of(plain), language), "", title)


def inline_macro_text(r: Renderer, el: Any) -> str:
    name = macro_name(el)
    if name == "status":
        return param(el, "title")
    if name == "jira":
        return param(el, "key")
    if name in INCLUDE_MACROS:
        return _include_text(el)
    body = _child(el, "ac:rich-text-body")
    if body is not None:
        out: list[str] = []
        r.inline_into(body, out)
        return "".join(out)
    plain = _child(el, "ac:plain-text-body")
    if plain is not None:
        text = " ".join(text_of(plain).split())
        if name in CODE_MACROS and text and not r.plain:
            return f"`{text}`" if "`" not in text else f"`` {text} ``"
        return text
    return ""


# ---------------------------------------------------------------------------- ADF
_PANEL_TYPES = {"info": "Info", "note": "Note", "warning": "Warning", "error": "Error",
                "success": "Success", "tip": "Tip"}  # fmt: skip


def _adf_attrs(node: Any) -> dict[str, str]:
    return {
        (child.get("key") or ""): " ".join(text_of(child).split())
        for child in node
        if qname(child) == "ac:adf-attribute"
    }


def _adf_node_blocks(r: Renderer, node: Any) -> Iterator[Block]:
    kind = (node.get("type") or "").lower()
    attrs = _adf_attrs(node)
    if kind == "decision-list":
        items = []
        for item in node:
            if qname(item) != "ac:adf-node":
                continue
            content = _child(item, "ac:adf-content")
            text = r.block_text(content) if content is not None else ""
            if text:
                state = _adf_attrs(item).get("state", "").upper()
                prefix = "Decision:" if state == "DECIDED" else "Undecided:"
                items.append(f"- {prefix} " + text.replace("\n", "\n  "))
        if items:
            yield Block("list", "\n".join(items))
        return
    parts: list[Block] = []
    for child in node:
        cname = qname(child)
        if cname == "ac:adf-content":
            parts.extend(r.blocks(child))
        elif cname == "ac:adf-node":
            parts.extend(_adf_node_blocks(r, child))
    label = ""
    if kind == "panel":
        label_name = _PANEL_TYPES.get(attrs.get("panel-type", "").lower())
        label = f"**{label_name}:**" if label_name else ""
    yield from _labelled(parts, label, "")


def adf_blocks(r: Renderer, el: Any) -> Iterator[Block]:
    """``ac:adf-extension``: the ADF node's own content, else its storage fallback."""
    blocks: list[Block] = []
    for child in el:
        if qname(child) == "ac:adf-node":
            blocks.extend(_adf_node_blocks(r, child))
    if not any(b.text for b in blocks):
        fallback = _child(el, "ac:adf-fallback")
        if fallback is not None:
            blocks = list(r.blocks(fallback))
    yield from blocks

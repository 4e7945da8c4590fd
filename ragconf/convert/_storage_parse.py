"""Parsing Confluence storage format robustly (private helper of ``convert.py``).

Storage format is an XHTML fragment with ``ac:``/``ri:`` elements, no root element, no
namespace declarations and HTML named entities (``&nbsp;``) that XML does not know. Real
pages are mostly well formed, but pasted content, old editors and hand-written macros
produce unclosed tags, stray end tags and junk bytes. The strategy, cheapest first:

1. clean the text (drop characters XML forbids, turn HTML entities into characters,
   escape bare ``&`` and ``<``, self-close HTML void tags) outside CDATA sections;
2. parse with lxml's recovering XML parser inside a root that declares the namespaces;
3. only if that parser reported structural errors, also parse with lxml's HTML parser
   (after turning CDATA into text) and keep whichever kept the text;
4. the caller falls back to :func:`strip_tags` if everything else failed.

Element names are normalised by :func:`qname` to ``"ac:structured-macro"``, ``"p"`` … so
the renderer works the same on both parsers' trees.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.entities import html5
from typing import Any

from lxml import etree

__all__ = [
    "Block",
    "attr",
    "collapse",
    "finish",
    "parse_storage",
    "qname",
    "strip_tags",
    "text_of",
]

NAMESPACES = {
    "ac": "http://atlassian.com/content",
    "ri": "http://atlassian.com/resource/identifier",
    "at": "http://atlassian.com/template",
}
_PREFIX_OF = {uri: prefix for prefix, uri in NAMESPACES.items()}
_ROOT = "ragconf-storage-root"
_OPEN = (
    f"<{_ROOT} " + " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items()) + ">"
)
_CLOSE = f"</{_ROOT}>"

# Characters XML 1.0 forbids (controls, lone surrogates, U+FFFE/FFFF): they make lxml stop.
_INVALID_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|\Z)", re.DOTALL)
_PLAIN_BODY_END = re.compile(r"</ac:plain-text-(?:link-)?body\s*>")
_ENTITY = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([A-Za-z][A-Za-z0-9]{0,40}));|&")
# '<' that cannot start markup is text ("a < b"); XML would drop what follows it.
_BARE_LT = re.compile(r"<(?![A-Za-z_/?]|!--|!\[CDATA\[)")
_DOCTYPE_OR_PI = re.compile(r"<!DOCTYPE[^>]*>|<\?.*?(?:\?>|\Z)", re.IGNORECASE | re.DOTALL)
_VOID = "br|hr|img|col|input|meta|link|wbr|area|base|param|source|track|embed"
_VOID_OPEN = re.compile(rf"<({_VOID})\b((?:[^<>\"']|\"[^\"]*\"|'[^']*')*?)(?<!/)>", re.IGNORECASE)
_VOID_CLOSE = re.compile(rf"</(?:{_VOID})\s*>", re.IGNORECASE)
_SELF_CLOSING = re.compile(r"<([A-Za-z][\w:.-]*)((?:[^<>\"']|\"[^\"]*\"|'[^']*')*?)/>")
_XML_PREDEFINED = frozenset({"amp", "lt", "gt", "quot", "apos"})

_name_cache: dict[str, str] = {}
_WS = re.compile(r"[\s\u200b\ufeff]+")
_SPACES = re.compile(r" {2,}")


@dataclass(frozen=True)
class Block:
    """One unit of rendered output.

    kind: "p" (a paragraph), "list", "quote", "heading", "table" or "code"; the first three
    are prose that the converter keeps together in a text section.
    """

    kind: str
    text: str
    level: int = 0
    anchor: str | None = None


def qname(el: Any) -> str:
    """``"ac:task"``, ``"p"`` …; ``""`` for comments, processing instructions and entities."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    name = _name_cache.get(tag)
    if name is None:
        if tag.startswith("{"):
            uri, _, local = tag[1:].partition("}")
            prefix = _PREFIX_OF.get(uri)
            name = f"{prefix}:{local}" if prefix else local
        else:
            name = tag
        name = name.lower()
        if len(_name_cache) < 20_000:  # bounded: junk input can invent many tag names
            _name_cache[tag] = name
    return name


def attr(el: Any, name: str) -> str:
    """Attribute by prefixed name (``"ac:name"``) on either parser's tree; ``""`` if absent."""
    prefix, sep, local = name.partition(":")
    if sep and prefix in NAMESPACES:
        value = el.get(f"{{{NAMESPACES[prefix]}}}{local}")
        if value is None:
            value = el.get(name)
    else:
        value = el.get(name)
    return value or ""


_HIDDEN = frozenset({"ac:parameter", "ac:default-parameter", "ac:placeholder", "script", "style"})


def text_of(el: Any) -> str:
    """The visible text below ``el`` (CDATA included, macro parameters not), without its tail.

    Iterative, so arbitrarily deep trees cannot hit Python's recursion limit.
    """
    out: list[str] = [el.text] if el.text else []
    stack: list[Any] = list(reversed(el))
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        if item.tail:
            stack.append(item.tail)  # after the element's own content
        name = qname(item)
        if not name or name in _HIDDEN:
            continue  # comments, processing instructions, parameters: only the tail counts
        if item.text:
            out.append(item.text)
        stack.extend(reversed(item))
    return "".join(out)


def collapse(text: str) -> str:
    """HTML whitespace rules: any run of whitespace (NBSP included) is one space."""
    return _WS.sub(" ", text)


def finish(text: str) -> str:
    """Tidy rendered inline text: single spaces, no spaces around line breaks."""
    text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _valid_codepoint(cp: int) -> bool:
    return (
        cp in (0x9, 0xA, 0xD)
        or 0x20 <= cp <= 0xD7FF
        or 0xE000 <= cp <= 0xFFFD
        or (0x10000 <= cp <= 0x10FFFF)
    )


def _entity(m: re.Match[str]) -> str:
    dec, hexa, name = m.group(1), m.group(2), m.group(3)
    if dec is not None or hexa is not None:
        cp = int(dec) if dec is not None else int(hexa, 16)
        return f"&#{cp};" if _valid_codepoint(cp) else ""
    if name is None:
        return "&amp;"  # a bare '&' ("R&D")
    if name in _XML_PREDEFINED:
        return m.group(0)
    value = html5.get(name + ";")
    if value is None:
        return f"&amp;{name};"  # not an entity: keep it as the text the author typed
    return html.escape(value, quote=False)


def _clean_markup(part: str) -> str:
    part = _DOCTYPE_OR_PI.sub("", part)
    if "&" in part:
        part = _ENTITY.sub(_entity, part)
    if "<" in part:
        part = _BARE_LT.sub("&lt;", part)
        part = _VOID_CLOSE.sub("", part)
        part = _VOID_OPEN.sub(r"<\1\2/>", part)
    return part


def clean(source: str) -> str:
    """Make a storage fragment acceptable to an XML parser without touching CDATA bodies."""
    source = _INVALID_CHARS.sub("", source)
    out: list[str] = []
    pos = 0
    while True:
        start = source.find("<![CDATA[", pos)
        if start < 0:
            out.append(_clean_markup(source[pos:]))
            return "".join(out)
        out.append(_clean_markup(source[pos:start]))
        body = start + len("<![CDATA[")
        end = source.find("]]>", body)
        if end >= 0:
            out.append(source[start : end + 3])
            pos = end + 3
            continue
        # Unterminated: it ends where its plain-text body ends; with no such end tag the
        # marker itself is the junk, and what follows is parsed as markup.
        close = _PLAIN_BODY_END.search(source, body)
        if close is None:
            pos = body
        else:
            out.append(f"<![CDATA[{source[body : close.start()]}]]>")
            pos = close.start()


def _has_structural_errors(log: Any) -> bool:
    # Undeclared namespace prefixes are harmless (the element keeps its name); anything
    # from the PARSER domain may have dropped or misplaced content.
    return any(e.domain_name == "PARSER" for e in log)


def _text_size(root: Any) -> int:
    return sum(len(t.strip()) for t in root.itertext() if isinstance(t, str))


def _parse_xml(cleaned: str) -> tuple[Any, bool]:
    parser = etree.XMLParser(
        recover=True,
        resolve_entities=False,
        no_network=True,
        remove_pis=True,
        remove_comments=True,
        huge_tree=False,
    )
    data = (_OPEN + cleaned + _CLOSE).encode("utf-8")
    root = etree.fromstring(data, parser)
    return root, _has_structural_errors(parser.error_log)


def _parse_html(cleaned: str) -> Any:
    # The HTML parser knows neither CDATA nor self-closing syntax for unknown elements.
    text = _CDATA.sub(lambda m: html.escape(m.group(1), quote=False), cleaned)
    text = _SELF_CLOSING.sub(
        lambda m: (
            m.group(0)
            if m.group(1).lower() in _VOID.split("|")
            else f"<{m.group(1)}{m.group(2)}></{m.group(1)}>"
        ),
        text,
    )
    parser = etree.HTMLParser(
        recover=True, no_network=True, remove_comments=True, remove_pis=True, encoding="utf-8"
    )
    doc = etree.fromstring(("<html><body>" + text + "</body></html>").encode("utf-8"), parser)
    if doc is None:
        return None
    body = doc.find("body")
    return body if body is not None else doc


def parse_storage(source: str) -> tuple[Any | None, bool]:
    """Parse a storage fragment into an element whose children are the page's top level.

    Returns (root, damaged): root is None when no parser produced a tree; damaged says
    the XML parser reported broken structure (the caller then checks that the rendered
    text did not lose much against :func:`strip_tags`).
    """
    cleaned = clean(source)
    xml_root: Any = None
    try:
        xml_root, broken = _parse_xml(cleaned)
    except (etree.LxmlError, ValueError):
        xml_root = None
    if xml_root is not None and not broken:
        return xml_root, False
    try:
        html_root = _parse_html(cleaned)
    except (etree.LxmlError, ValueError):
        html_root = None
    if html_root is None or xml_root is None:
        return (html_root if xml_root is None else xml_root), True
    # The XML parser reported broken structure: its recovery can silently drop everything
    # after a stray end tag or turn a bad attribute into text, while libxml2's HTML parser
    # was built for tag soup. Keep the XML tree only if the HTML one lost much of the text.
    return (html_root if _text_size(html_root) >= 0.8 * _text_size(xml_root) else xml_root), True


_STRIP_DROP = re.compile(
    r"<ac:parameter\b.*?</ac:parameter>|<(script|style)\b.*?</\1\s*>|<!--.*?(?:-->|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_STRIP_BLOCK = re.compile(
    r"</?(?:p|div|h[1-6]|li|tr|table|ul|ol|br|pre|blockquote|ac:task|ac:layout-cell)\b[^>]*>",
    re.IGNORECASE,
)
_STRIP_TAG = re.compile(r"<[^>]*>")


def strip_tags(source: str) -> str:
    """Last resort: text of a fragment no parser could handle, one paragraph per block tag."""
    text = _INVALID_CHARS.sub("", source)
    text = _CDATA.sub(lambda m: html.escape(m.group(1), quote=False), text)
    text = _STRIP_DROP.sub(" ", text)
    text = _STRIP_BLOCK.sub("\n\n", text)
    text = _STRIP_TAG.sub(" ", text)
    text = html.unescape(text)
    paragraphs = (" ".join(p.split()) for p in text.split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)

"""A folder of HTML files as a Confluence site: each ``*.html`` file becomes a page."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from ragconf.simulator._site import Site

__all__ = ["html_site"]

_DROP = ("script", "style", "noscript", "iframe", "object", "embed")


def _convert(raw: bytes, fallback_title: str) -> tuple[str, str]:
    """(title, XHTML body) from an HTML document: the title from <title>, <h1> or the name."""
    import lxml.html
    from lxml import etree

    doc = lxml.html.document_fromstring(raw or b"<html></html>")
    for bad in doc.xpath("|".join(f"//{tag}" for tag in _DROP)):
        bad.drop_tree()
    title = " ".join((doc.findtext(".//title") or "").split())
    if not title:
        h1 = doc.find(".//h1")
        title = " ".join(h1.text_content().split()) if h1 is not None else ""
    body = doc.find(".//body")
    parts: list[str] = []
    if body is not None:
        if body.text and body.text.strip():
            parts.append(f"<p>{escape(body.text.strip())}</p>")
        for child in body:
            if isinstance(child.tag, str):  # skip comments and processing instructions
                parts.append(etree.tostring(child, method="xml", encoding="unicode",
                                            with_tail=False))
            if child.tail and child.tail.strip():
                parts.append(f"<p>{escape(child.tail.strip())}</p>")
    return title or fallback_title, "\n".join(parts)


def html_site(path: str | Path, *, space_key: str = "DOCS", space_name: str | None = None) -> Site:
    """Every ``*.html``/``*.htm`` file under ``path`` (recursively) as a page of one space.

    >>> site = html_site("docs/site")                             # doctest: +SKIP

    Bodies are re-serialised as well-formed XHTML (storage format is XML); scripts and
    styles are dropped. Titles that repeat get the file's relative path appended.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"no such directory: {path}")
    site = Site(name=f"html-{root.name}")
    site.add_space(space_key, space_name or root.name or space_key, homepage=False,
                   description=f"HTML files from {root.name}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".html", ".htm"))
    for file in files:
        title, body = _convert(file.read_bytes(), file.stem.replace("-", " ").replace("_", " "))
        try:
            site.add_page(space_key, title, body)
        except ValueError:
            site.add_page(space_key, f"{title} ({file.relative_to(root).as_posix()})", body)
    return site

"""BEIR-layout corpora as Confluence sites: each ``corpus.jsonl`` document becomes a page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.sax.saxutils import escape

from ragconf.simulator._site import Site

__all__ = ["beir_site"]


def _corpus_file(path: str | Path) -> Path:
    p = Path(path)
    if p.is_dir():
        p = p / "corpus.jsonl"
    if not p.is_file():
        raise FileNotFoundError(f"no BEIR corpus.jsonl at {path}")
    return p


def beir_site(path: str | Path, spaces: int = 4, limit: int | None = None) -> Site:
    """One page per BEIR document, spread round-robin over ``spaces`` spaces.

    >>> site = beir_site("../shared/data/scifact", spaces=4)     # doctest: +SKIP
    >>> site.doc_id_for(site.page_id_for("4983"))                 # doctest: +SKIP
    '4983'

    Title = the document title (its id when the title is empty; suffixed with the id when
    a space already holds that title, since Confluence titles are unique per space);
    body = ``<p>text</p>`` (XML-escaped). ``limit`` loads only the first N documents.
    """
    corpus = _corpus_file(path)
    dataset = corpus.parent.name or "beir"
    prefix = (re.sub(r"[^A-Za-z0-9]", "", dataset).upper() or "BEIR")[:8]
    site = Site(name=f"beir-{dataset}")
    keys = [f"{prefix}{i + 1}" for i in range(max(spaces, 1))]
    for i, key in enumerate(keys):
        site.add_space(key, f"{dataset} part {i + 1}", homepage=False,
                       description=f"BEIR {dataset} documents, part {i + 1} of {len(keys)}")
    with corpus.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle):
            if limit is not None and n >= limit:
                break
            if not line.strip():
                continue
            doc = json.loads(line)
            doc_id = str(doc["_id"])
            key = keys[n % len(keys)]
            title = " ".join(str(doc.get("title") or "").split()) or doc_id
            body = f"<p>{escape(str(doc.get('text') or ''))}</p>"
            try:
                page_id = site.add_page(key, title, body)
            except ValueError:  # duplicate title in this space
                page_id = site.add_page(key, f"{title} ({doc_id})", body)
            site._doc_by_page[page_id] = doc_id
            site._page_by_doc[doc_id] = page_id
    return site

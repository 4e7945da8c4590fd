"""Helpers shared by the sync tests: a small but complete site, and index snapshots.

(Named test_sync_* so it sits with the tests it serves; it defines no tests itself.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragconf.confluence import Confluence
from ragconf.simulator import DEMO_TOKEN, DEMO_USER, SimulatorServer, Site

CAL = "ac:com.atlassian.confluence.plugins.calendar:calendar"

LONG = "".join(
    f"<h2>Step {i}</h2><p>{' '.join(f'word{i}x{j}' for j in range(60))}</p>" for i in range(6)
)


@dataclass
class Ids:
    eng_home: str
    runbooks: str
    restart: str
    archived: str
    broken: str
    blog: str
    calendar: str
    notes: str
    image: str
    empty: str
    ops_home: str
    pager: str


def build_site() -> tuple[Site, Ids]:
    """Two spaces with a page tree, labels, an archived page, broken XHTML, a blog post,
    custom content and attachments (text, image, zero-byte)."""
    site = Site()
    site.add_space("ENG", "Engineering")
    site.add_space("OPS", "Operations")
    eng_home = site.space_by_key("ENG").homepage_id
    ops_home = site.space_by_key("OPS").homepage_id
    runbooks = site.add_page("ENG", "Runbooks", LONG, labels=["ops", "runbook"])
    restart = site.add_page(
        "ENG", "Restart the ledger", "<h2>Steps</h2><p>Drain, then restart the ledger.</p>",
        parent_id=runbooks, labels=["ledger"],
    )
    archived = site.add_page("ENG", "Old design", "<p>The legacy design of the ledger.</p>")
    site.archive(archived)
    broken = site.add_page(
        "ENG", "Broken markup",
        "<p>unclosed <b>bold &nbsp; text <ac:structured-macro ac:name='info'>"
        "<ac:rich-text-body><p>inside an info macro",
    )
    blog = site.add_blog_post("ENG", "Release notes", "<p>We shipped the ledger.</p>",
                              labels=["release"])
    calendar = site.add_custom_content(CAL, "ENG", "Team calendar", "<p>On-call rotation.</p>")
    notes = site.add_attachment(
        runbooks, "notes.txt", b"Rotate the signing keys every month.", "text/plain",
        comment="ops notes",
    )
    image = site.add_attachment(runbooks, "diagram.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64,
                                "image/png")
    empty = site.add_attachment(restart, "empty.txt", b"", "text/plain")
    pager = site.add_page("OPS", "Pager duty", "<p>Answer the pager within five minutes.</p>")
    ids = Ids(eng_home, runbooks, restart, archived, broken, blog, calendar, notes, image,
              empty, ops_home, pager)
    return site, ids


def expected_keys(site: Site, email: str = DEMO_USER, spaces: set[str] | None = None) -> set[str]:
    """What a sync must index, from the simulator's own oracle."""
    out: set[str] = set()
    for kind, ctype in (("pages", "page"), ("blogposts", "blogpost"),
                        ("custom_content", "custom_content"), ("attachments", "attachment")):
        for cid in site.visible_ids(email, kind):
            if spaces is not None and _space_key_of(site, kind, cid) not in spaces:
                continue
            out.add(f"{ctype}:{cid}")
    return out


def _space_key_of(site: Site, kind: str, cid: str) -> str:
    if kind == "attachments":
        cid = site.attachments[cid].container_id
    rec = site.content(cid)
    return site.spaces[rec.space_id].key


def snapshot(store: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """id -> (text, metadata) of every stored chunk (what 'the index' means in tests)."""
    return {c.id: (c.text, dict(c.metadata)) for c in store.iter_all()}


def doc_keys(store: Any) -> set[str]:
    return set(store.manifest())


def metadata_of(store: Any, key: str) -> dict[str, Any]:
    entry = store.manifest()[key]
    return dict(store.get([entry["chunk_ids"][0]])[0].metadata)


@contextlib.contextmanager
def client_for(sim: SimulatorServer, user: str = DEMO_USER, token: str = DEMO_TOKEN
               ) -> Iterator[Confluence]:
    """A client with fast retries (fault tests would otherwise sleep for seconds)."""
    conf = Confluence(sim.base_url, username=user, token=token, backoff_base=0.01,
                      backoff_max=0.05, max_retries=3, timeout=10.0)
    try:
        yield conf
    finally:
        conf.close()


def open_test_store(path: Path, embedder: Any) -> Any:
    from ragconf.index.store import open_store

    return open_store(path, model_name=embedder.model_name, dimension=embedder.dimension)

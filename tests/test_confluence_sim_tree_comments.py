"""The connector's comment, folder and ancestor listings against the simulator's oracle.

Like ``test_confluence_simulator``: a real socket, the demo site, the admin and the guest,
and page sizes 1, 7 and 250 (so every listing crosses cursor pages). The oracle reads the
simulator's records, never its routes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ragconf.confluence import Confluence, ConfluenceService
from ragconf.errors import NotFoundError
from ragconf.simulator import (
    DEMO_TOKEN,
    DEMO_USER,
    GUEST_TOKEN,
    GUEST_USER,
    SimulatorServer,
    demo_site,
)

USERS = {DEMO_USER: DEMO_TOKEN, GUEST_USER: GUEST_TOKEN}
PAGE_SIZES = [1, 7, 250]
NODE_KINDS = ("folder", "whiteboard", "database", "embed")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(demo_site()) as server:
        yield server


def client(sim: SimulatorServer, user: str, page_size: int) -> Confluence:
    return Confluence(sim.api_url, username=user, token=USERS[user], page_size=page_size)


def _by_number(ids: list[str]) -> list[str]:
    return sorted(ids, key=int)


def _containers(sim: SimulatorServer) -> list[tuple[str, str]]:
    """(kind, id) of everything that holds a comment, and a few that hold none."""
    site = sim.site
    holding = sorted({(c.container_kind, c.container_id) for c in site.comments.values()})
    empty = [("page", p) for p in sorted(site.pages) if p not in {i for _, i in holding}][:3]
    return holding + empty


def _per_container(conf: Confluence, kind: str, cid: str, which: str) -> list[Any]:
    lists = {
        ("page", "footer"): conf.get_footer_comments_by_page,
        ("page", "inline"): conf.get_inline_comments_by_page,
        ("blogpost", "footer"): conf.get_footer_comments_by_blog_post,
        ("blogpost", "inline"): conf.get_inline_comments_by_blog_post,
        ("attachment", "footer"): conf.get_footer_comments_by_attachment,
        ("custom_content", "footer"): conf.get_footer_comments_by_custom_content,
    }
    return list(lists[(kind, which)](cid))


@pytest.mark.parametrize("page_size", PAGE_SIZES)
@pytest.mark.parametrize("user", list(USERS))
def test_global_comment_listings_equal_the_oracle(
    sim: SimulatorServer, user: str, page_size: int
) -> None:
    site = sim.site
    with client(sim, user, page_size) as conf:
        footer = [c.id for c in conf.get_footer_comments(body_format="storage")]
        inline = [c.id for c in conf.get_inline_comments()]
        requests = conf.stats["requests"]
    assert footer and inline
    assert len(footer + inline) == len(set(footer + inline)), "duplicates across pages"
    assert _by_number(footer) == site.expected_comments(user, kind="footer")
    assert _by_number(inline) == site.expected_comments(user, kind="inline")
    if page_size == 1:
        assert requests >= len(footer) + len(inline)  # really walked page by page


@pytest.mark.parametrize("page_size", PAGE_SIZES)
@pytest.mark.parametrize("user", list(USERS))
def test_comments_per_container_and_their_replies_equal_the_oracle(
    sim: SimulatorServer, user: str, page_size: int
) -> None:
    site = sim.site
    checked = hidden = 0
    with client(sim, user, page_size) as conf:
        for kind, cid in _containers(sim):
            kinds = ("footer", "inline") if kind in ("page", "blogpost") else ("footer",)
            if not site.can_view(user, cid):
                with pytest.raises(NotFoundError):
                    _per_container(conf, kind, cid, "footer")
                hidden += 1
                continue
            for which in kinds:
                roots = _per_container(conf, kind, cid, which)
                assert _by_number([c.id for c in roots]) == site.expected_comments(
                    user, cid, kind=which, roots_only=True
                ), (kind, cid, which)
                thread = [c.id for c in roots]
                todo = list(roots)
                while todo:  # replies of replies too
                    replies = list(conf.get_comment_children(todo.pop()))
                    thread += [r.id for r in replies]
                    todo += replies
                assert _by_number(thread) == site.expected_comments(user, cid, kind=which)
                checked += 1
    assert checked > 8
    assert hidden > 0 if user == GUEST_USER else hidden == 0


@pytest.mark.parametrize("page_size", PAGE_SIZES)
@pytest.mark.parametrize("user", list(USERS))
def test_folders_and_other_tree_nodes_equal_the_oracle(
    sim: SimulatorServer, user: str, page_size: int
) -> None:
    site = sim.site
    with client(sim, user, page_size) as conf:
        svc = ConfluenceService(conf)
        spaces = list(conf.get_spaces())
        folders = [f.id for s in spaces for f in svc.list_folders(space_id=s.id)]
        nodes = {
            kind: [n.id for s in spaces for root in svc.space_tree(s.id)
                   for _depth, n in root.walk() if n.type == kind]
            for kind in NODE_KINDS
        }  # fmt: skip
        by_id = {f: conf.get_folder_by_id(f) for f in folders}
    assert len(folders) >= 2 and _by_number(folders) == site.visible_ids(user, "folders")
    for kind in NODE_KINDS:
        assert _by_number(nodes[kind]) == site.visible_ids(user, f"{kind}s"), kind
    if user == DEMO_USER:  # the admin sees a node of every kind
        assert all(nodes.values())
    for fid, folder in by_id.items():
        rec = site.nodes[fid]
        assert (folder.title, folder.space_id) == (rec.title, rec.space_id)
        assert folder.parent_id == rec.parent_id


@pytest.mark.parametrize("page_size", PAGE_SIZES)
@pytest.mark.parametrize("user", list(USERS))
def test_ancestors_of_every_page_and_node_equal_the_oracle(
    sim: SimulatorServer, user: str, page_size: int
) -> None:
    site = sim.site
    pages = site.visible_ids(user, "pages")
    nodes = [(n, kind) for kind in NODE_KINDS for n in site.visible_ids(user, f"{kind}s")]
    deep = 0
    with client(sim, user, page_size) as conf:
        for item, kind in [(p, "page") for p in pages] + nodes:
            got = [(a.id, a.type) for a in conf.get_ancestors(item, kind)]
            assert got == site.expected_ancestors(user, item), (item, kind)
            deep += any(t == "folder" for _, t in got) and len(got) >= 3
    assert deep, "the demo has a page two folders deep"

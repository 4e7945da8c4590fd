"""Comments and the content tree in a sync: the real simulator over HTTP, embedded Chroma,
the HashEmbedder (whose ``embedded_count`` says exactly what was embedded).

The site is tests/test_sync_support.py's, plus comment threads (footer, inline, a reply,
a resolved one; on a page, a blog post, an attachment and custom content) and a page two
folders deep. The simulator's oracle says what must be indexed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.types import SearchFilters
from ragconf.simulator import DEMO_USER, Faults, SimulatorServer, Site
from ragconf.sync.engine import Syncer, SyncReport
from tests.test_sync_support import (
    Ids,
    build_site,
    client_for,
    doc_keys,
    metadata_of,
    open_test_store,
    snapshot,
)


@dataclass
class Threads:
    footer: str  # a footer comment on "Restart the ledger"
    reply: str  # a reply to it
    inline: str  # an inline comment on "Runbooks", resolved
    on_blog: str
    on_attachment: str
    on_calendar: str
    on_ops: str  # a comment in the OPS space
    reviews: str  # folder "Design reviews" under the ENG homepage
    year: str  # folder "2026" inside it
    deep: str  # a page in "2026"


@dataclass
class Env:
    site: Site
    ids: Ids
    t: Threads
    sim: SimulatorServer
    conf: Any
    embedder: HashEmbedder
    store: Any
    lexical: BM25Index
    data: Path

    def sync(self, **kw: Any) -> SyncReport:
        report = Syncer(self.conf, self.store, self.embedder, self.lexical, state_dir=self.data,
                        **kw).run()  # fmt: skip
        assert report.ok, report.failed
        return report

    def embedded_by(self, **kw: Any) -> tuple[SyncReport, int]:
        before = self.embedder.embedded_count
        report = self.sync(**kw)
        return report, self.embedder.embedded_count - before

    def chunks_of(self, key: str) -> dict[str, tuple[str, dict[str, Any]]]:
        ids = self.store.manifest().get(key, {}).get("chunk_ids", [])
        return {c.id: (c.text, dict(c.metadata)) for c in self.store.get(ids)}


def add_threads(site: Site, ids: Ids) -> Threads:
    site.edit(ids.restart, body="<h2>Steps</h2><p>Drain, then restart the ledger. Check the "
              "replication lag first.</p>")  # fmt: skip
    footer = site.add_comment(ids.restart, "<p>We now drain for ninety seconds before the "
                              "restart, agreed with the SRE team.</p>")  # fmt: skip
    reply = site.add_comment(None, "<p>Confirmed: the drain timeout flag is "
                             "<code>--drain-seconds=90</code>.</p>", parent_id=footer)
    inline = site.add_comment(ids.runbooks, "<p>This step is obsolete since the zebra "
                              "migration.</p>", selection="word2x5 word2x6")  # fmt: skip
    site.resolve_comment(inline)
    on_blog = site.add_comment(ids.blog, "<p>The marmalade release shipped on a Friday.</p>")
    on_attachment = site.add_comment(ids.notes, "<p>Signing keys rotate quarterly now, not "
                                     "monthly.</p>")  # fmt: skip
    on_calendar = site.add_comment(ids.calendar, "<p>Rotation swaps need a lighthouse "
                                   "ticket.</p>")  # fmt: skip
    on_ops = site.add_comment(ids.pager, "<p>Pager acknowledgement within two minutes.</p>")
    reviews = site.add_folder("ENG", "Design reviews", parent_id=ids.eng_home)
    year = site.add_folder("ENG", "2026", parent_id=reviews)
    deep = site.add_page("ENG", "Ledger archival", "<p>Archive closed months to Glacier.</p>",
                         parent_id=year)
    return Threads(footer, reply, inline, on_blog, on_attachment, on_calendar, on_ops,
                   reviews, year, deep)  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    site, ids = build_site()
    threads = add_threads(site, ids)
    embedder = HashEmbedder()
    with SimulatorServer(site) as sim, client_for(sim) as conf:
        store = open_test_store(tmp_path / "data", embedder)
        lexical = BM25Index(tmp_path / "data" / "bm25")
        yield Env(site, ids, threads, sim, conf, embedder, store, lexical, tmp_path / "data")


@pytest.fixture
def synced(env: Env) -> Env:
    env.sync()
    return env


def comment_keys(store: Any) -> set[str]:
    return {k for k in doc_keys(store) if k.startswith("comment:")}


def texts(store: Any) -> str:
    return "\n".join(c.text for c in store.iter_all())


# -- what a comment looks like in the index ------------------------------------------------


def test_every_visible_comment_is_a_document_of_its_own(synced: Env) -> None:
    env, t = synced, synced.t
    expected = {f"comment:{c}" for c in env.site.expected_comments(DEMO_USER)}
    assert comment_keys(env.store) == expected and len(expected) == 7
    # chunk ids comment:<id>:<i>, each comment on its own (the page is a separate document)
    chunk_ids = env.store.manifest()[f"comment:{t.footer}"]["chunk_ids"]
    assert chunk_ids == [f"comment:{t.footer}:0"]
    assert len(env.lexical) == env.store.count()


def test_a_comment_carries_its_containers_place_and_its_own_link(synced: Env) -> None:
    env, t, ids = synced, synced.t, synced.ids
    page = metadata_of(env.store, f"page:{ids.restart}")
    md = metadata_of(env.store, f"comment:{t.footer}")
    assert md["content_type"] == "comment" and md["content_id"] == t.footer
    assert (md["container_id"], md["container_type"]) == (ids.restart, "page")
    for key in ("title", "url", "space_id", "space_key", "labels", "ancestors", "breadcrumbs"):
        assert md[key] == page[key], key
    assert md["anchor_url"] == page["url"] + f"?focusedCommentId={t.footer}"
    assert md["comment_kind"] == "footer" and md["version"] == 1
    # who commented and when: the heading of the comment's one section
    admin = env.site.users[DEMO_USER].display_name
    day = env.site.comments[t.footer].modified_at
    assert md["heading_path"].startswith(f"Comment by {admin} on ")
    assert md["heading_path"].endswith(md["updated_at"][:10]) and day
    reply = metadata_of(env.store, f"comment:{t.reply}")
    assert reply["parent_comment_id"] == t.footer and reply["heading_path"].startswith("Reply")
    assert reply["container_id"] == ids.restart


def test_an_inline_comment_keeps_its_selection_and_shows_it_is_resolved(synced: Env) -> None:
    env, t = synced, synced.t
    md = metadata_of(env.store, f"comment:{t.inline}")
    text = env.store.get([f"comment:{t.inline}:0"])[0].text
    assert md["comment_kind"] == "inline" and md["selection"] == "word2x5 word2x6"
    assert md["resolution_status"] == "resolved"
    assert md["heading_path"].startswith("Inline comment by ") and "(resolved)" in text
    assert 'On the text "word2x5 word2x6":' in text and "zebra migration" in text


def test_comments_on_blog_posts_attachments_and_custom_content(synced: Env) -> None:
    env, t, ids = synced, synced.t, synced.ids
    for comment, container, kind in ((t.on_blog, ids.blog, "blogpost"),
                                     (t.on_attachment, ids.notes, "attachment"),
                                     (t.on_calendar, ids.calendar, "custom_content")):
        md = metadata_of(env.store, f"comment:{comment}")
        assert (md["container_id"], md["container_type"]) == (container, kind)
        own = metadata_of(env.store, f"{kind}:{container}")
        assert md["url"] == own["url"] and md["anchor_url"].endswith(f"={comment}")
    assert metadata_of(env.store, f"comment:{t.on_calendar}")["container_custom_type"]


# -- change detection: one comment changed, one comment embedded ---------------------------


def test_a_comment_edit_re_embeds_exactly_that_comment(synced: Env) -> None:
    env, t = synced, synced.t
    before = snapshot(env.store)
    env.site.edit_comment(t.footer, "<p>We now drain for two minutes before the restart.</p>")
    report, embedded = env.embedded_by()
    changed = env.chunks_of(f"comment:{t.footer}")
    assert report.updated == 1 and report.added == report.documents_deleted == 0
    assert embedded == report.chunks_embedded == len(changed) == 1
    after = snapshot(env.store)
    assert {cid for cid in after if after[cid] != before.get(cid)} == set(changed)
    assert "two minutes" in texts(env.store) and "ninety seconds" not in texts(env.store)
    assert after[f"comment:{t.footer}:0"][1]["version"] == 2
    # the page itself is untouched: same text, same metadata, same version
    page = env.store.manifest()[f"page:{env.ids.restart}"]["chunk_ids"]
    assert all(after[c] == before[c] for c in page)


def test_a_deleted_comment_and_its_replies_leave_the_index(synced: Env) -> None:
    env, t = synced, synced.t
    assert env.lexical.search("ninety seconds drain", 5)
    env.site.delete_comment(t.footer)  # takes the reply with it, as in Confluence
    report, embedded = env.embedded_by()
    assert report.documents_deleted == 2 and embedded == 0
    keys = comment_keys(env.store)
    assert f"comment:{t.footer}" not in keys and f"comment:{t.reply}" not in keys
    assert "ninety seconds" not in texts(env.store) and "drain-seconds" not in texts(env.store)
    assert all("ninety" not in h.text for h in env.lexical.search("ninety seconds drain", 20))
    assert f"page:{env.ids.restart}" in doc_keys(env.store)


def test_a_page_edit_does_not_re_embed_its_comments(synced: Env) -> None:
    env, t, ids = synced, synced.t, synced.ids
    before = snapshot(env.store)
    env.site.edit(ids.restart, body="<h2>Steps</h2><p>Drain, then restart the ledger. Check "
                  "the replication lag first. Then watch the error rate.</p>")  # fmt: skip
    report, embedded = env.embedded_by()
    assert report.updated == 1 and embedded == 1  # the page's one changed chunk
    after = snapshot(env.store)
    for comment in (t.footer, t.reply):
        ids_ = env.store.manifest()[f"comment:{comment}"]["chunk_ids"]
        assert all(after[c] == before[c] for c in ids_)


def test_a_rename_updates_comments_without_embedding_them(synced: Env) -> None:
    env, t, ids = synced, synced.t, synced.ids
    before = snapshot(env.store)
    env.site.edit(ids.restart, title="Restart the ledger safely")
    report, embedded = env.embedded_by()
    # the page, its two comments and its attachment; only the attachment's text says
    # "Attached to: <title>", so only it is embedded again (the title prefix is not hashed)
    assert report.updated == 4 and embedded == 1
    after = snapshot(env.store)
    hashes = {c for c in after if after[c][1]["text_hash"] != before[c][1]["text_hash"]}
    assert hashes == {f"attachment:{ids.empty}:0"}
    assert after[f"comment:{t.reply}:0"][0].startswith("Restart the ledger safely › Reply")
    md = metadata_of(env.store, f"comment:{t.reply}")
    assert md["title"] == "Restart the ledger safely"
    assert md["anchor_url"] == md["url"] + f"?focusedCommentId={t.reply}"
    assert "safely" in md["url"]


def test_no_change_resync_costs_only_the_global_comment_listings(env: Env) -> None:
    restart = env.ids.restart
    for i in range(260):  # more than one listing page of footer comments
        env.site.add_comment(restart, f"<p>Note {i}: the ledger restarted fine.</p>")
    first = env.sync()
    footer, inline = (len(env.site.expected_comments(DEMO_USER, kind=k))
                      for k in ("footer", "inline"))  # fmt: skip
    assert comment_keys(env.store) == {
        f"comment:{c}" for c in env.site.expected_comments(DEMO_USER)
    }
    # bodies came with the listings: no request per comment
    paths = env.sim.stats.paths
    assert not [p for p in paths if "-comments/" in p], "no comment fetched by id"
    assert first.chunks_embedded >= 260
    with_comments = env.sync()
    without = env.sync(comments=False)  # removes the comments: deleting sends no request
    listing = math.ceil(footer / 250) + math.ceil(inline / 250)
    assert with_comments.requests - without.requests == listing == 3
    assert with_comments.chunks_embedded == without.chunks_embedded == 0
    assert with_comments.documents_changed == without.documents_changed == 0
    assert (with_comments.documents_deleted, without.documents_deleted) == (0, footer + inline)


def test_comments_outside_the_synced_spaces_are_ignored(env: Env) -> None:
    env.sync(space_keys=["OPS"])
    assert comment_keys(env.store) == {f"comment:{env.t.on_ops}"}


def test_comment_indexing_can_be_turned_off(env: Env) -> None:
    env.sync(comments=False)
    assert not comment_keys(env.store)
    paths = env.sim.stats.paths
    assert not [p for p in paths if p.endswith(("/footer-comments", "/inline-comments"))]


def test_turning_comments_off_removes_the_indexed_ones(synced: Env) -> None:
    # like --no-attachments: the index follows the run's configuration
    env = synced
    indexed = comment_keys(env.store)
    assert indexed
    report = env.sync(comments=False)
    assert report.documents_deleted == len(indexed)
    assert not comment_keys(env.store)
    assert len(env.lexical) == env.store.count()  # BM25 lost them too
    assert env.sync().chunks_embedded > 0  # back on: listed and embedded again
    assert comment_keys(env.store) == indexed


def test_a_failed_comment_listing_deletes_no_comment(synced: Env) -> None:
    env, t = synced, synced.t
    env.site.delete_comment(t.on_ops)
    env.sim.faults = Faults(error_rate=1.0, error_statuses=(500,),
                            paths=r"/wiki/api/v2/inline-comments$")
    try:
        report = Syncer(env.conf, env.store, env.embedder, env.lexical,
                        state_dir=env.data).run()  # fmt: skip
    finally:
        env.sim.faults = None
    assert any("inline comments" in w["message"] for w in report.warnings)
    assert f"comment:{t.on_ops}" in comment_keys(env.store)  # kept until a listing finishes
    assert env.sync().documents_deleted == 1
    assert f"comment:{t.on_ops}" not in comment_keys(env.store)


# -- the content tree: folders in ancestors and breadcrumbs --------------------------------


def test_a_page_two_folders_deep_has_both_folders_in_its_place(synced: Env) -> None:
    env, t = synced, synced.t
    md = metadata_of(env.store, f"page:{t.deep}")
    assert md["ancestors"] == [env.ids.eng_home, t.reviews, t.year]
    assert md["breadcrumbs"] == "Engineering Home › Design reviews › 2026"
    assert md["parent_id"] == t.year
    # one request per distinct folder, whatever the number of pages below it
    fetched = {p for p in env.sim.stats.paths if "/folders/" in p}
    assert fetched == {f"/wiki/api/v2/folders/{t.reviews}", f"/wiki/api/v2/folders/{t.year}"}
    assert all(env.sim.stats.paths[p] == 1 for p in fetched)


def test_moving_a_page_under_a_folder_rewrites_metadata_only(synced: Env) -> None:
    env, t, ids = synced, synced.t, synced.ids
    env.site.move(ids.restart, parent_id=t.year)
    report, embedded = env.embedded_by()
    assert embedded == 0 and report.metadata_updated >= 1
    expected = [ids.eng_home, t.reviews, t.year]
    assert metadata_of(env.store, f"page:{ids.restart}")["ancestors"] == expected
    # its attachment and its comments follow it
    assert metadata_of(env.store, f"attachment:{ids.empty}")["ancestors"] == [
        *expected, ids.restart]
    assert metadata_of(env.store, f"comment:{t.footer}")["ancestors"] == expected
    below = SearchFilters(ancestors=(t.reviews,))
    assert {h.metadata["content_id"] for h in env.lexical.search("ledger drain restart", 20,
                                                                  below)} >= {ids.restart}


def test_a_folder_that_cannot_be_fetched_fails_no_page_and_heals_next_run(env: Env) -> None:
    t = env.t
    env.sim.faults = Faults(error_rate=1.0, error_statuses=(500,),
                            paths=rf"/wiki/api/v2/folders/{t.year}$")  # fmt: skip
    try:
        report = env.sync()
    finally:
        env.sim.faults = None
    assert any(f"folder {t.year}" in w["message"] for w in report.warnings)
    md = metadata_of(env.store, f"page:{t.deep}")
    assert md["ancestors"] == [t.year] and "breadcrumbs" not in md  # as far as it is known
    healed, embedded = env.embedded_by()
    assert embedded == 0 and healed.metadata_updated == 1 and not healed.warnings
    md = metadata_of(env.store, f"page:{t.deep}")
    assert md["ancestors"] == [env.ids.eng_home, t.reviews, t.year]
    assert md["breadcrumbs"] == "Engineering Home › Design reviews › 2026"

"""The sync planner and the key codec on their own: pure functions, no Confluence, no store.

Items are built from Confluence models the way the listing builds them; the "store" is a
manifest and a dict of chunk metadata, exactly what the engine reads before planning.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ragconf.confluence.models import Attachment, Page
from ragconf.index import keys
from ragconf.index.types import ManifestEntry, SearchFilters
from ragconf.sync._comments import COMMENT_KEYS
from ragconf.sync._documents import (
    CHUNK_COUNT,
    DOC_HASH,
    DOC_KEYS,
    Item,
    SpaceInfo,
    item_metadata,
)
from ragconf.sync._plan import Change, Step, classify, plan_deletions, plan_items

SITE = "https://acme.atlassian.net"
ENG = SpaceInfo("1", "ENG", "Engineering")


def page(pid: str = "7", *, title: str = "Home", version: int = 2, labels: list[str] | None = None,
         labels_known: bool = True) -> Item:
    obj = Page.model_validate({"id": pid, "title": title, "spaceId": "1",
                               "version": {"number": version},
                               "_links": {"webui": f"/spaces/ENG/pages/{pid}"}})
    meta = item_metadata("page", obj, ENG, site_url=SITE, labels=labels or [])
    return Item("page", obj, ENG, meta, labels_known=labels_known)


def stored(
    item: Item, n: int = 2, **changes: Any
) -> tuple[ManifestEntry, dict[str, dict[str, Any]]]:
    """What a clean earlier sync of ``item`` left: its manifest entry and chunk metadata."""
    ids = [keys.chunk_key(item.kind, item.id, i) for i in range(n)]
    meta = {**item.meta, **changes}
    metas = {cid: {**meta, "chunk_index": i, "text_hash": f"h{i}", CHUNK_COUNT: n}
             for i, cid in enumerate(ids)}
    entry: ManifestEntry = {"version": meta["version"], "chunk_ids": ids, "space_id": "1"}
    return entry, metas


# -- classify -----------------------------------------------------------------------------


def test_a_document_the_store_lacks_is_new() -> None:
    step = classify(page(), None, {}, full=False)
    assert step == Step(page(), Change.NEW) and step.old_chunks == ()


def test_an_identical_document_is_unchanged_and_remembers_its_chunks() -> None:
    it = page()
    entry, metas = stored(it)
    step = classify(it, entry, metas, full=False)
    assert step.change is Change.UNCHANGED
    assert step.old_chunks == (("page:7:0", "h0"), ("page:7:1", "h1"))
    assert step.old_ids == ("page:7:0", "page:7:1")


def test_full_rebuilds_everything() -> None:
    it = page()
    entry, metas = stored(it)
    assert classify(it, entry, metas, full=True).change is Change.REBUILD


def test_a_new_version_or_a_new_title_rebuilds() -> None:
    old = page(version=1)
    entry, metas = stored(old)
    assert classify(page(version=2), entry, metas, full=False).change is Change.REBUILD
    entry, metas = stored(page(title="Old title"))
    assert classify(page(title="New title"), entry, metas, full=False).change is Change.REBUILD


def test_a_label_change_is_metadata_only() -> None:
    entry, metas = stored(page(labels=["a"]))
    step = classify(page(labels=["a", "b"]), entry, metas, full=False)
    assert step.change is Change.METADATA and step.item.meta["labels"] == ["a", "b"]


def test_a_half_written_document_is_rebuilt() -> None:
    it = page()
    entry, metas = stored(it, n=3)
    del metas["page:7:1"]  # a chunk never written (crash inside a batch)
    assert classify(it, entry, metas, full=False).change is Change.REBUILD
    entry, metas = stored(it, n=2)
    metas["page:7:1"][DOC_HASH] = "pending"  # the follow-up metadata fix never ran
    assert classify(it, entry, metas, full=False).change is Change.REBUILD


def test_unknown_labels_keep_the_stored_ones_without_touching_the_input() -> None:
    listed = page(labels=[], labels_known=False)  # the label map could not be listed
    before = dataclasses.replace(listed, meta=dict(listed.meta))
    entry, metas = stored(page(labels=["kept"]))
    step = classify(listed, entry, metas, full=False)
    assert step.change is Change.UNCHANGED
    assert step.item.meta["labels"] == ["kept"] and not step.item.labels_known
    assert listed == before  # the planner returned a new item; the listed one is as it was
    with pytest.raises(dataclasses.FrozenInstanceError):
        listed.labels_known = True  # type: ignore[misc]


def test_an_attachment_whose_comment_changed_is_rebuilt_not_just_relabelled() -> None:
    def att(comment: str) -> Item:
        obj = Attachment.model_validate({"id": "att9", "title": "a.txt", "pageId": "7",
                                         "comment": comment, "version": {"number": 1}})
        meta = item_metadata("attachment", obj, ENG, site_url=SITE, container_title="Home")
        return Item("attachment", obj, ENG, meta)

    entry, metas = stored(att("old"))
    assert classify(att("new"), entry, metas, full=False).change is Change.REBUILD


def test_plan_items_is_one_step_per_item_in_order() -> None:
    a, b = page("1"), page("2")
    entry, metas = stored(b)
    steps = plan_items([a, b], {b.key: entry}, metas, full=False)
    assert [(s.item.key, s.change) for s in steps] == [
        ("page:1", Change.NEW), ("page:2", Change.UNCHANGED)]


def test_doc_keys_are_exactly_what_item_metadata_can_write() -> None:
    att = Attachment.model_validate({"id": "att9", "title": "a.txt", "pageId": "7",
                                     "mediaType": "text/plain", "fileSize": 3, "comment": "c",
                                     "version": {"number": 1}})
    meta = item_metadata("attachment", att, ENG, site_url=SITE, labels=["x"], parent_id="7",
                         ancestors=["7"], breadcrumbs="Home", container_title="Home",
                         custom_type="t")
    assert set(meta) <= DOC_KEYS
    # the rest are the keys only comments have (``_comments.comment_metadata`` writes them)
    assert DOC_KEYS - set(meta) - COMMENT_KEYS <= {
        "author_id", "created_at", "updated_at", "updated_at_ts"}
    assert COMMENT_KEYS <= DOC_KEYS


# -- deletions ----------------------------------------------------------------------------


def entry(space_id: str, *chunk_ids: str) -> ManifestEntry:
    return {"space_id": space_id, "chunk_ids": list(chunk_ids)}


MANIFEST = {
    "page:1": entry("1", "page:1:0"),
    "attachment:a2": entry("1", "attachment:a2:0", "attachment:a2:1"),
    "page:3": entry("2", "page:3:0"),
    "page:4": entry("9", "page:4:0"),  # a space no longer listed
}


def test_only_complete_listings_delete() -> None:
    plan = plan_deletions(MANIFEST, seen={"page:1"}, complete={("1", "page"): True},
                          listed={"1", "2"}, listed_all=False)
    # attachments of space 1 and pages of space 2 were not listed to the end: kept
    assert plan.deletions == () and plan.skipped == frozenset({"1", "2"})
    plan = plan_deletions(MANIFEST, seen={"page:1"},
                          complete={("1", "page"): True, ("1", "attachment"): True,
                                    ("2", "page"): False},
                          listed={"1", "2"}, listed_all=False)
    assert plan.chunk_ids == ("attachment:a2:0", "attachment:a2:1")
    assert plan.skipped == frozenset({"2"})


def test_an_unlisted_space_goes_only_when_every_space_was_listed() -> None:
    complete = {("1", "page"): True, ("1", "attachment"): True, ("2", "page"): True}
    scoped = plan_deletions(MANIFEST, seen={"page:1", "attachment:a2", "page:3"},
                            complete=complete, listed={"1", "2"}, listed_all=False)
    assert scoped.deletions == ()
    everything = plan_deletions(MANIFEST, seen={"page:1", "attachment:a2", "page:3"},
                                complete=complete, listed={"1", "2"}, listed_all=True)
    assert [(d.key, d.space_id, d.chunk_ids) for d in everything.deletions] == [
        ("page:4", "9", ("page:4:0",))]


# -- keys and labels ----------------------------------------------------------------------


@pytest.mark.parametrize(("key", "parts"), [
    ("page:101:0", ("page", "101", 0)),
    ("custom_content:55:12", ("custom_content", "55", 12)),
    ("attachment:att7:3", ("attachment", "att7", 3)),
    ("page:101", ("page", "101", 0)),
])
def test_chunk_keys_round_trip(key: str, parts: tuple[str, str, int]) -> None:
    assert keys.split_chunk_key(key) == parts
    if key.count(":") == 2:
        assert keys.chunk_key(*parts) == key
        assert keys.doc_key_of(key) == keys.doc_key(parts[0], parts[1])
        assert keys.split_doc_key(keys.doc_key_of(key)) == parts[:2]


def test_labels_decode_from_every_stored_form() -> None:
    assert keys.decode_labels(None) == []
    assert keys.decode_labels(",b,a,") == ["b", "a"]
    assert keys.decode_labels(["b", "", "a"]) == ["b", "a"]
    assert keys.normalise_labels(("b", "a", "b")) == ["a", "b"]
    assert keys.metadata_doc_key({"content_type": "page", "content_id": "7"}) == "page:7"
    assert keys.metadata_doc_key({"content_type": "page"}) is None
    assert SearchFilters(labels=("a",)).matches({"labels": ",b,a,"})
    assert not SearchFilters(labels=("c",)).matches({"labels": ["a", "b"]})

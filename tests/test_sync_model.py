"""End to end with the real model (bundled all-MiniLM-L6-v2, offline) on a small corpus.

One module-wide embedder, so the model loads once; the steps run in order on one index:
first sync, no-change sync, edit, relabel, title change, trash/purge/revoke, add.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragconf.index.embed import SentenceTransformerEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.simulator import DEMO_USER, GUEST_USER, SimulatorServer
from ragconf.sync.engine import Syncer
from tests.test_sync_support import (
    build_site,
    client_for,
    doc_keys,
    expected_keys,
    metadata_of,
    open_test_store,
)


@pytest.fixture(scope="module")
def embedder() -> Iterator[SentenceTransformerEmbedder]:
    yield SentenceTransformerEmbedder()


def test_real_model_sync_end_to_end(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    site, ids = build_site()
    data = tmp_path / "data"
    with SimulatorServer(site) as sim, client_for(sim) as conf:
        store = open_test_store(data, embedder)
        lexical = BM25Index(data / "bm25")

        def sync() -> tuple[dict, int]:
            before = embedder.embedded_count
            report = Syncer(conf, store, embedder, lexical, state_dir=data).run()
            assert report.ok, report.failed
            return report.to_dict(), embedder.embedded_count - before

        first, embedded = sync()
        assert doc_keys(store) == expected_keys(site)
        assert embedded == store.count() == first["chunks_embedded"] > 0
        vec = store.get([f"page:{ids.restart}:0"], include_embeddings=True)[0].embedding
        assert vec is not None and vec.shape == (384,)

        # nothing changed: nothing embedded (and a fresh embedder would never load)
        fresh = SentenceTransformerEmbedder()
        report = Syncer(conf, store, fresh, lexical, state_dir=data).run().to_dict()
        assert report["chunks_embedded"] == 0 and report["documents_changed"] == 0
        assert fresh.embedded_count == 0 and fresh._st is None  # the model never loaded

        # edit one page: only its changed chunks are embedded
        def hashes() -> dict[str, str]:
            return {c.id: c.metadata["text_hash"] for c in store.iter_all()
                    if f":{ids.runbooks}:" in c.id}

        old = hashes()
        site.edit(ids.runbooks, body=site.pages[ids.runbooks].body.replace("word2x5", "edited"))
        report, embedded = sync()
        new = hashes()
        changed = sum(1 for cid, h in new.items() if old.get(cid) != h)
        assert embedded == changed == report["chunks_embedded"] == 1
        assert report["updated"] == 1

        # relabel: metadata only
        site.set_labels(ids.pager, ["oncall"])
        report, embedded = sync()
        assert embedded == 0 and report["metadata_updated"] == 1
        assert metadata_of(store, f"page:{ids.pager}")["labels"] == ["oncall"]

        # title change: the title is not part of the text hash
        site.edit(ids.pager, title="Pager duty rules")
        report, embedded = sync()
        assert embedded == 0 and metadata_of(store, f"page:{ids.pager}")["title"] == (
            "Pager duty rules"
        )

        # trash, purge, revoke: gone
        site.trash(ids.restart)
        site.purge(ids.blog)
        site.restrict(ids.archived, {GUEST_USER})
        site.set_space_access(DEMO_USER, {"ENG"})
        report, embedded = sync()
        keys = doc_keys(store)
        assert keys == expected_keys(site) and embedded == 0
        assert not {f"page:{ids.restart}", f"blogpost:{ids.blog}", f"page:{ids.archived}",
                    f"page:{ids.pager}"} & keys

        # add: appears
        added = site.add_page("ENG", "Escalation", "<p>Call the duty manager at night.</p>")
        report, embedded = sync()
        assert f"page:{added}" in doc_keys(store) and embedded == 1 and report["added"] == 1
        assert len(lexical) == store.count()

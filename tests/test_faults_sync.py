"""Sync under hostile content and a misbehaving Confluence (the simulator's fault modes).

Two promises are checked against the simulator's oracle:

* everything retrievable is indexed, and every problem is reported (``failed`` for a
  document that could not be fetched, a warning for a listing cut short or a file indexed
  by its metadata only);
* nothing indexed earlier is lost because of a transient failure: the index is synced
  clean, the site is edited, a re-sync runs under faults, and every chunk of every
  document that still exists is still there (old or new version, never neither). A
  fault-free sync afterwards converges to exactly what a clean sync builds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ragconf.confluence import Confluence
from ragconf.errors import ConfluenceError
from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.store import open_store
from ragconf.index.types import SearchFilters
from ragconf.search.retrieve import Retriever
from ragconf.simulator import DEMO_TOKEN, DEMO_USER, Faults, SimulatorServer, Site
from ragconf.sync.engine import Syncer, SyncReport

CAL = "ac:com.atlassian.confluence.plugins.calendar:calendar"
WORDS = ["ledger", "payment", "refund", "kafka", "deploy", "vault", "queue", "merchant",
         "invoice", "settlement", "rollback", "canary", "shard", "replica", "audit"]
RTL = "מדריך התקנה לשרת הראשי. دليل التثبيت للخادم الرئيسي والنسخ الاحتياطي."
EMOJI = "Release party 🎉🚀 — team 👩‍💻👨🏽‍🔬 flags 🇩🇪🇯🇵 done ✅"
CJK = "部署手順書：本番環境へのデプロイ。배포 절차 문서입니다。数据库迁移指南"
HUGE_MARKER = "THE-END-OF-THE-HUGE-PAGE"
MB = 1024 * 1024


def _para(rng: random.Random, n: int) -> str:
    return "<p>" + " ".join(f"{rng.choice(WORDS)}{rng.randint(0, 99)}" for _ in range(n)) + "</p>"


def hostile_site() -> tuple[Site, dict[str, str]]:
    """Two spaces of ordinary pages plus every kind of awkward content Confluence serves."""
    rng = random.Random(7)
    site = Site()
    site.add_space("ENG", "Engineering")
    site.add_space("OPS", "Operations")
    ids: dict[str, str] = {}
    for i in range(14):  # enough to need several list pages at page_size 5
        space = "ENG" if i % 2 else "OPS"
        ids[f"p{i}"] = site.add_page(space, f"Runbook {i}", _para(rng, 60) + _para(rng, 40),
                                     labels=[f"team{i % 3}"])
    # a 5 MB page: inline-style and macro-parameter bulk around real text (fetched whole)
    bulk = "".join(
        f'<ac:structured-macro ac:name="widget"><ac:parameter ac:name="state">{"x" * 4000}'
        f"</ac:parameter></ac:structured-macro>"
        for _ in range(1300)
    )
    huge = _para(rng, 300) + bulk + f"<p>{HUGE_MARKER} closing words.</p>"
    assert len(huge.encode()) > 5 * MB
    ids["huge"] = site.add_page("ENG", "Huge page", huge)
    junk = bytes(range(128, 256)).decode("latin-1")
    ids["junk"] = site.add_page(
        "ENG", "Binary junk", f"<p>before-junk \x00\x01\x02\x7f\x1b[31m \ufffe\uffff {junk} "
        "after-junk</p>")
    ids["broken"] = site.add_page(
        "ENG", "Broken markup",
        "<p>unclosed <b>bold &nbsp; &hellip; <foo:bar x='1'>unknown ns</foo:bar> <td>stray "
        "<ac:structured-macro ac:name='info'><ac:rich-text-body><p>broken-xhtml-survives")
    ids["rtl"] = site.add_page("OPS", "RTL page", f"<p>{RTL}</p>")
    ids["emoji"] = site.add_blog_post("ENG", "Emoji post", f"<p>{EMOJI}</p>")
    ids["cjk"] = site.add_page("OPS", "CJK page", f"<p>{CJK}</p>")
    ids["cal"] = site.add_custom_content(CAL, "OPS", "On-call calendar", "<p>Rota.</p>")
    ids["zero"] = site.add_attachment(ids["p1"], "empty.txt", b"", "text/plain")
    ids["big_att"] = site.add_attachment(ids["p1"], "dump.txt", b"y " * (MB + 1), "text/plain")
    ids["gone"] = site.add_attachment(ids["p2"], "gone.txt", b"lost file", "text/plain")
    ids["notes"] = site.add_attachment(ids["p3"], "notes.txt", b"Rotate keys monthly.",
                                       "text/plain")
    # the file of gone.txt disappears from storage while its attachment is still listed:
    # its download answers 404 (Confluence does this for files lost by the media service)
    site._attachment_by_file.pop((ids["p2"], "gone.txt"))
    return site, ids


def expected(site: Site) -> set[str]:
    out = set()
    for kind, ctype in (("pages", "page"), ("blogposts", "blogpost"),
                        ("custom_content", "custom_content"), ("attachments", "attachment")):
        out |= {f"{ctype}:{i}" for i in site.visible_ids(DEMO_USER, kind)}
    return out


@dataclass
class Run:
    site: Site
    ids: dict[str, str]
    sim: SimulatorServer
    tmp: Path

    def sync(self, name: str, *, page_size: int = 250, timeout: float = 10.0,
             max_retries: int = 8) -> tuple[SyncReport, Any]:
        emb = HashEmbedder(64)
        data = self.tmp / name
        store = open_store(data, model_name=emb.model_name, dimension=emb.dimension)
        lexical = BM25Index(data / "bm25")
        # fast retries: the faults are about correctness, not about waiting politely (the
        # simulator's Retry-After of 1 s is honoured, as far as the client can tell, in 20 ms)
        with Confluence(self.sim.base_url, username=DEMO_USER, token=DEMO_TOKEN,
                        page_size=page_size, timeout=timeout, max_retries=max_retries,
                        backoff_base=0.005, backoff_max=0.02, max_retry_after=5.0,
                        sleep=lambda s: time.sleep(min(s, 0.02))) as conf:
            report = Syncer(conf, store, emb, lexical, state_dir=data, custom_types=[CAL],
                            max_attachment_bytes=MB).run()
        return report, store


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    site, ids = hostile_site()
    with SimulatorServer(site) as sim:
        yield Run(site, ids, sim, tmp_path)


def snapshot(store: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    return {c.id: (c.text, dict(c.metadata)) for c in store.iter_all()}


def by_doc(snap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for cid, value in snap.items():
        out.setdefault(cid.rsplit(":", 1)[0], {})[cid] = value
    return out


def _warned(report: SyncReport, content_id: str, words: str) -> bool:
    return any(w.get("content_id") == content_id and words in w["message"]
               for w in report.warnings)


# -- hostile content, no faults -----------------------------------------------------------


def test_hostile_content_is_indexed_and_every_problem_reported(run: Run) -> None:
    report, store = run.sync("clean")
    ids = run.ids
    assert report.failed == []
    assert set(store.manifest()) == expected(run.site)
    texts = {cid: text for cid, (text, _) in snapshot(store).items()}

    def text_of(key: str) -> str:
        return "\n".join(t for cid, t in sorted(texts.items()) if cid.startswith(key + ":"))

    assert HUGE_MARKER in text_of(f"page:{ids['huge']}")
    assert "x" * 100 not in text_of(f"page:{ids['huge']}")  # parameters are not text
    junk = text_of(f"page:{ids['junk']}")
    assert "before-junk" in junk and "after-junk" in junk and "\x00" not in junk
    assert "broken-xhtml-survives" in text_of(f"page:{ids['broken']}")
    assert RTL in text_of(f"page:{ids['rtl']}")
    assert EMOJI in text_of(f"blogpost:{ids['emoji']}")
    assert CJK in text_of(f"page:{ids['cjk']}")
    assert "Rotate keys monthly." in text_of(f"attachment:{ids['notes']}")
    # files indexed by their metadata only, each with a warning that says why
    for key, words in (("zero", "zero-byte"), ("big_att", "byte cap"), ("gone", "404")):
        assert f"attachment:{ids[key]}" in store.manifest()
        assert _warned(report, ids[key], words), (key, report.warnings)
    assert "lost file" not in text_of(f"attachment:{ids['gone']}")
    # and the awkward scripts are findable
    emb = HashEmbedder(64)
    retriever = Retriever(store, emb, BM25Index(run.tmp / "clean" / "bm25"))
    for query, key in ((RTL.split(".")[1], f"page:{ids['rtl']}"),
                       (CJK.split("。")[0], f"page:{ids['cjk']}"),
                       ("Release party team flags", f"blogpost:{ids['emoji']}")):
        top = retriever.search(query, k=3, filters=SearchFilters()).results[0]
        assert f"{top.content_type}:{top.content_id}" == key, query


# -- transient faults: nothing lost, everything converges ------------------------------------

TRANSIENT = {
    "429 storm": Faults(rate_limit_rate=0.5, retry_after="1", seed=1),
    "5xx burst": Faults(error_rate=0.4, seed=2),
    "connection resets": Faults(reset_rate=0.25, seed=3),
    "truncated bodies": Faults(truncate_rate=0.15, seed=4),
    "truncated short": Faults(truncate_rate=0.1, truncate_mode="short", seed=5),
    "non-JSON bodies": Faults(non_json_rate=0.1, seed=6),
    "short and empty pages": Faults(short_page_rate=0.4, empty_page_rate=0.2, seed=7),
}


def _edit(run: Run) -> set[str]:
    """Change the site the way its users do; returns the doc keys that must be gone."""
    site, ids = run.site, run.ids
    site.edit(ids["p0"], body="<h2>New</h2>" + "<p>rewritten runbook zero</p>" * 40)
    site.edit(ids["p5"], title="Runbook five (renamed)")
    site.set_labels(ids["p6"], ["relabelled"])
    site.add_page("OPS", "Fresh page", "<p>added while Confluence misbehaves</p>")
    site.trash(ids["p7"])
    site.purge(ids["notes"])
    site.add_attachment(ids["p4"], "added.txt", b"fresh attachment text", "text/plain")
    return {f"page:{ids['p7']}", f"attachment:{ids['notes']}"}


def _assert_nothing_lost(before: dict[str, Any], after: dict[str, Any], gone: set[str],
                         unchanged: set[str]) -> None:
    old, new = by_doc(before), by_doc(after)
    for key, chunks in old.items():
        if key in gone:
            continue
        assert key in new, f"{key} was lost"
        if key in unchanged:
            assert new[key] == chunks, f"{key} changed although Confluence did not change it"
        else:  # one version or the other, whole
            versions = {md.get("version") for _, md in new[key].values()}
            assert len(versions) == 1, (key, versions)


@pytest.mark.parametrize("kind", list(TRANSIENT))
def test_transient_faults_lose_nothing_and_converge(run: Run, kind: str) -> None:
    _, store = run.sync("index")
    before = snapshot(store)
    touched = {f"page:{run.ids[k]}" for k in ("p0", "p5", "p6")}
    gone = _edit(run)
    run.sim.faults = TRANSIENT[kind]
    report, store = run.sync("index", page_size=5)
    assert sum(run.sim.stats.faults.values()) > 0, "no fault was injected"
    run.sim.faults = None
    after = snapshot(store)
    reported = report.failed or any("failed" in w["message"] for w in report.warnings)
    # a listing cut short may leave a trashed document for the next run; nothing else lingers
    lingering = gone & set(by_doc(after)) if reported else set()
    _assert_nothing_lost(before, after, gone - lingering, set(by_doc(before)) - touched - gone)
    reference_report, reference = run.sync("reference")
    assert reference_report.failed == []
    if not reported:  # retries absorbed every fault: the index is already right
        assert after == snapshot(reference)
    else:  # a document or listing ran out of retries: it was reported, the next run heals it
        healed, store = run.sync("index")
        assert healed.failed == [] and snapshot(store) == snapshot(reference)


# -- persistent faults: reported, nothing lost, converges once Confluence recovers -----------

PERSISTENT = {
    # every body fetch of a changed page fails: those pages are reported, old text kept
    "page bodies 5xx": Faults(error_rate=1.0, paths=r"/api/v2/pages$", error_statuses=(500,)),
    # blog post listing hangs beyond the client's timeout
    "listing timeouts": Faults(latency_s=1.5, paths=r"/spaces/\d+/blogposts$"),
    # a cursor that repeats: the listing stops with an error instead of looping
    "cursor loop": Faults(cursor_loop=True),
    # attachment downloads cut off mid-body, every time
    "downloads truncated": Faults(truncate_rate=1.0, paths=r"/download/|/_media/"),
    # the page listing answers HTML instead of JSON
    "listing non-JSON": Faults(non_json_rate=1.0, paths=r"/spaces/\d+/pages$"),
}


@pytest.mark.parametrize("kind", list(PERSISTENT))
def test_persistent_faults_are_reported_and_lose_nothing(run: Run, kind: str) -> None:
    _, store = run.sync("index")
    before = snapshot(store)
    touched = {f"page:{run.ids[k]}" for k in ("p0", "p5", "p6")}
    gone = _edit(run)
    run.sim.faults = PERSISTENT[kind]
    report, store = run.sync("index", page_size=5, timeout=0.5, max_retries=2)
    run.sim.faults = None
    if kind == "listing timeouts":  # latency is no counted fault: the client timed out
        assert any("TransportError" in w["message"] for w in report.warnings)
    else:
        assert sum(run.sim.stats.faults.values()) > 0, "no fault was injected"
    after = snapshot(store)
    # documents whose listing failed may linger (never deleted on a partial listing)
    lingering = gone & set(by_doc(after))
    _assert_nothing_lost(before, after, gone - lingering,
                         set(by_doc(before)) - touched - gone)
    problems = report.failed + report.warnings
    assert problems, "a persistent fault went unreported"
    if kind == "page bodies 5xx":
        failed = {f["content_id"] for f in report.failed}
        assert {run.ids["p0"]} <= failed
        # the edited page keeps its previous text until a fetch succeeds
        old = by_doc(before)[f"page:{run.ids['p0']}"]
        assert by_doc(after)[f"page:{run.ids['p0']}"] == old
    if kind in ("listing timeouts", "cursor loop", "listing non-JSON"):
        assert any("deletions are skipped" in w["message"] for w in report.warnings)
    recovered, store = run.sync("index")
    assert recovered.failed == []
    _, reference = run.sync("reference")
    assert snapshot(store) == snapshot(reference)


def test_space_listing_failure_aborts_without_deleting(run: Run) -> None:
    _, store = run.sync("index")
    before = snapshot(store)
    run.site.trash(run.ids["p1"])
    run.sim.faults = Faults(error_rate=1.0, paths=r"/api/v2/spaces$")
    with pytest.raises(ConfluenceError):
        run.sync("index", max_retries=1)
    run.sim.faults = None
    assert snapshot(store) == before  # the trashed page is still there: nothing was deleted

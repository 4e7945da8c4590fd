"""Permission-aware search: a reader sees only what Confluence lets them open.

The demo site is synced once as the admin (the service account) into an embedded store
with the HashEmbedder; the real API (TestClient, lifespan included) then answers readers
who send their own credentials in ``X-Confluence-Authorization``. The guest sees ENG and
OPS but not HR or LEAD, and not the restricted "Security" subtree inside ENG (a page, its
child by inheritance, and the child's attachment). The simulator is the oracle.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragconf.api.app import create_app
from ragconf.confluence import Confluence
from ragconf.confluence.urls import basic_auth
from ragconf.errors import AuthenticationError, NotFoundError, TransportError
from ragconf.index.embed import HashEmbedder
from ragconf.index.keys import owner_key
from ragconf.index.lexical import BM25Index
from ragconf.index.lexical_sqlite import SqliteLexicalIndex
from ragconf.index.store import ChromaStore, open_store
from ragconf.index.types import SearchFilters
from ragconf.search.permissions import (
    USER_AUTH_HEADER,
    PermissionEngine,
    PermissionRequiredError,
    TooManyFailedChecksError,
    UserScope,
)
from ragconf.settings import Settings
from ragconf.simulator import (
    DEMO_TOKEN,
    DEMO_USER,
    GUEST_TOKEN,
    GUEST_USER,
    SimulatorServer,
    Site,
    demo_site,
)
from ragconf.sync.engine import Syncer

KINDS = (("pages", "page"), ("blogposts", "blogpost"), ("attachments", "attachment"),
         ("custom_content", "custom_content"))
GUEST = {USER_AUTH_HEADER: basic_auth(GUEST_USER, GUEST_TOKEN)}
ADMIN = {USER_AUTH_HEADER: basic_auth(DEMO_USER, DEMO_TOKEN)}


@dataclass
class Indexed:
    site: Site
    sim: SimulatorServer
    embedder: HashEmbedder
    store: ChromaStore
    lexical: SqliteLexicalIndex
    docs: dict[str, dict[str, Any]]  # "type:id" -> chunk-0 metadata

    def visible(self, email: str) -> set[str]:
        docs = {f"{t}:{i}" for kind, t in KINDS for i in self.site.visible_ids(email, kind)}
        return docs | {f"comment:{i}" for i in self.site.visible_ids(email, "comments")}

    def client(self, mode: str, **settings: Any) -> TestClient:
        settings.setdefault("permission_cache_s", 60.0)
        app = create_app(
            Settings(confluence_url=self.sim.base_url, permissions=mode, **settings),
            embedder=self.embedder, store=self.store, lexical=self.lexical,
        )
        return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexed]:
    data = tmp_path_factory.mktemp("perm")
    site = demo_site()
    emb = HashEmbedder(dimension=128)
    with SimulatorServer(site) as sim:
        store = open_store(data, model_name=emb.model_name, dimension=emb.dimension)
        lexical = SqliteLexicalIndex(data / "lexical.sqlite")
        with Confluence(sim.base_url, username=DEMO_USER, token=DEMO_TOKEN) as conf:
            report = Syncer(conf, store, emb, lexical, state_dir=data).run()
        assert report.ok, report.failed
        docs = {key: store.get(entry["chunk_ids"][:1])[0].metadata
                for key, entry in store.manifest().items()}
        yield Indexed(site, sim, emb, store, lexical, docs)


def _ids(body: dict[str, Any]) -> list[str]:
    return [f"{r['content_type']}:{r['content_id']}" for r in body["results"]]


def _leaks(text: str, hidden: list[dict[str, Any]]) -> list[str]:
    """Hidden documents whose URL shows up anywhere in a response body."""
    return [md["url"] for md in hidden if md["url"] in text]


# -- the header: required in spaces/strict, ignored when off ------------------------------


def test_off_mode_ignores_the_header_and_serves_the_service_account_view(indexed: Indexed) -> None:
    with indexed.client("off") as c:
        plain = c.get("/search", params={"q": "leadership offsite budget", "k": 20})
        as_guest = c.get("/search", params={"q": "leadership offsite budget", "k": 20},
                         headers=GUEST)
    assert plain.status_code == as_guest.status_code == 200
    assert _ids(plain.json()) == _ids(as_guest.json())
    assert any(r["space_key"] == "LEAD" for r in plain.json()["results"])


@pytest.mark.parametrize("mode", ["spaces", "strict"])
def test_without_credentials_the_api_answers_401_with_a_clear_message(
    indexed: Indexed, mode: str
) -> None:
    with indexed.client(mode) as c:
        for r in (
            c.get("/search", params={"q": "vault"}),
            c.post("/search", json={"q": "vault"}),
            c.post("/context", json={"query": "vault"}),
            c.get("/search", params={"q": "vault"}, headers={USER_AUTH_HEADER: "Token abc"}),
            c.get("/search", params={"q": "vault"}, headers={USER_AUTH_HEADER: "Basic "}),
        ):
            assert r.status_code == 401, r.text
            body = r.json()
            assert body["error"] == "PermissionRequiredError"
            assert USER_AUTH_HEADER in body["message"] + body["hint"]
            assert "results" not in body
        assert c.get("/healthz").status_code == 200  # probes need no reader


@pytest.mark.parametrize("mode", ["spaces", "strict"])
def test_rejected_credentials_give_401_without_echoing_them(indexed: Indexed, mode: str) -> None:
    header = basic_auth(GUEST_USER, "wrong-guest-token-5b1e")
    with indexed.client(mode) as c:
        r = c.get("/search", params={"q": "vault"}, headers={USER_AUTH_HEADER: header})
    assert r.status_code == 401
    assert "rejected" in r.json()["message"]
    assert "wrong-guest-token-5b1e" not in r.text and header.split()[1] not in r.text


# -- nothing from a hidden space: not a title, a snippet or a count -------------------------


@pytest.mark.parametrize("mode", ["spaces", "strict"])
def test_guest_gets_nothing_from_hidden_spaces(indexed: Indexed, mode: str) -> None:
    visible_spaces = {s.id for s in indexed.site.spaces.values() if s.key in ("ENG", "OPS")}
    hidden = [md for md in indexed.docs.values() if md["space_id"] not in visible_spaces]
    assert len(hidden) > 20 and {md["space_key"] for md in hidden} == {"HR", "LEAD"}
    with indexed.client(mode) as c:
        for md in hidden:  # ask for each hidden document by its own title and text
            words = " ".join(md["title"].split()[:8])
            for r in (
                c.get("/search", params={"q": words, "k": 30}, headers=GUEST),
                c.post("/context", json={"query": words, "k": 10, "max_tokens": 2000},
                       headers=GUEST),
            ):
                assert r.status_code == 200, r.text
                body = r.json()
                assert not _leaks(r.text, hidden), (mode, md["title"])
                for res in body.get("results", []):
                    assert res["space_key"] in ("ENG", "OPS")
                hidden_ids = {h["content_id"] for h in hidden}
                assert not {c["content_id"] for c in body.get("citations", [])} & hidden_ids


def test_spaces_mode_equals_an_explicit_filter_on_the_visible_spaces(indexed: Indexed) -> None:
    """Hidden spaces change neither the order, the scores nor the number of results."""
    queries = ["onboarding checklist", "incident postmortem", "salary bands review",
               "board meeting", "kafka consumer lag", "vacation policy"]
    with indexed.client("spaces") as scoped, indexed.client("off") as off:
        for q in queries:
            got = scoped.get("/search", params={"q": q, "k": 25}, headers=GUEST).json()
            want = off.get("/search", params={"q": q, "k": 25, "space": "ENG,OPS"}).json()
            assert [(r["content_id"], r["score"], r["snippet"]) for r in got["results"]] == [
                (r["content_id"], r["score"], r["snippet"]) for r in want["results"]
            ], q


@pytest.mark.parametrize("mode", ["spaces", "strict"])
def test_a_filter_on_a_hidden_space_returns_nothing(indexed: Indexed, mode: str) -> None:
    with indexed.client(mode) as c:
        r = c.get("/search", params={"q": "policy", "space": "HR,LEAD", "k": 50},
                  headers=GUEST)
        admin = c.get("/search", params={"q": "policy", "space": "HR,LEAD", "k": 50},
                      headers=ADMIN)
    assert r.status_code == 200 and r.json()["results"] == []
    assert admin.json()["results"]  # the admin does see them


# -- strict: restricted pages inside a visible space --------------------------------------


def _restricted(indexed: Indexed) -> list[dict[str, Any]]:
    guest = indexed.visible(GUEST_USER)
    eng_ops = {s.id for s in indexed.site.spaces.values() if s.key in ("ENG", "OPS")}
    return [md for key, md in indexed.docs.items()
            if md["space_id"] in eng_ops and key not in guest]


def test_strict_hides_restricted_pages_children_and_attachments(indexed: Indexed) -> None:
    restricted = _restricted(indexed)
    titles = {md["title"] for md in restricted}
    # the restricted page, its child (inherited restriction) and the child's attachment
    assert {"Security", "Secrets rotation procedure", "pentest-scope-2026.txt"} <= titles
    queries = ["Secrets rotation procedure vault", "Security contacts penetration test",
               "pentest scope 2026", "Rotate the Adyen key vault kv put"]
    with indexed.client("strict") as strict, indexed.client("spaces") as spaces:
        for q in queries:
            r = strict.get("/search", params={"q": q, "k": 30}, headers=GUEST)
            assert r.status_code == 200
            assert not _leaks(r.text, restricted), q
            ctx = strict.post("/context", json={"query": q, "k": 10}, headers=GUEST)
            assert not _leaks(ctx.text, restricted), q
            assert "Secrets rotation procedure" not in ctx.json()["context"]
            admin = strict.get("/search", params={"q": q, "k": 30}, headers=ADMIN).json()
            assert _leaks(json.dumps(admin), restricted), q  # the admin finds them
        # spaces mode works at space granularity: the restricted page is in a visible space
        loose = spaces.get("/search", params={"q": queries[0], "k": 30}, headers=GUEST)
        assert _leaks(loose.text, restricted)


@pytest.mark.parametrize("mode", ["spaces", "strict"])
def test_a_reader_never_sees_comments_on_what_they_cannot_open(
    indexed: Indexed, mode: str
) -> None:
    """A comment is as visible as its container: the guest may not open the Security
    subtree (strict) nor the LEAD space (both modes), so their comments never show up."""
    guest = indexed.visible(GUEST_USER)
    hidden = [md for key, md in indexed.docs.items()
              if md["content_type"] == "comment" and key not in guest]
    spaces = {s.id: s.key for s in indexed.site.spaces.values()}
    if mode == "spaces":  # space granularity: a restricted page's comments are in ENG
        hidden = [md for md in hidden if spaces[md["space_id"]] not in ("ENG", "OPS")]
    assert {spaces[md["space_id"]] for md in hidden} == (
        {"ENG", "LEAD"} if mode == "strict" else {"LEAD"})
    with indexed.client(mode) as c:
        for md in hidden:
            text = indexed.site.comments[md["content_id"]].body
            words = " ".join(text.replace("<p>", "").replace("</p>", "").split()[:10])
            for r in (c.get("/search", params={"q": words, "k": 20}, headers=GUEST),
                      c.post("/context", json={"query": words, "k": 10}, headers=GUEST)):
                assert r.status_code == 200, r.text
                body = json.dumps({k: v for k, v in r.json().items() if k != "query"})
                assert f"focusedCommentId={md['content_id']}" not in body, (mode, words)
                assert md["url"] not in body and words[:40] not in body, (mode, body)
            admin = c.get("/search", params={"q": words, "k": 5}, headers=ADMIN).json()
            assert any(f"focusedCommentId={md['content_id']}" in json.dumps(res)
                       for res in admin["results"]), words  # the admin does find it
        # what the guest may open, comments included, stays searchable
        visible = next(md for key, md in indexed.docs.items()
                       if md["content_type"] == "comment" and key in guest)
        text = indexed.site.comments[visible["content_id"]].body
        words = " ".join(text.replace("<p>", "").replace("</p>", "").split()[:10])
        r = c.get("/search", params={"q": words, "k": 5}, headers=GUEST)
        assert f"focusedCommentId={visible['content_id']}" in r.text


def test_strict_still_returns_k_results_when_candidates_are_hidden(indexed: Indexed) -> None:
    with indexed.client("strict") as c:
        r = c.get("/search", params={"q": "security vault secrets rotation", "k": 10},
                  headers=GUEST)
    body = r.json()
    assert len(body["results"]) == 10
    assert set(_ids(body)) <= indexed.visible(GUEST_USER)


def test_strict_checks_are_cached_per_credential(indexed: Indexed) -> None:
    with indexed.client("strict", permission_cache_s=300.0) as c:
        engine: PermissionEngine = c.app.state.permission_engine  # type: ignore[attr-defined]
        first = c.get("/search", params={"q": "deploy pipeline", "k": 10}, headers=GUEST)
        lookups, checks = engine.stats["space_lookups"], engine.stats["document_checks"]
        assert lookups == 1 and checks > 0
        before = indexed.sim.request_count
        again = c.get("/search", params={"q": "deploy pipeline", "k": 10}, headers=GUEST)
        assert indexed.sim.request_count == before  # nothing asked twice
        assert again.json()["results"] == first.json()["results"]
        c.get("/search", params={"q": "deploy pipeline", "k": 10}, headers=ADMIN)
        assert engine.stats["space_lookups"] == 2  # another credential, its own cache
        cached = repr(engine._views._data) + repr(engine._docs._data)
    for secret in (GUEST_TOKEN, DEMO_TOKEN, GUEST[USER_AUTH_HEADER].split()[1]):
        assert secret not in cached


def test_revoked_access_applies_once_the_cache_expires(indexed: Indexed) -> None:
    site = indexed.site
    try:
        with indexed.client("spaces", permission_cache_s=0.0) as c:
            assert c.get("/search", params={"q": "kafka", "space": "ENG"},
                         headers=GUEST).json()["results"]
            site.set_space_access(GUEST_USER, {"OPS"})
            r = c.get("/search", params={"q": "kafka", "space": "ENG"}, headers=GUEST)
            assert r.status_code == 200 and r.json()["results"] == []
    finally:
        site.set_space_access(GUEST_USER, {"ENG", "OPS"})


def test_stats_are_scoped_in_spaces_mode_and_refused_in_strict(indexed: Indexed) -> None:
    with indexed.client("spaces") as c:
        assert c.get("/stats").status_code == 401
        guest = c.get("/stats", headers=GUEST).json()
        admin = c.get("/stats", headers=ADMIN).json()
    assert set(guest["by_space"]) == {"ENG", "OPS"}
    assert set(admin["by_space"]) == {"ENG", "OPS", "HR", "LEAD"}
    assert guest["chunks"] == admin["by_space"]["ENG"] + admin["by_space"]["OPS"]
    assert guest["chunks"] == guest["lexical_chunks"] < admin["chunks"]
    with indexed.client("strict") as c:
        r = c.get("/stats", headers=GUEST)
    assert r.status_code == 403 and "strict" in r.json()["message"]


@pytest.mark.parametrize("mode", ["spaces", "strict"])
def test_readyz_reveals_no_totals_under_permission_modes(indexed: Indexed, mode: str) -> None:
    with indexed.client("off") as c:
        open_body = c.get("/readyz").json()
    with indexed.client(mode) as c:
        r = c.get("/readyz")
    assert open_body["chunks"] > 0
    assert r.status_code == 200 and r.json()["ready"] is True
    assert r.json()["chunks"] is None and r.json()["lexical_chunks"] is None


def test_confluence_failing_fails_closed(indexed: Indexed) -> None:
    faults = indexed.sim.faults
    with indexed.client("strict", permission_cache_s=0.0) as c:
        try:
            indexed.sim.faults = faults.__class__(error_rate=1.0, error_statuses=(500,),
                                                  paths=r"/wiki/api/v2/spaces$")
            r = c.get("/search", params={"q": "kafka"}, headers=GUEST)
            assert r.status_code == 502 and r.json()["error"] == "PermissionCheckError"
            indexed.sim.faults = faults.__class__(error_rate=1.0, error_statuses=(500,),
                                                  paths=r"/wiki/api/v2/pages/\d+$")
            r = c.get("/search", params={"q": "kafka consumer lag", "k": 20}, headers=GUEST)
            assert r.status_code == 200
            assert all(res["content_type"] != "page" for res in r.json()["results"])
        finally:
            indexed.sim.faults = faults


# -- the engine on its own: concurrency bound, caching, failures ------------------------------


class FakeReader:
    """A Confluence stand-in that counts concurrent calls (the engine's only collaborator)."""

    def __init__(self, log: dict[str, Any], hidden: set[str], fail: set[str]) -> None:
        self.log, self.hidden, self.fail = log, hidden, fail

    def get_spaces(self) -> list[Any]:
        if self.log.get("reject"):
            raise AuthenticationError("401", status=401)
        return [type("S", (), {"id": "1", "key": "ENG"})()]

    def get_page_by_id(self, id: str, body_format: str | None = None) -> Any:
        with self.log["lock"]:
            self.log["calls"] += 1
            self.log["inflight"] += 1
            self.log["peak"] = max(self.log["peak"], self.log["inflight"])
        try:
            time.sleep(0.01)
            if id in self.fail:
                raise TransportError("down")
            if id in self.hidden:
                raise NotFoundError("404", status=404)
            return {"id": id}
        finally:
            with self.log["lock"]:
                self.log["inflight"] -= 1

    def close(self) -> None:
        self.log["closed"] += 1


def _engine(hidden: set[str], fail: set[str], **kw: Any) -> tuple[PermissionEngine, dict]:
    log: dict[str, Any] = {"lock": threading.Lock(), "calls": 0, "inflight": 0, "peak": 0,
                           "closed": 0}
    clock = [0.0]
    engine = PermissionEngine("strict", lambda auth: FakeReader(log, hidden, fail),
                              max_concurrency=4, clock=lambda: clock[0], **kw)
    log["clock"] = clock
    return engine, log


def test_engine_bounds_concurrency_caches_and_fails_closed() -> None:
    metas = [{"content_type": "page", "content_id": str(i), "space_id": "1"} for i in range(40)]
    metas.append({"content_type": "page", "content_id": "99", "space_id": "2"})  # other space
    engine, log = _engine(hidden={"3", "4"}, fail={"5"}, cache_s=30.0)
    scope = engine.scope("Bearer reader-token")
    assert isinstance(scope, UserScope) and "reader-token" not in repr(scope)
    assert scope.narrow(SearchFilters()).space_ids == ("1",)
    assert scope.allow is not None and scope.allow.overfetch > 1
    scope.allow.prefetch(metas)
    assert log["calls"] == 40 and 1 < log["peak"] <= 4  # concurrent, and bounded
    seen = {m["content_id"]: scope.allow(m) for m in metas}
    assert [i for i, ok in seen.items() if not ok] == ["3", "4", "5", "99"]
    # a new request: visible/hidden answers come from the cache; the failed one is asked again
    again = engine.scope("Bearer reader-token")
    assert again.allow is not None
    again.allow.prefetch(metas)
    assert log["calls"] == 41
    log["clock"][0] += 31  # the TTL passes: everything is asked again
    later = engine.scope("Bearer reader-token")
    assert later.allow is not None
    later.allow.prefetch(metas)
    # every client was closed: 2 space lookups + 3 check rounds
    assert log["calls"] == 81 and log["closed"] == 5


def test_engine_checks_a_comment_as_its_container() -> None:
    engine, log = _engine(hidden={"3"}, fail=set())
    scope = engine.scope("Bearer reader-token")
    assert scope.allow is not None

    def comment(cid: str, page: str) -> dict[str, Any]:
        return {"content_type": "comment", "content_id": cid, "space_id": "1",
                "container_type": "page", "container_id": page}

    metas = [comment("70", "3"), comment("71", "3"), comment("72", "4"),
             {"content_type": "page", "content_id": "4", "space_id": "1"}]
    scope.allow.prefetch(metas)
    assert log["calls"] == 2  # pages 3 and 4, once each: comments share their page's answer
    assert [scope.allow(m) for m in metas] == [False, False, True, True]


def test_engine_turns_a_rejected_credential_into_401() -> None:
    engine, log = _engine(hidden=set(), fail=set())
    log["reject"] = True
    with pytest.raises(PermissionRequiredError) as info:
        engine.scope("Basic c2VjcmV0LXVzZXI6c2VjcmV0LXRva2Vu")
    assert "c2VjcmV0" not in str(info.value) and info.value.http_status == 401
    with pytest.raises(PermissionRequiredError):
        engine.scope(None)


def test_off_mode_scope_changes_nothing(tmp_path: Path) -> None:
    engine = PermissionEngine("off", lambda auth: pytest.fail("no Confluence call when off"))
    scope = engine.scope("Basic anything")
    assert scope.allow is None and scope.narrow(SearchFilters()) == SearchFilters()
    with pytest.raises(ValueError):
        PermissionEngine("everything", lambda auth: None)


# -- issue 12: what hidden content must not reveal -----------------------------------------


@pytest.mark.parametrize("mode", ["spaces", "strict"])
def test_scoped_callers_get_no_fine_grained_timings(indexed: Indexed, mode: str) -> None:
    with indexed.client(mode) as c:
        body = c.get("/search", params={"q": "nightjar budget"}, headers=GUEST).json()
        ctx = c.post("/context", json={"query": "budget"}, headers=GUEST).json()
    assert body["timings"] == {}  # the per-leg breakdown is for the service account only
    assert body["took_ms"] == int(body["took_ms"]) and ctx["took_ms"] == int(ctx["took_ms"])
    with indexed.client("off") as c:
        assert "lexical_ms" in c.get("/search", params={"q": "budget"}).json()["timings"]


def test_hidden_spaces_do_not_change_the_bm25_ranking_of_visible_ones(
    indexed: Indexed, tmp_path: Path
) -> None:
    """A reader's BM25 order and scores equal those of an index of their spaces alone."""
    visible = set(indexed.site.state()["users"][GUEST_USER])
    own = SqliteLexicalIndex(tmp_path / "own.sqlite")
    with own.batch() as batch:
        batch.upsert([c for c in indexed.store.iter_all() if c.metadata["space_key"] in visible])
    queries = ["budget", "incident postmortem", "rotate tokens", "onboarding laptop", "deploy"]
    with indexed.client("spaces") as c:
        for q in queries:
            got = c.get("/search", params={"q": q, "k": 10, "mode": "bm25"}, headers=GUEST)
            results = got.json()["results"]
            want = own.search(q, 200)
            best: dict[str, float] = {}
            for h in want:  # the API ranks documents by their best chunk (comments: their page's)
                key = str(owner_key(h.metadata))
                best[key] = max(best.get(key, 0.0), h.score)
            order = sorted(best, key=lambda k: (-best[k], k.split(":", 1)[1]))[:10]
            assert [f"{r['content_type']}:{r['content_id']}" for r in results] == order, q
            assert [r["score"] for r in results] == [round(best[k], 6) for k in order], q
# -- breadcrumbs name only ancestors the reader can open (issue 12, item 3) -------------------


def test_strict_breadcrumbs_drop_ancestors_the_reader_cannot_open(tmp_path: Path) -> None:
    """A page moved out from under a restricted parent is visible at once, but the index
    still holds the old breadcrumbs until the next sync: the parent's title must not leak."""
    site = demo_site()
    emb = HashEmbedder(dimension=128)
    store = open_store(tmp_path, model_name=emb.model_name, dimension=emb.dimension)
    lexical = BM25Index(tmp_path / "bm25")
    page = next(pid for pid, rec in site.pages.items()
                if rec.title == "Secrets rotation procedure")
    with SimulatorServer(site) as sim:
        with Confluence(sim.base_url, username=DEMO_USER, token=DEMO_TOKEN) as conf:
            assert Syncer(conf, store, emb, lexical, state_dir=tmp_path).run().ok
        site.move(page, parent_id=site.space_by_key("ENG").homepage_id)  # no re-sync
        assert page in site.visible_ids(GUEST_USER, "pages")
        indexed = Indexed(site, sim, emb, store, lexical, {})
        query = {"q": "Secrets rotation procedure", "k": 30}
        with indexed.client("strict") as c:
            guest = c.get("/search", params=query, headers=GUEST).json()["results"]
            admin = c.get("/search", params=query, headers=ADMIN).json()["results"]
            c.get("/search", params=query, headers=GUEST)  # the checks are cached
            engine: PermissionEngine = c.app.state.permission_engine  # type: ignore[attr-defined]
            before = sim.request_count
            c.get("/search", params=query, headers=GUEST)
            assert sim.request_count == before
    moved = next(r for r in guest if r["content_id"] == page)
    assert "Security" not in moved["breadcrumbs"], moved["breadcrumbs"]
    assert moved["breadcrumbs"][0] == "Engineering"  # the space stays
    assert "Security" in next(r for r in admin if r["content_id"] == page)["breadcrumbs"]
    # ancestors the guest can open are kept: nothing is hidden that needn't be
    kept = [r for r in guest if len(r["breadcrumbs"]) > 1 and r["content_id"] != page]
    assert kept and engine.stats["document_checks"] > 0
    for r in guest:
        assert "Security" not in r["breadcrumbs"], r


# -- junk credentials cost Confluence little (issue 12, item 8) -------------------------------


def test_junk_credentials_are_rate_limited_per_client(indexed: Indexed) -> None:
    junk = [{USER_AUTH_HEADER: basic_auth(f"nobody{i}@example.com", f"guess-{i}")}
            for i in range(40)]
    with indexed.client("spaces") as c:
        assert c.get("/search", params={"q": "kafka"}, headers=GUEST).status_code == 200
        before = indexed.sim.request_count
        answers = [c.get("/search", params={"q": "kafka"}, headers=h) for h in junk]
        asked = indexed.sim.request_count - before
        codes = [r.status_code for r in answers]
        assert set(codes) == {401, 429}, codes
        assert asked == codes.count(401) <= 10  # the per-client budget of failed checks
        limited = answers[-1]
        assert int(limited.headers["retry-after"]) > 0
        assert limited.json()["error"] == "TooManyFailedChecksError"
        assert "guess-39" not in limited.text
        # the same junk again: answered from the negative cache, no request
        before = indexed.sim.request_count
        assert c.get("/search", params={"q": "kafka"}, headers=junk[0]).status_code == 401
        # a value that can't be a credential is refused without asking Confluence
        bad = c.get("/search", params={"q": "kafka"},
                    headers={USER_AUTH_HEADER: "Basic not-base64-at-all!"})
        assert bad.status_code == 401
        # a reader whose credentials already work keeps working (junk evicts nothing)
        assert c.get("/search", params={"q": "kafka"}, headers=GUEST).status_code == 200
        assert indexed.sim.request_count == before


def test_the_failure_budget_refills_over_time() -> None:
    engine, log = _engine(hidden=set(), fail=set(), failed_checks_per_minute=6)
    log["reject"] = True
    for i in range(10):
        with pytest.raises(PermissionRequiredError):
            engine.scope(f"Bearer junk-{i}", "10.0.0.1")
    with pytest.raises(TooManyFailedChecksError):
        engine.scope("Bearer junk-new", "10.0.0.1")
    with pytest.raises(PermissionRequiredError):  # another client has its own budget
        engine.scope("Bearer junk-other", "10.0.0.2")
    log["clock"][0] += 10.0  # one failure's worth at 6 a minute
    with pytest.raises(PermissionRequiredError):
        engine.scope("Bearer junk-later", "10.0.0.1")

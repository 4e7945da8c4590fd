"""Mentions and task assignees are indexed as display names, looked up in bulk per batch.

A sync of the simulator's demo site (HashEmbedder, real Chroma, real HTTP) through a
client whose httpx hooks record every request, so the user lookups can be counted and
each account id checked to be asked about once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragconf.confluence import Confluence
from ragconf.convert.storage import StorageConverter
from ragconf.index.embed import HashEmbedder
from ragconf.simulator import DEMO_TOKEN, DEMO_USER, Faults, SimulatorServer, Site, demo_site
from ragconf.simulator._demo_common import aid
from ragconf.simulator._storage import mention
from ragconf.sync._users import UserNames, account_ids
from ragconf.sync.engine import BATCH, Syncer, SyncReport
from tests.test_sync_support import open_test_store

BULK = "/wiki/rest/api/user/bulk"
LOOKUP_FAILED = "user names could not be looked up"


@dataclass
class Env:
    site: Site
    sim: SimulatorServer
    conf: Confluence
    store: Any
    embedder: HashEmbedder
    data: Path
    sent: list[httpx.Request] = field(default_factory=list)

    def sync(self, full: bool = False, **kw: Any) -> SyncReport:
        syncer = Syncer(self.conf, self.store, self.embedder, None, state_dir=self.data,
                        attachments=False, **kw)
        return syncer.run(full=full)

    def lookups(self) -> list[list[str]]:
        """The accountId lists of the user/bulk requests sent so far."""
        return [r.url.params.get_list("accountId") for r in self.sent if r.url.path == BULK]

    def texts(self) -> list[str]:
        return [c.text for c in self.store.iter_all()]

    def text_of(self, title: str) -> str:
        return "\n".join(c.text for c in self.store.iter_all() if c.metadata["title"] == title)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    site = demo_site()
    embedder = HashEmbedder()
    sent: list[httpx.Request] = []
    client = httpx.Client(timeout=10.0, event_hooks={"request": [sent.append]})
    with SimulatorServer(site) as sim, client:
        conf = Confluence(sim.base_url, username=DEMO_USER, token=DEMO_TOKEN, client=client,
                          backoff_base=0.01, backoff_max=0.05, max_retries=3)
        store = open_test_store(tmp_path / "data", embedder)
        yield Env(site, sim, conf, store, embedder, tmp_path / "data", sent)


def account_ids_of(site: Site) -> set[str]:
    return {u.account_id for u in site.users.values()}


def test_mentions_become_display_names_and_no_account_id_is_indexed(env: Env) -> None:
    report = env.sync()
    assert report.ok, report.failed
    assert not [w for w in report.warnings if LOOKUP_FAILED in w["message"]]
    # a table of owners and a page that pages people by mention
    assert "| ledger-service | @Priya Raman |" in env.text_of("Service catalog")
    texts = env.texts()
    assert len(texts) > 100
    for account in account_ids_of(env.site):
        assert not [t for t in texts if account in t], account
    assert not [t for t in texts if re.search(r"557058:[0-9a-f]{8}-", t)]
    # every demo mention names a real account, so none falls back to "@user"
    assert not [t for t in texts if "@user" in t]
    names = {m for t in texts for m in re.findall(r"@[A-Z][a-zí]+ [A-Z][a-zá]+", t)}
    assert {"@Marco Bellini", "@Lucía Fernández", "@Hana Okafor", "@Sara Lindqvist"} <= names


def test_lookups_are_one_bulk_request_per_batch_and_each_id_is_asked_once(env: Env) -> None:
    report = env.sync()
    lookups = env.lookups()
    asked = [a for ids in lookups for a in ids]
    body_jobs = sum(-(-n // BATCH) for n in _bodies_per_kind_and_space(env))
    assert 1 <= len(lookups) <= body_jobs
    assert len(asked) == len(set(asked))  # the run's cache: nobody is looked up twice
    assert set(asked) <= account_ids_of(env.site)
    assert len(lookups) == env.sim.stats.paths[BULK]
    # the whole demo mentions 11 people: a handful of ids, a handful of requests
    assert len(set(asked)) == 11 and len(lookups) < report.requests / 10

    # nothing changed: nothing converted, nobody looked up
    assert env.sync().ok and env.lookups() == lookups
    # a full re-conversion asks again (a per-run cache: names may change), texts are the same
    before = env.embedder.embedded_count
    full = env.sync(full=True)
    assert full.ok and env.embedder.embedded_count == before
    again = env.lookups()[len(lookups):]
    assert sorted(a for ids in again for a in ids) == sorted(asked)


def test_an_unknown_account_is_at_user_never_its_id(env: Env) -> None:
    ghost = "557058:deadbeef-0000-4000-8000-000000000000"
    env.site.add_page("ENG", "Ownership transfer", "<p>Ask " + mention(ghost) + " or "
                      + mention(aid("tom")) + ".</p>")
    report = env.sync()
    assert report.ok and not report.warnings
    text = env.text_of("Ownership transfer")
    assert "Ask @user or @Tom Becker." in text
    assert ghost not in "\n".join(env.texts())
    assert ghost in [a for ids in env.lookups() for a in ids]


def test_names_given_up_front_win_and_are_not_looked_up(env: Env) -> None:
    report = env.sync(users={aid("priya"): "P. Raman (Ledger)"})
    assert report.ok
    assert "| ledger-service | @P. Raman (Ledger) |" in env.text_of("Service catalog")
    assert "@Aiko Tanaka" in env.text_of("Service catalog")  # the others still resolve
    asked = {a for ids in env.lookups() for a in ids}
    assert aid("priya") not in asked and aid("aiko") in asked


def test_a_failing_lookup_fails_no_document_warns_once_and_is_not_retried(env: Env) -> None:
    env.sim.faults = Faults(error_rate=1.0, error_statuses=(500,), paths=f"^{BULK}$")
    report = env.sync()
    assert report.ok, report.failed  # every document is indexed …
    failures = [w for w in report.warnings if LOOKUP_FAILED in w["message"]]
    assert len(failures) == 1  # … with one warning for the run
    message = failures[0]["message"]
    assert "--full" in message and "500" in message and DEMO_TOKEN not in message
    assert not [a for a in account_ids_of(env.site) if a in message]  # the URL's ids elided
    assert "| ledger-service | @user |" in env.text_of("Service catalog")
    texts = env.texts()
    for account in account_ids_of(env.site):
        assert not [t for t in texts if account in t]
    # one lookup (its 3 retries included), then no more tries this run
    assert len(env.lookups()) == env.sim.stats.paths[BULK] == 4

    # Confluence answers again: a full sync indexes the names; only the chunks whose text
    # changed (the ones with mentions) are embedded again, and only this once
    env.sim.faults = None
    before = env.embedder.embedded_count
    fixed = env.sync(full=True)
    assert fixed.ok and not fixed.warnings
    assert "| ledger-service | @Priya Raman |" in env.text_of("Service catalog")
    changed = env.embedder.embedded_count - before
    # mentions, and comments, whose heading names who wrote them
    with_names = sum(
        "@" in c.text or c.metadata["content_type"] == "comment" for c in env.store.iter_all()
    )
    assert 0 < changed <= with_names < len(env.texts())
    before = env.embedder.embedded_count
    assert env.sync(full=True).ok and env.embedder.embedded_count == before


def test_a_converter_without_a_users_mapping_costs_no_lookups(env: Env) -> None:
    class Plain:
        uses_user_names = False  # declared: it renders no names, so none are looked up

        def __init__(self) -> None:
            self.inner = StorageConverter()

        def convert(self, xhtml: str, *, title: str = "") -> Any:
            return self.inner.convert(xhtml, title=title)

    assert env.sync(converter=Plain()).ok
    assert env.lookups() == []
    assert "| ledger-service | @user |" in env.text_of("Service catalog")


# -- the resolver on its own ---------------------------------------------------------------


def test_account_ids_reads_both_quote_styles_and_ignores_other_references() -> None:
    bodies = [
        '<ac:link><ri:user ri:account-id="557058:aa" /></ac:link>',
        "<ri:user ri:account-id = '712020:bb'/> <ri:user ri:userkey=\"ff8080\"/>",
        None,
        "<p>no people here</p>",
        '<ri:user ri:account-id=""/>',
    ]
    assert account_ids(bodies) == {"557058:aa", "712020:bb"}


class Directory:
    """A stand-in for the client's get_users (the one method UserNames calls)."""

    def __init__(self, names: dict[str, str], fail: bool = False) -> None:
        self.names, self.fail = names, fail
        self.calls: list[list[str]] = []

    def get_users(self, ids: list[str]) -> dict[str, str]:
        self.calls.append(list(ids))
        if self.fail:
            raise httpx.ConnectError("refused")
        return {a: self.names[a] for a in ids if a in self.names}


def test_user_names_asks_only_for_ids_it_has_not_met() -> None:
    directory = Directory({"a": "Ada", "b": "Bob"})
    names = UserNames(directory, known={"k": "Kay"})
    warnings: list[str] = []
    names.resolve(['<ri:user ri:account-id="a"/><ri:user ri:account-id="k"/>'], warnings.append)
    names.resolve(['<ri:user ri:account-id="a"/><ri:user ri:account-id="x"/>'], warnings.append)
    names.resolve(['<ri:user ri:account-id="x"/>', '<ri:user ri:account-id="a"/>'],
                  warnings.append)
    assert directory.calls == [["a"], ["x"]]
    assert names.names == {"k": "Kay", "a": "Ada"} and names.lookups == 2 and not warnings


def test_user_names_warns_once_and_stops_after_a_failure() -> None:
    directory = Directory({}, fail=True)
    names = UserNames(directory)
    warnings: list[str] = []
    names.resolve(['<ri:user ri:account-id="a"/>'], warnings.append)
    names.resolve(['<ri:user ri:account-id="b"/>'], warnings.append)
    assert directory.calls == [["a"]]
    assert len(warnings) == 1 and "ConnectError" in warnings[0]
    assert names.names == {}


def _bodies_per_kind_and_space(env: Env) -> list[int]:
    """How many indexed body documents each (space, kind) has: the fetch jobs' sizes."""
    counts: dict[tuple[str, str], int] = {}
    seen: set[str] = set()
    for c in env.store.iter_all():
        key = (str(c.metadata["space_id"]), str(c.metadata["content_type"]))
        doc = f"{key[1]}:{c.metadata['content_id']}"
        if key[1] != "attachment" and doc not in seen:
            seen.add(doc)
            counts[key] = counts.get(key, 0) + 1
    return list(counts.values())

"""``Confluence.get_users`` (v1 ``/wiki/rest/api/user/bulk``): the client over
httpx.MockTransport, and the simulator's route over real HTTP against the v1 spec."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ragconf.confluence import Confluence
from ragconf.errors import (
    AuthenticationError,
    BadResponseError,
    EndpointNotFoundError,
    PermissionDeniedError,
)
from ragconf.simulator import DEMO_TOKEN, DEMO_USER, GUEST_USER, SimulatorServer
from ragconf.simulator._demo_common import PEOPLE, aid
from tests.confluence_mock import SITE, TOKEN, make
from tests.test_simulator_schema import SPEC_DIR, spec, undeclared, validator

BULK = "/wiki/rest/api/user/bulk"


def directory(names: dict[str, dict[str, str]]) -> Any:
    """A fake user/bulk endpoint that knows the accounts in ``names``."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET" and request.url.path == BULK
        wanted = request.url.params.get_list("accountId")
        results = [{"accountId": a, **names[a]} for a in wanted if a in names]
        body = {"results": results, "start": 0, "limit": len(wanted), "size": len(results),
                "_links": {"base": SITE + "/wiki"}}
        return httpx.Response(200, json=body)

    return handler


def test_resolves_names_and_leaves_unknown_accounts_out() -> None:
    conf, _, seen = make(directory({
        "acc-1": {"displayName": "Ada Lovelace", "publicName": "ada"},
        "acc-2": {"displayName": "", "publicName": "grace.h"},  # privacy: no display name
        "acc-3": {"displayName": "  Alan\n  Turing "},
    }))
    got = conf.get_users(["acc-1", "acc-2", "acc-3", "gone", "acc-1"])
    assert got == {"acc-1": "Ada Lovelace", "acc-2": "grace.h", "acc-3": "Alan Turing"}
    assert len(seen) == 1
    request = seen[0]
    assert str(request.url).startswith(SITE + BULK + "?")
    # repeated keys, each id once, and a limit that lets every one of them come back
    assert request.url.params.get_list("accountId") == ["acc-1", "acc-2", "acc-3", "gone"]
    assert request.url.params["limit"] == "4"
    assert request.headers["Authorization"].startswith("Basic ")


def test_batches_at_most_100_ids_per_request() -> None:
    ids = [f"557058:{i:04d}" for i in range(250)]
    conf, _, seen = make(directory({a: {"displayName": f"User {a[-4:]}"} for a in ids}))
    got = conf.get_users(ids)
    assert len(got) == 250 and got["557058:0249"] == "User 0249"
    sizes = [len(r.url.params.get_list("accountId")) for r in seen]
    assert sizes == [100, 100, 50]
    sent = [a for r in seen for a in r.url.params.get_list("accountId")]
    assert sent == ids
    assert conf.stats["requests"] == 3


def test_no_ids_no_request() -> None:
    conf, _, seen = make(directory({}))
    assert conf.get_users([]) == {}
    assert conf.get_users(["", "  "]) == {}
    assert seen == []


def test_transient_errors_are_retried_like_every_other_get() -> None:
    calls = iter([
        httpx.Response(503, headers={"Retry-After": "2"}, text="busy"),
        httpx.Response(429, headers={"Retry-After": "1"}, json={"message": "slow down"}),
    ])
    names = directory({"acc-1": {"displayName": "Ada"}})

    def handler(request: httpx.Request) -> httpx.Response:
        return next(calls, None) or names(request)

    conf, sleeper, seen = make(handler)
    assert conf.get_users(["acc-1"]) == {"acc-1": "Ada"}
    assert len(seen) == 3
    assert sleeper.sleeps == [2.0, 1.0]
    assert conf.stats["retries"] == 2 and conf.stats["rate_limited"] == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (403, PermissionDeniedError), (404, EndpointNotFoundError)],
)
def test_errors_map_to_the_error_tree_without_the_token(
    status: int, error: type[Exception]
) -> None:
    conf, _, seen = make(lambda r: httpx.Response(status, json={"message": "no"}))
    with pytest.raises(error) as info:
        conf.get_users(["acc-1"])
    assert TOKEN not in str(info.value)
    assert BULK in str(info.value)
    assert len(seen) == 1  # 4xx are not retried


@pytest.mark.parametrize("body", [[], {"size": 0}, {"results": "x"}])
def test_a_body_without_results_is_a_bad_response(body: Any) -> None:
    conf, _, _ = make(lambda r: httpx.Response(200, json=body))
    with pytest.raises(BadResponseError):
        conf.get_users(["acc-1"])


# -- the simulator's route -----------------------------------------------------------------


def test_simulator_answers_known_accounts_through_the_client(simulator: SimulatorServer) -> None:
    with Confluence(simulator.base_url, username=DEMO_USER, token=DEMO_TOKEN) as conf:
        got = conf.get_users([aid("priya"), "no-such-account", aid("lucia"), aid("admin")])
    assert got == {aid("priya"): "Priya Raman", aid("lucia"): "Lucía Fernández",
                   aid("admin"): "Demo Admin"}
    assert simulator.stats.paths[BULK] == 1


@pytest.mark.skipif(SPEC_DIR is None, reason="official OpenAPI documents absent")
def test_simulator_bulk_validates_against_the_v1_spec(simulator: SimulatorServer) -> None:
    wanted = [aid(ref) for ref in PEOPLE] + ["unknown-1"]
    r = httpx.get(simulator.base_url + BULK, params={"accountId": wanted},
                  auth=(DEMO_USER, DEMO_TOKEN))
    assert r.status_code == 200, r.text
    body = r.json()
    schema = spec("v1")["paths"][BULK]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    errors = [f"{e.json_path}: {e.message}" for e in validator("v1", schema).iter_errors(body)]
    assert not errors, errors
    assert not undeclared("v1", body, [schema], "$")
    assert [u["accountId"] for u in body["results"]] == wanted[:-1]
    assert body["size"] == len(PEOPLE)
    by_id = {u["accountId"]: u for u in body["results"]}
    assert by_id[aid("hana")]["displayName"] == "Hana Okafor"
    # other people's e-mail is blank (Cloud's default privacy), the caller's own is not
    assert by_id[aid("hana")]["email"] == "" and by_id[aid("admin")]["email"] == DEMO_USER


def test_simulator_bulk_accepts_comma_separated_ids_and_honours_limit(
    simulator: SimulatorServer,
) -> None:
    auth = (DEMO_USER, DEMO_TOKEN)
    url = simulator.base_url + BULK
    ids = f"{aid('tom')},{aid('sara')},{aid('ben')}"
    r = httpx.get(url, params={"accountId": ids}, auth=auth)
    assert [u["displayName"] for u in r.json()["results"]] == ["Tom Becker", "Sara Lindqvist",
                                                              "Ben Carter"]
    r = httpx.get(url, params={"accountId": ids, "limit": "2"}, auth=auth)
    assert r.json()["size"] == 2 and r.json()["limit"] == 2


@pytest.mark.parametrize("params", [{}, {"accountId": ""}, {"accountId": "x", "limit": "201"},
                                    {"accountId": "x", "limit": "0"}])
def test_simulator_bulk_rejects_bad_parameters(
    simulator: SimulatorServer, params: dict[str, str]
) -> None:
    r = httpx.get(simulator.base_url + BULK, params=params, auth=(DEMO_USER, DEMO_TOKEN))
    assert r.status_code == 400
    assert r.json()["statusCode"] == 400 and r.json()["message"]


def test_simulator_bulk_needs_credentials(simulator: SimulatorServer) -> None:
    url = simulator.base_url + BULK
    assert httpx.get(url, params={"accountId": aid("tom")}).status_code == 401
    wrong = httpx.get(url, params={"accountId": aid("tom")}, auth=(GUEST_USER, DEMO_TOKEN))
    assert wrong.status_code == 401

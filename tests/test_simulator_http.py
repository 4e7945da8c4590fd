"""What the simulator does at the HTTP level: comma-form next links, rate-limit headers on
successful answers (and the quota behind them), HEAD, the page cap of ``clamp_limit``, and
the HTML view at the web UI links pages report."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from ragconf.simulator import (
    DEMO_TOKEN,
    DEMO_USER,
    GUEST_TOKEN,
    GUEST_USER,
    Faults,
    SimulatorServer,
    Site,
    create_app,
)
from tests.fixtures.simulator import ids, walk


def test_next_links_write_array_filters_in_the_comma_form(
    simulator: SimulatorServer, sim_client: httpx.Client
) -> None:
    wanted = simulator.site.visible_ids(DEMO_USER, "pages")[:5]
    r = sim_client.get("pages?" + "&".join(f"id={i}" for i in wanted) + "&limit=2")
    nxt = r.json()["_links"]["next"]
    pairs = parse_qsl(urlsplit(nxt).query)
    assert [k for k, _v in pairs].count("id") == 1
    assert dict(pairs)["id"] == ",".join(wanted) and "id=" + "%2C".join(wanted) in nxt
    got = ids(r.json()["results"])
    while nxt:
        page = sim_client.get(simulator.base_url + nxt).json()
        got += ids(page["results"])
        nxt = page["_links"].get("next")
    assert got == wanted


def test_rate_limit_headers_come_on_successful_answers(simulator: SimulatorServer,
                                                       sim_client: httpx.Client) -> None:
    ok = sim_client.get("spaces")
    assert ok.status_code == 200
    assert int(ok.headers["x-ratelimit-limit"]) == 65000
    assert 0 < int(ok.headers["x-ratelimit-remaining"]) < 65000
    assert "x-ratelimit-nearlimit" not in ok.headers
    simulator.faults.update(quota=10, quota_window_s=3600)
    seen = [sim_client.get("spaces") for _ in range(9)]
    assert all(r.status_code == 200 for r in seen)  # reported, not enforced
    left = [int(r.headers["x-ratelimit-remaining"]) for r in seen]
    assert left == sorted(left, reverse=True) and left[-1] == 0
    # near the limit = less than a fifth of the budget left
    assert [r.headers.get("x-ratelimit-nearlimit") == "true" for r in seen] == [
        n < 2 for n in left]
    # the HTML view is metered too; the admin routes are not
    assert "x-ratelimit-limit" in httpx.get(simulator.base_url + "/wiki/spaces/ENG").headers
    assert "x-ratelimit-limit" not in httpx.get(simulator.base_url + "/_admin/state").headers
    for bad in ({"quota": "lots"}, {"quota": 0}, {"quota_window_s": -1}):
        assert httpx.post(simulator.base_url + "/_admin/faults", json=bad).status_code == 400


def test_an_enforced_quota_answers_429_until_the_window_ends(demo_site: Site) -> None:
    faults = Faults(quota=3, quota_window_s=0.5, quota_enforced=True)
    with SimulatorServer(demo_site, faults) as sim, httpx.Client(
            base_url=sim.api_url, auth=(DEMO_USER, DEMO_TOKEN)) as client:
        answers = [client.get("spaces") for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        limited = answers[-1]
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["ratelimit-reason"] == "confluence-quota-tenant-based"
        assert limited.json()["errors"][0]["code"] == "TOO_MANY_REQUESTS"
        assert answers[2].headers["x-ratelimit-nearlimit"] == "true"
        time.sleep(0.6)  # a fresh window
        assert client.get("spaces").status_code == 200


def test_head_over_asgi_transport_has_no_body(demo_site: Site) -> None:
    # over the ASGI seam no server strips HEAD bodies: the app itself must send none
    async def run() -> None:
        transport = httpx.ASGITransport(app=create_app(demo_site))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim",
                                     auth=(DEMO_USER, DEMO_TOKEN)) as client:
            for path in ("/wiki/api/v2/pages?limit=3", "/wiki/api/v2/pages/1",
                         "/wiki/spaces/ENG", "/wiki/rest/api/user/current",
                         "/_edge/tenant_info"):
                got, head = await client.get(path), await client.head(path)
                assert (head.status_code, head.content) == (got.status_code, b""), path
                assert head.headers["content-length"] == str(len(got.content)), path
            assert (await client.post("/wiki/api/v2/pages")).status_code == 405

    asyncio.run(run())


def test_clamp_limit_caps_every_page_below_the_requested_limit(demo_site: Site) -> None:
    with SimulatorServer(demo_site, clamp_limit=7) as sim:
        r = httpx.get(sim.api_url + "pages", params={"limit": 250},
                      auth=(DEMO_USER, DEMO_TOKEN))
        assert len(r.json()["results"]) == 7 and "limit=250" in r.json()["_links"]["next"]
        assert httpx.get(sim.api_url + "pages", params={"limit": 3},
                         auth=(DEMO_USER, DEMO_TOKEN)).json()["results"].__len__() == 3
        over = httpx.get(sim.api_url + "pages", params={"limit": 1000},
                         auth=(DEMO_USER, DEMO_TOKEN))
        assert over.status_code == 200 and len(over.json()["results"]) == 7
        everything = walk(sim, "pages", {"limit": 250})
        assert ids(everything) == demo_site.visible_ids(DEMO_USER, "pages")
        comments = walk(sim, "footer-comments", {"limit": 250})
        assert ids(comments) == demo_site.visible_ids(DEMO_USER, "footer_comments")


def _webui(client: httpx.Client, path: str) -> str:
    data = client.get(path).json()
    return str(data["_links"]["webui"])


def test_html_view_at_the_web_ui_links(simulator: SimulatorServer,
                                       sim_client: httpx.Client) -> None:
    site = simulator.site
    backup = next(p.id for p in site.pages.values() if p.title == "Backup policy")
    link = simulator.base_url + "/wiki" + _webui(sim_client, f"pages/{backup}")
    page = httpx.get(link)  # no credentials: the local demo's links open in a browser
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Backup policy</h1>" in page.text and "35 days" in page.text
    assert "400 days" in page.text  # the comment thread is on the page
    post = next(p for p in site.blogposts.values() if p.title.startswith("Maintenance window"))
    blog = httpx.get(simulator.base_url + "/wiki" + _webui(sim_client, f"blogposts/{post.id}"))
    assert blog.status_code == 200 and "PostgreSQL 17" in blog.text
    folder = next(n for n in site.nodes.values() if n.title == "2026")
    tree = httpx.get(simulator.base_url + "/wiki" + _webui(sim_client, f"folders/{folder.id}"))
    assert "Design review: ledger archival" in tree.text
    tiny = sim_client.get(f"pages/{backup}").json()["_links"]["tinyui"]
    hop = httpx.get(simulator.base_url + "/wiki" + tiny)
    assert hop.status_code == 302 and hop.headers["location"] == "/wiki" + _webui(
        sim_client, f"pages/{backup}")
    att = next(a for a in site.attachments.values() if a.container_kind == "page")
    listing = httpx.get(simulator.base_url + "/wiki" + _webui(sim_client,
                                                              f"attachments/{att.id}"))
    assert listing.status_code == 200 and att.title in listing.text
    space = httpx.get(simulator.base_url + "/wiki/spaces/OPS")
    assert space.status_code == 200 and "Operations Home" in space.text
    assert httpx.get(simulator.base_url + "/wiki/spaces/OPS/pages/424242/x").status_code == 404
    assert httpx.head(link).status_code == 200


def test_html_view_answers_with_the_callers_visibility(simulator: SimulatorServer) -> None:
    site = simulator.site
    secrets = next(p for p in site.pages.values() if p.title == "Secrets rotation procedure")
    link = f"{simulator.base_url}/wiki/spaces/ENG/pages/{secrets.id}"
    assert httpx.get(link, auth=(DEMO_USER, DEMO_TOKEN)).status_code == 200
    assert httpx.get(link, auth=(GUEST_USER, GUEST_TOKEN)).status_code == 404
    assert httpx.get(link, auth=(GUEST_USER, "wrong")).status_code == 401
    with SimulatorServer(site, public_html=False) as private:
        closed = httpx.get(f"{private.base_url}/wiki/spaces/ENG/pages/{secrets.id}")
        assert closed.status_code == 401 and "basic" in closed.headers["www-authenticate"].lower()


@pytest.mark.parametrize("bad", ["abc", "0"])
def test_clamp_limit_option_of_the_cli_is_validated(bad: str) -> None:
    from typer.testing import CliRunner

    from ragconf.cli import app

    result = CliRunner().invoke(app, ["simulate", "--clamp-limit", bad, "--port", "0"])
    assert result.exit_code == 2 and "--clamp-limit" in result.output

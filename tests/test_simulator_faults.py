"""Opt-in faults: each one happens, at the configured rate, the way real ones look."""

from __future__ import annotations

import json
import threading
from collections import Counter

import httpx
import pytest

from ragconf.simulator import DEMO_TOKEN, DEMO_USER, Faults, SimulatorServer, Site

AUTH = (DEMO_USER, DEMO_TOKEN)


def _statuses(sim: SimulatorServer, n: int, path: str = "spaces") -> list[int]:
    with httpx.Client(auth=AUTH, timeout=10) as client:
        return [client.get(sim.api_url + path).status_code for _ in range(n)]


def test_rate_limit_answers_carry_retry_after_and_ratelimit_headers(demo_site: Site) -> None:
    with SimulatorServer(demo_site, Faults(rate_limit_rate=1.0, beta_headers=True)) as sim:
        r = httpx.get(sim.api_url + "pages", auth=AUTH)
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
                       "ratelimit-reason", "beta-ratelimit-policy", "beta-retry-after"):
            assert header in r.headers
        assert r.headers["x-ratelimit-reset"].endswith("Z")
        assert r.json()["errors"][0]["status"] == 429
        sim.faults.update(retry_after="9223372036854775807")
        r = httpx.get(sim.api_url + "pages", auth=AUTH)
        assert r.headers["retry-after"] == "9223372036854775807"
        assert r.headers["x-ratelimit-limit"] == "0"


def test_rate_limit_rate_is_respected(demo_site: Site) -> None:
    with SimulatorServer(demo_site, Faults(rate_limit_rate=0.3, seed=11)) as sim:
        counts = Counter(_statuses(sim, 400))
        assert set(counts) == {200, 429}
        assert 0.2 < counts[429] / 400 < 0.4
        assert sim.stats.faults["rate_limit"] == counts[429]


def test_same_seed_same_faults(demo_site: Site) -> None:
    runs = []
    for _ in range(2):
        with SimulatorServer(demo_site, Faults(error_rate=0.5, seed=3)) as sim:
            runs.append(_statuses(sim, 30))
    assert runs[0] == runs[1] and len(set(runs[0])) > 1


def test_server_errors_are_5xx_and_not_always_json(demo_site: Site) -> None:
    with SimulatorServer(demo_site, Faults(error_rate=1.0, seed=1)) as sim:
        seen: dict[int, httpx.Response] = {}
        with httpx.Client(auth=AUTH) as client:
            for _ in range(40):
                r = client.get(sim.api_url + "spaces")
                seen[r.status_code] = r
        assert set(seen) == {500, 502, 503, 504}
        assert seen[503].headers["retry-after"] == "1"
        assert seen[502].headers["content-type"].startswith("text/html")
        with pytest.raises(json.JSONDecodeError):
            json.loads(seen[504].text)


def test_connection_resets(demo_site: Site) -> None:
    with SimulatorServer(demo_site, Faults(reset_rate=1.0)) as sim:
        for _ in range(3):
            with pytest.raises(httpx.TransportError):
                httpx.get(sim.api_url + "spaces", auth=AUTH)
        sim.faults.update(reset_rate=0.0)
        assert httpx.get(sim.api_url + "spaces", auth=AUTH).status_code == 200
        assert sim.stats.faults["reset"] == 3


def test_truncated_bodies(demo_site: Site) -> None:
    with SimulatorServer(demo_site, Faults(truncate_rate=1.0)) as sim:
        with pytest.raises(httpx.TransportError):  # Content-Length never met, then closed
            httpx.get(sim.api_url + "pages", auth=AUTH)
        sim.faults.update(truncate_mode="short")
        r = httpx.get(sim.api_url + "pages", auth=AUTH)
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            r.json()


def test_non_json_bodies(demo_site: Site) -> None:
    with SimulatorServer(demo_site, Faults(non_json_rate=1.0)) as sim:
        r = httpx.get(sim.api_url + "spaces", auth=AUTH)
        assert r.status_code == 200 and r.text.startswith("<!DOCTYPE html>")


def test_short_and_empty_pages_still_reach_everything(demo_site: Site) -> None:
    faults = Faults(empty_page_rate=0.3, short_page_rate=0.3, seed=5)
    with SimulatorServer(demo_site, faults) as sim:
        got: list[str] = []
        sizes: list[int] = []
        cursors: list[str] = []
        url: str | None = sim.api_url + "pages?limit=10"
        with httpx.Client(auth=AUTH) as client:
            while url:
                data = client.get(url).json()
                got.extend(item["id"] for item in data["results"])
                sizes.append(len(data["results"]))
                nxt = data["_links"].get("next")
                url = sim.base_url + nxt if nxt else None
                if nxt:
                    cursors.append(httpx.URL(nxt).params["cursor"])
        assert got == demo_site.visible_ids(DEMO_USER, "pages")
        assert 0 in sizes[:-1] and any(0 < s < 10 for s in sizes[:-1])
        assert len(cursors) == len(set(cursors))  # an empty page never repeats a cursor
        assert sim.stats.faults["empty_page"] and sim.stats.faults["short_page"]


def test_cursor_loop_repeats_the_cursor(demo_site: Site) -> None:
    with SimulatorServer(demo_site, Faults(cursor_loop=True)) as sim, httpx.Client(
        auth=AUTH
    ) as client:
        first = client.get(sim.api_url + "pages?limit=5").json()["_links"]["next"]
        second = client.get(sim.base_url + first).json()["_links"]["next"]
        assert second == first


def test_fault_paths_and_admin_exemption(demo_site: Site) -> None:
    with SimulatorServer(demo_site, Faults(error_rate=1.0, paths=r"/attachments")) as sim:
        assert _statuses(sim, 3, "pages") == [200, 200, 200]
        assert all(s >= 500 for s in _statuses(sim, 3, "attachments"))
        sim.faults.update(paths=None)
        assert httpx.get(sim.base_url + "/_admin/state").status_code == 200


def test_latency_does_not_block_other_requests(demo_site: Site) -> None:
    with SimulatorServer(demo_site, Faults(latency_s=3.0, paths=r"/spaces$")) as sim:
        order: list[str] = []

        def slow() -> None:
            httpx.get(sim.api_url + "spaces", auth=AUTH, timeout=20)
            order.append("slow")

        thread = threading.Thread(target=slow)
        thread.start()
        while sim.request_count < 1:
            threading.Event().wait(0.01)
        assert httpx.get(sim.api_url + "pages", auth=AUTH, timeout=20).status_code == 200
        order.append("fast")
        thread.join()
        assert order == ["fast", "slow"]


def test_faults_update_validates_names() -> None:
    faults = Faults()
    with pytest.raises(ValueError):
        faults.update(nonsense=1)
    faults.update(error_statuses=[503], seed=9)
    assert faults.error_statuses == (503,) and faults.to_dict()["seed"] == 9
    assert not faults.roll(0.0) and faults.roll(1.0)

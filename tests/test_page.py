"""The search page in a real browser: Playwright driving Debian's chromium.

A real API server (uvicorn, demo index, a scripted LLM for the Ask panel) serves the page;
the browser loads it with every request outside 127.0.0.1 blocked (the page and /docs must
work offline), types a query, sees results, follows a result link into the simulator's page,
asks a question and sees the streamed answer with a clickable citation. Screenshots go to the
test's tmp dir. Needs ``playwright`` (pip) and ``chromium`` (apt); CI installs both, and
under CI=true a missing browser fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragconf.api.app import create_app
from ragconf.api.server import ApiServer
from ragconf.settings import Settings
from ragconf.simulator import SimulatorServer, demo_site
from tests.llm_support import DemoIndex, ScriptedLLM, demo_index

CHROMIUM = os.environ.get("RAGCONF_TEST_CHROMIUM", "/usr/bin/chromium")


def _browser_or_skip() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        reason = "needs playwright (pip) and chromium (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the browser test: " + reason)
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, ScriptedLLM]]:
    """(API base URL, simulator base URL, the scripted LLM)."""
    with SimulatorServer(demo_site()) as sim, ScriptedLLM() as llm:
        index: DemoIndex = demo_index(tmp_path_factory.mktemp("page"), sim.base_url)
        app = create_app(Settings(llm_url=llm.url), embedder=index.embedder,
                         store=index.store, lexical=index.lexical)  # fmt: skip
        with ApiServer(app) as api:
            yield api.base_url, sim.base_url, llm


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _offline_page(browser: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """A page that may only reach 127.0.0.1; returns it and the list of blocked URLs."""
    context = browser.new_context(**kwargs)
    blocked: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    context.route("**/*", route)
    return context.new_page(), blocked


def test_search_follow_a_link_and_ask(
    browser: Any, site: tuple[str, str, ScriptedLLM], tmp_path: Path
) -> None:
    api, sim_url, llm = site
    page, blocked = _offline_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(api + "/")
    assert page.title().startswith("ragconf")
    # the box has focus on load; "/" as the placeholder says must not land in it
    page.keyboard.press("/")
    page.keyboard.type("x/y")
    assert page.input_value("#q") == "x/y"  # a slash inside a query is kept
    page.fill("#q", "")
    # keyboard: "/" focuses the box, Enter searches
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("/")
    page.keyboard.type("Promote the replica with the least replication lag")
    assert page.input_value("#q") == "Promote the replica with the least replication lag"
    page.keyboard.press("Enter")
    page.locator("#results li.result").first.wait_for(timeout=15_000)
    titles = page.locator("#results li.result h3 a").all_inner_texts()
    assert "Runbook: Postgres failover" in titles[:3]
    first = page.locator("#results li.result").nth(titles.index("Runbook: Postgres failover"))
    assert "OPS" in first.locator(".meta").inner_text()
    assert first.locator(".snippet mark").count() > 0  # query terms highlighted
    assert page.locator("#space option[value=OPS]").count() == 1  # filters from /spaces
    assert "q=Promote" in page.url  # the search is in the address: shareable, reloadable
    page.screenshot(path=str(tmp_path / "results.png"), full_page=True)

    # the space filter narrows the results
    page.select_option("#space", "ENG")
    page.locator("#search-button").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results .meta .space')]"
        ".every(e => e.textContent === 'ENG')"
    )

    # Ask: the answer streams in with a clickable citation
    llm.reply = "Promote the replica with the least lag using patronictl [1]."
    page.select_option("#space", "")
    page.locator("#ask-button").click()
    cite = page.locator("#answer-text a.cite")
    cite.first.wait_for(timeout=15_000)
    assert "patronictl" in page.locator("#answer-text").inner_text()
    assert cite.first.get_attribute("href").startswith(sim_url + "/wiki/")
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)

    # all spaces again, then follow the result into the (simulated) Confluence page
    page.locator("#search-button").click()
    link = page.locator("#results a.title", has_text="Runbook: Postgres failover")
    link.wait_for(timeout=15_000)
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(href.split("#")[0] + "**")
    assert "/wiki/spaces/OPS/pages/65570" in page.url
    assert blocked == [] and errors == []
    assert (tmp_path / "results.png").stat().st_size > 10_000


def test_readable_on_a_phone_and_docs_work_offline(
    browser: Any, site: tuple[str, str, ScriptedLLM], tmp_path: Path
) -> None:
    api, _, _ = site
    page, blocked = _offline_page(browser, viewport={"width": 375, "height": 740})
    page.goto(api + "/?q=release+train")
    page.locator("#results li.result").first.wait_for(timeout=15_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375  # no sideways scrolling
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)

    page.goto(api + "/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
    assert "ragconf" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".swagger-ui .opblock-summary-path", has_text="/answer").wait_for()
    page.screenshot(path=str(tmp_path / "docs.png"))
    assert blocked == []

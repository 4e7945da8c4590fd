"""Every GET operation of openapi-v2.json, walked: each is served, answers what its spec
declares (schema-valid, no invented fields), answers 404 for ids that do not exist or that
the caller may not see, and answers HEAD like GET.

The paths come from the spec itself, so a route added to the spec later fails here until
the simulator serves it and this file says which demo objects exercise it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ragconf.simulator import (
    CALENDAR_TYPE,
    DEMO_TOKEN,
    DEMO_USER,
    GUEST_TOKEN,
    GUEST_USER,
    SimulatorServer,
    Site,
    demo_site,
)
from tests.test_simulator_schema import (
    SPEC_DIR,
    spec,
    timestamps_ok,
    undeclared,
    validator,
)

pytestmark = pytest.mark.skipif(SPEC_DIR is None, reason="official OpenAPI documents absent")

PARAM = re.compile(r"\{[^}]+\}")
MISSING = "999999999"
# What the demo site answers where it has none of a thing, as the spec documents it
EXPECTED_STATUS = {
    "/admin-key": 404,  # no admin key enabled
    "/classification-levels": 404,  # the site has no data classification
    "/spaces/{id}/classification-level/default": 404,
    "/pages/{id}/classification-level": 404,
    "/blogposts/{id}/classification-level": 404,
    "/whiteboards/{id}/classification-level": 404,
    "/databases/{id}/classification-level": 404,
    "/space-roles/{id}": 404,  # permissions, not roles, on this site
    "/app/properties": 401,  # Forge apps only
    "/app/properties/{propertyKey}": 401,
    "/attachments/{id}/thumbnail/download": 302,
}
# Lists that stay empty on the demo site: nothing there has likes, content properties or
# roles; no calendar sits on a blog post; nothing sits under the Smart Link embed.
EMPTY_OK = {
    "/pages/{id}/likes/users", "/blogposts/{id}/likes/users",
    "/footer-comments/{id}/likes/users", "/inline-comments/{id}/likes/users",
    "/spaces/{id}/role-assignments", "/space-roles", "/blogposts/{id}/custom-content",
    "/embeds/{id}/direct-children", "/embeds/{id}/descendants",
}


def _expected(template: str) -> int:
    if template.endswith("/properties/{property-id}"):
        return 404  # nothing on the demo site has content properties
    return EXPECTED_STATUS.get(template, 200)


def _empty_ok(template: str) -> bool:
    return template in EMPTY_OK or template.split("/")[-1] == "properties"


def _get_ops() -> list[str]:
    return [path for path, ops in spec("v2")["paths"].items() if "get" in ops]


def _ids(site: Site) -> dict[str, list[str]]:
    """Demo ids per path segment: the richest objects of each kind (any one of them must
    answer; together they must fill every list that is not empty by design)."""
    def page(title: str) -> str:
        return next(p.id for p in site.pages.values() if p.title == title)

    def comment(text: str) -> str:
        return next(c.id for c in site.comments.values() if text in c.body)

    att = next(a for a in site.attachments.values() if a.version > 1)
    site.set_labels(att.id, ["evidence"])
    eng = site.space_by_key("ENG")
    calendar = next(c.id for c in site.custom_content.values()
                    if c.title == "Design review calendar")
    posts = [p.id for p in site.blogposts.values()
             if any(a.container_id == p.id for a in site.attachments.values())
             or any(c.container_id == p.id for c in site.comments.values())]
    labels = [lab.id for lab in site.labels.values()
              if lab.name in ("runbook", "announcement", "evidence", "design-review")]
    nodes = {kind: next(n.id for n in site.nodes.values() if n.kind == kind)
             for kind in ("folder", "whiteboard", "database", "embed")}
    return {
        "spaces": [eng.id],
        "pages": [eng.homepage_id or "", page("Design review: ledger archival"),
                  page("On-call rotation and escalation"), page("Runbook: Postgres failover")],
        "blogposts": posts,
        "attachments": [att.id, next(a.id for a in site.attachments.values()
                                     if a.container_kind == "custom_content")],
        "custom-content": [calendar],
        "labels": labels,
        "tasks": [next(iter(site.tasks))],
        "folders": [nodes["folder"]], "whiteboards": [nodes["whiteboard"]],
        "databases": [nodes["database"]], "embeds": [nodes["embed"]],
        "footer-comments": [comment("400 days")],
        "inline-comments": [comment("weekly partitions"), comment("Glacier Instant")],
        "comments": [comment("400 days")],
        "space-roles": ["1"], "versions": ["1"], "properties": ["1"],
    }


def _hidden(site: Site) -> dict[str, str]:
    """An id per kind that the guest may not see (private space, restricted page, …)."""
    lead = site.space_by_key("LEAD")
    secrets = next(p for p in site.pages.values() if p.title == "Secrets rotation procedure")
    return {
        "spaces": lead.id,
        "pages": secrets.id,  # a restricted page inside a space the guest sees
        "blogposts": next(p.id for p in site.blogposts.values() if p.space_id == lead.id),
        "attachments": next(a.id for a in site.attachments.values()
                            if not site.can_view(GUEST_USER, a.id)),
        "custom-content": next(c.id for c in site.custom_content.values()
                               if c.space_id == lead.id),
        "databases": next(n.id for n in site.nodes.values() if n.kind == "database"),
        "footer-comments": next(c.id for c in site.comments.values()
                                if c.container_id == secrets.id),
        "comments": next(c.id for c in site.comments.values() if c.container_id == secrets.id),
        "tasks": next(t.id for t in site.tasks.values() if t.space_id == lead.id),
    }


def _urls(template: str, ids: dict[str, list[str]]) -> list[str]:
    """Concrete request paths (+ the required query) for one spec template."""
    segments = template.strip("/").split("/")
    choices: list[list[str]] = [[]]
    for i, segment in enumerate(segments):
        if not PARAM.fullmatch(segment):
            choices = [[*c, segment] for c in choices]
            continue
        owner = segments[i - 1]
        values = ["x"] if segment == "{propertyKey}" else ids[owner]
        # the first id varies over the candidates; later ones take the first candidate
        choices = ([[*c, v] for c in choices for v in values] if len(choices) == 1
                   else [[*c, values[0]] for c in choices])
    query = f"?type={CALENDAR_TYPE}" if template.endswith("custom-content") else ""
    return ["/".join(c) + query for c in choices]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SimulatorServer, dict[str, list[str]], dict[str, str]]]:
    site = demo_site()
    ids, hidden = _ids(site), _hidden(site)
    with SimulatorServer(site) as sim:
        yield sim, ids, hidden


def _check(template: str, url: str, r: httpx.Response, status: int) -> list[str]:
    problems: list[str] = []
    if r.status_code != status:
        return [f"{url}: {r.status_code}, expected {status}: {r.text[:200]}"]
    if status == 302:
        return [] if r.headers.get("location") else [f"{url}: 302 without Location"]
    body = r.json()
    if status != 200:
        errors = body.get("errors") if isinstance(body, dict) else None
        if not errors or errors[0].get("status") != status:
            problems.append(f"{url}: {status} without the v2 error body: {body}")
        return problems
    schema = spec("v2")["paths"][template]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    problems += [f"{url}: {e.json_path}: {e.message[:160]}"
                 for e in validator("v2", schema).iter_errors(body)]
    problems += [f"{url}: undeclared {p}" for p in undeclared("v2", body, [schema], "$")]
    if not timestamps_ok(body):
        problems.append(f"{url}: a timestamp is not ISO-8601 with milliseconds")
    return problems


def test_every_spec_get_route_is_registered() -> None:
    app = SimulatorServer(Site()).app
    served_paths = {PARAM.sub("{}", path) for path in app.state.api_paths}
    missing = [t for t in _get_ops() if PARAM.sub("{}", "/wiki/api/v2" + t) not in served_paths]
    assert not missing, "spec GET routes the simulator does not serve:\n" + "\n".join(missing)


def test_every_spec_get_route_answers_schema_valid(served: Any) -> None:
    sim, ids, _hidden_ids = served
    failures: list[str] = []
    filled: set[str] = set()
    with httpx.Client(base_url=sim.api_url, auth=(DEMO_USER, DEMO_TOKEN), timeout=10) as c:
        for template in _get_ops():
            status = _expected(template)
            for url in _urls(template, ids):
                r = c.get(url)
                failures += _check(template, url, r, status)
                if r.status_code == 200 and (
                        not isinstance(r.json(), dict) or r.json().get("results") != []):
                    filled.add(template)
    empty = [t for t in _get_ops() if _expected(t) == 200
             and t not in filled and not _empty_ok(t)]
    assert not failures, "\n".join(failures)
    assert not empty, "lists that came back empty for every demo id:\n" + "\n".join(empty)


def test_every_id_route_answers_404_for_missing_and_hidden_ids(served: Any) -> None:
    sim, ids, hidden = served
    failures: list[str] = []
    checked = 0
    with httpx.Client(base_url=sim.api_url, auth=(GUEST_USER, GUEST_TOKEN), timeout=10) as c:
        for template in _get_ops():
            segments = template.strip("/").split("/")
            first = next((i for i, s in enumerate(segments) if PARAM.fullmatch(s)), None)
            if first is None or template in EXPECTED_STATUS:  # 404/401/302 by design
                continue
            owner = segments[first - 1]
            missing = ("att" + MISSING) if owner == "attachments" else MISSING
            for bad in filter(None, (missing, hidden.get(owner))):
                url = _urls(template, {**ids, owner: [bad]})[0]
                checked += 1
                failures += _check(template, url, c.get(url), 404)
    assert checked > 150 and not failures, "\n".join(failures)


def test_head_answers_like_get_on_every_route(served: Any) -> None:
    sim, ids, _hidden_ids = served
    wrong: list[str] = []
    with httpx.Client(base_url=sim.api_url, auth=(DEMO_USER, DEMO_TOKEN), timeout=10) as c:
        for template in _get_ops():
            url = _urls(template, ids)[0]
            got, head = c.get(url), c.head(url)
            if head.status_code != got.status_code or head.content:
                wrong.append(f"{url}: HEAD {head.status_code} ({len(head.content)} bytes), "
                             f"GET {got.status_code}")
            elif head.headers.get("content-type") != got.headers.get("content-type"):
                wrong.append(f"{url}: HEAD content-type differs")
    assert not wrong, "\n".join(wrong)

"""Fidelity: simulator responses against the official OpenAPI documents (v2, and v1 for
the current user), plus every enum value the spec allows being accepted by the routes.

OpenAPI 3.0 schemas become JSON Schema 2020-12 here: ``nullable`` turns into a null type,
and properties whose description says "or null" (``parentId``, ``parentType``) accept null,
as Confluence sends for root pages. On top of type/enum validation, a second check fails
on any property the spec does not declare, so the simulator cannot invent fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from ragconf.simulator import CALENDAR_TYPE, DEMO_TOKEN, DEMO_USER, SimulatorServer, Site
from tests.shared_data import need, shared_path

_SPEC = shared_path("confluence", "openapi-v2.json")
SPEC_DIR = _SPEC.parent if _SPEC is not None else None


@pytest.fixture(autouse=True)
def _official_documents() -> None:
    """Every test here needs the official OpenAPI documents: skip without, fail in CI."""
    need("confluence", "openapi-v2.json")
    need("confluence", "openapi-v1.json")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_DROP = {"example", "examples", "discriminator", "xml", "externalDocs", "deprecated",
         "readOnly", "writeOnly", "nullable"}


@cache
def spec(version: str) -> dict[str, Any]:
    assert SPEC_DIR is not None
    result: dict[str, Any] = json.loads((SPEC_DIR / f"openapi-{version}.json").read_text())
    return result


def convert(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema 2020-12 (refs point into ``$defs``)."""
    if isinstance(node, list):
        return [convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: convert(v) for k, v in node.items() if k not in _DROP}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    description = node.get("description")
    nullable = node.get("nullable") is True or (
        isinstance(description, str) and re.search(r"\bor null\b", description) is not None)
    if nullable:
        if "$ref" in out:
            return {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def validator(version: str, schema: dict[str, Any]) -> Draft202012Validator:
    defs = {k: convert(v) for k, v in spec(version)["components"]["schemas"].items()}
    return Draft202012Validator({**convert(schema), "$defs": defs})


def resolve(version: str, node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = spec(version)["components"]["schemas"][name]
    return node


def undeclared(version: str, value: Any, schemas: list[dict[str, Any]], path: str) -> list[str]:
    """Paths of object keys that no (allOf-merged) schema declares."""
    flat: list[dict[str, Any]] = []
    stack = list(schemas)
    while stack:
        current = resolve(version, stack.pop())
        flat.append(current)
        stack.extend(current.get("allOf", []))
    problems: list[str] = []
    if isinstance(value, dict):
        props: dict[str, list[dict[str, Any]]] = {}
        open_ended = False
        for s in flat:
            for name, sub in s.get("properties", {}).items():
                props.setdefault(name, []).append(sub)
            if s.get("additionalProperties") not in (None, False) or (
                s.get("type") == "object" and "properties" not in s and "allOf" not in s
            ):
                open_ended = True
        for key, item in value.items():
            if key in props:
                problems += undeclared(version, item, props[key], f"{path}.{key}")
            elif not open_ended:
                problems.append(f"{path}.{key}")
    elif isinstance(value, list):
        items = [s["items"] for s in flat if "items" in s]
        for i, item in enumerate(value):
            problems += undeclared(version, item, items, f"{path}[{i}]")
    return problems


def timestamps_ok(value: Any) -> bool:
    if isinstance(value, dict):
        return all((not k.endswith("At") or v is None or ISO.match(v)) and timestamps_ok(v)
                   for k, v in value.items())
    if isinstance(value, list):
        return all(timestamps_ok(v) for v in value)
    return True


def _find(site: Site, kind: str, pred: Callable[[Any], bool]) -> str:
    return next(rec.id for rec in getattr(site, kind).values() if pred(rec))


def routes(site: Site) -> list[tuple[str, str]]:
    """(spec path template, concrete request path + query) covering every served GET."""
    eng = site.space_by_key("ENG").id
    page = _find(site, "pages", lambda p: p.title == "Error codes")
    tree = site.space_by_key("ENG").homepage_id
    trashed = _find(site, "pages", lambda p: p.status == "trashed")
    post = _find(site, "blogposts", lambda p: p.title == "March 2026 availability report: 99.993%")
    att = _find(site, "attachments", lambda a: a.title == "error-codes.csv")
    site.set_labels(att, ["evidence"])
    label = _find(site, "labels", lambda lab: lab.name == "api")
    att_label = _find(site, "labels", lambda lab: lab.name == "evidence")
    calendar = _find(site, "custom_content", lambda c: c.parent_id is not None)
    task = _find(site, "tasks", lambda t: t.assigned_to and t.due_at)
    single = "include-labels=true&include-versions=true&include-properties=true" \
             "&include-operations=true"
    archival = _find(site, "pages", lambda p: p.title == "Design review: ledger archival")
    backup = _find(site, "pages", lambda p: p.title == "Backup policy")
    edited = _find(site, "pages", lambda p: p.version > 2)
    retention = _find(site, "comments", lambda c: "400 days" in c.body)
    glacier = _find(site, "comments", lambda c: "Glacier Instant" in c.body)
    partitions = _find(site, "comments", lambda c: "weekly partitions" in c.body)
    on_post = _find(site, "comments", lambda c: c.container_kind == "blogpost")
    inline_post = _find(site, "comments",
                        lambda c: c.container_kind == "blogpost" and c.kind == "inline")
    on_att = _find(site, "comments", lambda c: c.container_kind == "attachment")
    on_custom = _find(site, "comments", lambda c: c.container_kind == "custom_content")
    folder = _find(site, "nodes", lambda n: n.title == "Design reviews")
    review_calendar = _find(site, "custom_content", lambda c: c.title == "Design review calendar")
    comment_single = "include-properties=true&include-operations=true&include-likes=true" \
                     "&include-versions=true"
    comments = [
        ("/pages/{id}/footer-comments", f"pages/{backup}/footer-comments?body-format=storage"),
        ("/pages/{id}/inline-comments",
         f"pages/{archival}/inline-comments?body-format=atlas_doc_format"),
        ("/blogposts/{id}/footer-comments",
         f"blogposts/{site.comments[on_post].container_id}/footer-comments"),
        ("/blogposts/{id}/inline-comments",
         f"blogposts/{site.comments[inline_post].container_id}/inline-comments"
         "?body-format=storage"),
        ("/attachments/{id}/footer-comments",
         f"attachments/{site.comments[on_att].container_id}/footer-comments"),
        ("/custom-content/{id}/footer-comments",
         f"custom-content/{site.comments[on_custom].container_id}/footer-comments"
         "?body-format=storage"),
        ("/footer-comments", "footer-comments?body-format=storage"),
        ("/inline-comments", "inline-comments?body-format=storage"),
        ("/footer-comments/{comment-id}",
         f"footer-comments/{retention}?body-format=storage&{comment_single}"),
        ("/inline-comments/{comment-id}",
         f"inline-comments/{glacier}?body-format=view&{comment_single}"),
        ("/footer-comments/{id}/children", f"footer-comments/{retention}/children"),
        ("/inline-comments/{id}/children",
         f"inline-comments/{partitions}/children?body-format=storage"),
        ("/footer-comments/{id}/versions",
         f"footer-comments/{retention}/versions?body-format=storage"),
        ("/inline-comments/{id}/versions", f"inline-comments/{glacier}/versions"),
    ]
    tree_and_versions = [
        ("/pages/{id}/descendants", f"pages/{tree}/descendants?depth=3"),
        ("/folders/{id}/direct-children", f"folders/{folder}/direct-children"),
        ("/folders/{id}/descendants", f"folders/{folder}/descendants"),
        ("/folders/{id}/ancestors", f"folders/{folder}/ancestors"),
        ("/pages/{id}/versions", f"pages/{edited}/versions?body-format=storage"),
        ("/blogposts/{id}/versions", f"blogposts/{post}/versions"),
        ("/custom-content/{custom-content-id}/versions",
         f"custom-content/{calendar}/versions?body-format=storage"),
        ("/attachments/{id}/versions", f"attachments/{att}/versions"),
        ("/custom-content/{id}/children", f"custom-content/{review_calendar}/children"),
        ("/custom-content/{id}/labels", f"custom-content/{review_calendar}/labels"),
        ("/spaces/{id}/permissions", f"spaces/{eng}/permissions"),
        ("/data-policies/spaces", "data-policies/spaces"),
        ("/space-permissions", "space-permissions"),
    ]
    return comments + tree_and_versions + [
        ("/spaces", "spaces?description-format=plain&include-icon=true"),
        ("/spaces/{id}", f"spaces/{eng}?description-format=view&include-labels=true"),
        ("/spaces/{id}/pages", f"spaces/{eng}/pages?body-format=storage&limit=50"),
        ("/spaces/{id}/blogposts", f"spaces/{eng}/blogposts?body-format=atlas_doc_format"),
        ("/spaces/{id}/labels", f"spaces/{eng}/labels"),
        ("/spaces/{id}/content/labels", f"spaces/{eng}/content/labels?limit=100"),
        ("/spaces/{id}/custom-content",
         f"spaces/{eng}/custom-content?type={CALENDAR_TYPE}&body-format=storage"),
        ("/pages", "pages?body-format=storage&limit=250"),
        ("/pages", "pages?status=trashed,archived"),
        ("/pages/{id}", f"pages/{page}?body-format=storage&{single}"),
        ("/pages/{id}", f"pages/{page}?version=1&body-format=view"),
        ("/pages/{id}", f"pages/{trashed}"),
        ("/pages/{id}", f"pages/{tree}?include-direct-children=true&include-version=false"),
        ("/pages/{id}/labels", f"pages/{page}/labels"),
        ("/pages/{id}/attachments", f"pages/{page}/attachments"),
        ("/pages/{id}/ancestors", f"pages/{page}/ancestors"),
        ("/pages/{id}/direct-children", f"pages/{tree}/direct-children"),
        ("/pages/{id}/children", f"pages/{tree}/children"),
        ("/pages/{id}/custom-content",
         f"pages/{site.custom_content[calendar].parent_id}/custom-content?type={CALENDAR_TYPE}"),
        ("/blogposts", "blogposts?body-format=storage"),
        ("/blogposts/{id}", f"blogposts/{post}?body-format=storage&{single}"),
        ("/blogposts/{id}/labels", f"blogposts/{post}/labels"),
        ("/blogposts/{id}/attachments", f"blogposts/{post}/attachments"),
        ("/labels", "labels?limit=250"),
        ("/labels/{id}/pages", f"labels/{label}/pages?body-format=storage"),
        ("/labels/{id}/blogposts", f"labels/{label}/blogposts"),
        ("/labels/{id}/attachments", f"labels/{att_label}/attachments"),
        ("/attachments", "attachments?limit=250"),
        ("/attachments/{id}", f"attachments/{att}?include-labels=true"),
        ("/attachments/{id}/labels", f"attachments/{att}/labels"),
        ("/custom-content", f"custom-content?type={CALENDAR_TYPE}&body-format=storage"),
        ("/custom-content/{id}", f"custom-content/{calendar}?body-format=storage"),
        ("/tasks", "tasks?body-format=storage&limit=250"),
        ("/tasks/{id}", f"tasks/{task}?body-format=storage"),
    ]


def test_every_route_validates_against_the_v2_spec(simulator: SimulatorServer) -> None:
    site = simulator.site
    failures: list[str] = []
    with httpx.Client(base_url=simulator.api_url, auth=(DEMO_USER, DEMO_TOKEN)) as client:
        for template, url in routes(site):
            r = client.get(url)
            assert r.status_code == 200, (url, r.text)
            body = r.json()
            op = spec("v2")["paths"][template]["get"]
            schema = op["responses"]["200"]["content"]["application/json"]["schema"]
            for error in validator("v2", schema).iter_errors(body):
                failures.append(f"{url}: {error.json_path}: {error.message[:200]}")
            failures += [f"{url}: undeclared {p}" for p in undeclared("v2", body, [schema], "$")]
            if not timestamps_ok(body):
                failures.append(f"{url}: a timestamp is not ISO-8601 with milliseconds")
            if isinstance(body.get("results"), list):
                assert body["results"], f"{url} returned nothing to validate"
    assert not failures, "\n".join(failures)


def test_current_user_validates_against_the_v1_spec(simulator: SimulatorServer) -> None:
    r = httpx.get(simulator.base_url + "/wiki/rest/api/user/current",
                  auth=(DEMO_USER, DEMO_TOKEN))
    schema = spec("v1")["paths"]["/wiki/rest/api/user/current"]["get"]["responses"]["200"][
        "content"]["application/json"]["schema"]
    errors = [e.message for e in validator("v1", schema).iter_errors(r.json())]
    assert not errors


def _enum(param: dict[str, Any]) -> tuple[list[str], bool]:
    schema = resolve("v2", param.get("schema", {}))
    if "enum" in schema:
        return list(schema["enum"]), False
    items = resolve("v2", schema.get("items", {}))
    return list(items.get("enum", [])), schema.get("type") == "array"


def test_every_enum_value_in_the_spec_is_accepted(simulator: SimulatorServer) -> None:
    """A value the spec allows must never be answered 400 (404 is fine: filters may miss)."""
    rejected: list[str] = []
    with httpx.Client(base_url=simulator.api_url, auth=(DEMO_USER, DEMO_TOKEN)) as client:
        for template, url in routes(simulator.site):
            path, _, _query = url.partition("?")
            base_params = {"type": CALENDAR_TYPE} if "custom-content" in template else {}
            for param in spec("v2")["paths"][template]["get"].get("parameters", []):
                param = resolve("v2", param) if "$ref" in param else param
                values, _is_array = _enum(param)
                if param.get("in") != "query":
                    continue
                for value in values:
                    r = client.get(path, params={**base_params, param["name"]: value})
                    if r.status_code == 400:
                        rejected.append(f"{template} {param['name']}={value}")
                r = client.get(path, params={**base_params, param["name"]: "not-a-value"})
                if values and r.status_code != 400:
                    rejected.append(f"{template} {param['name']}=not-a-value got {r.status_code}")
    assert not rejected, "\n".join(rejected)


def test_limit_defaults_and_maxima_follow_the_spec(simulator: SimulatorServer) -> None:
    site = simulator.site
    page = _find(site, "pages", lambda p: p.title == "Error codes")
    for i in range(60):  # enough attachments that a default of 25 and one of 50 differ
        att = site.add_attachment(page, f"extra-{i:02d}.txt", b"x", "text/plain")
        site.set_labels(att, ["evidence"])
    wrong: list[str] = []
    with httpx.Client(base_url=simulator.api_url, auth=(DEMO_USER, DEMO_TOKEN)) as client:
        for template, url in routes(site):
            params = [p for p in spec("v2")["paths"][template]["get"].get("parameters", [])
                      if p.get("name") == "limit"]
            if not params:
                continue
            default = params[0]["schema"]["default"]
            maximum = params[0]["schema"]["maximum"]
            path, _, query = url.partition("?")
            query = "&".join(q for q in query.split("&") if q and not q.startswith("limit="))
            everything = client.get(f"{path}?{query}&limit={maximum}").json()["results"]
            shown = client.get(f"{path}?{query}").json()["results"]
            if len(shown) != min(default, len(everything)):
                wrong.append(f"{template}: {len(shown)} shown, default {default}")
            if client.get(f"{path}?{query}&limit={maximum + 1}").status_code != 400:
                wrong.append(f"{template}: limit above {maximum} accepted")
    assert not wrong, "\n".join(wrong)


def test_error_bodies_match_the_documented_shape(sim_client: httpx.Client) -> None:
    for url, status, code in (("pages/1", 404, "NOT_FOUND"),
                              ("pages?limit=999", 400, "INVALID_REQUEST_PARAMETER")):
        r = sim_client.get(url)
        assert r.status_code == status
        (error,) = r.json()["errors"]
        assert set(error) == {"status", "code", "title", "detail"}
        assert (error["status"], error["code"]) == (status, code)

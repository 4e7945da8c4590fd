"""``/_admin`` routes: every :class:`Site` mutation as a JSON POST, plus state and faults.

No Confluence auth (they exist for tests, demos and benchmarks driving the simulator from
another process). Unknown ids answer 404, invalid requests 400, both ``{"error": …}``.

    curl -X POST localhost:8090/_admin/edit -d '{"content_id": "65540", "body": "<p>v2</p>"}'
    curl -X POST localhost:8090/_admin/add_comment \
         -d '{"container_id": "65540", "body": "<p>Agreed.</p>", "parent_id": "70001"}'
    curl -X POST localhost:8090/_admin/add_folder -d '{"space_key": "ENG", "title": "Specs"}'
    curl -X POST localhost:8090/_admin/move -d '{"content_id": "65540", "parent_id": "70002"}'
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ragconf.simulator._app import json_response
from ragconf.simulator._site import Site

__all__ = ["router"]


def _site(request: Request) -> Site:
    site: Site = request.app.state.env.site
    return site


def _data(body: dict[str, Any]) -> bytes:
    if "data_base64" in body:
        return base64.b64decode(_req(body, "data_base64"), validate=True)
    return str(body.pop("text", "")).encode("utf-8")


def _req(body: dict[str, Any], name: str) -> Any:
    if name not in body:
        raise ValueError(f"missing field {name!r}")
    return body.pop(name)


def _opt_set(value: Any) -> set[str] | None:
    return None if value is None else set(value)


# name -> how to call the site method with the JSON body (returns the JSON to answer)
_ACTIONS: dict[str, Callable[[Site, dict[str, Any]], Any]] = {
    "add_space": lambda s, b: {"id": s.add_space(_req(b, "key"), _req(b, "name"), **b)},
    "add_page": lambda s, b: {"id": s.add_page(_req(b, "space_key"), _req(b, "title"),
                                               _req(b, "body"), **b)},
    "add_blog_post": lambda s, b: {"id": s.add_blog_post(_req(b, "space_key"), _req(b, "title"),
                                                         _req(b, "body"), **b)},
    "add_custom_content": lambda s, b: {"id": s.add_custom_content(
        _req(b, "type"), _req(b, "space_key"), _req(b, "title"), _req(b, "body"), **b)},
    "add_attachment": lambda s, b: {"id": s.add_attachment(
        _req(b, "container_id"), _req(b, "filename"), _data(b), _req(b, "media_type"), **b)},
    "edit": lambda s, b: s.edit(_req(b, "content_id"), **b),
    "set_labels": lambda s, b: s.set_labels(_req(b, "content_id"), _req(b, "labels")),
    "move": lambda s, b: s.move(_req(b, "content_id"), **b),
    "restrict": lambda s, b: s.restrict(_req(b, "content_id"), _opt_set(b.pop("allowed", None))),
    "archive": lambda s, b: s.archive(_req(b, "content_id")),
    "restore": lambda s, b: s.restore(_req(b, "content_id")),
    "trash": lambda s, b: s.trash(_req(b, "content_id")),
    "purge": lambda s, b: s.purge(_req(b, "content_id")),
    "set_space_access": lambda s, b: s.set_space_access(
        _req(b, "email"), _opt_set(b.pop("space_keys", None))),
    "add_user": lambda s, b: {"account_id": s.add_user(_req(b, "email"), _req(b, "token"),
                                                       _req(b, "display_name"), **b)},
    "advance": lambda s, b: s.advance(float(_req(b, "seconds"))),
    "add_comment": lambda s, b: {"id": s.add_comment(b.pop("container_id", None),
                                                     _req(b, "body"), **b)},
    "edit_comment": lambda s, b: s.edit_comment(_req(b, "comment_id"), _req(b, "body"), **b),
    "resolve_comment": lambda s, b: s.resolve_comment(_req(b, "comment_id"), **b),
    "delete_comment": lambda s, b: s.delete_comment(_req(b, "comment_id")),
    "add_node": lambda s, b: {"id": s.add_node(_req(b, "kind"), _req(b, "space_key"),
                                               _req(b, "title"), **b)},
    "add_folder": lambda s, b: {"id": s.add_folder(_req(b, "space_key"), _req(b, "title"), **b)},
    "add_whiteboard": lambda s, b: {"id": s.add_whiteboard(_req(b, "space_key"),
                                                           _req(b, "title"), **b)},
    "add_database": lambda s, b: {"id": s.add_database(_req(b, "space_key"),
                                                       _req(b, "title"), **b)},
    "add_embed": lambda s, b: {"id": s.add_embed(_req(b, "space_key"), _req(b, "title"),
                                                 _req(b, "url"), **b)},
}


def router() -> APIRouter:
    r = APIRouter(prefix="/_admin")

    @r.get("/state", include_in_schema=False)
    def state(request: Request) -> Response:
        out = _site(request).state()
        faults = request.app.state.faults
        out["faults"] = None if faults is None else faults.to_dict()
        stats = request.app.state.stats
        out["stats"] = {"requests": stats.requests, "faults": dict(stats.faults)}
        return json_response(out)

    @r.post("/faults", include_in_schema=False)
    async def faults(request: Request) -> Response:
        from ragconf.simulator._faults import Faults

        body = await _json(request)
        if not isinstance(body, dict):
            return json_response({"error": "expected a JSON object"}, 400)
        try:
            if request.app.state.faults is None:
                request.app.state.faults = Faults()
            request.app.state.faults.update(**body)
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(request.app.state.faults.to_dict())

    @r.post("/{action}", include_in_schema=False)
    async def act(request: Request, action: str) -> Response:
        handler = _ACTIONS.get(action)
        if handler is None:
            return json_response({"error": f"unknown action {action!r}",
                                  "actions": sorted(_ACTIONS)}, 404)
        body = await _json(request)
        if not isinstance(body, dict):
            return json_response({"error": "expected a JSON object"}, 400)
        site = _site(request)
        try:
            result = handler(site, dict(body))
        except KeyError as exc:
            return json_response({"error": f"not found: {exc.args[0] if exc.args else ''}"}, 404)
        except (ValueError, TypeError, binascii.Error) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"ok": True, **(result or {}), "now": site.now.isoformat(),
                              "generation": site.generation})

    return r


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    import json

    try:
        return json.loads(raw)
    except ValueError:
        return None

"""Result fields read from chunk metadata: labels and breadcrumbs."""

from __future__ import annotations

from typing import Any

__all__ = ["breadcrumbs_of", "labels_of"]


def labels_of(md: dict[str, Any]) -> list[str]:
    labels = md.get("labels") or []
    if isinstance(labels, str):  # ",a,b," string form
        labels = [x for x in labels.split(",") if x]
    return [str(x) for x in labels]


def _path(value: Any) -> list[str]:
    """A " › "-joined path or a list of titles -> list of titles."""
    if not value:
        return []
    if isinstance(value, str):
        return [x.strip() for x in value.split(" › ") if x.strip()]
    return [str(x) for x in value if str(x).strip()]


def breadcrumbs_of(md: dict[str, Any]) -> list[str]:
    crumbs: list[str] = []
    space = md.get("space_name") or md.get("space_key")
    if space:
        crumbs.append(str(space))
    # the sync stores the ancestor page titles as "breadcrumbs" ("Home › Runbooks")
    crumbs.extend(_path(md.get("breadcrumbs") or md.get("ancestor_titles")))
    crumbs.extend(_path(md.get("heading_path")))
    return crumbs

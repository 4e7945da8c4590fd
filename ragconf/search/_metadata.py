"""Result fields read from chunk metadata: labels and breadcrumbs."""

from __future__ import annotations

__all__ = ["breadcrumbs_of", "labels_of"]

from ragconf.index.keys import decode_labels
from ragconf.index.types import Metadata


def labels_of(md: Metadata) -> list[str]:
    return decode_labels(md.get("labels"))


def _path(value: object) -> list[str]:
    """A " › "-joined path or a list of titles -> list of titles."""
    if not value:
        return []
    if isinstance(value, str):
        return [x.strip() for x in value.split(" › ") if x.strip()]
    if isinstance(value, list | tuple):
        return [str(x) for x in value if str(x).strip()]
    return [str(value)]


def breadcrumbs_of(md: Metadata) -> list[str]:
    crumbs: list[str] = []
    space = md.get("space_name") or md.get("space_key")
    if space:
        crumbs.append(str(space))
    # the sync stores the ancestor page titles as "breadcrumbs" ("Home › Runbooks")
    crumbs.extend(_path(md.get("breadcrumbs")))
    crumbs.extend(_path(md.get("heading_path")))
    return crumbs

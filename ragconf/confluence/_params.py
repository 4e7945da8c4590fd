"""Query-parameter helpers shared by the client's resource methods."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from ragconf.confluence._paging import as_list

__all__ = [
    "IDS_CAP",
    "SPACE_IDS_CAP",
    "USERS_CAP",
    "DateLike",
    "IdList",
    "multi",
    "sort_key",
    "to_epoch_ms",
]

IdList = str | int | Iterable[str | int] | None
DateLike = date | datetime | str | int | float | None

IDS_CAP = 250  # /pages?id=, /spaces?ids=, /tasks filters
SPACE_IDS_CAP = 100  # /pages?space-id=, /blogposts?space-id=
#: account ids per v1 /user/bulk request: the spec answers at most 200 (limit max); 100
#: keeps the URL short (ids are up to ~60 characters each)
USERS_CAP = 100


def sort_key(sort: str | None, natural: str = "id") -> str | None:
    """ "asc"/"desc" -> the route's natural key (``id``/``-id``); API keys pass through."""
    if sort is None:
        return None
    low = sort.strip().lower()
    if low == "asc":
        return natural
    if low == "desc":
        return "-" + natural
    return sort.strip()


def multi(values: str | Iterable[str] | None) -> str | None:
    """A multi-valued filter (status) as the comma-separated form the spec describes."""
    listed = as_list(values)
    return ",".join(listed) if listed else None


def to_epoch_ms(value: DateLike, *, end_of_day: bool = False) -> int | None:
    """Dates for the tasks filters (``due-at-from/to`` are epoch milliseconds, inclusive).

    A bare date means the start of that day (UTC), or its last millisecond for ``end_of_day``.

    >>> to_epoch_ms("2024-03-11"), to_epoch_ms("2024-03-11", end_of_day=True)
    (1710115200000, 1710201599999)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("a date, datetime, ISO string or epoch milliseconds is expected")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not a date: {text!r} (use YYYY-MM-DD or ISO 8601)") from exc
    if not isinstance(value, datetime):
        start = datetime(value.year, value.month, value.day, tzinfo=UTC)
        if end_of_day:
            return int((start + timedelta(days=1)).timestamp() * 1000) - 1
        return int(start.timestamp() * 1000)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)

"""Query parameters as the v2 API reads them, and its error bodies.

Arrays are accepted comma-separated (``?id=1,2``) and as repeated keys (``?id=1&id=2``).
Anything invalid becomes a 400 with the v2 error body naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["ApiError", "Query", "bad_param", "check_id", "not_found"]

_INT = re.compile(r"^[0-9]{1,18}$")
_ATTACHMENT_ID = re.compile(r"^(att)?[0-9]{1,18}$")


class ApiError(Exception):
    """An error answered with the v2 body ``{"errors": [{status, code, title, detail}]}``."""

    def __init__(self, status: int, code: str, title: str, detail: str | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail

    def body(self) -> dict[str, object]:
        return {
            "errors": [
                {"status": self.status, "code": self.code, "title": self.title,
                 "detail": self.detail}
            ]
        }


def bad_param(title: str) -> ApiError:
    return ApiError(400, "INVALID_REQUEST_PARAMETER", title)


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "Not Found")


def _invalid(name: str, value: str, expected: str) -> ApiError:
    return bad_param(f"Provided value {{{value}}} for '{name}' is not valid. Expected {expected}")


class Query:
    """Typed access to one request's query string.

    >>> q = Query([("id", "1,2"), ("id", "3"), ("limit", "7")])
    >>> q.ids("id"), q.limit(25)
    (['1', '2', '3'], 7)
    """

    def __init__(
        self, items: Iterable[tuple[str, str]], *, clamp_limit: bool = False,
        page_cap: int | None = None,
    ) -> None:
        self.items = list(items)
        self._values: dict[str, list[str]] = {}
        for key, value in self.items:
            self._values.setdefault(key, []).append(value)
        self._clamp = clamp_limit
        self._cap = page_cap

    def has(self, name: str) -> bool:
        return name in self._values

    def string(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[-1] if values else None

    def required(self, name: str) -> str:
        value = self.string(name)
        if value is None or value == "":
            raise bad_param(f"Required parameter '{name}' is missing")
        return value

    def _list(self, name: str) -> list[str] | None:
        values = self._values.get(name)
        if values is None:
            return None
        out = [part.strip() for value in values for part in value.split(",")]
        return [part for part in out if part]

    def strings(self, name: str, max_items: int | None = None) -> list[str] | None:
        out = self._list(name)
        if out is not None and max_items is not None and len(out) > max_items:
            raise bad_param(f"Too many values for '{name}': at most {max_items} are allowed")
        return out

    def ids(self, name: str, max_items: int | None = None) -> list[str] | None:
        out = self.strings(name, max_items)
        for value in out or ():
            if not _INT.match(value):
                raise _invalid(name, value, "a list of long integers")
        return None if out is None else [str(int(v)) for v in out]

    def enum(self, name: str, allowed: Iterable[str], default: str | None = None) -> str | None:
        value = self.string(name)
        if value is None or value == "":
            return default
        options = tuple(allowed)
        if value not in options:
            raise _invalid(name, value, "one of " + ", ".join(options))
        return value

    def enums(self, name: str, allowed: Iterable[str]) -> list[str] | None:
        out = self._list(name)
        options = tuple(allowed)
        for value in out or ():
            if value not in options:
                raise _invalid(name, value, "one of " + ", ".join(options))
        return out or None

    def integer(
        self, name: str, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self.string(name)
        if value is None or value == "":
            return None
        if not re.match(r"^-?[0-9]{1,19}$", value):
            raise _invalid(name, value, "an integer")
        number = int(value)
        if (minimum is not None and number < minimum) or (
            maximum is not None and number > maximum
        ):
            raise _invalid(name, value, f"an integer between {minimum} and {maximum}")
        return number

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.string(name)
        if value is None or value == "":
            return default
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise _invalid(name, value, "true or false")
        return lowered == "true"

    def limit(self, default: int, minimum: int = 1) -> int:
        """``limit``: default per route, min 1, max 250 (above: 400, or clamped if configured).

        With a page cap (``--clamp-limit N``), pages hold at most N items whatever was
        asked for, as the real service shortens some pages below the requested limit.
        """
        value = self.string("limit")
        number = default
        if value is not None and value != "":
            expected = f"an integer between {minimum} and 250"
            if not re.match(r"^-?[0-9]{1,9}$", value):
                raise _invalid("limit", value, expected)
            number = int(value)
            if number > 250 and self._clamp:
                number = 250
            if not minimum <= number <= 250:
                raise _invalid("limit", value, expected)
        return number if self._cap is None else min(number, self._cap)


def check_id(value: str, *, attachment: bool = False) -> str:
    """A path id must be a long (attachments: ``(att)?[0-9]+``); otherwise 400."""
    pattern = _ATTACHMENT_ID if attachment else _INT
    if not pattern.match(value):
        raise _invalid("id", value, "a long integer" if not attachment else "(att)?[0-9]+")
    if attachment:
        return "att" + str(int(value[3:] if value.startswith("att") else value))
    return str(int(value))


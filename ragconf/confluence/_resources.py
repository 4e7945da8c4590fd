"""The resource methods of ``Confluence``: one per REST v2 route (INTERFACES A).

Every list method is a lazy iterator that follows cursor pagination to the end or to
``limit`` items. Filters that take id lists are split into several requests when they
exceed the API's caps (250 ids, 100 space ids).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote

import pydantic

from ragconf.confluence._paging import as_list, chunked, paginate
from ragconf.confluence._params import (
    IDS_CAP,
    SPACE_IDS_CAP,
    USERS_CAP,
    IdList,
    multi,
    sort_key,
)
from ragconf.confluence._transport import Transport
from ragconf.confluence.models import BlogPost, CurrentUser, Page, Space
from ragconf.errors import BadResponseError, NotFoundError

__all__ = ["PageResources"]

M = TypeVar("M", bound=pydantic.BaseModel)


def _user_name(user: dict[str, Any]) -> str | None:
    """The name people see: ``displayName``, else ``publicName`` (never the account id)."""
    for key in ("displayName", "publicName"):
        value = user.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return None


class PageResources:
    """Plumbing plus the user, space, page and blog post routes over a ``Transport``."""

    _t: Transport
    api_url: str
    origin: str
    page_size: int

    # -- plumbing -------------------------------------------------------------------------

    def _list(
        self,
        path: str,
        params: dict[str, Any],
        model: type[M],
        limit: int | None,
        *,
        root_404: bool = False,
        not_found_hint: str | None = None,
        split: dict[str, tuple[list[str] | None, int]] | None = None,
    ) -> Iterator[M]:
        """Paginate ``path``; ``split`` names id-list filters to send in capped chunks."""
        lists = {
            name: values for name, (values, _cap) in (split or {}).items() if values is not None
        }
        if any(not values for values in lists.values()):
            return  # an explicitly empty id list matches nothing
        caps = {name: cap for name, (_v, cap) in (split or {}).items()}
        groups = [
            [(name, ",".join(c)) for c in chunked(v, caps[name])] for name, v in lists.items()
        ]
        remaining = limit
        for combo in itertools.product(*groups):
            query = dict(params)
            query.update(combo)
            for item in paginate(
                self._t,
                self._t.api(path),
                query,
                model.model_validate,
                limit=remaining,
                page_size=self.page_size,
                root_404=root_404,
                not_found_hint=not_found_hint,
            ):
                yield item
                if remaining is not None:
                    remaining -= 1
            if remaining is not None and remaining <= 0:
                return

    def _get(self, url: str, model: type[M], params: dict[str, Any] | None = None, **kw: Any) -> M:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        reply = self._t.request("GET", url, params=query or None, **kw)
        try:
            return model.model_validate(reply.data)
        except pydantic.ValidationError as exc:
            raise BadResponseError(
                f"Confluence sent a {model.__name__} without the expected fields",
                method="GET",
                url=reply.url,
                status=reply.status,
                body=str(reply.data)[:500],
            ) from exc

    @staticmethod
    def _id(value: str | int) -> str:
        return quote(str(value), safe="")

    # -- user -----------------------------------------------------------------------------

    def get_current_user(self) -> CurrentUser:
        """The authenticated account (v1 ``/wiki/rest/api/user/current``; v2 has no such route)."""
        return self._get(self._t.wiki("/rest/api/user/current"), CurrentUser, root_404=True)

    def get_users(self, account_ids: Iterable[str]) -> dict[str, str]:
        """{account id: display name} for the given accounts (v1 ``/wiki/rest/api/user/bulk``).

        Ids are deduplicated and sent ``USERS_CAP`` at a time as repeated ``accountId``
        parameters; accounts Confluence does not know (deleted, or not visible) are simply
        absent. The name is ``displayName``, else ``publicName`` (privacy settings may
        blank the former). No ids, no request.
        """
        wanted = list(dict.fromkeys(str(a).strip() for a in account_ids if str(a).strip()))
        names: dict[str, str] = {}
        url = self._t.wiki("/rest/api/user/bulk")
        for batch in chunked(wanted, USERS_CAP):
            reply = self._t.request(
                "GET", url, params={"accountId": batch, "limit": len(batch)}, root_404=True
            )
            results = reply.data.get("results") if isinstance(reply.data, dict) else None
            if not isinstance(results, list):
                raise BadResponseError(
                    "Confluence sent a user list without results",
                    method="GET",
                    url=reply.url,
                    status=reply.status,
                    body=str(reply.data)[:500],
                )
            for user in results:
                if not isinstance(user, dict):
                    continue
                account = user.get("accountId")
                name = _user_name(user)
                if isinstance(account, str) and account and name:
                    names[account] = name
        return names

    # -- spaces ---------------------------------------------------------------------------

    def get_spaces(
        self,
        ids: IdList = None,
        keys: IdList = None,
        sort: str | None = None,
        status: str | None = None,
        type: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Space]:
        params = {"sort": sort_key(sort), "status": status, "type": type}
        split = {"ids": (as_list(ids), IDS_CAP), "keys": (as_list(keys), IDS_CAP)}
        return self._list("spaces", params, Space, limit, root_404=True, split=split)

    def get_space_by_id(self, id: str | int) -> Space:
        return self._get(self._t.api(f"spaces/{self._id(id)}"), Space)

    def get_space_by_key(self, key: str) -> Space:
        """Spaces are addressed by numeric id; a key is resolved with ``/spaces?keys=``."""
        for space in self.get_spaces(keys=[key], limit=1):
            return space
        raise NotFoundError(
            f"no space with key {key!r} is visible to this account",
            method="GET",
            url=self._t.api(f"spaces?keys={quote(key)}"),
            hint="check the key (case matters) and the account's access to the space in Confluence",
        )

    # -- pages ----------------------------------------------------------------------------

    def get_pages_by_space(
        self,
        space_id: str | int,
        limit: int | None = None,
        sort: str | None = None,
        status: str | Iterable[str] | None = None,
        body_format: str | None = None,
        title: str | None = None,
        depth: str | None = None,
    ) -> Iterator[Page]:
        params = {
            "sort": sort_key(sort),
            "status": multi(status),
            "body-format": body_format,
            "title": title,
            "depth": depth,
        }
        return self._list(f"spaces/{self._id(space_id)}/pages", params, Page, limit)

    def get_pages(
        self,
        ids: IdList = None,
        sort: str | None = None,
        space_ids: IdList = None,
        status: str | Iterable[str] | None = None,
        body_format: str | None = None,
        title: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Page]:
        params = {
            "sort": sort_key(sort),
            "status": multi(status),
            "body-format": body_format,
            "title": title,
        }
        split = {"id": (as_list(ids), IDS_CAP), "space-id": (as_list(space_ids), SPACE_IDS_CAP)}
        return self._list("pages", params, Page, limit, root_404=True, split=split)

    def get_page_by_id(
        self,
        id: str | int,
        body_format: str | None = "storage",
        include_labels: bool = False,
        status: str | Iterable[str] | None = None,
    ) -> Page:
        params = {
            "body-format": body_format,
            "status": multi(status),
            "include-labels": "true" if include_labels else None,
        }
        return self._get(self._t.api(f"pages/{self._id(id)}"), Page, params)

    def get_pages_by_label(
        self,
        label_id: str | int,
        space_ids: IdList = None,
        body_format: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Page]:
        params = {"body-format": body_format, "sort": sort_key(sort)}
        split = {"space-id": (as_list(space_ids), SPACE_IDS_CAP)}
        return self._list(f"labels/{self._id(label_id)}/pages", params, Page, limit, split=split)

    # -- blog posts -----------------------------------------------------------------------

    def get_blog_posts(
        self,
        ids: IdList = None,
        title: str | None = None,
        sort: str | None = None,
        space_ids: IdList = None,
        status: str | Iterable[str] | None = None,
        body_format: str | None = None,
        limit: int | None = None,
    ) -> Iterator[BlogPost]:
        params = {
            "sort": sort_key(sort),
            "status": multi(status),
            "body-format": body_format,
            "title": title,
        }
        split = {"id": (as_list(ids), IDS_CAP), "space-id": (as_list(space_ids), SPACE_IDS_CAP)}
        return self._list("blogposts", params, BlogPost, limit, root_404=True, split=split)

    def get_blog_post_by_id(
        self, id: str | int, body_format: str | None = "storage", include_labels: bool = False
    ) -> BlogPost:
        params = {"body-format": body_format, "include-labels": "true" if include_labels else None}
        return self._get(self._t.api(f"blogposts/{self._id(id)}"), BlogPost, params)

    def get_blog_posts_by_space(
        self,
        id: str | int,
        limit: int | None = None,
        sort: str | None = None,
        status: str | Iterable[str] | None = None,
        body_format: str | None = None,
    ) -> Iterator[BlogPost]:
        params = {"sort": sort_key(sort), "status": multi(status), "body-format": body_format}
        return self._list(f"spaces/{self._id(id)}/blogposts", params, BlogPost, limit)

    def get_blog_posts_by_label(
        self,
        label_id: str | int,
        space_ids: IdList = None,
        body_format: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[BlogPost]:
        params = {"body-format": body_format, "sort": sort_key(sort)}
        split = {"space-id": (as_list(space_ids), SPACE_IDS_CAP)}
        return self._list(
            f"labels/{self._id(label_id)}/blogposts", params, BlogPost, limit, split=split
        )

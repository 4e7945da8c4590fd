"""Typed Confluence objects (REST v2 shapes, API-NOTES §4).

JSON becomes these at the client boundary; no raw dict travels further. Models are
tolerant: unknown fields are kept (``extra="allow"``) and optional fields may be
missing. ``to_api()`` gives back the API's own field names (used by ``--json``).

>>> p = Page.model_validate({"id": "1", "title": "Home", "spaceId": "7",
...                          "version": {"number": 3}, "_links": {"webui": "/spaces/ENG/pages/1"}})
>>> p.space_id, p.version.number, p.links.webui
('7', 3, '/spaces/ENG/pages/1')
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "Attachment",
    "BlogPost",
    "Body",
    "BodyValue",
    "ConfluenceModel",
    "CurrentUser",
    "CustomContent",
    "Label",
    "Links",
    "Page",
    "Space",
    "Task",
    "Version",
]


class ConfluenceModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=False
    )

    def to_api(self) -> dict[str, Any]:
        """The object in the API's own JSON field names."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _label_names(model: ConfluenceModel) -> list[str]:
    """Names from an ``include-labels=true`` single GET (``labels.results[].name``)."""
    labels = (model.model_extra or {}).get("labels")
    results = labels.get("results") if isinstance(labels, dict) else labels
    if not isinstance(results, list):
        return []
    return [str(r["name"]) for r in results if isinstance(r, dict) and r.get("name")]


class Links(ConfluenceModel):
    webui: str | None = None
    editui: str | None = None
    tinyui: str | None = None
    download: str | None = None
    base: str | None = None


class Version(ConfluenceModel):
    number: int = 1
    created_at: datetime | None = None
    message: str | None = None
    minor_edit: bool | None = None
    author_id: str | None = None


class BodyValue(ConfluenceModel):
    representation: str | None = None
    value: str = ""


class Body(ConfluenceModel):
    storage: BodyValue | None = None
    atlas_doc_format: BodyValue | None = Field(default=None, alias="atlas_doc_format")
    raw: BodyValue | None = None
    view: BodyValue | None = None

    @property
    def storage_value(self) -> str | None:
        """The storage-format XHTML, if it was requested and present."""
        for rep in (self.storage, self.raw):
            if rep is not None and rep.value is not None:
                return rep.value
        return None


class Space(ConfluenceModel):
    id: str
    key: str
    name: str = ""
    type: str | None = None
    status: str | None = None
    author_id: str | None = None
    created_at: datetime | None = None
    homepage_id: str | None = None
    current_active_alias: str | None = None
    description: dict[str, Any] | None = None
    links: Links = Field(default_factory=Links, alias="_links")


class Page(ConfluenceModel):
    id: str
    status: str = "current"
    title: str = ""
    space_id: str | None = None
    parent_id: str | None = None
    parent_type: str | None = None
    position: int | None = None
    author_id: str | None = None
    owner_id: str | None = None
    last_owner_id: str | None = None
    subtype: str | None = None
    created_at: datetime | None = None
    version: Version = Field(default_factory=Version)
    body: Body = Field(default_factory=Body)
    links: Links = Field(default_factory=Links, alias="_links")

    @property
    def label_names(self) -> list[str]:
        """Label names when fetched with ``include_labels=True`` (else empty)."""
        return _label_names(self)


class BlogPost(ConfluenceModel):
    id: str
    status: str = "current"
    title: str = ""
    space_id: str | None = None
    author_id: str | None = None
    created_at: datetime | None = None
    version: Version = Field(default_factory=Version)
    body: Body = Field(default_factory=Body)
    links: Links = Field(default_factory=Links, alias="_links")

    @property
    def label_names(self) -> list[str]:
        """Label names when fetched with ``include_labels=True`` (else empty)."""
        return _label_names(self)


class Label(ConfluenceModel):
    id: str
    name: str
    prefix: str | None = None


class Attachment(ConfluenceModel):
    id: str
    status: str = "current"
    title: str = ""
    created_at: datetime | None = None
    page_id: str | None = None
    blog_post_id: str | None = None
    custom_content_id: str | None = None
    media_type: str | None = None
    media_type_description: str | None = None
    comment: str | None = None
    file_id: str | None = None
    file_size: int | None = None
    webui_link: str | None = None
    download_link: str | None = None
    version: Version = Field(default_factory=Version)
    links: Links = Field(default_factory=Links, alias="_links")

    @property
    def container_id(self) -> str | None:
        return self.page_id or self.blog_post_id or self.custom_content_id


class CustomContent(ConfluenceModel):
    id: str
    type: str
    status: str = "current"
    title: str = ""
    space_id: str | None = None
    page_id: str | None = None
    blog_post_id: str | None = None
    custom_content_id: str | None = None
    author_id: str | None = None
    created_at: datetime | None = None
    version: Version = Field(default_factory=Version)
    body: Body = Field(default_factory=Body)
    links: Links = Field(default_factory=Links, alias="_links")


class Task(ConfluenceModel):
    id: str
    local_id: str | None = None
    space_id: str | None = None
    page_id: str | None = None
    blog_post_id: str | None = None
    status: str = "incomplete"
    body: Body = Field(default_factory=Body)
    created_by: str | None = None
    assigned_to: str | None = None
    completed_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    due_at: datetime | None = None
    completed_at: datetime | None = None


class CurrentUser(ConfluenceModel):
    """``GET /wiki/rest/api/user/current`` (v1: v2 has no current-user route)."""

    account_id: str | None = None
    display_name: str | None = None
    email: str | None = None
    public_name: str | None = None

"""Request and response models of the HTTP API (they make the OpenAPI document at /docs)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from ragconf.errors import InvalidQueryError
from ragconf.index.types import CONTENT_TYPES, SearchFilters
from ragconf.search.context import MAX_CONTEXT_K, MAX_CONTEXT_TOKENS, MIN_CONTEXT_TOKENS
from ragconf.search.retrieve import MAX_K, MAX_QUERY_CHARS

__all__ = [
    "Citation",
    "ContextRequest",
    "ContextResponse",
    "ErrorResponse",
    "HealthResponse",
    "ModeName",
    "PlaceItem",
    "ReadyResponse",
    "SearchRequest",
    "SearchResponse",
    "SearchResultItem",
    "SectionItem",
    "StatsResponse",
    "parse_updated_after",
    "search_filters",
    "split_multi",
]

ContentTypeName = Literal["page", "blogpost", "attachment", "custom_content", "comment"]
#: Confluence content ids are numbers (a page, folder, whiteboard, database or embed id)
_NODE_ID = re.compile(r"[0-9]{1,20}")
ModeName = Literal["hybrid", "dense", "bm25"]


def split_multi(values: list[str] | str | None) -> list[str]:
    """Repeatable and comma-separated parameters: ``?space=A,B&space=C`` -> [A, B, C]."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for v in values:
        out.extend(x.strip() for x in str(v).split(",") if x.strip())
    return out


def parse_updated_after(value: str | date | datetime | None) -> datetime | None:
    """An ISO date (midnight UTC) or datetime (naive = UTC) -> aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time.min)
    else:
        text = value.strip()
        try:
            if len(text) == 10:
                dt = datetime.combine(date.fromisoformat(text), time.min)
            else:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise ValueError(
                f"updated_after must be an ISO date or datetime (2024-05-01 or "
                f"2024-05-01T12:00:00Z), got {value!r}"
            ) from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)



def search_filters(
    space: list[str] | str | None = None,
    label: list[str] | str | None = None,
    type: list[str] | str | None = None,
    updated_after: str | None = None,
    ancestor: list[str] | str | None = None,
) -> SearchFilters:
    """Filters given as text (the CLI's options, an MCP tool's arguments) -> SearchFilters,
    checked like the HTTP API's: a bad value is an InvalidQueryError that says which."""
    types = split_multi(type)
    bad = [t for t in types if t not in CONTENT_TYPES]
    if bad:
        raise InvalidQueryError(
            f"unknown content type {bad[0]!r}", hint=f"use one of {', '.join(CONTENT_TYPES)}"
        )
    nodes = split_multi(ancestor)
    bad = [a for a in nodes if not _NODE_ID.fullmatch(a)]
    if bad:
        raise InvalidQueryError(
            f"ancestor must be a page or folder id (digits), got {bad[0]!r}",
            hint="find ids with `ragconf tree --space KEY`",
        )
    try:
        after = parse_updated_after(updated_after)
    except ValueError as exc:
        raise InvalidQueryError(str(exc)) from None
    return SearchFilters(
        space_keys=tuple(split_multi(space)),
        labels=tuple(split_multi(label)),
        content_types=tuple(types),
        updated_after=after,
        ancestors=tuple(nodes),
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Filtered(_Strict):
    """The filter fields shared by search and context requests."""

    space: list[str] = Field(
        default_factory=list, description="space keys to search in (any of them)"
    )
    label: list[str] = Field(default_factory=list, description="documents with any of these labels")
    type: list[ContentTypeName] = Field(
        default_factory=list,
        description="content types: page, blogpost, attachment, custom_content, comment "
        "(comment hits are shown as the page they are on)",
    )
    ancestor: list[str] = Field(
        default_factory=list,
        description="only content below any of these page or folder ids (whiteboard, database "
        "and embed ids work too); the node itself is not below itself",
    )
    updated_after: datetime | None = Field(
        None, description="only documents modified after this ISO date/datetime (naive = UTC)"
    )
    mode: ModeName | None = Field(None, description="hybrid (default), dense or bm25")

    @field_validator("space", "label", "type", "ancestor", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, (str, list)):
            return split_multi(v)
        return v

    @field_validator("ancestor")
    @classmethod
    def _node_ids(cls, v: list[str]) -> list[str]:
        for node in v:
            if not _NODE_ID.fullmatch(node):
                raise ValueError(f"ancestor must be a page or folder id (digits), got {node!r}")
        return v

    @field_validator("updated_after", mode="before")
    @classmethod
    def _date(cls, v: object) -> object:
        if isinstance(v, (int, float)):  # GET can't tell a number from text: neither may POST
            raise ValueError(
                "updated_after must be an ISO date or datetime (2024-05-01 or "
                "2024-05-01T12:00:00Z), not a number"
            )
        return parse_updated_after(v) if isinstance(v, (str, date)) else v

    def filters(self) -> SearchFilters:
        return SearchFilters(
            space_keys=tuple(self.space),
            labels=tuple(self.label),
            content_types=tuple(self.type),
            updated_after=self.updated_after,
            ancestors=tuple(self.ancestor),
        )


#: C0 control characters other than tab and newlines: never part of a question
_CONTROL = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"}


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("the query must not be blank")
    if not _CONTROL.isdisjoint(v):
        raise ValueError("the query must not contain control characters such as NUL")
    return v


class SearchRequest(_Filtered):
    """Body of ``POST /search``; the same fields as the query string of ``GET /search``."""

    q: str = Field(
        ...,
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        validation_alias=AliasChoices("q", "query"),
        description="the question or keywords (`query` is accepted as an alias)",
    )
    k: int = Field(10, ge=1, le=MAX_K, description="how many documents to return")

    _q = field_validator("q")(_not_blank)


class ContextRequest(_Filtered):
    """Body of ``POST /context``."""

    query: str = Field(
        ...,
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        validation_alias=AliasChoices("query", "q"),
        description="the question the context should help answer",
    )
    k: int = Field(5, ge=1, le=MAX_CONTEXT_K, description="how many documents to draw from")
    max_tokens: int = Field(
        1500,
        ge=MIN_CONTEXT_TOKENS,
        le=MAX_CONTEXT_TOKENS,
        description="budget for the whole context, counted with the embedding model's tokenizer",
    )

    _q = field_validator("query")(_not_blank)


class SectionItem(BaseModel):
    """A further matching part of the document."""

    chunk_id: str
    heading_path: str = Field(description="headings leading to the section, joined with ' › '")
    anchor_url: str = Field(description="link straight to the section")
    score: float
    snippet: str = Field(description="best sentences, query terms marked as **term**")
    snippet_plain: str = Field(description="the same sentences without marks")


class PlaceItem(BaseModel):
    """One copy of a file that is attached in several places (the result lists them all)."""

    content_id: str
    title: str
    url: str
    space_key: str | None
    attached_to: str | None = Field(description="title of the page or blog post it hangs on")
    breadcrumbs: list[str]


class SearchResultItem(BaseModel):
    content_id: str
    content_type: ContentTypeName | str
    title: str
    url: str = Field(description="the document in Confluence")
    anchor_url: str = Field(
        description="link to the best-matching section (url#anchor), or to the comment "
        "(url?focusedCommentId=…) when a comment on the document matched best"
    )
    space_key: str | None
    labels: list[str]
    breadcrumbs: list[str] = Field(
        description="space name, ancestor page titles (when known), headings of the best section"
    )
    updated_at: str | None = Field(description="last modification, ISO 8601")
    score: float = Field(
        description="relevance score, higher is better; compare scores within one response "
        "only (hybrid scores are mostly 0-1, and the coverage and identifier stages can lift "
        "a page above 1)"
    )
    snippet: str = Field(description="best sentence window, query terms marked as **term**")
    snippet_plain: str = Field(description="the same window without marks")
    sections: list[SectionItem] = Field(description="other matching sections, best first")
    places: list[PlaceItem] = Field(
        default_factory=list,
        # only on merged results: everyone else's answer keeps the documented fields
        exclude_if=lambda places: not places,
        description="only when the same file is attached in several places: every one of "
        "them, this result's own first",
    )


class SearchResponse(BaseModel):
    query: str
    mode: ModeName
    took_ms: float
    results: list[SearchResultItem]
    timings: dict[str, float] = Field(
        default_factory=dict, description="milliseconds: encode, dense, lexical, fuse, total"
    )


class Citation(BaseModel):
    n: int = Field(description="the passage number, [n] in the context; consecutive from 1")
    title: str
    url: str
    anchor_url: str
    content_id: str


class ContextResponse(BaseModel):
    query: str
    context: str = Field(description="passages '[n] Title — url' + text, blank-line separated")
    citations: list[Citation]
    tokens: int = Field(description="tokens in `context`, counted with `tokenizer`")
    max_tokens: int
    tokenizer: str = Field(description="the tokenizer that counted (the embedding model's)")
    truncated: bool = Field(description="true when text was left out to fit max_tokens")
    took_ms: float


class ErrorResponse(BaseModel):
    error: str
    message: str
    hint: str | None = None


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    ready: bool
    model_loaded: bool
    index_present: bool
    #: omitted (null) under permission-aware search: a total would count hidden content
    chunks: int | None
    lexical_chunks: int | None
    problems: list[str] = Field(default_factory=list)


class StatsResponse(BaseModel):
    documents: int | None = None
    chunks: int
    by_space: dict[str, int]
    by_type: dict[str, int]
    lexical_chunks: int
    last_sync_at: str | None
    model: str
    dimension: int
    store: str = Field(description="embedded:/path or the Chroma server URL (no credentials)")
    content_types: list[str] = Field(default_factory=lambda: list(CONTENT_TYPES))

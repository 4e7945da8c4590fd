"""Request and response models of ``POST /answer`` and ``GET /spaces``."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field, field_validator

from ragconf.api.schemas import Citation, _Filtered, _not_blank
from ragconf.search.answer import DEFAULT_ANSWER_TOKENS, MAX_ANSWER_TOKENS
from ragconf.search.context import MAX_CONTEXT_K, MAX_CONTEXT_TOKENS, MIN_CONTEXT_TOKENS
from ragconf.search.retrieve import MAX_QUERY_CHARS

__all__ = ["AnswerRequest", "AnswerResponse", "SpaceItem", "SpacesResponse"]


class AnswerRequest(_Filtered):
    """Body of ``POST /answer``: the filters of ``/search`` plus the answer's bounds."""

    query: str = Field(
        ...,
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        validation_alias=AliasChoices("query", "q"),
        description="the question",
    )
    k: int = Field(5, ge=1, le=MAX_CONTEXT_K, description="how many documents to draw from")
    max_tokens: int = Field(
        DEFAULT_ANSWER_TOKENS,
        ge=1,
        le=MAX_ANSWER_TOKENS,
        description="the longest answer the model may write, in its tokens",
    )
    context_tokens: int = Field(
        1500,
        ge=MIN_CONTEXT_TOKENS,
        le=MAX_CONTEXT_TOKENS,
        description="budget for the passages given to the model (embedding tokenizer)",
    )
    temperature: float = Field(0.1, ge=0.0, le=2.0, description="sampling temperature")
    stream: bool = Field(
        False,
        description="stream server-sent events: `sources`, `token`…, then `done` (or `error`)",
    )

    _q = field_validator("query")(_not_blank)


class AnswerResponse(BaseModel):
    query: str
    answer: str = Field(description="the model's answer; [n] cites source n")
    citations: list[Citation] = Field(
        description="the passages the answer cites, each one that the model was given"
    )
    sources: list[Citation] = Field(
        description="every passage the model was given (or, when found is false, the nearest pages)"
    )
    removed_citations: list[int] = Field(
        description="[n] the model wrote that named no passage; removed from the answer"
    )
    found: bool = Field(
        description="false when no passage matched the question: the model was not asked"
    )
    model: str | None
    finish_reason: str | None = None
    usage: dict[str, int | float | None] = Field(default_factory=dict)
    context_tokens: int = Field(description="tokens of passages given to the model")
    notes: list[str] = Field(default_factory=list, description="what was changed or skipped")
    timings: dict[str, float] = Field(
        default_factory=dict, description="ms: retrieve, pack, llm, total, first_token (stream)"
    )


class SpaceItem(BaseModel):
    key: str
    name: str | None = None
    chunks: int | None = Field(None, description="indexed chunks (omitted in strict mode)")


class SpacesResponse(BaseModel):
    spaces: list[SpaceItem]

"""LLM answers with validated citations, over the same retrieval and packing as ``/context``.

>>> llm = ChatClient("http://127.0.0.1:8080/v1", model="smollm2")            # doctest: +SKIP
>>> prepared = prepare(retriever, "how do we roll back a release?", allow=scope.allow)
>>> result = answer(prepared, llm)                                           # doctest: +SKIP
>>> result.answer, [c.url for c in result.citations], result.removed_citations
('Run argocd app rollback … [1]', ['https://…/pages/65615'], [])

1. ``prepare`` retrieves (with the caller's filters and permission post-check, exactly as
   ``/search``) and packs the passages by relevance (``pack_context``). The prompt is built
   from that pack alone, so a passage the reader may not open never reaches the model.
2. When no packed passage covers a third of the question's content words (``found`` is
   false), the model is not asked: the answer says the wiki has nothing on it and lists
   the nearest links.
3. Otherwise the model answers from the numbered passages; a ``[n]`` naming no passage it
   was given is removed from the text (while streaming too, before it is sent), and listed
   in ``removed_citations``. ``citations`` are the passages the answer really cites.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ragconf.index.types import JSONObject, Metadata, SearchFilters
from ragconf.search._answer_cite import CitationFilter, clean_citations
from ragconf.search._answer_llm import (
    ChatClient,
    ChatStream,
    Completion,
    LLMError,
    LLMNotConfiguredError,
    LLMTimeoutError,
    chat_endpoint,
)
from ragconf.search._packing import query_words
from ragconf.search.context import Citation, ContextPack, pack_context, validate_context
from ragconf.search.retrieve import DocumentResult, Retriever

__all__ = [
    "DEFAULT_ANSWER_TOKENS",
    "MAX_ANSWER_TOKENS",
    "SYSTEM_PROMPT",
    "AnswerResult",
    "AnswerStream",
    "ChatClient",
    "Completion",
    "LLMError",
    "LLMNotConfiguredError",
    "LLMTimeoutError",
    "Prepared",
    "answer",
    "chat_endpoint",
    "clean_citations",
    "prepare",
]

MAX_ANSWER_TOKENS = 2048
DEFAULT_ANSWER_TOKENS = 512
DEFAULT_CONTEXT_TOKENS = 1500
#: links given when the wiki has nothing on the question
NEAREST_LINKS = 3

SYSTEM_PROMPT = (
    "You answer questions about an organisation's Confluence wiki. Use only the numbered "
    "passages you are given; never use outside knowledge. After each statement, cite the "
    "passage it comes from as [n], for example [1] or [1, 2]. If the passages do not answer "
    "the question, say that the wiki does not say. Answer briefly, in the question's language."
)


@dataclass
class Prepared:
    """Retrieval and packing done; what the model would be told."""

    query: str
    pack: ContextPack
    found: bool
    messages: list[dict[str, str]]
    nearest: list[Citation]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class AnswerResult:
    query: str
    answer: str
    citations: list[Citation]
    sources: list[Citation]
    removed_citations: list[int]
    found: bool
    model: str | None
    finish_reason: str | None = None
    usage: JSONObject = field(default_factory=dict)
    context_tokens: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> JSONObject:
        notes: list[str] = []
        if self.removed_citations:
            listed = ", ".join(f"[{n}]" for n in self.removed_citations)
            notes.append(
                f"removed citation(s) {listed} from the answer: the model was given no such passage"
            )
        if not self.found:
            notes.append("no passage matched the question; the model was not asked")
        return {
            "query": self.query,
            "answer": self.answer,
            "citations": [_cite(c) for c in self.citations],
            "sources": [_cite(c) for c in self.sources],
            "removed_citations": list(self.removed_citations),
            "found": self.found,
            "model": self.model,
            "finish_reason": self.finish_reason,
            "usage": dict(self.usage),
            "context_tokens": self.context_tokens,
            "notes": notes,
            "timings": dict(self.timings),
        }


def _cite(c: Citation) -> JSONObject:
    return {
        "n": c.n,
        "title": c.title,
        "url": c.url,
        "anchor_url": c.anchor_url,
        "content_id": c.content_id,
    }


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def prepare(
    retriever: Retriever,
    query: str,
    *,
    k: int = 5,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    filters: SearchFilters | None = None,
    allow: Callable[[Metadata], bool] | None = None,
    mode: str | None = None,
) -> Prepared:
    """Retrieve and pack as ``/context`` does; decide whether the wiki has anything on it."""
    validate_context(k, context_tokens)
    t0 = time.perf_counter()
    res = retriever.search(query, k=k, filters=filters, mode=mode, allow=allow)
    retrieve_ms = _ms(t0)
    t = time.perf_counter()
    emb = retriever.embedder
    pack = pack_context(
        res.query, res.results, context_tokens, emb.count_tokens, tokenizer=emb.model_name
    )
    found = _relevant(res.query, pack)
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {
            "role": "user",
            "content": f"Passages from the wiki:\n\n{pack.context}\n\nQuestion: {res.query}\n\n"
            "Answer from the passages above and cite them as [n].",
        },
    ]
    timings = {"retrieve_ms": retrieve_ms, "pack_ms": _ms(t)}
    nearest = _nearest(res.results)
    return Prepared(res.query, pack, found, messages, nearest, timings)


def _relevant(query: str, pack: ContextPack) -> bool:
    """Some passage (title and text) covers a third of the question's words, at least one."""
    if not pack.citations:
        return False
    words = query_words(query)
    if not words.terms:  # only stopwords: nothing to hold the passages against
        return True
    need = max(1, math.ceil(len(words.terms) / 3))
    titles = {c.n: c.title for c in pack.citations}
    for passage in re.split(r"\n\n(?=\[\d+\] )", pack.context):
        head, _, body = passage.partition("\n")
        n = re.match(r"\[(\d+)\] ", head)
        title = titles.get(int(n.group(1)), "") if n else ""
        if words.covered(f"{title}\n{body}") >= need:
            return True
    return False


def _nearest(results: list[DocumentResult]) -> list[Citation]:
    return [
        Citation(i, d.title, d.url, d.anchor_url or d.url, d.content_id)
        for i, d in enumerate(results[:NEAREST_LINKS], 1)
    ]


def nothing_found(prepared: Prepared) -> str:
    """The answer when the wiki has nothing on the question: say so, give the nearest links."""
    if not prepared.nearest:
        return "The wiki has nothing on this question, and no page came close."
    links = "\n".join(f"- [{c.title}]({c.anchor_url})" for c in prepared.nearest)
    return f"The wiki has nothing on this question. The nearest pages are:\n{links}"


def _bounded(max_tokens: int) -> int:
    if not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_ANSWER_TOKENS:
        from ragconf.errors import InvalidQueryError

        raise InvalidQueryError(
            f"max_tokens must be between 1 and {MAX_ANSWER_TOKENS}, got {max_tokens!r}"
        )
    return max_tokens


def _result(
    prepared: Prepared,
    text: str,
    cited: list[int],
    removed: list[int],
    *,
    model: str | None,
    finish_reason: str | None = None,
    usage: JSONObject | None = None,
) -> AnswerResult:
    found = prepared.found
    sources = prepared.pack.citations if found else prepared.nearest
    return AnswerResult(
        query=prepared.query,
        answer=text.strip(),
        citations=[c for c in prepared.pack.citations if c.n in cited] if found else [],
        sources=list(sources),
        removed_citations=removed,
        found=found,
        context_tokens=prepared.pack.tokens if found else 0,
        model=model,
        finish_reason=finish_reason,
        usage=usage or {},
    )


def answer(
    prepared: Prepared,
    llm: ChatClient | None,
    *,
    max_tokens: int = DEFAULT_ANSWER_TOKENS,
    temperature: float = 0.1,
) -> AnswerResult:
    """The whole answer at once."""
    _bounded(max_tokens)
    t0 = time.perf_counter()
    if not prepared.found:
        result = _result(prepared, nothing_found(prepared), [], [], model=None)
    else:
        if llm is None:
            raise LLMNotConfiguredError("answers need an LLM and none is configured")
        done: Completion = llm.complete(
            prepared.messages, max_tokens=max_tokens, temperature=temperature
        )
        valid = {c.n for c in prepared.pack.citations}
        text, cited, removed = clean_citations(done.text, valid)
        result = _result(
            prepared,
            text,
            cited,
            removed,
            model=done.model,
            finish_reason=done.finish_reason,
            usage=done.usage,
        )
    result.timings = {**prepared.timings, "llm_ms": _ms(t0)}
    result.timings["total_ms"] = round(sum(result.timings.values()), 3)
    return result


class AnswerStream:
    """A streaming answer: ``events()`` yields ``(name, data)`` pairs.

    ``sources`` first (the passages, or the nearest links), then ``token`` deltas with
    invalid citations already removed, then ``done`` with the whole :class:`AnswerResult`
    as a dict; a failure after the first token ends the stream with ``error`` instead.
    Creating the stream opens the LLM request, so a failing server raises here, not later.
    """

    def __init__(
        self,
        prepared: Prepared,
        llm: ChatClient | None,
        *,
        max_tokens: int = DEFAULT_ANSWER_TOKENS,
        temperature: float = 0.1,
    ) -> None:
        _bounded(max_tokens)
        self.prepared = prepared
        self._t0 = time.perf_counter()
        self._stream: ChatStream | None = None
        if prepared.found:
            if llm is None:
                raise LLMNotConfiguredError("answers need an LLM and none is configured")
            self._stream = llm.stream(
                prepared.messages, max_tokens=max_tokens, temperature=temperature
            )

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def events(self) -> Iterator[tuple[str, JSONObject]]:
        prepared = self.prepared
        sources = prepared.pack.citations if prepared.found else prepared.nearest
        yield "sources", {"found": prepared.found, "sources": [_cite(c) for c in sources]}
        first_token_ms: float | None = None
        if self._stream is None:
            text = nothing_found(prepared)
            yield "token", {"text": text}
            result = _result(prepared, text, [], [], model=None)
        else:
            stream = self._stream
            filt = CitationFilter({c.n for c in prepared.pack.citations})
            parts: list[str] = []
            try:
                for delta in stream:
                    if first_token_ms is None:
                        first_token_ms = _ms(self._t0)
                    out = filt.feed(delta)
                    if out:
                        parts.append(out)
                        yield "token", {"text": out}
                tail = filt.flush()
                if tail:
                    parts.append(tail)
                    yield "token", {"text": tail}
            except LLMError as exc:
                yield "error", exc.to_dict()
                return
            finally:
                stream.close()
            result = _result(
                prepared,
                "".join(parts),
                filt.cited,
                filt.removed,
                model=stream.model,
                finish_reason=stream.finish_reason,
                usage=stream.usage,
            )
        timings = {**prepared.timings, "llm_ms": _ms(self._t0)}
        timings["total_ms"] = round(sum(timings.values()), 3)
        if first_token_ms is not None:
            timings["first_token_ms"] = first_token_ms
        result.timings = timings
        yield "done", result.to_dict()

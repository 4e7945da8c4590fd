"""LLM context packs: numbering, citations, dedup, sentence cuts and the token budget."""

from __future__ import annotations

import re

import pytest

from ragconf.errors import InvalidQueryError
from ragconf.index.embed import HashEmbedder, load_token_counter
from ragconf.index.types import Hit
from ragconf.search.context import pack_context, validate_context
from ragconf.search.retrieve import DocumentResult

count_words = HashEmbedder().count_tokens


def _doc(cid: str, title: str, chunks: list[str], *, first_index: int = 0) -> DocumentResult:
    hits = [
        Hit(
            id=f"page:{cid}:{i + first_index}",
            score=1.0 - i * 0.1,
            text=f"{title} › Section\n{text}",
            metadata={"content_id": cid, "content_type": "page", "chunk_index": i + first_index},
        )
        for i, text in enumerate(chunks)
    ]
    url = f"https://wiki.example/pages/{cid}"
    return DocumentResult(
        content_id=cid,
        content_type="page",
        title=title,
        url=url,
        anchor_url=url + "#Section",
        space_key="ENG",
        labels=[],
        breadcrumbs=[],
        updated_at=None,
        score=1.0,
        snippet="",
        snippet_plain="",
        chunks=hits,
    )


DOCS = [
    _doc(
        "1", "Deploying", ["Deploys run nightly. Rollbacks use the previous tag.", "Ask ops first."]
    ),
    _doc("2", "Onboarding", ["New hires get a laptop on day one. Accounts take two days."]),
    _doc("3", "Holidays", ["The office closes in August. Plan releases around it."]),
]


def test_passages_are_numbered_and_cited_in_order() -> None:
    pack = pack_context("q", DOCS, 500, count_words, tokenizer="words")
    assert [c.n for c in pack.citations] == [1, 2, 3]
    assert [c.title for c in pack.citations] == ["Deploying", "Onboarding", "Holidays"]
    assert pack.context.startswith("[1] Deploying — https://wiki.example/pages/1\n")
    assert "[2] Onboarding — https://wiki.example/pages/2" in pack.context
    assert pack.citations[0].anchor_url.endswith("#Section")
    assert pack.tokens == count_words(pack.context) <= 500
    assert pack.tokenizer == "words"
    assert not pack.truncated


@pytest.mark.parametrize("budget", [16, 20, 25, 30, 40, 60])
def test_budget_is_never_exceeded_and_citations_match_the_text(budget: int) -> None:
    pack = pack_context("q", DOCS, budget, count_words)
    assert count_words(pack.context) == pack.tokens <= budget
    numbers = [int(n) for n in re.findall(r"^\[(\d+)\] ", pack.context, flags=re.M)]
    assert numbers == [c.n for c in pack.citations] == list(range(1, len(numbers) + 1))
    for c in pack.citations:
        assert f"[{c.n}] {c.title} — {c.url}" in pack.context


def test_cut_happens_at_sentence_boundaries() -> None:
    # room for the first header and one sentence, not two
    header = count_words("[1] Deploying — https://wiki.example/pages/1")
    budget = header + count_words("Deploys run nightly.") + 2
    pack = pack_context("q", DOCS, budget, count_words)
    assert pack.context.splitlines()[1] == "Deploys run nightly."
    assert pack.truncated
    assert [c.n for c in pack.citations] == [1]


def test_a_single_overlong_sentence_is_cut_at_a_word_boundary() -> None:
    long = " ".join(f"word{i}" for i in range(200)) + "."
    pack = pack_context("q", [_doc("9", "Long", [long])], 40, count_words)
    body = pack.context.splitlines()[1]
    assert body.endswith(" …")
    assert body.startswith("word0 word1")
    assert pack.tokens <= 40


def test_overlapping_chunks_of_one_document_are_merged() -> None:
    doc = _doc(
        "5",
        "Runbook",
        [
            "Step one checks the queue. Step two drains it.",
            "Step two drains it. Step three restarts the worker.",
        ],
    )
    duplicate = _doc("5", "Runbook", ["Step one checks the queue."])
    pack = pack_context("q", [doc], 500, count_words)
    assert pack.context.count("Step two drains it.") == 1
    assert "Step three restarts the worker." in pack.context
    assert pack_context("q", [duplicate], 500, count_words).context.count("Step one") == 1


def test_chunks_are_put_back_in_reading_order() -> None:
    doc = _doc("6", "Guide", ["Second part.", "First part."])
    # the best chunk (index 0 here) is listed first, but reading order follows chunk_index
    reordered = DocumentResult(**{**doc.__dict__, "chunks": list(reversed(doc.chunks))})
    pack = pack_context("q", [reordered], 500, count_words)
    assert pack.context.index("Second part.") < pack.context.index("First part.")


def test_empty_results_give_an_empty_context() -> None:
    pack = pack_context("q", [], 100, count_words)
    assert pack.context == "" and pack.citations == [] and pack.tokens == 0


def test_real_tokenizer_counts_the_whole_context() -> None:
    count = load_token_counter(None)  # the bundled MiniLM tokenizer (no weights loaded)
    pack = pack_context("q", DOCS, 30, count)
    assert count(pack.context) == pack.tokens <= 30
    assert pack.citations


@pytest.mark.parametrize(("k", "max_tokens"), [(0, 100), (51, 100), (5, 15), (5, 32_001)])
def test_out_of_range_parameters_are_rejected(k: int, max_tokens: int) -> None:
    with pytest.raises(InvalidQueryError):
        validate_context(k, max_tokens)


def test_tables_keep_their_rows_on_separate_lines() -> None:
    table = "| Code | Meaning |\n| --- | --- |\n| ERR-1 | Bad body |\n| ERR-2 | No key |"
    second = "| Code | Meaning |\n| --- | --- |\n| ERR-3 | Too big |"
    doc = _doc("9", "Error codes", ["Every error has a code. " + "Codes:\n" + table, second])
    pack = pack_context("q", [doc], 500, count_words)
    body = pack.context.split("\n", 1)[1]
    lines = body.splitlines()
    assert lines[0] == "Every error has a code. Codes:"
    assert lines[1:5] == table.splitlines()
    # the repeated header row is said once; the rule line stays so the rows still parse
    assert lines[5:] == ["| --- | --- |", "| ERR-3 | Too big |"]

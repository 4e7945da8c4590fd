"""Shared fixtures are found relative to the repository, and a missing one fails CI.

Issue 12, item 22: tests hard-coded one machine's absolute path to ``shared``, so on every
other checkout (CI's included) they skipped without anyone noticing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import shared_data
from tests.shared_data import ROOT, need, shared_path

TESTS = Path(__file__).resolve().parent


def test_no_test_names_an_absolute_shared_path() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"""["']/[\w.-]+(/[\w.-]+)*/shared\b""", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_shared_is_looked_up_beside_the_repository() -> None:
    assert shared_data._BASES[0] == ROOT.parent / "shared"
    found = shared_path("confluence")
    assert found is None or found.is_relative_to(ROOT.parent)  # (links are not followed)


@pytest.mark.parametrize("ci", ["true", "1"])
def test_a_missing_fixture_fails_under_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="no-such-fixture"):
        need("no-such-fixture", "corpus.jsonl")


def test_a_missing_fixture_skips_with_the_reason_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-fixture"):
        need("no-such-fixture")

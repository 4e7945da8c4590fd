"""The README's demo output is this version's output (issue 12, item 21: the sample scores
had drifted). Slow: it runs ``ragconf demo`` with the real model, as the README does."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def readme_searches() -> dict[str, list[str]]:
    """Query -> the result lines the README shows for it (title+score, then URL)."""
    text = README.read_text().split("## The two commands", 1)[1].split("Serving ragconf", 1)[0]
    out: dict[str, list[str]] = {}
    for block in text.split("Search: ")[1:]:
        query, *lines = block.splitlines()
        out[query.strip()] = [ln.strip() for ln in lines if ln.strip() and ln.strip() != "…"]
    return out


def test_the_readme_shows_three_searches_with_scores() -> None:
    searches = readme_searches()
    assert len(searches) == 3
    assert all(any(re.search(r"score \d\.\d{3}$", ln) for ln in v) for v in searches.values())


@pytest.mark.slow
def test_the_readme_demo_searches_match_the_demo(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
    env.update(RAGCONF_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    code = "from ragconf.cli import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "demo", "--no-serve", "--simulator-port", str(port)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr
    shown = {ln.strip() for ln in proc.stdout.replace(f"127.0.0.1:{port}", "127.0.0.1:8090")
             .splitlines()}
    for query, lines in readme_searches().items():
        assert f"Search: {query}" in shown
        for line in lines:
            # titles, ranks and links exactly; scores to +-0.005 (float noise across CPUs).
            # A wider tolerance once hid a stale README: the demo site had grown comments
            want = re.sub(r"score \d\.\d{3}$", "", line)
            got = [s for s in shown if re.sub(r"score \d\.\d{3}$", "", s) == want]
            assert got, f"README: {line!r} is not what `ragconf demo` prints"
            score = re.search(r"score (\d\.\d{3})$", line)
            if score:
                want_score = float(score[1])
                near = [s for s in got if abs(float(s.rsplit(" ", 1)[1]) - want_score) <= 0.005]
                assert near, f"README: {line!r}, but `ragconf demo` prints {got}"
    # the sync table and its totals (not the time) are the demo's too
    for line in readme_sync_lines():
        assert any(s.startswith(line) for s in shown), f"README: {line!r} is not printed"


def readme_sync_lines() -> list[str]:
    """The README's sync table rows and its "N chunks embedded, M reused" (the request count
    varies by a few between runs: people are looked up once per fetched batch, and how the
    concurrent fetches batch up depends on timing)."""
    text = README.read_text().split("## The two commands", 1)[1].split("Search: ", 1)[0]
    rows = [ln.strip() for ln in text.splitlines() if ln.startswith("│")]
    totals = [ln.split(" reused")[0] for ln in text.splitlines()
              if "chunks embedded" in ln]  # fmt: skip
    return rows + totals

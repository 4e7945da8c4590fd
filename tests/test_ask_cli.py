"""``ragconf ask`` as a user runs it: a subprocess on a synced data dir, a scripted LLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ragconf.simulator import SimulatorServer, demo_site
from tests.llm_support import DemoIndex, ScriptedLLM, demo_index

Q = "how do we roll back a release?"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoIndex]:
    with SimulatorServer(demo_site()) as sim:
        yield demo_index(tmp_path_factory.mktemp("ask"), sim.base_url)


def _ask(index: DemoIndex, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "RAGCONF_DATA_DIR": str(index.data_dir),
            "RAGCONF_EMBED_MODEL": "hash:64", **env}  # fmt: skip
    code = "from ragconf.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, "ask", *args], env=full,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_ask_streams_the_answer_and_lists_the_sources(index: DemoIndex) -> None:
    key = "sk-cli-SENTINEL-99"
    with ScriptedLLM(reply="Use argocd app rollback [1]. Not [8].") as llm:
        llm.error_message = key
        run = _ask(index, Q, "-k", "3", RAGCONF_LLM_URL=llm.url, RAGCONF_LLM_API_KEY=key)
        assert run.returncode == 0, run.stderr
        assert llm.requests[-1]["stream"] is True
        assert run.stdout.startswith("Use argocd app rollback [1]. Not.")
        assert "Sources:\n *[1] " in run.stdout and "(* cited in the answer)" in run.stdout
        assert "removed citation(s) [8]" in run.stderr

        as_json = _ask(index, Q, "--json", RAGCONF_LLM_URL=llm.url)
        assert as_json.returncode == 0, as_json.stderr
        body = json.loads(as_json.stdout)
        assert body["removed_citations"] == [8] and body["citations"][0]["n"] == 1

        llm.mode, llm.status, llm.error_message = "status", 401, f"bad key {key}"
        failed = _ask(index, Q, RAGCONF_LLM_URL=llm.url, RAGCONF_LLM_API_KEY=key)
    assert failed.returncode == 8
    assert "answered HTTP 401" in failed.stderr and "RAGCONF_LLM_API_KEY" in failed.stderr
    assert key not in failed.stderr + failed.stdout + run.stdout + run.stderr


def test_ask_without_an_llm_says_how_to_configure_one(index: DemoIndex) -> None:
    run = _ask(index, Q)
    assert run.returncode == 2
    assert "RAGCONF_LLM_URL" in run.stderr
    assert "Traceback" not in run.stderr

"""``ragconf simulate``: corpus selection, the banner, serving until Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ragconf.cli import app
from ragconf.cli.simulate_cmd import load_corpus
from ragconf.simulator import DEMO_TOKEN, DEMO_USER


def test_load_corpus_kinds(tmp_path: Path) -> None:
    assert len(load_corpus("demo").spaces) == 4
    assert len(load_corpus("synthetic:30", beir_spaces=3).pages) == 30
    (tmp_path / "a.html").write_text("<title>A</title><p>x</p>")
    assert [p.title for p in load_corpus(f"html:{tmp_path}").pages.values()] == ["A"]
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"_id": "1", "title": "T", "text": "x"}))
    assert len(load_corpus(f"beir:{tmp_path}", beir_spaces=2).pages) == 1
    for bad in ("nope", "beir:", "synthetic:x", "demo:extra"):
        with pytest.raises(ValueError):
            load_corpus(bad)


def test_bad_corpus_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--corpus", "bogus"])
    assert result.exit_code == 2 and "unknown corpus" in result.output
    result = CliRunner().invoke(app, ["simulate", "--corpus", f"beir:{tmp_path / 'none'}"])
    assert result.exit_code == 2


def test_simulate_serves_until_interrupted() -> None:
    command = [sys.executable, "-c", "from ragconf.cli import main; main()", "simulate",
               "--port", "0", "--corpus", "synthetic:40", "--latency", "1", "--seed", "3",
               "--clamp-limit", "20"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        try:
            assert proc.stdout is not None
            banner = []
            for line in proc.stdout:
                banner.append(line)
                if line.startswith("Press Ctrl-C"):
                    break
            text = "".join(banner)
            match = re.search(r"export RAGCONF_CONFLUENCE_URL=(\S+)", text)
            assert match, text
            assert f"RAGCONF_CONFLUENCE_USERNAME={DEMO_USER}" in text
            assert f"RAGCONF_CONFLUENCE_TOKEN={DEMO_TOKEN}" in text
            r = httpx.get(match.group(1) + "pages", auth=(DEMO_USER, DEMO_TOKEN), timeout=10)
            # --clamp-limit 20 caps the page below the default limit of 25
            assert r.status_code == 200 and len(r.json()["results"]) == 20
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()



def test_simulate_on_a_busy_port_is_a_usage_error_and_leaks_no_socket() -> None:
    import contextlib
    import gc
    import socket
    import warnings

    from ragconf.simulator import SimulatorServer, synthetic_site

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["simulate", "--port", str(port), "--corpus", "demo"])
        assert result.exit_code == 2 and "cannot listen" in result.output
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with contextlib.suppress(OSError):
                SimulatorServer(synthetic_site(2), port=port).start()
            gc.collect()  # an unclosed socket warns when it is collected
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]

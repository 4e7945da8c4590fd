"""Docs that can't drift: the README's CLI reference matches `--help`, and its first screen
gives a newcomer the two commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TOOL = ROOT / "tools" / "cli_reference.py"


def test_readme_cli_reference_matches_help() -> None:
    proc = subprocess.run(
        [sys.executable, str(TOOL), "--check"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cli_reference_check_detects_drift(tmp_path: Path) -> None:
    # the check must be able to fail: a stale line inside the section is reported
    stale = README.read_text().replace(
        "<!-- cli-reference:end -->", "stale line\n<!-- cli-reference:end -->"
    )
    copy = tmp_path / "README.md"
    copy.write_text(stale)
    proc = subprocess.run(
        [sys.executable, str(TOOL), "--check", "--readme", str(copy)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert "make docs" in proc.stderr


def test_cli_reference_covers_every_command() -> None:
    import typer.main

    from ragconf.cli import app

    group = typer.main.get_command(app)
    section = README.read_text().split("<!-- cli-reference:start -->", 1)[1]
    for name in group.commands:  # type: ignore[attr-defined]
        assert f"#### `ragconf {name}`" in section, name


def test_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:30])
    assert re.search(r"^make demo\b", first_screen, re.M), first_screen
    assert re.search(r"^make test\b", first_screen, re.M), first_screen


def test_readme_documents_every_setting_and_exit_code() -> None:
    from ragconf.cli import _app
    from ragconf.settings import Settings

    text = README.read_text()
    for name in Settings.model_fields:
        assert f"RAGCONF_{name.upper()}" in text, name
    codes = re.findall(r"(\d+) [a-z]", (_app.__doc__ or "").split("Exit codes", 1)[1])
    assert codes, "the exit codes in ragconf/cli/_app.py's docstring"
    table = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in codes:
        assert re.search(rf"^\| {code} \|", table, re.M), f"exit code {code}"


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, re.S)


@pytest.mark.slow
def test_readme_library_examples_run_against_the_simulator(tmp_path: Path) -> None:
    """The README's `from ragconf import …` examples work as written, on the demo site."""
    from ragconf.simulator import DEMO_TOKEN, DEMO_USER, SimulatorServer, demo_site

    blocks = _python_blocks(README.read_text())
    assert len(blocks) >= 2
    with SimulatorServer(demo_site()) as sim:
        for block in blocks:
            code = (
                block.replace('"https://acme.atlassian.net"', repr(sim.base_url))
                .replace('"me@acme.com"', repr(DEMO_USER))
                .replace('token="…"', f"token={DEMO_TOKEN!r}")
                .replace('Path(".ragconf")', f"Path({str(tmp_path / 'data')!r})")
            )
            assert sim.base_url in code, block
            exec(compile(code, "README.md", "exec"), {})

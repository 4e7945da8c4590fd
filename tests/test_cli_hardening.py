"""The CLI where reviews found it wanting (issue 12): private files, failures that must not
exit 0, typos in ``--space``, port handling. Real subprocesses against a live simulator,
with the deterministic ``hash`` embedder so each run takes seconds.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from ragconf.simulator import SimulatorServer
from tests.test_sync_cli import RAGCONF, cli_env
from tests.test_sync_support import build_site


def ragconf(sim: SimulatorServer | None, data: Path, *args: str,
            timeout: float = 300, **extra: str) -> subprocess.CompletedProcess[str]:
    if sim is not None:
        env = cli_env(sim, data, RAGCONF_EMBED_MODEL="hash", **extra)
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
        env.update(RAGCONF_DATA_DIR=str(data), RAGCONF_EMBED_MODEL="hash", **extra)
    return subprocess.run([RAGCONF, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=data.parent)


# -- item 4: the index is private -------------------------------------------------------------


def _open_to_others(root: Path) -> list[str]:
    out = []
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            out.append(f"{oct(mode)} {path.relative_to(root)}")
    return out


def test_the_data_dir_and_every_file_in_it_are_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    site, _ = build_site()
    with SimulatorServer(site) as sim:
        done = ragconf(sim, data, "sync", "--quiet", "--json")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.name == "chroma.sqlite3" for p in files), files
    assert _open_to_others(data) == []


def test_an_old_world_readable_data_dir_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "old").mkdir(parents=True)
    (data / "old" / "docs.jsonl").write_text("restricted text\n")
    for path in (data, data / "old"):
        path.chmod(0o755)
    (data / "old" / "docs.jsonl").chmod(0o644)
    site, _ = build_site()
    with SimulatorServer(site) as sim:
        done = ragconf(sim, data, "sync", "--quiet", "--json")
    assert done.returncode == 0, done.stderr
    assert _open_to_others(data) == []


def _json(proc: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


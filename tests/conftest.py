"""Test-wide isolation: every test gets its own data dir and config home, no RAGCONF_* leaks in.

Area fixtures live in tests/fixtures/*.py (registered below) so each area owns its own.
"""

from __future__ import annotations

import os

import pytest

# No model or data set may be fetched at run time: everything ships in packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = [
    "tests.fixtures.models",
    "tests.fixtures.simulator",
    "tests.fixtures.stores",
]


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point data dir and config home at temp dirs; run from an empty cwd (no ragconf.toml)."""
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith("RAGCONF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("RAGCONF_DATA_DIR", str(home / "data"))
    monkeypatch.chdir(home)
    yield home

"""``make install`` takes torch from PyTorch's CPU index on Linux, with a fallback.

PyPI's Linux torch wheel is the CUDA build (about 20 CUDA packages, several GB). The
Makefile's ``install-torch`` step asks PyTorch's CPU index first and falls back to the
default index where that one is unreachable. The step runs here with a stand-in for the
venv's python that records its arguments (and fails like pip does when the CPU index
can't be reached), so the check needs neither network nor a download.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CPU = "https://download.pytorch.org/whl/cpu"


def run_step(tmp_path: Path, *, index_reachable: bool, **variables: str) -> tuple[str, list[str]]:
    log = tmp_path / "calls"
    fake = tmp_path / "python"
    fail = 'case " $* " in *" --index-url "*) exit 1;; esac' if not index_reachable else ""
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n{fail}\nexit 0\n')
    fake.chmod(0o755)
    args = [f"{k}={v}" for k, v in variables.items()]
    proc = subprocess.run(["make", "--no-print-directory", "install-torch", f"PY={fake}", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = log.read_text().splitlines() if log.exists() else []
    return proc.stdout + proc.stderr, calls


def test_linux_installs_torch_from_the_cpu_index(tmp_path: Path) -> None:
    _, calls = run_step(tmp_path, index_reachable=True, OS="Linux")
    assert len(calls) == 1
    assert "torch==2.13.0" in calls[0] and f"--index-url {CPU}" in calls[0]


def test_an_unreachable_cpu_index_falls_back_to_the_default_index(tmp_path: Path) -> None:
    out, calls = run_step(tmp_path, index_reachable=False, OS="Linux")
    assert len(calls) == 2, calls
    assert "--index-url" in calls[0] and "--index-url" not in calls[1]
    assert "torch==2.13.0" in calls[1]
    assert "unreachable" in out


def test_other_systems_and_gpu_builds(tmp_path: Path) -> None:
    _, calls = run_step(tmp_path, index_reachable=True, OS="Darwin")
    assert calls == ["-m pip install -q torch==2.13.0"]  # macOS wheels on PyPI are CPU/MPS
    gpu = "https://download.pytorch.org/whl/cu128"
    (tmp_path / "gpu").mkdir()
    _, calls = run_step(tmp_path / "gpu", index_reachable=True, OS="Linux", TORCH_INDEX=gpu)
    assert len(calls) == 1 and f"--index-url {gpu}" in calls[0]


def run_llama_step(tmp_path: Path, extras: str) -> list[str]:
    log = tmp_path / "calls"
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\necho "CMAKE_ARGS=$CMAKE_ARGS $*" >> {log}\nexit 0\n')
    fake.chmod(0o755)
    proc = subprocess.run(["make", "--no-print-directory", "install-llama", f"PY={fake}",
                           f"EXTRAS={extras}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return log.read_text().splitlines() if log.exists() else []


def test_llama_cpp_is_built_portable_and_not_from_the_wheel_cache(tmp_path: Path) -> None:
    # a native build crashed on a VM whose CPU reports AMX/AVX-512 (see the Makefile)
    assert run_llama_step(tmp_path, "dev") == []
    (call,) = run_llama_step(tmp_path, "dev,llm")
    assert "-DGGML_NATIVE=OFF" in call and "-DGGML_AMX_INT8=OFF" in call
    assert "--no-cache-dir" in call
    pinned = call.split("'")[-2] if "'" in call else call.split()[-1]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'"{pinned}"' in pyproject, f"{pinned} is not the llm extra's pin"

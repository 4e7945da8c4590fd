"""The Dockerfile's dependency-caching step builds (no Docker engine needed).

The image installs the dependencies from ``pyproject.toml`` with a stub package first, so
editing the code does not reinstall them. That stub must carry everything the build reads
(``ragconf/_version.py``: the version is dynamic), or the image cannot build. This test
replays the step: the files the Dockerfile copies before it, the same shell commands, and
``pip install .`` as a wheel build of the stub by setuptools' PEP 517 backend, the way pip
runs it, in an interpreter started without ``site`` processing: this checkout's own
(editable) ragconf must not be importable, as it isn't in the image.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from ragconf import __version__

ROOT = Path(__file__).resolve().parent.parent
#: this environment's site-packages (setuptools), taken without running its .pth files
PURELIB = sysconfig.get_paths()["purelib"]
DOCKERFILE = ROOT / "Dockerfile"


#: pip's build of a local project, minus pip: site-packages on the path, no .pth files run
BUILD = (
    "import sys; sys.path.append(%r); "
    "import setuptools.build_meta as backend; "
    "print(backend.build_wheel(%r))"
)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def stub_step() -> tuple[list[str], str]:
    """The sources copied before the stub install, and the stub RUN command itself."""
    copied: list[str] = []
    for word, args in instructions():
        if word == "COPY":
            *sources, _dest = shlex.split(args)
            copied += sources
        if word == "RUN" and "pip install ." in args and "ragconf/__init__.py" in args:
            return copied, args
    raise AssertionError("the Dockerfile has no stub-package dependency step")


def test_the_stub_dependency_step_builds(tmp_path: Path) -> None:
    copied, run = stub_step()
    for source in copied:  # COPY <files…> ./ : each lands at its own relative path
        target = tmp_path / source
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / source).read_bytes())
    wheels = tmp_path / "wheels"
    for command in (c.strip() for c in run.split("&&")):
        if command.startswith("pip install ."):  # the step under test, as a local build
            build = BUILD % (PURELIB, str(wheels))
            command = f"{shlex.quote(sys.executable)} -S -c {shlex.quote(build)}"
        elif command.startswith(("pip uninstall", "rm ")):
            continue  # clean-up of the image, nothing to check
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        # pyproject.toml in the form current setuptools expects (an SPDX license string)
        assert "Deprecat" not in proc.stderr, proc.stderr
    built = list(wheels.glob("ragconf-*.whl"))
    assert len(built) == 1, built
    assert built[0].name.startswith(f"ragconf-{__version__}-")
    with zipfile.ZipFile(built[0]) as whl:
        metadata = next(n for n in whl.namelist() if n.endswith("METADATA"))
        assert "Requires-Dist: torch==" in whl.read(metadata).decode()


def test_the_dockerfile_installs_torch_from_the_cpu_index_first() -> None:
    runs = [args for word, args in instructions() if word == "RUN"]
    torch = next(i for i, args in enumerate(runs) if "torch==" in args)
    assert "download.pytorch.org/whl/cpu" in runs[torch]
    assert torch < next(i for i, args in enumerate(runs) if "pip install ." in args)

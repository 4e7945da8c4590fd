"""The fixtures in the ``shared`` folder beside the repository (``../shared``), found the
same way on every checkout, and never skipped silently in CI.

``../shared`` holds what the repository can't ship: Confluence's OpenAPI documents, real
storage-format samples, BEIR corpora. It is looked up relative to this repository (its
parent's ``shared``, or a ``shared`` inside it), never at one machine's absolute path.
When a fixture is missing a test skips locally with the reason, but under ``CI=true`` it
fails: a CI run that silently tested less is a defect.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["ROOT", "in_ci", "need", "shared_path"]

ROOT = Path(__file__).resolve().parents[1]
_BASES = (ROOT.parent / "shared", ROOT / "shared")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def shared_path(*parts: str) -> Path | None:
    """``../shared/<parts>`` (or ``./shared/<parts>``) if it exists, else None."""
    for base in _BASES:
        path = base.joinpath(*parts)
        if path.exists():
            return path
    return None


def need(*parts: str) -> Path:
    """The shared fixture at ``parts``; missing: skip here, fail under CI=true."""
    path = shared_path(*parts)
    if path is not None:
        return path
    where = "/".join(parts)
    reason = f"../shared/{where} not found beside {ROOT} (shared fixtures)"
    if in_ci():
        pytest.fail(f"{reason}; CI must provide it", pytrace=False)
    pytest.skip(reason)

"""Output and settings helpers shared by every command (imports nothing from ``ragconf.cli``).

Secrets seen while building settings are remembered so that ``redact`` can remove them from
anything printed, whichever command prints it.
"""

from __future__ import annotations

import json
from typing import Any

import typer

__all__ = ["emit_json", "fail", "get_settings", "redact"]

_secrets: list[str] = []


def get_settings(**overrides: Any) -> Any:
    """Build Settings (explicit overrides > env > ragconf.toml > user file) and remember secrets."""
    from ragconf.settings import Settings

    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    _secrets.extend(s for s in settings.secrets() if s not in _secrets)
    return settings


def redact(text: str) -> str:
    """Remove every known secret from ``text`` before it is printed."""
    for secret in _secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def emit_json(data: Any) -> None:
    typer.echo(redact(json.dumps(data, indent=2, ensure_ascii=False, default=str)))


def fail(message: str, code: int = 1) -> None:
    typer.echo(redact(message), err=True)
    raise typer.Exit(code)

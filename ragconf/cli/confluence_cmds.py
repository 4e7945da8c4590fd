"""``ragconf configure`` and ``ragconf verify`` (listings: ``_confluence_listing``).

``configure`` writes the user config file (mode 0600) with the token read hidden;
``verify`` is the product's connection check.
"""

from __future__ import annotations

import contextlib
from typing import Any

import typer

from ragconf.cli._output import emit_json, get_settings, redact

__all__ = ["configure", "register", "verify"]


# -- configure / verify -------------------------------------------------------------------------


def configure(
    url: str = typer.Option(None, "--url", help="Site URL or REST v2 endpoint."),
    username: str = typer.Option(None, "--username", "-u", help="Account email (Basic auth)."),
    token: str = typer.Option(None, "--token", help="API token (prompted hidden if omitted)."),
    auth: str = typer.Option(
        None, "--auth", help="A ready Authorization value ('Basic …' or 'Bearer …') instead."
    ),
    check: bool = typer.Option(True, "--verify/--no-verify", help="Check the connection after."),
) -> None:
    """Save the Confluence endpoint and credentials to the user config file (mode 0600).

    Prompts for what is not given; the token is read hidden and never printed.

    Example:  ragconf configure --url https://acme.atlassian.net --username me@acme.com
    """
    import os

    from ragconf.confluence.urls import normalise_api_url
    from ragconf.errors import ConfigurationError
    from ragconf.settings import read_config, user_config_path, write_user_config

    path = user_config_path()
    current: dict[str, Any] = read_config(path)
    if not url:
        url = typer.prompt(
            "Confluence URL (e.g. https://acme.atlassian.net)",
            default=current.get("confluence_url") or None,
        )
    try:
        api_url = normalise_api_url(str(url))
    except ValueError as exc:
        raise ConfigurationError(
            str(exc), hint="give the site URL, e.g. https://acme.atlassian.net"
        ) from None
    new: dict[str, str] = {"confluence_url": api_url}
    if auth:
        if not auth.strip().lower().startswith(("basic ", "bearer ")):
            raise ConfigurationError("--auth must start with 'Basic ' or 'Bearer '")
        new["confluence_auth"] = auth.strip()
        drop: tuple[str, ...] = ("confluence_username", "confluence_token")
    else:
        if not username:
            username = typer.prompt(
                "Account email", default=current.get("confluence_username") or None
            )
        if not token:
            token = typer.prompt("API token (input hidden)", hide_input=True)
        if not str(token).strip():
            raise ConfigurationError("the API token is empty")
        new["confluence_username"] = str(username).strip()
        new["confluence_token"] = str(token).strip()
        drop = ("confluence_auth",)
    get_settings(**{k: v for k, v in new.items() if k != "confluence_url"})  # registers secrets
    merged = {k: v for k, v in current.items() if k not in drop}
    merged.update(new)
    # write_user_config merges into the file; dropped keys must go, so start from scratch
    path.unlink(missing_ok=True)
    written = write_user_config(merged, path)
    typer.echo(f"Saved {written} (readable by you only).")

    overriding = sorted(k for k in os.environ if k.startswith("RAGCONF_CONFLUENCE_"))
    if overriding:
        typer.echo(
            f"Note: {', '.join(overriding)} in the environment override this file.", err=True
        )
    if check:
        _verify(as_json=False)
    else:
        typer.echo("Run `ragconf verify` to check the connection.")


def _verify(as_json: bool) -> None:
    from ragconf.errors import RagconfError
    from ragconf.runtime import make_confluence

    settings = get_settings()
    try:
        conf = make_confluence(settings, quick=True)
        with conf:
            if not as_json:
                typer.echo(redact(f"Checking {conf.api_url} …"), err=True)
            user = conf.get_current_user()
            spaces = list(conf.get_spaces(limit=10))
    except RagconfError as exc:
        if as_json:
            endpoint = None  # an unparsable URL is the error itself: don't raise it again
            with contextlib.suppress(RagconfError):
                endpoint = settings.api_url
            emit_json({"ok": False, "endpoint": endpoint, **exc.to_dict()})
            raise typer.Exit(exc.exit_code) from None
        raise
    if as_json:
        emit_json(
            {
                "ok": True,
                "endpoint": conf.api_url,
                "user": user.to_api(),
                "spaces": [s.to_api() for s in spaces],
            }
        )
        return
    who = user.display_name or user.public_name or "?"
    extra = f" <{user.email}>" if user.email else ""
    typer.echo(redact(f"Endpoint  {conf.api_url}"))
    typer.echo(redact(f"User      {who}{extra} (account {user.account_id})"))
    if spaces:
        more = " (first 10)" if len(spaces) == 10 else ""
        typer.echo(f"Spaces    {len(spaces)} visible{more}:")
        width = max(len(s.key) for s in spaces)
        for s in spaces:
            typer.echo(redact(f"  {s.key:<{width}}  {s.name}"))
        typer.echo("OK: ragconf can read this site.")
    else:
        typer.echo(
            "Connected, but no spaces are visible to this account — grant it access to the "
            "spaces to index (space permissions in the Confluence UI).",
            err=True,
        )


def verify(as_json: bool = typer.Option(False, "--json", help="Machine-readable result.")) -> None:
    """Check the connection: the authenticated user, the endpoint and up to 10 visible spaces.

    Exits non-zero with the fix when the endpoint or the credentials are wrong.

    Example:  ragconf verify --json
    """
    _verify(as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command()(configure)
    app.command()(verify)

"""Settings: resolution order, URL normalisation, auth values, and `ragconf configure`."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragconf.cli import app
from ragconf.confluence.urls import basic_auth, normalise_api_url, redact_url, site_origin
from ragconf.errors import ConfigurationError
from ragconf.settings import Settings, user_config_path, write_user_config

API = "https://acme.atlassian.net/wiki/api/v2/"


def write(path: Path, url: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'confluence_url = "{url}"\nconfluence_username = "{path.name}@x.com"\n')


# -- resolution order ---------------------------------------------------------------------------


def test_resolution_order_explicit_env_local_file_user_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_file = user_config_path()
    write(user_file, "https://from-user-file.atlassian.net")
    assert Settings().api_url == "https://from-user-file.atlassian.net/wiki/api/v2/"
    assert Settings().confluence_username == "config.toml@x.com"

    write(Path("ragconf.toml"), "https://from-local-file.atlassian.net")
    assert Settings().api_url == "https://from-local-file.atlassian.net/wiki/api/v2/"

    monkeypatch.setenv("RAGCONF_CONFLUENCE_URL", "https://from-env.atlassian.net")
    assert Settings().api_url == "https://from-env.atlassian.net/wiki/api/v2/"
    # a field the env does not set still comes from the nearest file
    assert Settings().confluence_username == "ragconf.toml@x.com"

    explicit = Settings(confluence_url="https://explicit.atlassian.net")
    assert explicit.api_url == "https://explicit.atlassian.net/wiki/api/v2/"


def test_user_file_lives_under_xdg_config_home(_isolated_env: Path) -> None:
    assert user_config_path() == _isolated_env / ".config" / "ragconf" / "config.toml"


def test_unconfigured_is_not_an_error() -> None:
    s = Settings()
    assert s.api_url is None and not s.configured and s.authorization() is None


# -- URL normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://acme.atlassian.net", API),
        ("https://acme.atlassian.net/", API),
        ("https://acme.atlassian.net/wiki", API),
        ("https://acme.atlassian.net/wiki/", API),
        ("https://acme.atlassian.net/wiki/api/v2", API),
        ("https://acme.atlassian.net/wiki/api/v2/", API),
        ("https://acme.atlassian.net/wiki/rest/api", API),
        ("acme.atlassian.net", API),
        ("  https://acme.atlassian.net/wiki/api/v2/  ", API),
        ("https://me:pw@acme.atlassian.net/wiki", API),  # userinfo never kept
        ("http://127.0.0.1:8090", "http://127.0.0.1:8090/wiki/api/v2/"),
        ("http://127.0.0.1:8090/wiki/api/v2", "http://127.0.0.1:8090/wiki/api/v2/"),
    ],
)
def test_url_normalisation(given: str, expected: str) -> None:
    assert normalise_api_url(given) == expected
    assert Settings(confluence_url=given).api_url == expected


def test_bad_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        _ = Settings(confluence_url="https://").api_url


def test_site_origin_and_redaction() -> None:
    assert site_origin(API) == "https://acme.atlassian.net"
    assert redact_url("https://u:p@acme.atlassian.net/x") == "https://acme.atlassian.net/x"


# -- auth values --------------------------------------------------------------------------------


def test_basic_auth_from_username_and_token() -> None:
    s = Settings(confluence_url=API, confluence_username="me@acme.com", confluence_token="t0k")
    expected = "Basic " + base64.b64encode(b"me@acme.com:t0k").decode()
    assert s.authorization() == expected == basic_auth("me@acme.com", "t0k")
    assert "t0k" in s.secrets()
    assert "t0k" not in repr(s) and "t0k" not in str(s.model_dump())


@pytest.mark.parametrize("value", ["Bearer pat-abc", "Basic Zm9vOmJhcg==", "  bearer x  "])
def test_ready_authorization_value(value: str) -> None:
    s = Settings(confluence_url=API, confluence_auth=value)
    assert s.authorization() == value.strip()


def test_ready_auth_wins_over_username_token() -> None:
    s = Settings(
        confluence_url=API,
        confluence_auth="Bearer pat",
        confluence_username="me@acme.com",
        confluence_token="t",
    )
    assert s.authorization() == "Bearer pat"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"confluence_auth": "pat-without-scheme"},
        {"confluence_username": "me@acme.com"},
        {"confluence_token": "only-token"},
    ],
)
def test_incomplete_or_malformed_auth_is_a_configuration_error(kwargs: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        Settings(confluence_url=API, **kwargs).authorization()


def test_env_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGCONF_CONFLUENCE_URL", "acme.atlassian.net")
    monkeypatch.setenv("RAGCONF_CONFLUENCE_USERNAME", "me@acme.com")
    monkeypatch.setenv("RAGCONF_CONFLUENCE_TOKEN", "envtok")
    s = Settings()
    assert s.api_url == API
    assert s.authorization() == basic_auth("me@acme.com", "envtok")


# -- writing the user file ----------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_user_config_is_owner_only_and_merges() -> None:
    path = write_user_config({"confluence_url": API, "confluence_token": 'a"b\\c'})
    assert mode(path) == 0o600
    write_user_config({"confluence_username": "me@acme.com"})
    data = tomllib.loads(path.read_text())
    assert data == {
        "confluence_url": API,
        "confluence_token": 'a"b\\c',
        "confluence_username": "me@acme.com",
    }
    assert Settings().confluence_token is not None
    assert Settings().confluence_token.get_secret_value() == 'a"b\\c'


def test_configure_writes_0600_and_never_echoes_the_token() -> None:
    token = "very-secret-token-123"
    result = CliRunner().invoke(
        app,
        [
            "configure",
            "--url",
            "https://acme.atlassian.net/wiki",
            "--username",
            "me@acme.com",
            "--no-verify",
        ],
        input=token + "\n",
    )
    assert result.exit_code == 0, result.output
    assert token not in result.output
    path = user_config_path()
    assert mode(path) == 0o600
    data = tomllib.loads(path.read_text())
    assert data["confluence_url"] == API
    assert data["confluence_username"] == "me@acme.com"
    assert data["confluence_token"] == token
    s = Settings()
    assert s.authorization() == basic_auth("me@acme.com", token)


def test_configure_prompts_for_everything_interactively() -> None:
    result = CliRunner().invoke(
        app, ["configure", "--no-verify"], input="acme.atlassian.net\nme@acme.com\ntok-xyz\n"
    )
    assert result.exit_code == 0, result.output
    assert "tok-xyz" not in result.output
    assert "Confluence URL" in result.output and "API token" in result.output
    assert Settings().api_url == API


def test_configure_with_a_ready_auth_value_replaces_username_and_token() -> None:
    runner = CliRunner()
    first = runner.invoke(
        app, ["configure", "--url", API, "-u", "me@acme.com", "--token", "t1", "--no-verify"]
    )
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        app, ["configure", "--url", API, "--auth", "Bearer pat-9", "--no-verify"]
    )
    assert second.exit_code == 0, second.output
    assert "pat-9" not in second.output
    data = tomllib.loads(user_config_path().read_text())
    assert data == {"confluence_url": API, "confluence_auth": "Bearer pat-9"}
    assert mode(user_config_path()) == 0o600
    bad = runner.invoke(app, ["configure", "--url", API, "--auth", "pat-9", "--no-verify"])
    assert bad.exit_code != 0
    assert isinstance(bad.exception, ConfigurationError)


def test_configure_says_when_the_environment_overrides_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAGCONF_CONFLUENCE_URL", "https://other.atlassian.net")
    result = CliRunner().invoke(
        app, ["configure", "--url", API, "-u", "a@b.c", "--token", "t", "--no-verify"]
    )
    assert result.exit_code == 0
    assert "RAGCONF_CONFLUENCE_URL" in result.output
    assert os.environ["RAGCONF_CONFLUENCE_URL"] == "https://other.atlassian.net"


# -- bad settings: one line naming the setting, never its value, exit 2 (issue 12, item 7) ----


def _ragconf(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a subprocess: what a user sees, tracebacks included."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
    full.update(env)
    code = "import sys; from ragconf.cli import main; sys.argv[0] = 'ragconf'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120)


def _one_clean_line(proc: subprocess.CompletedProcess[str], *, names: str, hides: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "input_value" not in proc.stderr
    assert names in lines[0], lines[0]
    assert hides not in proc.stderr + proc.stdout


def test_a_bad_permissions_value_is_one_line_naming_the_variable(_isolated_env: Path) -> None:
    proc = _ragconf(["spaces"], _isolated_env, RAGCONF_PERMISSIONS="everyone-sees-all")
    _one_clean_line(proc, names="RAGCONF_PERMISSIONS", hides="everyone-sees-all")


def test_an_unquoted_numeric_token_is_never_printed(_isolated_env: Path) -> None:
    (_isolated_env / "ragconf.toml").write_text(
        'confluence_url = "https://acme.atlassian.net"\nconfluence_username = "me@acme.com"\n'
        "confluence_token = 884213377102\n"
    )
    proc = _ragconf(["verify"], _isolated_env)
    _one_clean_line(proc, names="confluence_token", hides="884213377102")
    assert "ragconf.toml" in proc.stderr


@pytest.mark.parametrize("text", ['confluence_token = "s3cr3t-unterminated\n',
                                  "confluence_token = s3cr3t-bare\n"])
def test_a_toml_syntax_error_names_the_file_not_its_text(_isolated_env: Path, text: str) -> None:
    user_file = user_config_path()
    user_file.parent.mkdir(parents=True, exist_ok=True)
    user_file.write_text(text)
    proc = _ragconf(["verify"], _isolated_env)
    _one_clean_line(proc, names=str(user_file), hides="s3cr3t")
    assert "line 1" in proc.stderr
    configure = CliRunner().invoke(app, ["configure", "--url", API, "--no-verify"], input="x\n")
    assert isinstance(configure.exception, ConfigurationError)  # not a TOML traceback
    assert "s3cr3t" not in str(configure.exception)

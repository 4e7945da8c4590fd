"""Settings, resolved at the edges (CLI, API, notebook helpers) and passed down.

Order, highest first: explicit arguments > environment (``RAGCONF_*``) > ``./ragconf.toml``
> ``~/.config/ragconf/config.toml`` (written by ``ragconf configure``, mode 0600).

>>> s = Settings(confluence_url="https://acme.atlassian.net", confluence_username="me@acme.com",
...              confluence_token="t0k3n")
>>> s.api_url
'https://acme.atlassian.net/wiki/api/v2/'
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from ragconf.confluence.urls import basic_auth, normalise_api_url
from ragconf.errors import ConfigurationError

__all__ = ["PermissionMode", "Settings", "read_config", "user_config_path", "write_user_config"]

PermissionMode = Literal["off", "spaces", "strict"]


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ragconf" / "config.toml"


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class Settings(BaseSettings):
    """Everything ragconf can be configured with; see the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="RAGCONF_",
        env_ignore_empty=True,
        extra="ignore",
        validate_default=True,
        toml_file="ragconf.toml",
    )

    confluence_url: str | None = Field(default=None, description="REST v2 endpoint or site URL")
    confluence_username: str | None = Field(default=None, description="account email (Basic auth)")
    confluence_token: SecretStr | None = Field(default=None, description="API token")
    confluence_auth: SecretStr | None = Field(
        None, description="a ready Authorization value: 'Basic …' or 'Bearer …'"
    )
    data_dir: Path = Field(Path(".ragconf"), description="embedded Chroma, BM25 and sync state")
    chroma_url: str | None = Field(None, description="Chroma server URL (else embedded)")
    chroma_tenant: str | None = Field(None, description="Chroma tenant (server only)")
    chroma_database: str | None = Field(None, description="Chroma database (server only)")
    # repr=False as well as SecretStr: a printed Settings shows neither the value nor "**"
    chroma_token: SecretStr | None = Field(None, description="Chroma auth token", repr=False)
    chroma_token_header: Literal["Authorization", "X-Chroma-Token"] = Field(
        "Authorization", description="how the token is sent (Chroma Cloud: X-Chroma-Token)"
    )
    embed_model: str | None = Field(default=None, description="sentence-transformers name or path")
    embed_device: str | None = Field(
        default=None, description="torch device (default: cuda if present)"
    )
    # repr=False: a logged or printed Settings must not show the keys
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    permissions: PermissionMode = "off"
    permission_cache_s: float = 60.0
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_retry_after_s: float = 60.0
    request_rate: float | None = Field(default=None, description="client-side requests/s cap")
    max_concurrency: int = 4
    # /answer: any OpenAI-compatible chat API (OpenAI, Ollama, vLLM, llama.cpp's server)
    llm_url: str | None = Field(default=None, description="base URL of an OpenAI-compatible API")
    llm_model: str | None = Field(default=None, description="model name sent to that API")
    llm_api_key: SecretStr | None = Field(default=None, description="its key (a secret)")
    llm_timeout_s: float = Field(default=120.0, gt=0, description="per LLM request")
    # serving: concurrent queries share encoder runs; repeated queries reuse their vector
    query_batching: bool = Field(True, description="batch concurrent query encodings")
    query_batch_max: int = Field(32, ge=1, le=1024, description="queries per encoder run")
    query_batch_window_ms: float = Field(
        0.0, ge=0.0, le=100.0, description="wait this long for company when idle (0: never)"
    )
    query_cache_size: int = Field(1024, ge=0, description="query vectors kept (LRU); 0 = off")
    search_concurrency: int | None = Field(
        None, ge=1, le=256,
        description="searches run at once (default: 4 per CPU core; past the encoder, 1 per core)",
    )

    _split_lists = field_validator("api_keys", "cors_origins", mode="before")(_split_csv)

    def __init__(self, **values: Any) -> None:
        # A bad value must not come back as pydantic's report (which quotes the input: a
        # token written unquoted in config.toml) or a TOML traceback: one line that names
        # the setting and where it came from, as a ConfigurationError (CLI exit 2).
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _invalid_setting(exc, values) from None
        except tomllib.TOMLDecodeError as exc:
            raise _bad_toml(exc) from None
        except SettingsError as exc:
            raise ConfigurationError(f"a setting could not be read: {exc}", hint="") from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=Path("ragconf.toml")),
            TomlConfigSettingsSource(settings_cls, toml_file=user_config_path()),
        )

    @property
    def api_url(self) -> str | None:
        """The normalised REST v2 base URL (``…/wiki/api/v2/``), or None."""
        if not self.confluence_url:
            return None
        try:
            return normalise_api_url(self.confluence_url)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc

    def chroma_options(self) -> dict[str, Any]:
        """Tenant, database, token and token header for ``open_store`` (server only)."""
        from ragconf.errors import ConfigurationError

        token = self.chroma_token.get_secret_value() if self.chroma_token is not None else None
        if not self.chroma_url and (self.chroma_tenant or self.chroma_database or token):
            raise ConfigurationError(
                "RAGCONF_CHROMA_TENANT, RAGCONF_CHROMA_DATABASE and RAGCONF_CHROMA_TOKEN "
                "apply to a Chroma server: set RAGCONF_CHROMA_URL too (or unset them)"
            )
        return {
            "tenant": self.chroma_tenant,
            "database": self.chroma_database,
            "token": token or None,
            "token_header": self.chroma_token_header,
        }

    @property
    def configured(self) -> bool:
        return bool(self.confluence_url)

    def authorization(self) -> str | None:
        """The Authorization header value, built from the auth value or username+token."""
        if self.confluence_auth is not None:
            value = self.confluence_auth.get_secret_value().strip()
            if not value.lower().startswith(("basic ", "bearer ")):
                raise ConfigurationError(
                    "RAGCONF_CONFLUENCE_AUTH must start with 'Basic ' or 'Bearer '"
                )
            return value
        if self.confluence_username and self.confluence_token is not None:
            return basic_auth(self.confluence_username, self.confluence_token.get_secret_value())
        if self.confluence_username or self.confluence_token is not None:
            raise ConfigurationError(
                "set both RAGCONF_CONFLUENCE_USERNAME and RAGCONF_CONFLUENCE_TOKEN",
            )
        return None

    def secrets(self) -> list[str]:
        """Secret strings that must never appear in output (used by log redaction)."""
        out = [k for k in self.api_keys if k]
        for s in (self.confluence_token, self.confluence_auth, self.llm_api_key, self.chroma_token):
            if s is not None and s.get_secret_value():
                out.append(s.get_secret_value())
        auth = None
        with contextlib.suppress(ConfigurationError):
            auth = self.authorization()
        if auth:
            out.append(auth.split(" ", 1)[-1])
        return out


#: fields whose values are secrets: a wrong type gets a hint about quoting, never the value
_SECRET_FIELDS = ("confluence_token", "confluence_auth", "api_keys")


def _config_files() -> list[Path]:
    return [Path("ragconf.toml"), user_config_path()]


def _where(field: str, explicit: dict[str, Any]) -> str:
    """Which setting, named as the user wrote it: env var, config file key, or argument."""
    env = f"RAGCONF_{field.upper()}"
    if field in explicit:
        return f"the {field} setting"
    if any(k.upper() == env for k in os.environ):
        return env
    for path in _config_files():
        try:
            if field in tomllib.loads(path.read_text()):
                return f"{field} in {path}"
        except (OSError, tomllib.TOMLDecodeError):
            continue
    return env


def _invalid_setting(exc: ValidationError, explicit: dict[str, Any]) -> ConfigurationError:
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        field = str(error["loc"][0]) if error.get("loc") else "a setting"
        msg = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        if field in _SECRET_FIELDS and error.get("type") == "string_type":
            msg += f' (write it as a quoted string: {field} = "…")'
        parts.append(f"{_where(field, explicit)}: {msg}")
    # one line, no value: the input may be a secret
    return ConfigurationError("invalid value for " + "; ".join(parts), hint="")


def _bad_toml(exc: tomllib.TOMLDecodeError, path: Path | None = None) -> ConfigurationError:
    import re

    culprit = str(path) if path is not None else "a config file"
    for candidate in [] if path is not None else _config_files():
        try:
            tomllib.loads(candidate.read_text())
        except tomllib.TOMLDecodeError:
            culprit = str(candidate)
            break
        except OSError:
            continue
    # only the position: the parser's text may quote a character of a secret
    where = re.search(r"\(at (line \d+, column \d+|end of document)\)", str(exc))
    at = f" at {where.group(1)}" if where else ""
    return ConfigurationError(
        f"{culprit} is not valid TOML{at}; strings need double quotes (key = \"value\")", hint=""
    )


def read_config(path: Path) -> dict[str, Any]:
    """A TOML config file's keys ({} when it is missing); a syntax error is a
    ConfigurationError that names the file and the position, never the text."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise _bad_toml(exc, path) from None


def write_user_config(values: dict[str, Any], path: Path | None = None) -> Path:
    """Merge ``values`` into the user config file and make it readable by the owner only."""
    path = path or user_config_path()
    current = read_config(path)
    for key, value in values.items():
        if value is None:
            current.pop(key, None)  # None removes a key (e.g. switching token -> auth value)
        else:
            current[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{k} = {_toml_value(v)}" for k, v in sorted(current.items())]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # before writing: an existing file keeps its old (maybe wider) mode through os.open
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return _toml_str(str(v))


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

"""`ragconf verify` and the listing commands against the simulator (CliRunner + main())."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragconf.cli import app
from ragconf.cli._app import main
from ragconf.simulator import (
    DEMO_TOKEN,
    DEMO_USER,
    GUEST_TOKEN,
    GUEST_USER,
    SimulatorServer,
    demo_site,
)

CALENDAR = "ac:com.atlassian.confluence.plugins.calendar:calendar"
WRONG = "definitely-wrong-token-77"

# command line -> the simulator oracle's kind
COMMANDS: dict[str, tuple[list[str], str]] = {
    "spaces": (["spaces"], "spaces"),
    "pages": (["pages"], "pages"),
    "blogposts": (["blogposts"], "blogposts"),
    "labels": (["labels"], "labels"),
    "attachments": (["attachments"], "attachments"),
    "custom-content": (["custom-content", "--type", CALENDAR], "custom_content"),
    "tasks": (["tasks"], "tasks"),
}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(demo_site()) as server:
        yield server


def login(monkeypatch: pytest.MonkeyPatch, sim: SimulatorServer, user: str, token: str) -> None:
    monkeypatch.setenv("RAGCONF_CONFLUENCE_URL", sim.base_url)  # a site URL: normalised
    monkeypatch.setenv("RAGCONF_CONFLUENCE_USERNAME", user)
    monkeypatch.setenv("RAGCONF_CONFLUENCE_TOKEN", token)


def oracle(sim: SimulatorServer, user: str, kind: str) -> list[str]:
    ids = sim.site.visible_ids(user, kind)
    if kind == "custom_content":
        ids = [i for i in ids if sim.site.custom_content[i].custom_type == CALENDAR]
    return ids


def run_main(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """The real entry point, where ragconf errors become exit codes and messages."""
    monkeypatch.setattr(sys, "argv", ["ragconf", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("page_size", ["1", "7", "250"])
@pytest.mark.parametrize("user", [DEMO_USER, GUEST_USER])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_listing_json_is_exactly_what_the_user_may_see(
    sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, name: str, user: str, page_size: str
) -> None:
    login(monkeypatch, sim, user, DEMO_TOKEN if user == DEMO_USER else GUEST_TOKEN)
    args, kind = COMMANDS[name]
    result = CliRunner().invoke(app, [*args, "--json", "--page-size", page_size])
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(oracle(sim, user, kind))


def test_json_uses_the_api_field_names(
    sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(monkeypatch, sim, DEMO_USER, DEMO_TOKEN)
    result = CliRunner().invoke(
        app, ["pages", "--json", "--limit", "3", "--body-format", "storage"]
    )
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert len(items) == 3
    first = items[0]
    assert {"id", "title", "spaceId", "version", "_links", "body"} <= set(first)
    assert "space_id" not in first and first["body"]["storage"]["value"]


def test_limit_and_space_filter(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    login(monkeypatch, sim, DEMO_USER, DEMO_TOKEN)
    runner = CliRunner()
    spaces = json.loads(runner.invoke(app, ["spaces", "--json"]).stdout)
    space = spaces[0]
    result = runner.invoke(app, ["pages", "--space", space["key"], "--json", "--page-size", "7"])
    assert result.exit_code == 0, result.output
    got = sorted(p["id"] for p in json.loads(result.stdout))
    expected = sorted(
        i for i in oracle(sim, DEMO_USER, "pages") if sim.site.pages[i].space_id == space["id"]
    )
    assert got == expected and got
    limited = json.loads(runner.invoke(app, ["pages", "--limit", "5", "--json"]).stdout)
    assert len(limited) == 5
    labels_of_space = runner.invoke(app, ["labels", "--space", space["key"], "--json"])
    assert labels_of_space.exit_code == 0, labels_of_space.output


def test_tables_are_readable(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    login(monkeypatch, sim, DEMO_USER, DEMO_TOKEN)
    result = CliRunner().invoke(app, ["spaces"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "Key", "Name"]
    for space_id in oracle(sim, DEMO_USER, "spaces"):
        assert any(line.split()[0] == space_id for line in lines[1:])
    tasks = CliRunner().invoke(app, ["tasks", "--status", "incomplete"])
    assert tasks.exit_code == 0 and "incomplete" in tasks.stdout


def test_empty_result_says_to_check_access(
    sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(monkeypatch, sim, GUEST_USER, GUEST_TOKEN)
    hidden = sorted(set(oracle(sim, DEMO_USER, "pages")) - set(oracle(sim, GUEST_USER, "pages")))
    result = CliRunner().invoke(app, ["pages", "--id", hidden[0], "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert "No pages visible to guest@ragconf.dev" in result.stderr
    assert "Confluence UI" in result.stderr


def test_verify_shows_user_endpoint_and_spaces(
    sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(monkeypatch, sim, DEMO_USER, DEMO_TOKEN)
    result = CliRunner().invoke(app, ["verify"])
    assert result.exit_code == 0, result.output
    assert sim.api_url in result.stdout
    assert DEMO_USER in result.stdout
    visible = oracle(sim, DEMO_USER, "spaces")
    keys = [sim.site.spaces[i].key for i in visible][:10]
    for key in keys:
        assert key in result.stdout
    as_json = CliRunner().invoke(app, ["verify", "--json"])
    data = json.loads(as_json.stdout)
    assert data["ok"] is True and data["endpoint"] == sim.api_url
    assert data["user"]["email"] == DEMO_USER
    assert 0 < len(data["spaces"]) <= 10
    assert DEMO_TOKEN not in as_json.output


def test_wrong_token_exits_non_zero_with_the_fix_and_no_token(
    sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    login(monkeypatch, sim, DEMO_USER, WRONG)
    for args in (["verify"], ["pages"], ["verify", "--json"]):
        code, out, err = run_main(args, monkeypatch, capsys)
        assert code == 4, (args, out, err)
        assert WRONG not in out and WRONG not in err
        assert "generate a new token" in out + err
    code, out, err = run_main(["verify"], monkeypatch, capsys)
    assert err.startswith("Checking") or "Error:" in err
    assert "401" in err


def test_wrong_endpoint_and_unreachable_site(
    sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    login(monkeypatch, sim, DEMO_USER, DEMO_TOKEN)
    monkeypatch.setenv("RAGCONF_CONFLUENCE_URL", sim.base_url + "/nested/wiki/api/v2/")
    code, _, err = run_main(["verify"], monkeypatch, capsys)
    assert code == 6 and "/wiki/api/v2/" in err  # EndpointNotFoundError's fix
    monkeypatch.setenv("RAGCONF_CONFLUENCE_URL", "http://127.0.0.1:9")  # discard port: refused
    code, _, err = run_main(["spaces"], monkeypatch, capsys)
    assert code == 8 and "Fix:" in err
    monkeypatch.delenv("RAGCONF_CONFLUENCE_URL")
    code, _, err = run_main(["verify"], monkeypatch, capsys)
    assert code == 2 and "ragconf configure" in err


def test_unknown_space_key_is_not_found(
    sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    login(monkeypatch, sim, DEMO_USER, DEMO_TOKEN)
    code, _, err = run_main(["pages", "--space", "NOPE"], monkeypatch, capsys)
    assert code == 6 and "NOPE" in err


def test_the_installed_command_hides_the_token(sim: SimulatorServer, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
    env.update(
        RAGCONF_CONFLUENCE_URL=sim.base_url,
        RAGCONF_CONFLUENCE_USERNAME=DEMO_USER,
        RAGCONF_CONFLUENCE_TOKEN=WRONG,
    )
    exe = Path(sys.executable).with_name("ragconf")
    proc = subprocess.run(
        [str(exe), "verify"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 4
    assert WRONG not in proc.stdout + proc.stderr
    assert "invalid or expired API token" in proc.stderr


def test_configure_then_verify_against_the_simulator(sim: SimulatorServer) -> None:
    from ragconf.settings import user_config_path

    runner = CliRunner()
    result = runner.invoke(
        app, ["configure", "--url", sim.base_url, "--username", DEMO_USER], input=DEMO_TOKEN + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "OK: ragconf can read this site." in result.stdout
    assert DEMO_TOKEN not in result.output
    assert user_config_path().stat().st_mode & 0o777 == 0o600
    # the saved file alone is enough for the listings
    listed = runner.invoke(app, ["spaces", "--json"])
    assert sorted(s["id"] for s in json.loads(listed.stdout)) == sorted(
        oracle(sim, DEMO_USER, "spaces")
    )
    bad = runner.invoke(
        app, ["configure", "--url", sim.base_url, "-u", DEMO_USER, "--token", WRONG]
    )
    assert bad.exit_code != 0
    assert type(bad.exception).__name__ == "AuthenticationError"
    assert WRONG not in bad.output


def test_tables_show_titles_with_brackets_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from ragconf.simulator import synthetic_site

    site = synthetic_site(1, spaces=1)
    site.add_page("S00", "[DRAFT] Plan [/] for [bold]Q3", "<p>x</p>")
    with SimulatorServer(site) as server:
        login(monkeypatch, server, DEMO_USER, DEMO_TOKEN)
        result = CliRunner().invoke(app, ["pages", "--title", "[DRAFT] Plan [/] for [bold]Q3"])
    assert result.exit_code == 0, result.output
    assert "[DRAFT] Plan [/] for [bold]Q3" in result.stdout


def test_verify_json_reports_an_unparsable_url_as_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAGCONF_CONFLUENCE_URL", "https://")
    monkeypatch.setenv("RAGCONF_CONFLUENCE_USERNAME", DEMO_USER)
    monkeypatch.setenv("RAGCONF_CONFLUENCE_TOKEN", WRONG)
    code, out, err = run_main(["verify", "--json"], monkeypatch, capsys)
    data = json.loads(out)
    assert code == 2 and data["ok"] is False and data["endpoint"] is None
    assert data["error"] == "ConfigurationError" and "not a URL" in data["message"]
    assert WRONG not in out + err

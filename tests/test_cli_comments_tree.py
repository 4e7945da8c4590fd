"""`ragconf comments`, `ragconf tree` and `ragconf folders` against the in-memory fake served
over a real socket (the simulator does not serve these routes yet)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from ragconf.cli import app
from ragconf.cli._app import main
from tests.confluence_fake import TOKEN, USER, FakeSite, build_site, route_of, serve


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    fake = build_site()
    with serve(fake) as url:
        monkeypatch.setenv("RAGCONF_CONFLUENCE_URL", url)
        monkeypatch.setenv("RAGCONF_CONFLUENCE_USERNAME", USER)
        monkeypatch.setenv("RAGCONF_CONFLUENCE_TOKEN", TOKEN)
        yield fake


def cli_json(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


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


def truth(site: FakeSite, id: str) -> list[Any]:
    return [[n.id, n.type, n.title, truth(site, n.id)] for n in site.children_of(id)]


def shape(nodes: list[dict[str, Any]]) -> list[Any]:
    return [[n["id"], n["type"], n["title"], shape(n["children"])] for n in nodes]


# -- tree -------------------------------------------------------------------------------------


def test_tree_json_is_the_space_hierarchy(site: FakeSite) -> None:
    roots = cli_json("tree", "--space", "ENG", "--page-size", "2")
    assert shape(roots) == [
        ["100", "page", "Home", truth(site, "100")],
        ["900", "page", "Orphan root", []],
    ]
    assert not any("truncated" in json.dumps(r) for r in roots)


def test_tree_text_nests_titles_under_their_parents(site: FakeSite) -> None:
    result = CliRunner().invoke(app, ["tree", "--space", "ENG"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Engineering (ENG)"

    def column(label: str) -> int:
        (line,) = [x for x in lines if x.endswith(label)]
        return line.index(label)

    # every node is one step right of its parent
    for node in site.nodes.values():
        label = f"{node.title}  {node.type} {node.id}"
        parent = site.nodes.get(node.parent or "")
        if parent is None:
            assert column(label) == column("Home  page 100")
        else:
            assert column(label) > column(f"{parent.title}  {parent.type} {parent.id}")
    order = [line.strip("│├└─ ") for line in lines[1:5]]
    assert order == [
        "Home  page 100",
        "Designs  folder 200",
        "Flow  whiteboard 300",
        "Figma  embed 500",
    ]


def test_tree_depth_limit_and_root(site: FakeSite) -> None:
    shallow = cli_json("tree", "--space", "ENG", "--depth", "1")
    assert [c["id"] for c in shallow[0]["children"]] == ["200", "101"]
    assert all(c["children"] == [] and c["truncated"] for c in shallow[0]["children"])
    capped = cli_json("tree", "--space", "ENG", "--limit", "3")
    assert len(json.dumps(capped).split('"id"')) - 1 == 3
    (folder,) = cli_json("tree", "--root", "200", "--type", "folder")
    assert (folder["id"], folder["type"], folder["title"]) == ("200", "folder", "Designs")
    assert shape(folder["children"]) == truth(site, "200")
    text = CliRunner().invoke(app, ["tree", "--root", "201", "--type", "folder"])
    assert text.exit_code == 0 and text.stdout.splitlines() == [
        "folder 201",
        "└── Archive  folder 201",
    ]


def test_tree_errors(
    site: FakeSite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(["tree", "--space", "NOPE"], monkeypatch, capsys)
    assert code == 6 and "NOPE" in err
    code, _, err = run_main(["tree"], monkeypatch, capsys)
    assert code == 2 and "--space" in err
    code, _, err = run_main(["tree", "--root", "1", "--type", "blog"], monkeypatch, capsys)
    assert code == 2 and "page, folder, whiteboard, database, embed" in err
    code, _, err = run_main(["tree", "--root", "300", "--type", "folder"], monkeypatch, capsys)
    assert code == 6 and "folders/300" in err


# -- comments ---------------------------------------------------------------------------------


def test_comments_of_a_page_both_kinds_across_pages(site: FakeSite) -> None:
    items = cli_json("comments", "--page", "101", "--page-size", "2")
    assert [(c["id"], c["kind"]) for c in items] == [
        *((f"f{i}", "footer") for i in range(1, 8)),
        ("i1", "inline"),
        ("i2", "inline"),
        ("i3", "inline"),
    ]
    i1 = items[7]
    assert i1["resolutionStatus"] == "open" and i1["pageId"] == "101"
    assert i1["properties"]["inlineOriginalSelection"] == "rate limit"
    assert i1["body"]["storage"]["value"] == "<p>why?</p>"  # storage is asked by default
    assert i1["version"]["number"] == 3 and i1["version"]["authorId"] == "acc-3"
    routes = [route_of(r) for r in site.requests]
    assert routes.count("pages/101/footer-comments") == 4  # 7 items, 2 per request
    assert len(cli_json("comments", "--page", "101", "--limit", "3")) == 3


def test_comment_filters(site: FakeSite) -> None:
    opened = cli_json("comments", "--page", "101", "--resolution", "open")
    assert [c["id"] for c in opened] == ["i1"]
    assert site.requests[-1].url.params["resolution-status"] == "open"
    trashed = cli_json("comments", "--page", "101", "--footer", "--status", "trashed")
    assert [c["id"] for c in trashed] == ["f8"]
    site_wide = cli_json("comments", "--resolution", "resolved", "--resolution", "reopened")
    assert sorted(c["id"] for c in site_wide) == ["b2", "i2"]
    replies = cli_json("comments", "--replies-to", "i1", "--inline")
    assert [(c["id"], c["parentCommentId"]) for c in replies] == [("i1r1", "i1")]
    by_id = cli_json("comments", "--id", "i1,f1")
    assert [(c["id"], c["kind"]) for c in by_id] == [("i1", "inline"), ("f1", "footer")]
    on_file = cli_json("comments", "--attachment", "att9")
    assert [(c["id"], c["attachmentId"]) for c in on_file] == [("a1", "att9")]
    on_blog = cli_json("comments", "--blogpost", "50", "--inline")
    assert [c["id"] for c in on_blog] == ["b2"]
    on_cc = cli_json("comments", "--custom-content", "3001")
    assert [c["customContentId"] for c in on_cc] == ["3001"]


def test_comments_table_shows_the_selection_and_state(site: FakeSite) -> None:
    result = CliRunner().invoke(app, ["comments", "--page", "101", "--inline"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "ID",
        "Kind",
        "On",
        "Reply",
        "to",
        "Status",
        "Author",
        "Updated",
        "Text",
    ]
    (i1,) = [line for line in lines if line.startswith("i1 ")]
    assert "«rate limit»" in i1 and "current/open" in i1 and "page 101" in i1
    footer = CliRunner().invoke(app, ["comments", "--page", "101", "--footer", "-n", "1"])
    assert footer.stdout.splitlines()[1].endswith("footer 1")  # the body's text, tags gone


def test_comment_usage_errors(
    site: FakeSite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (
        ["comments", "--inline", "--footer"],
        ["comments", "--page", "1", "--blogpost", "2"],
        ["comments", "--replies-to", "i1"],
        ["comments", "--footer", "--resolution", "open"],
        ["comments", "--status", "current"],
        ["comments", "--attachment", "att9", "--inline"],
    ):
        code, out, err = run_main(args, monkeypatch, capsys)
        assert code == 2, (args, out, err)
        assert out == ""
    code, _, err = run_main(["comments", "--id", "nope"], monkeypatch, capsys)
    assert code == 6 and "inline-comments/nope" in err


def test_no_comments_is_said_on_stderr(site: FakeSite) -> None:
    result = CliRunner().invoke(app, ["comments", "--blogpost", "999", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert "No comments visible to me@acme.com" in result.stderr


def test_wrong_token_exits_4_without_the_token(
    site: FakeSite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAGCONF_CONFLUENCE_TOKEN", "definitely-wrong-token-77")
    for args in (["comments"], ["tree", "--space", "ENG"], ["folders", "--id", "200"]):
        code, out, err = run_main(args, monkeypatch, capsys)
        assert code == 4, (args, err)
        assert "definitely-wrong-token-77" not in out + err


# -- folders ----------------------------------------------------------------------------------


def test_folders(
    site: FakeSite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    in_space = cli_json("folders", "--space", "ENG")
    assert [(f["id"], f["parentType"], f["parentId"]) for f in in_space] == [
        ("200", "page", "100"),
        ("201", "folder", "200"),
    ]
    assert [f["id"] for f in cli_json("folders", "--space", "ENG", "--limit", "1")] == ["200"]
    (one,) = cli_json("folders", "--id", "201")
    assert one["title"] == "Archive" and one["version"]["number"] == 2
    kids = cli_json("folders", "--children", "200", "--page-size", "1")
    assert [(k["id"], k["type"]) for k in kids] == [
        ("300", "whiteboard"),
        ("500", "embed"),
        ("201", "folder"),
    ]
    chain = cli_json("folders", "--ancestors", "201")
    assert chain == [{"id": "100", "type": "page"}, {"id": "200", "type": "folder"}]
    table = CliRunner().invoke(app, ["folders", "--space", "ENG"])
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "Title", "Space"]
    assert "ENG" in table.stdout.splitlines()[1]  # the space key, not its id
    code, _, _ = run_main(["folders"], monkeypatch, capsys)
    assert code == 2
    code, _, err = run_main(["folders", "--id", "300"], monkeypatch, capsys)
    assert code == 6 and "folders/300" in err

"""The CLI's shape: commands registered in one place, no import circle in ``ragconf.cli``."""

from __future__ import annotations

import ast
from pathlib import Path

import typer.main

import ragconf.cli

CLI = Path(ragconf.cli.__file__).parent


def _cli_imports(path: Path) -> set[str]:
    """Modules of ragconf.cli that ``path`` imports at module level (not inside functions)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "ragconf.cli":
                found.update(f"ragconf.cli.{a.name}" for a in node.names)
            elif node.module.startswith("ragconf.cli."):
                found.add(node.module)
    return found


def test_no_import_circle_in_cli() -> None:
    graph = {f"ragconf.cli.{p.stem}": _cli_imports(p) for p in CLI.glob("*.py")}
    graph["ragconf.cli"] = graph.pop("ragconf.cli.__init__")

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, " -> ".join((*path, node))
        for nxt in graph.get(node, ()):
            visit(nxt, (*path, node))

    for start in graph:
        visit(start, ())


def test_commands_register_only_through_commands_py() -> None:
    for path in CLI.glob("*.py"):
        assert "@app.command" not in path.read_text(), path.name


def test_shared_helpers_import_nothing_from_cli() -> None:
    for name in ("_output.py", "_options.py"):
        assert _cli_imports(CLI / name) == set(), name


def test_help_lists_commands_in_registration_order() -> None:
    names = list(typer.main.get_command(ragconf.cli.app).commands)  # type: ignore[attr-defined]
    assert names[:3] == ["configure", "verify", "spaces"]
    assert names.index("sync") < names.index("search") < names.index("serve")

"""The public face: ``ragconf.__all__`` is exactly what ``ragconf`` exports, and it stays light."""

from __future__ import annotations

import subprocess
import sys

import ragconf


def test_all_is_sorted_and_unique() -> None:
    assert ragconf.__all__ == sorted(set(ragconf.__all__))


def test_all_matches_the_lazy_table() -> None:
    # every lazily exported name is listed, and every listed name has a source
    assert set(ragconf.__all__) - {"__version__"} == set(ragconf._LAZY)


def test_every_exported_name_resolves_to_a_ragconf_object() -> None:
    for name in ragconf.__all__:
        value = getattr(ragconf, name)
        if name == "__version__":
            assert isinstance(value, str)
            continue
        module = getattr(value, "__module__", "")
        assert module.startswith("ragconf"), f"{name} comes from {module!r}, not from ragconf"
        # the object is the one its home module defines (no copies, no shadowing)
        assert getattr(sys.modules[ragconf._LAZY[name]], name) is value


def test_dir_lists_the_public_names() -> None:
    assert set(ragconf.__all__) <= set(dir(ragconf))


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        ragconf.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("ragconf.NoSuchThing resolved")


def test_version_matches_the_package_metadata() -> None:
    from importlib.metadata import version

    assert ragconf.__version__ == version("ragconf")


def test_import_ragconf_is_light() -> None:
    # `import ragconf` must not pull in the heavy stacks; names load them on first use
    code = (
        "import sys, ragconf\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'chromadb', 'transformers',"
        " 'fastapi', 'uvicorn', 'httpx', 'pandas') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_package_is_typed_and_reports_its_version() -> None:
    from pathlib import Path

    assert (Path(ragconf.__file__).parent / "py.typed").exists()
    out = subprocess.run(
        [sys.executable, "-c", "from ragconf.cli import main; main()", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == f"ragconf {ragconf.__version__}"

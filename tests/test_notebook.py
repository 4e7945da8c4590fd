"""notebooks/explore.ipynb runs top to bottom against the simulator's demo site, and is
committed without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"


def test_notebook_outputs_are_stripped() -> None:
    raw = json.loads(NOTEBOOK.read_text())
    for i, cell in enumerate(raw["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {i} has outputs: strip them before committing"
            assert cell["execution_count"] is None, f"cell {i} has an execution count"
    assert "widgets" not in raw["metadata"]


def _text(cell: nbformat.NotebookNode) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o.get("text", ""))
        elif "data" in o:
            out.append(o["data"].get("text/plain", ""))
    return "".join(out)


def test_notebook_executes_against_the_demo_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbclient import NotebookClient

    # the kernel inherits this environment: headless plots, the demo site, a temp work dir
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("RAGCONF_NOTEBOOK_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.delenv("RAGCONF_CONFLUENCE_URL", raising=False)

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the traceback, on any failing cell

    outputs = {c.get("id"): _text(c) for c in nb.cells if c.cell_type == "code"}
    everything = "\n".join(outputs.values())
    assert "Simulator (demo wiki) at http://127.0.0.1:" in everything
    # spaces listed, chunks synced, results with links, context with citations
    assert "chunks in embedded:" in everything
    assert "http://127.0.0.1:" in outputs["cell-10"], outputs["cell-10"]  # search results
    assert "[1] " in everything
    figures = tmp_path / "index" / "figures"
    for name in ("chunks_per_space.png", "score_distribution.png", "embeddings_pca.png"):
        png = figures / name
        assert png.exists() and png.stat().st_size > 5_000, name

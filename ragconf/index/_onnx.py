"""The fast single-query path: the model's transformer exported to ONNX, run by ONNX Runtime.

A short query through sentence-transformers costs tens of milliseconds of Python and
torch dispatch on a small CPU; the same network in ONNX Runtime costs a few. The export is
only trusted when it reproduces torch: at export time the vectors of a check set must match
sentence-transformers' within ``TOLERANCE`` (1 - cosine). The check set and torch's vectors
are cached with the model, so a later process re-checks the cached export against them
without loading torch at all (a new onnxruntime version that drifted is caught too).

Layout: ``cache_dir/<key>/model.onnx`` + ``check.json``; ``key`` hashes the model's name and
files, so a changed model gets a new export.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "TOLERANCE",
    "OnnxQueryEncoder",
    "OnnxSpec",
    "cache_key",
    "export",
    "load_cached",
    "spec_for",
]

TOLERANCE = 1e-4
_FORMAT = 1
_MODEL_FILES = (".json", ".safetensors", ".bin", ".txt", ".model")

CHECK_TEXTS = (
    "",
    "a",
    "How do I reset my password?",
    "ERR-4031 when uploading an attachment to Confluence Cloud",
    "Überprüfung der Zugriffsrechte — naïve café, 東京, emoji 🚀",
    "def rotate(key: str) -> None:  # rotate API keys every 90 days",
    "   leading and trailing whitespace   ",
    "release 2.14.3 (2024-05-01): fixed SSO login loop on Safari 17",
    # longer than any max_seq_length: exercises truncation
    " ".join(["The deployment pipeline builds, tests and ships every service."] * 60),
)


@dataclass(frozen=True)
class OnnxSpec:
    """What the ONNX path has to reproduce: tokenizer file and pooling mode."""

    model_dir: Path
    pooling: str  # "mean" | "cls"


def spec_for(model_dir: Path) -> OnnxSpec | None:
    """An OnnxSpec when the model is Transformer + mean/CLS Pooling (+ Normalize), else None."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if not (kinds[:2] == ["Transformer", "Pooling"] and set(kinds[2:]) <= {"Normalize"}):
        return None
    if not (model_dir / "tokenizer.json").is_file():
        return None
    try:
        pool = json.loads((model_dir / modules[1]["path"] / "config.json").read_text("utf-8"))
    except (OSError, ValueError, KeyError):
        return None
    modes = {k for k, v in pool.items() if k.startswith("pooling_mode_") and v is True}
    if isinstance(pool.get("pooling_mode"), str):
        modes = {f"pooling_mode_{pool['pooling_mode']}"}
    if modes == {"pooling_mode_mean_tokens"} or modes == {"pooling_mode_mean"}:
        return OnnxSpec(model_dir, "mean")
    if modes == {"pooling_mode_cls_token"} or modes == {"pooling_mode_cls"}:
        return OnnxSpec(model_dir, "cls")
    return None


def cache_key(model_name: str, model_dir: Path) -> str:
    """Changes whenever the model's files change (name, size and mtime of each)."""
    h = hashlib.sha256(f"{_FORMAT}|{model_name}".encode())
    for path in sorted(model_dir.rglob("*")):
        if path.is_file() and path.suffix in _MODEL_FILES:
            st = path.stat()
            h.update(f"|{path.relative_to(model_dir)}:{st.st_size}:{st.st_mtime_ns}".encode())
    slug = "".join(c if c.isalnum() else "-" for c in model_name.lower()).strip("-")[-40:]
    return f"{slug}-{h.hexdigest()[:12]}"


class OnnxQueryEncoder:
    """Texts through ONNX Runtime, one (``encode``) or a batch (``encode_batch``) at a time;
    output L2-normalised float32 like torch's."""

    def __init__(
        self, model_path: Path, tokenizer_path: Path, pooling: str, max_length: int
    ) -> None:
        from tokenizers import Tokenizer

        # Two sessions of the same model, for the two ways a server uses it (measured on 2
        # cores): a lone query runs on every core, with ORT's worker threads spinning during
        # the run but not after it (by default they keep busy-waiting: twice the CPU per
        # query); a batch runs on one thread, leaving the other core to the rest of the
        # search (nothing spins: 182 instead of 152 requests/s when every query is new).
        self._model_path = str(model_path)
        self._session = self._open(threads=None)
        self._batch_session: Any = None
        self._batch_lock = threading.Lock()
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tok = Tokenizer.from_file(str(tokenizer_path))
        self._tok.no_padding()
        self._tok.enable_truncation(max_length)
        self.pooling = pooling
        self.max_length = max_length

    def _open(self, threads: int | None) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        else:
            opts.add_session_config_entry("session.force_spinning_stop", "1")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        return ort.InferenceSession(
            self._model_path, sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def _batch(self) -> Any:
        with self._batch_lock:  # opened on the first batch: a CLI search never needs it
            if self._batch_session is None:
                self._batch_session = self._open(threads=1)
            return self._batch_session

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        """Several texts in one run, padded to the longest: ``(len(texts), dim)`` float32.

        Padding is masked out of attention and pooling, so each row matches ``encode`` of
        the same text (to ~1e-7: the matrix kernels block a bigger batch differently). One
        run of n short texts costs about half of n single runs on a CPU.
        """
        if len(texts) == 1:
            return self.encode(texts[0])[None, :]
        encs = self._tok.encode_batch(texts)
        width = max(1, max(len(e.ids) for e in encs))
        ids = np.zeros((len(encs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, enc in enumerate(encs):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
            types[row, :n] = enc.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = types
        hidden = self._batch().run(None, feeds)[0]  # (batch, seq, dim)
        if self.pooling == "cls":
            vecs = hidden[:, 0, :]
        else:
            m = mask[:, :, None].astype(hidden.dtype)
            vecs = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        vecs = vecs.astype(np.float32)
        norms = np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(vecs / norms, dtype=np.float32)

    def encode(self, text: str) -> np.ndarray:
        enc = self._tok.encode(text)
        mask = np.asarray([enc.attention_mask], dtype=np.int64)
        feeds = {"input_ids": np.asarray([enc.ids], dtype=np.int64), "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.asarray([enc.type_ids], dtype=np.int64)
        hidden = self._session.run(None, feeds)[0][0]  # (seq, dim)
        if self.pooling == "cls":
            vec = hidden[0]
        else:
            m = mask[0][:, None].astype(hidden.dtype)
            vec = (hidden * m).sum(axis=0) / max(float(m.sum()), 1e-9)
        vec = vec.astype(np.float32)
        return vec / max(float(np.linalg.norm(vec)), 1e-12)


def _max_deviation(enc: OnnxQueryEncoder, texts: list[str], reference: np.ndarray) -> float:
    got = np.stack([enc.encode(t) for t in texts])
    ref = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    return float(np.max(1.0 - np.sum(got * ref, axis=1)))


def load_cached(cache_dir: Path, key: str) -> tuple[OnnxQueryEncoder | None, str]:
    """The cached export for ``key`` if it still reproduces the torch vectors stored with it."""
    folder = cache_dir / key
    try:
        check = json.loads((folder / "check.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, "no cached export"
    if check.get("format") != _FORMAT or not (folder / "model.onnx").is_file():
        return None, "cached export has an old format"
    spec_dir = Path(check["model_dir"])
    enc = OnnxQueryEncoder(
        folder / "model.onnx",
        spec_dir / "tokenizer.json",
        check["pooling"],
        int(check["max_length"]),
    )
    dev = _max_deviation(enc, check["texts"], np.asarray(check["vectors"], dtype=np.float32))
    if dev > TOLERANCE:
        return None, f"cached export drifted from torch (max 1-cos {dev:.2e})"
    return enc, f"cached export, max 1-cos vs torch {dev:.1e}"


def export(
    model: Any, cache_dir: Path, key: str, spec: OnnxSpec, query_prefix: str
) -> tuple[OnnxQueryEncoder | None, str]:
    """Export ``model``'s transformer, check it against torch, cache it when it matches."""
    import torch

    transformer = model[0]
    auto_model = transformer.auto_model
    max_length = int(model.max_seq_length or 512)
    names = [
        n
        for n in getattr(model.tokenizer, "model_input_names", ["input_ids", "attention_mask"])
        if n in ("input_ids", "attention_mask", "token_type_ids")
    ]

    class _Wrapped(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache_dir))
    try:
        example = model.tokenizer(["a short example query"], return_tensors="pt")
        args = tuple(example[n].cpu() for n in names)
        axes = {n: {0: "batch", 1: "seq"} for n in names}
        axes["last_hidden_state"] = {0: "batch", 1: "seq"}
        wrapped = _Wrapped(auto_model).eval().cpu()
        with warnings.catch_warnings(), torch.no_grad():
            # the TorchScript exporter is deprecated and chatty; the check below is what counts
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped,
                args,
                str(tmp / "model.onnx"),
                dynamo=False,
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
            )
        if model.device.type != "cpu":
            auto_model.to(model.device)
        texts = [query_prefix + t for t in CHECK_TEXTS]
        reference = model.encode(
            texts,
            batch_size=1,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        enc = OnnxQueryEncoder(
            tmp / "model.onnx", spec.model_dir / "tokenizer.json", spec.pooling, max_length
        )
        dev = _max_deviation(enc, texts, reference)
        if dev > TOLERANCE:
            return None, f"export does not match torch (max 1-cos {dev:.2e} > {TOLERANCE})"
        check = {
            "format": _FORMAT,
            "model_dir": str(spec.model_dir),
            "pooling": spec.pooling,
            "max_length": max_length,
            "texts": texts,
            "vectors": np.asarray(reference, dtype=np.float32).tolist(),
            "max_deviation": dev,
        }
        (tmp / "check.json").write_text(json.dumps(check), encoding="utf-8")
        final = cache_dir / key
        if final.exists():  # a stale or drifted export under the same key
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:  # another process exported the same model first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
            return load_cached(cache_dir, key)
        enc = OnnxQueryEncoder(
            final / "model.onnx", spec.model_dir / "tokenizer.json", spec.pooling, max_length
        )
        return enc, f"fresh export, max 1-cos vs torch {dev:.1e}"
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

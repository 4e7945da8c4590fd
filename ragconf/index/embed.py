"""Text -> vectors: sentence-transformers for real use, a hashing embedder for unit tests.

>>> emb = SentenceTransformerEmbedder()            # the bundled all-MiniLM-L6-v2, offline
>>> vecs = emb.embed_documents(["Reset a password", "Rotate API keys"])   # (2, 384) float32
>>> q = emb.embed_query("how do I reset my password?")                     # (384,)
>>> float(vecs[0] @ q) > float(vecs[1] @ q)
True

Nothing heavy is imported at module level: torch and sentence-transformers load in
``warm_up()`` (or on first use), and ``count_tokens`` only ever loads the tokenizer, so a
sync with nothing to embed never pays for the model.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragconf.errors import EmbeddingError
from ragconf.index._embed_models import (
    DEFAULT_MODEL,
    ModelRef,
    config_dimension,
    default_model_path,
    detect_prompts,
    load_token_counter,
    resolve_model,
    token_counter,
)

__all__ = [
    "DEFAULT_MODEL",
    "HashEmbedder",
    "ModelRef",
    "SentenceTransformerEmbedder",
    "default_model_path",
    "load_token_counter",
    "resolve_model",
]

log = logging.getLogger(__name__)

_QUERY_BACKENDS = ("auto", "torch", "onnx")


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; vectors are L2-normalised float32.

    >>> emb = SentenceTransformerEmbedder("BAAI/bge-small-en-v1.5")  # doctest: +SKIP
    >>> emb.query_prefix                                               # doctest: +SKIP
    'Represent this sentence for searching relevant passages: '

    ``query_backend``: "torch"; "onnx" (an ONNX Runtime export of the same model, required);
    or "auto": ONNX for ``embed_query`` when ``onnx_cache_dir`` is given and the export's
    vectors match torch's within 1e-4 cosine, torch otherwise. ``local_files_only`` keeps
    loading offline (the model must be a path or already in the Hugging Face cache).
    """

    def __init__(
        self,
        model: str | None = None,
        device: str | None = None,
        batch_size: int = 32,
        query_backend: str = "auto",
        *,
        onnx_cache_dir: Path | str | None = None,
        local_files_only: bool = True,
    ) -> None:
        if query_backend not in _QUERY_BACKENDS:
            raise ValueError(
                f"query_backend must be one of {_QUERY_BACKENDS}, got {query_backend!r}"
            )
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.ref = resolve_model(model)
        self.requested_device = device
        self.batch_size = batch_size
        self.query_backend = query_backend
        self.onnx_cache_dir = Path(onnx_cache_dir) if onnx_cache_dir is not None else None
        self.local_files_only = local_files_only
        self.query_prefix, self.document_prefix = detect_prompts(self.ref)
        #: texts embedded by embed_documents (tests count re-embedding with it)
        self.embedded_count = 0
        #: texts embedded by embed_query
        self.query_count = 0
        #: why the ONNX query path is (not) in use, for logs and /stats
        self.onnx_status = "not tried"
        self._dimension = config_dimension(self.ref.local_dir)
        self._st: Any = None
        self._onnx: Any = None
        self._query_ready = False
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self.model_name!r}, device={self.device!r})"

    @property
    def model_name(self) -> str:
        return self.ref.name

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._model()
        assert self._dimension is not None  # set by _load_torch
        return self._dimension

    @property
    def device(self) -> str | None:
        """The torch device in use (None until the torch model is loaded)."""
        return str(self._st.device) if self._st is not None else self.requested_device

    @property
    def active_query_backend(self) -> str:
        return "onnx" if self._onnx is not None else "torch"

    @property
    def loaded(self) -> bool:
        """True once ``embed_query`` is ready (after ``warm_up``)."""
        return self._query_ready

    @property
    def torch_loaded(self) -> bool:
        """True once the torch model is in memory (``embed_documents`` needs it)."""
        return self._st is not None

    def warm_up(self) -> None:
        """Prepare ``embed_query`` (loading ONNX or torch); ``embed_documents`` loads torch."""
        with self._lock:
            if self._query_ready:
                return
            if self.query_backend != "torch":
                self._onnx = self._prepare_onnx()
            if self._onnx is None:
                self._model()
            self._query_ready = True

    def count_tokens(self, text: str) -> int:
        return token_counter(
            self.ref.source, str(self.ref.local_dir) if self.ref.local_dir else None
        )(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._model()
        # sentence-transformers sorts by length internally, so batches pad little
        vecs = model.encode(
            texts,
            batch_size=self.batch_size,
            prompt=self.document_prefix or None,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        with self._lock:
            self.embedded_count += len(texts)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        self.warm_up()
        with self._lock:
            self.query_count += 1
        if self._onnx is not None:
            return self._onnx.encode(self.query_prefix + text)
        vec = self._model().encode(
            text,
            prompt=self.query_prefix or None,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vec, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several queries in one encoder call, ``(len(texts), dim)``; row i is what
        ``embed_query(texts[i])`` gives (within ~1e-7). The batching embedder calls this."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.warm_up()
        with self._lock:
            self.query_count += len(texts)
        if self._onnx is not None:
            return self._onnx.encode_batch([self.query_prefix + t for t in texts])  # type: ignore[no-any-return]
        vecs = self._model().encode(
            texts,
            batch_size=max(len(texts), 1),
            prompt=self.query_prefix or None,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    # -- loading ---------------------------------------------------------------------------

    def _model(self) -> Any:
        with self._lock:
            if self._st is None:
                self._st = self._load_torch()
            return self._st

    def _load_torch(self) -> Any:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            # the "Loading weights" bar would land in CLI output; ragconf draws its own
            hf_logging.disable_progress_bar()
            device = self.requested_device or ("cuda" if torch.cuda.is_available() else "cpu")
            model = SentenceTransformer(
                self.ref.source, device=device, local_files_only=self.local_files_only
            )
        except Exception as exc:
            raise EmbeddingError(
                f"cannot load the embedding model {self.ref.name!r}: {exc}",
                hint=(
                    "set RAGCONF_EMBED_MODEL to a local sentence-transformers folder or to a model "
                    "already in the Hugging Face cache (ragconf does not download models)"
                ),
            ) from exc
        dim = int(model.get_embedding_dimension() or 0)
        if self._dimension is not None and dim != self._dimension:
            log.warning(
                "model %s: config says dimension %s, model gives %s",
                self.ref.name,
                self._dimension,
                dim,
            )
        self._dimension = dim
        log.info("loaded %s on %s (dimension %d)", self.ref.name, device, dim)
        return model

    def _prepare_onnx(self) -> Any:
        from ragconf.index import _onnx

        def fail(reason: str) -> None:
            self.onnx_status = reason
            if self.query_backend == "onnx":
                raise EmbeddingError(f"the ONNX query backend is not available: {reason}")
            log.info("embed_query uses torch: %s", reason)
            return None

        if self.onnx_cache_dir is None:
            return fail("no onnx_cache_dir given")
        if self.ref.local_dir is None:
            return fail("the model has no local folder")
        spec = _onnx.spec_for(self.ref.local_dir)
        if spec is None:
            return fail("the model is not Transformer + mean/CLS pooling, or has no tokenizer.json")
        key = _onnx.cache_key(self.ref.name, self.ref.local_dir)
        try:
            enc, reason = _onnx.load_cached(self.onnx_cache_dir, key)
            if enc is None:
                enc, reason = _onnx.export(
                    self._model(), self.onnx_cache_dir, key, spec, self.query_prefix
                )
        except Exception as exc:  # any exporter/runtime failure just means: use torch
            log.debug("ONNX export failed", exc_info=True)
            enc, reason = None, f"export failed: {type(exc).__name__}: {exc}"
        if enc is None:
            return fail(reason)
        self.onnx_status = reason
        log.info("embed_query uses ONNX Runtime (%s)", reason)
        return enc


class HashEmbedder:
    """Deterministic hashing embedder for unit tests: texts that share words score higher.

    >>> emb = HashEmbedder(dimension=64)
    >>> a, b, c = emb.embed_documents(["reset password", "password reset steps", "lunch menu"])
    >>> float(a @ b) > float(a @ c)
    True
    """

    _WORD = re.compile(r"\w+", re.UNICODE)

    def __init__(self, dimension: int = 64) -> None:
        if dimension < 2:
            raise ValueError("dimension must be >= 2")
        self._dim = dimension
        self.embedded_count = 0
        self.query_count = 0

    def __repr__(self) -> str:
        return f"HashEmbedder(dimension={self._dim})"

    @property
    def model_name(self) -> str:
        return f"hash-{self._dim}"

    @property
    def dimension(self) -> int:
        return self._dim

    def warm_up(self) -> None:
        return None

    def count_tokens(self, text: str) -> int:
        return len(self._WORD.findall(text))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._vector(text)
        self.embedded_count += len(texts)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        self.query_count += 1
        return self._vector(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.query_count += len(texts)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._vector(text)
        return out

    def _vector(self, text: str) -> np.ndarray:
        words = [w.lower() for w in self._WORD.findall(text)]
        # words weigh 1, adjacent pairs 0.5: sharing words matters most, word order a little
        feats = [(w, 1.0) for w in words] + [
            (f"{a} {b}", 0.5) for a, b in itertools.pairwise(words)
        ]
        vec = np.zeros(self._dim, dtype=np.float64)
        # a constant component keeps every vector non-zero (cosine needs it, "" included)
        vec[0] = 0.05
        for feat, weight in feats:
            digest = hashlib.blake2b(feat.encode("utf-8"), digest_size=8).digest()
            h = int.from_bytes(digest, "little")
            sign = 1.0 if (h >> 63) & 1 else -1.0
            vec[h % self._dim] += sign * weight
        norm = float(np.linalg.norm(vec))
        return (vec / norm).astype(np.float32)

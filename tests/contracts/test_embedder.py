"""The Embedder contract (HashEmbedder and the real model), plus what only the real model has:
tokenizer-only token counts, prefixes for e5/bge models, and the ONNX query path."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ragconf.errors import EmbeddingError
from ragconf.index.embed import (
    DEFAULT_MODEL,
    HashEmbedder,
    SentenceTransformerEmbedder,
    default_model_path,
    load_token_counter,
)
from ragconf.index.types import Embedder

TEXTS = [
    "How to reset your password in the SSO portal",
    "Password reset steps for the single sign-on portal",
    "The cafeteria lunch menu for Friday",
    "ERR-4031: attachment upload fails with a quota error",
    "",
]


@pytest.fixture(params=["hash", "batching", "real"])
def embedder(request: pytest.FixtureRequest) -> Embedder:
    if request.param == "hash":
        return HashEmbedder(dimension=64)
    if request.param == "batching":  # the API's wrapper (micro-batching + vector cache)
        from ragconf.index.batching import BatchingEmbedder

        return BatchingEmbedder(HashEmbedder(dimension=64))
    return request.getfixturevalue("real_embedder")


def test_is_an_embedder(embedder: Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert isinstance(embedder.model_name, str) and embedder.model_name
    assert embedder.dimension > 1
    embedder.warm_up()  # idempotent
    embedder.warm_up()


def test_documents_are_normalised_float32_rows(embedder: Embedder) -> None:
    vecs = embedder.embed_documents(TEXTS)
    assert vecs.shape == (len(TEXTS), embedder.dimension) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(vecs).all()
    empty = embedder.embed_documents([])
    assert empty.shape == (0, embedder.dimension) and empty.dtype == np.float32


def test_query_vector_and_determinism(embedder: Embedder) -> None:
    q = embedder.embed_query(TEXTS[0])
    assert q.shape == (embedder.dimension,) and q.dtype == np.float32
    assert float(np.linalg.norm(q)) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(embedder.embed_query(TEXTS[0]), q, atol=1e-6)
    # batch composition does not change a document's vector
    alone = embedder.embed_documents([TEXTS[1]])[0]
    together = embedder.embed_documents(TEXTS)[1]
    assert float(alone @ together) == pytest.approx(1.0, abs=1e-5)


def test_related_texts_are_closer(embedder: Embedder) -> None:
    a, b, c = embedder.embed_documents(TEXTS[:3])
    assert float(a @ b) > float(a @ c)
    q = embedder.embed_query("reset password")
    assert float(q @ a) > float(q @ c)


def test_count_tokens(embedder: Embedder) -> None:
    assert embedder.count_tokens("") == 0
    short, long = embedder.count_tokens("reset password"), embedder.count_tokens(TEXTS[3] * 3)
    assert 0 < short < long


def test_embedded_count_counts_documents_not_queries(embedder: Embedder) -> None:
    before = embedder.embedded_count  # type: ignore[attr-defined]
    embedder.embed_documents(TEXTS[:3])
    embedder.embed_query("a query")
    assert embedder.embedded_count == before + 3  # type: ignore[attr-defined]


def test_hash_embedder_is_stable_across_instances() -> None:
    one, two = HashEmbedder(32), HashEmbedder(32)
    np.testing.assert_array_equal(one.embed_documents(TEXTS), two.embed_documents(TEXTS))
    assert one.model_name == "hash-32" and HashEmbedder().dimension == 64
    with pytest.raises(ValueError):
        HashEmbedder(1)


# -- the real model -------------------------------------------------------------------------


def test_dimension_and_tokens_without_loading_weights() -> None:
    emb = SentenceTransformerEmbedder()
    assert emb.model_name == DEFAULT_MODEL
    assert emb.dimension == 384  # from the config files
    assert emb.count_tokens("ERR-4031 upload") > 0
    assert not emb.torch_loaded and not emb.loaded


def test_token_counter_matches_the_model_tokenizer(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    count = load_token_counter(None)
    assert count is load_token_counter("all-MiniLM-L6-v2")  # cached, same model
    text = "Confluence ERR-4031: upload failed " * 40  # longer than the model's 256
    ids = real_embedder._model().tokenizer(text, add_special_tokens=False)["input_ids"]
    assert count(text) == len(ids) == real_embedder.count_tokens(text)
    assert count("hello world") == 2


def test_names_and_paths_resolve_to_the_bundled_model() -> None:
    by_path = SentenceTransformerEmbedder(str(default_model_path()))
    by_name = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    assert by_path.model_name == by_name.model_name == DEFAULT_MODEL


def test_missing_model_is_an_embedding_error() -> None:
    emb = SentenceTransformerEmbedder("no-such-org/no-such-model-xyz")
    with pytest.raises(EmbeddingError) as err:
        emb.embed_documents(["x"])
    assert "RAGCONF_EMBED_MODEL" in (err.value.hint or "")


@pytest.mark.parametrize(
    ("name", "query", "doc"),
    [
        ("intfloat/e5-small-v2", "query: ", "passage: "),
        ("intfloat/multilingual-e5-base", "query: ", "passage: "),
        ("BAAI/bge-small-en-v1.5", "Represent this sentence for searching relevant passages: ", ""),
        ("BAAI/bge-m3", "", ""),
        ("sentence-transformers/all-mpnet-base-v2", "", ""),
    ],
)
def test_prefixes_by_model_family(name: str, query: str, doc: str) -> None:
    emb = SentenceTransformerEmbedder(name)  # nothing is loaded to find the prefixes
    assert (emb.query_prefix, emb.document_prefix) == (query, doc)


def test_prefixes_from_the_model_config(
    tmp_path: Path, real_embedder: SentenceTransformerEmbedder
) -> None:
    model = tmp_path / "my-model"
    shutil.copytree(default_model_path(), model, copy_function=os.symlink)  # links: no 90 MB copy
    cfg = {"prompts": {"query": "search_query: ", "document": "search_document: "}}
    (model / "config_sentence_transformers.json").unlink()
    (model / "config_sentence_transformers.json").write_text(json.dumps(cfg))
    emb = SentenceTransformerEmbedder(str(model))
    assert emb.model_name == "my-model"
    assert (emb.query_prefix, emb.document_prefix) == ("search_query: ", "search_document: ")
    plain = real_embedder
    # the prefix reaches the model: vectors differ from the unprefixed model's
    assert float(emb.embed_query("reset password") @ plain.embed_query("reset password")) < 0.999
    doc = emb.embed_documents(["reset password"])[0]
    assert float(doc @ plain.embed_documents(["search_document: reset password"])[0]) > 0.9999


def test_onnx_query_path_matches_torch_and_is_cached(
    tmp_path: Path, real_embedder: SentenceTransformerEmbedder
) -> None:
    cache = tmp_path / "onnx"
    first = SentenceTransformerEmbedder(onnx_cache_dir=cache)
    first.warm_up()
    assert first.active_query_backend == "onnx", first.onnx_status
    assert "fresh export" in first.onnx_status
    torch_emb = real_embedder
    for text in [*TEXTS, "x " * 400]:
        cos = float(first.embed_query(text) @ torch_emb.embed_query(text))
        assert cos == pytest.approx(1.0, abs=1e-4)
    # a second process finds the export and never loads torch for queries
    second = SentenceTransformerEmbedder(onnx_cache_dir=cache)
    second.warm_up()
    assert second.active_query_backend == "onnx" and "cached" in second.onnx_status
    assert not second.torch_loaded
    # a cached export that no longer reproduces torch's vectors is not used
    (check_file,) = cache.glob("*/check.json")
    check = json.loads(check_file.read_text())
    check["vectors"] = (-np.asarray(check["vectors"])).tolist()
    check_file.write_text(json.dumps(check))
    third = SentenceTransformerEmbedder(onnx_cache_dir=cache)
    third.warm_up()
    assert "fresh export" in third.onnx_status  # re-exported and re-checked


def test_query_backend_choices(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SentenceTransformerEmbedder(query_backend="tensorrt")
    assert SentenceTransformerEmbedder(query_backend="torch").active_query_backend == "torch"
    no_cache = SentenceTransformerEmbedder(query_backend="onnx")
    with pytest.raises(EmbeddingError, match="onnx_cache_dir"):
        no_cache.warm_up()

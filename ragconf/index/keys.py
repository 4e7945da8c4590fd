"""The index's key formats and label codec, written once.

A document is named ``type:id`` (``page:101``) and its chunks ``type:id:index``
(``page:101:0``): content types contain no colon and the index is the last field, so a
chunk key splits unambiguously. Labels reach us as a list (Chroma arrays, our own
metadata) or, from older indexes and query strings, as one comma-joined string.

>>> chunk_key("page", "101", 2), doc_key("page", "101")
('page:101:2', 'page:101')
>>> split_chunk_key("attachment:att7:0"), doc_key_of("attachment:att7:0")
(('attachment', 'att7', 0), 'attachment:att7')
>>> decode_labels(",b,a,,b"), normalise_labels(["b", "a", "b", ""])
(['b', 'a', 'b'], ['a', 'b'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "chunk_key",
    "content_type_of",
    "decode_labels",
    "doc_key",
    "doc_key_of",
    "metadata_doc_key",
    "normalise_labels",
    "owner_key",
    "split_chunk_key",
    "split_doc_key",
]


def doc_key(content_type: str, content_id: str) -> str:
    """``type:id``: the key of a document in manifests, plans and fusion."""
    return f"{content_type}:{content_id}"


def chunk_key(content_type: str, content_id: str, chunk_index: int) -> str:
    """``type:id:index``: stable, so the same (type, id, index) always names the same chunk."""
    return f"{content_type}:{content_id}:{chunk_index}"


def split_doc_key(key: str) -> tuple[str, str]:
    """``type:id`` -> (type, id)."""
    content_type, _, content_id = key.partition(":")
    return content_type, content_id


def content_type_of(key: str) -> str:
    """The content type a document or chunk key starts with."""
    return key.partition(":")[0]


def split_chunk_key(key: str) -> tuple[str, str, int]:
    """``type:id:index`` -> (type, id, index); a key without an index gets index 0."""
    content_type, _, rest = key.partition(":")
    content_id, sep, index = rest.rpartition(":")
    if not sep or not index.isdigit():
        return content_type, rest, 0
    return content_type, content_id, int(index)


def doc_key_of(chunk: str) -> str:
    """The document key of a chunk key (``page:101:3`` -> ``page:101``)."""
    content_type, content_id, _ = split_chunk_key(chunk)
    return doc_key(content_type, content_id)


def metadata_doc_key(metadata: Mapping[str, object]) -> str | None:
    """The document key a chunk's metadata names, or None when it names none."""
    content_type, content_id = metadata.get("content_type"), metadata.get("content_id")
    if not content_type or not content_id:
        return None
    return doc_key(str(content_type), str(content_id))


def owner_key(metadata: Mapping[str, object]) -> str | None:
    """The document a chunk is shown as, and checked as: its own, except that a comment
    belongs to what it is on (the page, blog post, attachment or custom content)."""
    if metadata.get("content_type") == "comment" and metadata.get("container_id"):
        return doc_key(str(metadata.get("container_type")), str(metadata["container_id"]))
    return metadata_doc_key(metadata)


def decode_labels(value: object) -> list[str]:
    """Label names in stored order, from a list or a comma-joined string; empties dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        return [x for x in value.split(",") if x]
    if isinstance(value, Iterable):
        return [str(x) for x in value if x]
    return [str(value)]


def normalise_labels(value: object) -> list[str]:
    """Labels as a sorted list without repeats: the form that is stored and compared."""
    return sorted(set(decode_labels(value)))

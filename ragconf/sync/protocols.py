"""The seams of the sync: what ``Syncer`` needs from each collaborator, as Protocols.

``ragconf.confluence.Confluence`` is a :class:`ContentSource`, ``ChromaStore`` a
:class:`SyncStore`, ``StorageConverter`` a :class:`Converter`, ``Chunker`` a
:class:`DocumentChunker`; any ``index.types.Embedder`` and ``LexicalIndex`` fit. Nothing
optional is discovered at run time: a converter says whether it renders people's names
(``uses_user_names``), and the sync then passes this run's names into every ``convert``.

>>> from ragconf.convert.storage import StorageConverter
>>> StorageConverter().uses_user_names
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Protocol, TypeVar

from ragconf.confluence import FooterComment, InlineComment, TreeContent
from ragconf.confluence.models import Attachment, BlogPost, CustomContent, Label, Page, Space
from ragconf.document import Document, Section
from ragconf.index.types import Chunk, LeaseStore, VectorStore

__all__ = [
    "ContentSource",
    "ConvertedDoc",
    "Converter",
    "DocumentChunker",
    "Extract",
    "SyncStore",
    "UserDirectory",
]

T = TypeVar("T")
R = TypeVar("R")

#: extract(data, media_type, file name) -> text or None (``convert.extract.extract_text``)
Extract = Callable[[bytes, str, str], str | None]


class UserDirectory(Protocol):
    """Bulk display-name lookup (``Confluence.get_users``); unknown ids are left out."""

    def get_users(self, account_ids: Iterable[str]) -> dict[str, str]: ...


class ContentSource(UserDirectory, Protocol):
    """The Confluence calls a sync makes (every one is a method of ``Confluence``).

    ``stats["requests"]`` counts the requests made so far; ``map_concurrent`` runs a
    function over items on the client's bounded thread pool, results in input order.
    """

    #: the site's origin (``https://acme.atlassian.net``): documents' URLs start with it
    origin: str

    @property
    def stats(self) -> Mapping[str, float]: ...

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]: ...

    def get_spaces(self, *, keys: Sequence[str] | None = None) -> Iterable[Space]: ...

    def get_pages_by_space(self, space_id: str, /) -> Iterable[Page]: ...

    def get_blog_posts_by_space(self, space_id: str, /) -> Iterable[BlogPost]: ...

    def get_custom_content_by_space(
        self, space_id: str, type: str, /
    ) -> Iterable[CustomContent]: ...

    def get_attachments(self) -> Iterable[Attachment]: ...

    def get_labels(self) -> Iterable[Label]: ...

    def get_pages_by_label(
        self, label_id: str, /, *, space_ids: Sequence[str]
    ) -> Iterable[Page]: ...

    def get_blog_posts_by_label(
        self, label_id: str, /, *, space_ids: Sequence[str]
    ) -> Iterable[BlogPost]: ...

    def get_pages(self, *, ids: Sequence[str], body_format: str) -> Iterable[Page]: ...

    def get_blog_posts(self, *, ids: Sequence[str], body_format: str) -> Iterable[BlogPost]: ...

    def get_custom_content(
        self, type: str, /, *, ids: Sequence[str], body_format: str
    ) -> Iterable[CustomContent]: ...

    def get_labels_by_page(self, id: str, /) -> Iterable[Label]: ...

    def get_footer_comments(self, body_format: str | None = None) -> Iterable[FooterComment]: ...

    def get_inline_comments(self, body_format: str | None = None) -> Iterable[InlineComment]: ...

    # the tree nodes that can stand above pages (folders and the rest), by id
    def get_folder_by_id(self, id: str, /) -> TreeContent: ...

    def get_whiteboard_by_id(self, id: str, /) -> TreeContent: ...

    def get_database_by_id(self, id: str, /) -> TreeContent: ...

    def get_embed_by_id(self, id: str, /) -> TreeContent: ...

    def get_labels_by_blog_post(self, id: str, /) -> Iterable[Label]: ...

    def get_labels_by_attachment(self, id: str, /) -> Iterable[Label]: ...

    def download_attachment(
        self, attachment: Attachment, *, max_bytes: int | None = None
    ) -> bytes: ...


class ConvertedDoc(Protocol):
    """What a converter returns: the body's sections, in reading order."""

    @property
    def sections(self) -> Sequence[Section]: ...


class Converter(Protocol):
    """Storage-format XHTML -> sections.

    ``uses_user_names``: the output names people (mentions, task assignees), so the sync
    looks up the display names a batch mentions and passes them as ``users`` (account
    id -> name). A converter that declares False is called without ``users`` and costs
    no lookups. Bad markup is either converted as well as possible or raises
    ``ConversionError`` (that document fails; the run goes on).
    """

    uses_user_names: bool

    def convert(
        self, xhtml: str, *, title: str = "", users: Mapping[str, str] | None = None
    ) -> ConvertedDoc: ...


class DocumentChunker(Protocol):
    """A document -> its chunks, ids ``type:id:0..n-1`` (``index.chunk.Chunker``)."""

    def chunk(self, doc: Document) -> list[Chunk]: ...


class SyncStore(VectorStore, LeaseStore, Protocol):
    """The store a sync writes: chunks and manifests, plus the lease records of its lock."""

"""The simulator's records: plain dataclasses, times as epoch milliseconds.

Times are kept as ints because every list sorts on them and every response formats
them; ints sort fast and format once per response (``iso_ms``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "AttachmentRec",
    "CommentRec",
    "ContentRec",
    "LabelRec",
    "NodeRec",
    "SpaceRec",
    "TaskRec",
    "User",
    "VersionRec",
    "epoch_ms",
    "iso_ms",
]

_ISO_CACHE: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """Epoch milliseconds -> ``2024-03-11T13:39:42.245Z`` (the API's timestamp format)."""
    seconds, millis = divmod(ms, 1000)
    head = _ISO_CACHE.get(seconds)
    if head is None:
        head = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if len(_ISO_CACHE) > 200_000:  # bounded: a long-running simulator must not grow forever
            _ISO_CACHE.clear()
        _ISO_CACHE[seconds] = head
    return f"{head}.{millis:03d}Z"


def epoch_ms(when: datetime) -> int:
    """An aware (or UTC-naive) datetime -> epoch milliseconds."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


@dataclass(slots=True)
class User:
    """An account. ``spaces`` is the set of space keys it may see (None = every space)."""

    email: str
    token: str
    account_id: str
    display_name: str
    spaces: frozenset[str] | None = None

    def __repr__(self) -> str:  # the token never shows up in a repr or a log line
        return f"User(email={self.email!r}, account_id={self.account_id!r})"


@dataclass(slots=True)
class VersionRec:
    number: int
    created_at: int
    author_id: str
    title: str
    body: str
    message: str = ""
    minor_edit: bool = False


@dataclass(slots=True)
class SpaceRec:
    id: str
    key: str
    name: str
    author_id: str
    created_at: int
    type: str = "global"
    status: str = "current"
    description: str = ""
    homepage_id: str | None = None
    label_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ContentRec:
    """A page, blog post or custom content item (they share one id sequence, as in Confluence)."""

    id: str
    kind: str  # page | blogpost | custom_content
    space_id: str
    title: str
    body: str
    author_id: str
    created_at: int
    modified_at: int
    status: str = "current"
    version: int = 1
    version_message: str = ""
    version_author_id: str = ""
    minor_edit: bool = False
    parent_id: str | None = None  # pages: the parent page; custom content: the container
    position: int = 0
    label_ids: list[str] = field(default_factory=list)
    restricted_to: frozenset[str] | None = None  # emails allowed to view; None = unrestricted
    custom_type: str | None = None
    # custom content: page | blogpost | custom_content | None (the space)
    container_kind: str | None = None
    history: list[VersionRec] = field(default_factory=list)  # older versions only

    @property
    def id_num(self) -> int:
        return int(self.id)


@dataclass(slots=True)
class AttachmentRec:
    id: str  # "att123"
    container_id: str
    container_kind: str  # page | blogpost | custom_content
    title: str  # the file name
    media_type: str
    data: bytes
    file_id: str
    author_id: str
    created_at: int
    modified_at: int
    status: str = "current"
    comment: str = ""
    version: int = 1
    history: list[tuple[int, int, bytes]] = field(default_factory=list)  # (number, at, data)
    label_ids: list[str] = field(default_factory=list)

    @property
    def id_num(self) -> int:
        return int(self.id[3:])


@dataclass(slots=True)
class LabelRec:
    id: str
    name: str
    prefix: str
    created_at: int

    @property
    def id_num(self) -> int:
        return int(self.id)


@dataclass(slots=True)
class TaskRec:
    id: str
    local_id: str
    container_id: str
    container_kind: str  # page | blogpost
    space_id: str
    status: str  # complete | incomplete
    body: str
    created_by: str
    created_at: int
    updated_at: int
    assigned_to: str | None = None
    completed_by: str | None = None
    completed_at: int | None = None
    due_at: int | None = None

    @property
    def id_num(self) -> int:
        return int(self.id)

    @property
    def blank(self) -> bool:
        return not self.body.strip()


@dataclass(slots=True)
class NodeRec:
    """A folder, whiteboard, database or Smart Link embed: a content-tree node without a body.

    Pages and other nodes can sit under it (``parent_id`` of theirs names it); it shares
    the content id sequence, as in Confluence.
    """

    id: str
    kind: str  # folder | whiteboard | database | embed
    space_id: str
    title: str
    author_id: str
    created_at: int
    modified_at: int
    parent_id: str | None = None  # a page or another node; None = the space root
    position: int = 0
    status: str = "current"
    version: int = 1
    restricted_to: frozenset[str] | None = None
    embed_url: str | None = None

    @property
    def id_num(self) -> int:
        return int(self.id)


@dataclass(slots=True)
class CommentRec:
    """A footer or inline comment (or a reply: ``parent_id`` names the comment it answers).

    Inline comments anchor on ``marker_ref`` (an ``ac:inline-comment-marker`` in the
    container's body around ``selection``); ``resolution`` is open | reopened | resolved,
    and a missing marker makes it ``dangling`` when shown.
    """

    id: str
    kind: str  # footer | inline
    container_id: str
    container_kind: str  # page | blogpost | attachment | custom_content
    body: str
    author_id: str
    created_at: int
    modified_at: int
    parent_id: str | None = None
    status: str = "current"
    version: int = 1
    version_message: str = ""
    version_author_id: str = ""
    history: list[VersionRec] = field(default_factory=list)  # older versions only
    resolution: str = "open"
    resolution_by: str | None = None
    resolution_at: int | None = None
    marker_ref: str | None = None
    selection: str | None = None

    @property
    def id_num(self) -> int:
        return int(self.id)

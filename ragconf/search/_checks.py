"""The ``allow`` post-check of a search, as a declared seam.

Permission-aware search hands the retriever a check that hides chunks the reader may not
see. A plain callable (metadata -> bool) is enough for simple cases; a check that needs
more candidates to survive it, or can check many documents in one batch, says so by
subclassing :class:`PostCheck` (``overfetch``, ``prefetch``) instead of being probed for
those attributes.

>>> check = post_check(lambda md: md.get("space_key") == "ENG")
>>> check.overfetch, check({"space_key": "ENG"}), check({"space_key": "HR"})
(1, True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeAlias

from ragconf.index.types import Metadata

__all__ = ["Allow", "PostCheck", "post_check"]


class PostCheck:
    """A visibility check on chunk metadata, applied before fusion.

    ``overfetch``: the retriever multiplies its candidate count by it, so that ``k``
    documents survive a check that hides many. ``prefetch(metadatas)``: one batched check
    of all candidates before they are asked about one by one (default: nothing).
    """

    overfetch: int = 1

    def prefetch(self, metadatas: Sequence[Metadata]) -> None:
        return None

    def __call__(self, metadata: Metadata) -> bool:
        raise NotImplementedError


class _Predicate(PostCheck):
    def __init__(self, fn: Callable[[Metadata], bool]) -> None:
        self._fn = fn

    def __call__(self, metadata: Metadata) -> bool:
        return self._fn(metadata)


#: what ``Retriever.search(allow=...)`` accepts
Allow: TypeAlias = PostCheck | Callable[[Metadata], bool]


def post_check(allow: Allow | None) -> PostCheck | None:
    """``allow`` as a PostCheck (a plain callable gets the defaults)."""
    if allow is None or isinstance(allow, PostCheck):
        return allow
    return _Predicate(allow)

"""The read-only Confluence Cloud REST v2 connector.

>>> from ragconf.confluence import Confluence, ConfluenceService
>>> conf = Confluence("https://acme.atlassian.net", username="me@acme.com", token="…")
>>> conf.api_url
'https://acme.atlassian.net/wiki/api/v2/'
>>> [p.title for p in conf.get_pages(space_ids=["65539"], limit=5)]   # doctest: +SKIP
"""

from ragconf.confluence._errors import AttachmentTooLargeError
from ragconf.confluence._models_more import (
    Ancestor,
    Child,
    Comment,
    CommentProperties,
    Database,
    Descendant,
    Embed,
    Folder,
    FooterComment,
    InlineComment,
    TreeContent,
    TreeNode,
    Whiteboard,
)
from ragconf.confluence.client import Confluence, to_epoch_ms
from ragconf.confluence.models import (
    Attachment,
    BlogPost,
    Body,
    BodyValue,
    ConfluenceModel,
    CurrentUser,
    CustomContent,
    Label,
    Links,
    Page,
    Space,
    Task,
    Version,
)
from ragconf.confluence.service import ConfluenceService

__all__ = [
    "Ancestor",
    "Attachment",
    "AttachmentTooLargeError",
    "BlogPost",
    "Body",
    "BodyValue",
    "Child",
    "Comment",
    "CommentProperties",
    "Confluence",
    "ConfluenceModel",
    "ConfluenceService",
    "CurrentUser",
    "CustomContent",
    "Database",
    "Descendant",
    "Embed",
    "Folder",
    "FooterComment",
    "InlineComment",
    "Label",
    "Links",
    "Page",
    "Space",
    "Task",
    "TreeContent",
    "TreeNode",
    "Version",
    "Whiteboard",
    "to_epoch_ms",
]

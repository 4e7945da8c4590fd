"""The read-only Confluence Cloud REST v2 connector.

>>> from ragconf.confluence import Confluence, ConfluenceService
>>> conf = Confluence("https://acme.atlassian.net", username="me@acme.com", token="…")
>>> conf.api_url
'https://acme.atlassian.net/wiki/api/v2/'
>>> [p.title for p in conf.get_pages(space_ids=["65539"], limit=5)]   # doctest: +SKIP
"""

from ragconf.confluence._errors import AttachmentTooLargeError
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
    "Attachment",
    "AttachmentTooLargeError",
    "BlogPost",
    "Body",
    "BodyValue",
    "Confluence",
    "ConfluenceModel",
    "ConfluenceService",
    "CurrentUser",
    "CustomContent",
    "Label",
    "Links",
    "Page",
    "Space",
    "Task",
    "Version",
    "to_epoch_ms",
]

"""Conversion: Confluence storage format and attachment files -> structured text.

The first stage of indexing. ``StorageConverter`` turns storage-format XHTML (with its
``ac:``/``ri:`` macros) into Markdown sections that keep headings, tables, code, panels,
task lists and mentions; ``extract_text`` reads the text of attachments (plain text,
Markdown, CSV, PDF, DOCX). Both never raise on bad markup: they degrade to plain text.

>>> from ragconf.convert import StorageConverter
>>> converted = StorageConverter().convert("<h1>Release</h1><p>Tag it.</p>")
>>> [s.heading_path for s in converted.sections]
[('Release',)]

Nothing here knows about Confluence's API, chunking, embedding or the stores.
"""

from ragconf.convert.extract import MAX_UNPACKED_BYTES, extract_text, text_kind
from ragconf.convert.storage import Converted, StorageConverter

__all__ = ["MAX_UNPACKED_BYTES", "Converted", "StorageConverter", "extract_text", "text_kind"]

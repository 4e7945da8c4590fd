"""Moved to ``ragconf.convert.extract`` (0.2); this re-export keeps old imports working."""

from ragconf.convert.extract import MAX_UNPACKED_BYTES, extract_text, text_kind

__all__ = ["MAX_UNPACKED_BYTES", "extract_text", "text_kind"]

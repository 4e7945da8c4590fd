"""Moved to ``ragconf.convert`` (0.2). This re-export keeps old imports working for one release."""

from ragconf.convert.storage import Converted, StorageConverter

__all__ = ["Converted", "StorageConverter"]

"""Moved to ``ragconf.sync`` (0.2). This re-export keeps old imports working for one release."""

from ragconf.sync import DEFAULT_CUSTOM_TYPES, SpaceReport, Syncer, SyncReport

__all__ = ["DEFAULT_CUSTOM_TYPES", "SpaceReport", "SyncReport", "Syncer"]

"""The package version, in a module of its own so core code can read it without importing
the package root (whose lazy exports reach every layer)."""

__version__ = "0.1.0"

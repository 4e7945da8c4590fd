"""ragconf's command line. ``ragconf --help`` starts instantly: heavy imports are lazy."""

from ragconf.cli._app import app, main

__all__ = ["app", "main"]

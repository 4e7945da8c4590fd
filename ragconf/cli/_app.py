"""The Typer app, its global options, and the one place errors become exit codes.

Exit codes (documented in the README):
  0 ok · 1 unexpected error · 2 bad usage or configuration · 3 sync finished with failed
  documents or listings · 4 authentication failed (401) · 5 permission denied (403)
  · 6 not found (404) · 7 rate limited (429) · 8 connection or bad response
  · 9 another sync holds the lock · 10 server error (5xx) from Confluence after retries
"""

from __future__ import annotations

import logging
import sys

import typer

from ragconf._version import __version__
from ragconf.cli._output import redact
from ragconf.cli.commands import register_commands
from ragconf.errors import RagconfError

__all__ = ["app", "main"]

app = typer.Typer(
    name="ragconf",
    help=(
        "Confluence Cloud to RAG: connect read-only over REST v2, index into Chroma, "
        "search with links back to the source.\n\n"
        "First steps:  ragconf demo   (simulator + sync + API, no configuration needed)\n\n"
        "Real site:    ragconf configure && ragconf verify && ragconf sync && ragconf serve"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)

def _version(value: bool) -> None:
    if value:
        typer.echo(f"ragconf {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details to stderr."),
) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # bm25s sets its own logger to DEBUG when imported (later, lazily): a filter outlives that
    logging.getLogger("bm25s").addFilter(lambda record: record.levelno >= level)
    ctx.obj = {"verbose": verbose}


register_commands(app)


def main() -> None:
    """Console entry point: run the app and map ragconf errors to exit codes, in one place."""
    from ragconf.runtime import private_umask

    private_umask()  # the index holds restricted pages' text: nothing we write is for others
    try:
        # with standalone_mode=False click *returns* the code of a typer.Exit instead of
        # raising it, so the return value is the exit status
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except RagconfError as exc:
        typer.echo(redact(f"Error: {exc}"), err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code
        # typer >= 0.2x vendors click (typer._click), so match click's exceptions by shape
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise

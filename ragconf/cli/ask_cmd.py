"""``ragconf ask "question"``: an LLM answer with citations, from the command line."""

from __future__ import annotations

import sys
from typing import Any

import typer

from ragconf.cli._output import emit_json, get_settings, redact

__all__ = ["ask"]


def ask(
    question: str = typer.Argument(..., help="The question, in plain words."),
    space: list[str] = typer.Option(None, "--space", "-s", help="Space key (repeatable)."),
    label: list[str] = typer.Option(None, "--label", "-l", help="Label (repeatable; any)."),
    type_: list[str] = typer.Option(
        None, "--type", "-t", help="page, blogpost, attachment or custom_content (repeatable)."
    ),
    updated_after: str = typer.Option(
        None, "--updated-after", help="Only documents modified after this ISO date/datetime."
    ),
    k: int = typer.Option(5, "-k", "--k", help="How many documents to draw from (1..50)."),
    max_tokens: int = typer.Option(
        512, "--max-tokens", help="Longest answer, in the model's tokens (1..2048)."
    ),
    stream: bool = typer.Option(True, "--stream/--no-stream", help="Print tokens as they come."),
    as_json: bool = typer.Option(False, "--json", help="The API's /answer JSON (no streaming)."),
) -> None:
    """Answer a question from the local index with the configured LLM (RAGCONF_LLM_URL).

    Passages are retrieved and packed as for /context; the answer cites them as [n] and
    lists them below. Runs with the service account's view (no per-reader permissions).
    """
    from ragconf.api.schemas import search_filters
    from ragconf.search.answer import (
        AnswerStream,
        LLMNotConfiguredError,
        answer,
        prepare,
    )
    from ragconf.search.context import validate_context
    from ragconf.search.retrieve import validate_query

    settings = get_settings()
    if not settings.llm_url:
        raise LLMNotConfiguredError("`ragconf ask` needs an LLM and none is configured")
    filters = search_filters(space, label, type_, updated_after)
    validate_context(k, 1500)  # fail fast, before the model loads
    validate_query(question, 1)
    llm = _llm(settings)
    try:
        prepared = prepare(_open_retriever(settings), question, k=k, filters=filters)
        if as_json or not stream:
            result = answer(prepared, llm, max_tokens=max_tokens).to_dict()
            if as_json:
                emit_json(result)
                return
            typer.echo(redact(result["answer"]))
            _print_sources(result)
            return
        _stream(AnswerStream(prepared, llm, max_tokens=max_tokens))
    finally:
        llm.close()


def _llm(settings: Any) -> Any:
    from ragconf.search.answer import ChatClient

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return ChatClient(
        settings.llm_url, model=settings.llm_model, api_key=key, timeout_s=settings.llm_timeout_s
    )


def _open_retriever(settings: Any) -> Any:
    from ragconf.api.app import open_services

    return open_services(settings).retriever


def _stream(stream: Any) -> None:
    from ragconf.search.answer import LLMError

    try:
        for name, data in stream.events():
            if name == "token":
                sys.stdout.write(redact(data["text"]))
                sys.stdout.flush()
            elif name == "error":
                typer.echo("")
                raise LLMError(data["message"], hint=data.get("hint"))
            elif name == "done":
                typer.echo("")
                _print_sources(data)
    finally:
        stream.close()


def _print_sources(result: dict[str, Any]) -> None:
    typer.echo("")
    if result["found"]:
        cited = {c["n"] for c in result["citations"]}
        typer.echo("Sources:")
        for c in result["sources"]:
            mark = "*" if c["n"] in cited else " "
            typer.echo(f" {mark}[{c['n']}] {c['title']} — {c['anchor_url']}")
        if cited:
            typer.echo("   (* cited in the answer)")
    for note in result.get("notes", []):
        typer.echo(f"Note: {note}", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called once, from ``commands.py``)."""
    app.command()(ask)

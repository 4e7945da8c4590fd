"""A small client for any OpenAI-compatible ``/chat/completions`` API.

OpenAI, Ollama, vLLM, LM Studio and llama.cpp's server all speak it. The base URL is the
API root (``https://api.openai.com/v1``, ``http://localhost:11434/v1``); a bare origin
(``http://127.0.0.1:8080``) gets ``/v1`` appended.

>>> llm = ChatClient("http://127.0.0.1:8080", model="smollm2")          # doctest: +SKIP
>>> llm.complete([{"role": "user", "content": "Say hi"}], max_tokens=8).text  # doctest: +SKIP
'Hi!'
>>> with llm.stream(messages, max_tokens=64) as deltas:                    # doctest: +SKIP
...     for text in deltas: print(text, end="")

Errors never show the API key, and never become a 500: an unreachable server or an error
status is :class:`LLMError` (HTTP 502), a timeout :class:`LLMTimeoutError` (504). Streams
are opened eagerly: ``stream()`` returns once the server has answered with its status, so
a failing server is reported before the first token is promised to anyone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from ragconf.errors import RagconfError
from ragconf.index.types import JSONObject

__all__ = [
    "ChatClient",
    "Completion",
    "LLMError",
    "LLMNotConfiguredError",
    "LLMTimeoutError",
    "chat_endpoint",
]

Message = dict[str, str]


class LLMError(RagconfError):
    """502: the LLM server could not be reached, or answered with an error."""

    http_status = 502
    exit_code = 8
    default_hint = "check RAGCONF_LLM_URL, RAGCONF_LLM_MODEL and that the LLM server is up"


class LLMTimeoutError(LLMError):
    """504: the LLM server did not answer in time."""

    http_status = 504
    default_hint = (
        "the model is slow or overloaded: retry, lower max_tokens, or raise RAGCONF_LLM_TIMEOUT_S"
    )


class LLMNotConfiguredError(RagconfError):
    """503: answers need an LLM and none is configured (search keeps working)."""

    http_status = 503
    exit_code = 2
    default_hint = (
        "set RAGCONF_LLM_URL to an OpenAI-compatible API (e.g. http://localhost:11434/v1 for "
        "Ollama, or a llama.cpp server) and RAGCONF_LLM_MODEL; /search and /context work without it"
    )


def chat_endpoint(base_url: str) -> str:
    """``…/v1/chat/completions`` for a base URL; a bare origin gets ``/v1``."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LLMNotConfiguredError(
            f"RAGCONF_LLM_URL must be an http(s) URL, got {_public(base_url)!r}"
        )
    path = parts.path.rstrip("/")
    if path.endswith("/chat/completions"):
        path = path[: -len("/chat/completions")]
    if not path:
        path = "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path + "/chat/completions", parts.query, ""))


def _public(url: str) -> str:
    """The URL without userinfo, query or fragment: safe to show in errors."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass
class Completion:
    text: str
    model: str | None
    finish_reason: str | None = None
    usage: JSONObject = field(default_factory=dict)


class ChatStream:
    """Text deltas of a streaming completion; ``model``/``finish_reason`` fill in as it goes."""

    def __init__(
        self,
        client: ChatClient,
        response: httpx.Response,
        model: str | None,
        *,
        whole: str | None = None,
    ) -> None:
        self._client = client
        self._response = response
        self._whole = whole
        self.model = model
        self.finish_reason: str | None = None
        self.usage: JSONObject = {}

    def __enter__(self) -> Iterator[str]:
        return iter(self)

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._response.close()

    def __iter__(self) -> Iterator[str]:
        if self._whole is not None:
            if self._whole:
                yield self._whole
            return
        done = False
        try:
            for line in self._response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                text = self._delta(data)
                if text:
                    yield text
        except httpx.TimeoutException:
            raise self._client._timeout() from None
        except httpx.HTTPError as exc:
            raise LLMError(
                f"the stream from the LLM at {self._client.public_url} broke off "
                f"({type(exc).__name__})"
            ) from None
        finally:
            self.close()
        if not done and self.finish_reason is None:
            # llama.cpp's server, refusing a prompt longer than its window, sends a 200
            # stream that just ends: an answer cut short must not pass for a whole one
            raise LLMError(
                f"the LLM at {self._client.public_url} ended its stream before the answer "
                "was complete",
                hint="check the LLM server's log (a prompt longer than its context window? "
                "lower context_tokens or k)",
            )

    def _delta(self, data: str) -> str:
        try:
            event = json.loads(data)
        except ValueError:
            raise LLMError(
                f"the LLM at {self._client.public_url} sent a stream event that is not JSON"
            ) from None
        if not isinstance(event, dict):
            return ""
        if event.get("error"):
            raise LLMError(
                f"the LLM at {self._client.public_url} failed mid-answer: "
                f"{self._client._message(event)}"
            )
        self.model = event.get("model") or self.model
        if isinstance(event.get("usage"), dict):
            self.usage = event["usage"]
        choices = event.get("choices") or []
        if not choices or not isinstance(choices[0], dict):
            return ""
        self.finish_reason = choices[0].get("finish_reason") or self.finish_reason
        delta = choices[0].get("delta") or {}
        content = delta.get("content") if isinstance(delta, dict) else None
        return content if isinstance(content, str) else ""


class ChatClient:
    """Chat completions against one OpenAI-compatible server (thread-safe; one pool)."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoint = chat_endpoint(base_url)
        self.public_url = _public(self.endpoint)
        self.model = model or None
        self._api_key = api_key or None
        self.timeout_s = timeout_s
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:  # never the key
        return f"ChatClient({self.public_url!r}, model={self.model!r})"

    def close(self) -> None:
        self._http.close()

    def _body(self, messages: list[Message], max_tokens: int, temperature: float) -> JSONObject:
        body: JSONObject = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if self.model:  # servers with one model (llama.cpp) need none
            body["model"] = self.model
        return body

    def complete(
        self, messages: list[Message], *, max_tokens: int = 512, temperature: float = 0.1
    ) -> Completion:
        """One completion, whole."""
        body = self._body(messages, max_tokens, temperature)
        try:
            response = self._http.post(self.endpoint, json=body)
        except httpx.TimeoutException:
            raise self._timeout() from None
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        self._check(response)
        return self._completion(response)

    def _completion(self, response: httpx.Response) -> Completion:
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError(
                f"the LLM at {self.public_url} answered without a chat completion",
                hint="RAGCONF_LLM_URL must point at an OpenAI-compatible API (…/v1)",
            ) from None
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return Completion(
            text=str(text),
            model=data.get("model") or self.model,
            finish_reason=choice.get("finish_reason"),
            usage=usage or {},
        )

    def stream(
        self, messages: list[Message], *, max_tokens: int = 512, temperature: float = 0.1
    ) -> ChatStream:
        """Start a streaming completion; raises before returning if the server fails."""
        body = {**self._body(messages, max_tokens, temperature), "stream": True}
        request = self._http.build_request(
            "POST", self.endpoint, json=body, headers={"Accept": "text/event-stream"}
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise self._timeout() from None
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if response.status_code >= 400:
            try:
                response.read()
            except httpx.HTTPError:
                pass
            finally:
                response.close()
        self._check(response)
        if "text/event-stream" not in response.headers.get("content-type", ""):
            # a server that ignores "stream" sends the whole completion: one delta
            try:
                response.read()
            finally:
                response.close()
            whole = self._completion(response)
            stream = ChatStream(self, response, whole.model, whole=whole.text)
            stream.finish_reason, stream.usage = whole.finish_reason, whole.usage
            return stream
        return ChatStream(self, response, self.model)

    # -- errors ---------------------------------------------------------------------------

    def _timeout(self) -> LLMTimeoutError:
        return LLMTimeoutError(
            f"the LLM at {self.public_url} did not answer within {self.timeout_s:g} s"
        )

    def _unreachable(self, exc: Exception) -> LLMError:
        return LLMError(f"could not reach the LLM at {self.public_url} ({type(exc).__name__})")

    def _check(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        try:
            detail = self._message(response.json())
        except (ValueError, httpx.ResponseNotRead):
            detail = ""
        hints = {
            401: "the LLM rejected the key: check RAGCONF_LLM_API_KEY",
            403: "the LLM refused the key: check RAGCONF_LLM_API_KEY and its permissions",
            404: "check RAGCONF_LLM_URL (the API root, e.g. …/v1) and RAGCONF_LLM_MODEL",
            429: "the LLM is rate limiting: retry in a moment",
        }
        suffix = f": {detail}" if detail else ""
        raise LLMError(
            f"the LLM at {self.public_url} answered HTTP {status}{suffix}", hint=hints.get(status)
        )

    def _message(self, data: object) -> str:
        """The error text of an OpenAI-style error body, short and without the key."""
        err = data.get("error") if isinstance(data, dict) else None
        text = err.get("message") if isinstance(err, dict) else err
        if not isinstance(text, str):
            text = data.get("detail") if isinstance(data, dict) else None
        if not isinstance(text, str):
            return ""
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return " ".join(text.split())[:300]

"""A minimal HTTP/1.1 keep-alive GET client on asyncio streams, for load generation.

bench/load.py runs its clients on the same machine as the server. httpx costs about 4-5 ms
of CPU per request there (measured on the 2-core development machine), which is more than
the server needs for a cached search; this client costs a small fraction of that, so the
CPUs go to the server being measured. It speaks just enough HTTP for ragconf's JSON
answers: one request at a time per connection, ``Content-Length`` or chunked bodies.

>>> conn = RawConnection("127.0.0.1", 8000)                        # doctest: +SKIP
>>> status, body = await conn.get("/search?q=onboarding")          # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

__all__ = ["HttpClosed", "RawConnection", "split_url"]


class HttpClosed(ConnectionError):
    """The server closed the connection (or sent something this client cannot read)."""


def split_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError("the raw client speaks plain http only (use --client httpx)")
    return parts.hostname or "127.0.0.1", parts.port or 80


class RawConnection:
    """One keep-alive connection; reconnects after the server closed it."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head = f"Host: {host}:{port}\r\n{extra}\r\n".encode("latin-1")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, target: str) -> tuple[int, bytes]:
        """``GET target`` -> (status, body). Raises HttpClosed / OSError on failures."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        try:
            self._writer.write(b"GET " + target.encode("ascii") + b" HTTP/1.1\r\n" + self._head)
            return await self._read(self._reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.close()
            raise HttpClosed(f"{type(exc).__name__}: {exc}") from exc

    async def _read(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        status_line = await reader.readline()
        if not status_line:
            raise HttpClosed("connection closed")
        status = int(status_line.split(b" ", 2)[1])
        length = None
        chunked = close = False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await reader.readline()).split(b";", 1)[0], 16)
                data = await reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(data[:-2])
            body = b"".join(parts)
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body = await reader.read()
            close = True
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

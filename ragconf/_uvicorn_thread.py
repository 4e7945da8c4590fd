"""uvicorn serving an ASGI app from a daemon thread: shared by ApiServer and SimulatorServer.

>>> server = UvicornThread(app, name="demo", what="the demo server")  # doctest: +SKIP
>>> server.port                    # bound already: a free port, read back
54321
>>> server.start()                 # returns once uvicorn has started
>>> server.stop()
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

__all__ = ["BackgroundServer", "UvicornThread"]


class BackgroundServer:
    """Base of the servers that run in a thread: ``with`` starts and stops them.

    >>> with SomeServer(...) as server:        # doctest: +SKIP
    ...     httpx.get(server.base_url)
    """

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class UvicornThread:
    """One uvicorn server on ``host:port`` (port 0 = a free port) in a daemon thread.

    The socket is bound in the constructor so the real port is known before the server
    runs; ``config`` goes to ``uvicorn.Config`` as is. One use: ``start`` then ``stop``.
    ``name`` (plus the port) names the thread; ``what`` names the server in errors.

    >>> t = UvicornThread(app, name="x", what="x", lifespan="off")  # doctest: +SKIP
    >>> t.start(); t.stop()                                          # doctest: +SKIP
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str,
        what: str,
        startup_timeout_s: float,
        join_timeout_s: float,
        **config: Any,
    ) -> None:
        import uvicorn  # not at import time: keeps ``ragconf --help`` fast

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind((host, port))
            self._sock.listen(128)
        except OSError:
            self._sock.close()  # a busy port must not leak the socket (ResourceWarning)
            raise
        self.port: int = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(app, **config))
        self._name = f"{name}-{self.port}"
        self._what = what
        self._startup_timeout_s = startup_timeout_s
        self._join_timeout_s = join_timeout_s
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run the server; return once it has started (its lifespan startup included).

        Raises RuntimeError when the server thread dies first (e.g. a failing lifespan)
        and TimeoutError after ``startup_timeout_s``; either way the server is stopped.
        """
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name=self._name,
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"{self._what} failed to start (see the log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"{self._what} did not start in time")
            time.sleep(0.01)

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout_s: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def stop(self) -> None:
        """Ask uvicorn to exit, wait up to ``join_timeout_s`` for it, close the socket."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=self._join_timeout_s)
            self._thread = None
        self._sock.close()

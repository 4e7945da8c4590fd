"""Run an ASGI app on a real uvicorn server in a background thread (tests, benchmarks, notebooks).

>>> from ragconf.api.server import ApiServer
>>> with ApiServer(create_app(settings)) as server:            # doctest: +SKIP
...     httpx.get(server.base_url + "/search", params={"q": "onboarding"}).json()
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

__all__ = ["ApiServer"]


class ApiServer:
    """uvicorn on ``host:port`` (port 0 = a free port) in a daemon thread; a context manager.

    Startup (the app's lifespan: model load, store open) completes before ``__enter__``
    returns; a failing lifespan raises here instead of hanging.
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        startup_timeout_s: float = 300.0,
    ) -> None:
        import uvicorn

        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level=log_level, access_log=False, lifespan="on", timeout_keep_alive=30
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._startup_timeout_s = startup_timeout_s

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ApiServer:
        # the socket is bound up front so the port is known before the server runs
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name=f"ragconf-api-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the API server failed to start (see the log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("the API server did not start in time")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self._sock.close()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

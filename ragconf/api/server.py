"""Run an ASGI app on a real uvicorn server in a background thread (tests, benchmarks, notebooks).

>>> from ragconf.api.server import ApiServer
>>> with ApiServer(create_app(settings)) as server:            # doctest: +SKIP
...     httpx.get(server.base_url + "/search", params={"q": "onboarding"}).json()
"""

from __future__ import annotations

from typing import Any

from ragconf._uvicorn_thread import BackgroundServer, UvicornThread

__all__ = ["ApiServer"]


class ApiServer(BackgroundServer):
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
        self.host = host
        # the socket is bound up front so the port is known before the server runs
        self._uvicorn = UvicornThread(
            app,
            host=host,
            port=port,
            name="ragconf-api",
            what="the API server",
            startup_timeout_s=startup_timeout_s,
            join_timeout_s=30,
            log_level=log_level,
            access_log=False,
            lifespan="on",
            timeout_keep_alive=30,
        )
        self.port: int = self._uvicorn.port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ApiServer:
        self._uvicorn.start()
        return self

    def stop(self) -> None:
        self._uvicorn.stop()

"""A real uvicorn server for the simulator, on 127.0.0.1 in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

from ragconf.simulator._app import create_app
from ragconf.simulator._faults import Faults, Stats
from ragconf.simulator._site import Site

__all__ = ["SimulatorServer"]


class SimulatorServer:
    """Serve a :class:`Site` over HTTP until the ``with`` block ends.

    >>> from ragconf.simulator import demo_site, DEMO_USER, DEMO_TOKEN
    >>> with SimulatorServer(demo_site()) as sim:                 # doctest: +SKIP
    ...     httpx.get(sim.api_url + "spaces", auth=(DEMO_USER, DEMO_TOKEN)).status_code
    200

    ``port=0`` picks a free port (read it back from ``port``/``base_url``). ``faults`` is
    the live :class:`Faults` object: change it while the server runs.
    """

    def __init__(
        self,
        site: Site,
        faults: Faults | None = None,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        admin: bool = True,
        download_redirect: bool = True,
        clamp_limit: bool = False,
        log_level: str = "critical",
        access_log: bool = False,
    ) -> None:
        self.site = site
        self.host = host
        self.app = create_app(site, faults, admin=admin, download_redirect=download_redirect,
                              clamp_limit=clamp_limit)
        self._requested_port = port
        self._log_level = log_level
        self._access_log = access_log
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = port

    @property
    def faults(self) -> Faults:
        """The live fault settings (created empty on first access if none were given)."""
        current: Faults | None = self.app.state.faults
        if current is None:
            current = Faults()
            self.app.state.faults = current
        return current

    @faults.setter
    def faults(self, value: Faults | None) -> None:
        self.app.state.faults = value

    @property
    def stats(self) -> Stats:
        stats: Stats = self.app.state.stats
        return stats

    @property
    def request_count(self) -> int:
        """HTTP requests received so far (faulted ones included)."""
        return self.stats.requests

    @property
    def base_url(self) -> str:
        """The site origin, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/wiki/api/v2/"

    def start(self) -> SimulatorServer:
        import uvicorn

        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        sock.set_inheritable(True)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level=self._log_level, access_log=self._access_log,
            lifespan="off", timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]},
            name=f"ragconf-simulator-{self.port}", daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def serve_forever(self) -> None:
        """Block until Ctrl-C (used by ``ragconf simulate``)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SimulatorServer({self.base_url!r}, running={self._thread is not None})"

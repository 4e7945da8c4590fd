"""A real uvicorn server for the simulator, on 127.0.0.1 in a background thread."""

from __future__ import annotations

from ragconf._uvicorn_thread import BackgroundServer, UvicornThread
from ragconf.simulator._app import create_app
from ragconf.simulator._faults import Faults, Stats
from ragconf.simulator._site import Site

__all__ = ["SimulatorServer"]


class SimulatorServer(BackgroundServer):
    """Serve a :class:`Site` over HTTP until the ``with`` block ends.

    >>> from ragconf.simulator import demo_site, DEMO_USER, DEMO_TOKEN
    >>> with SimulatorServer(demo_site()) as sim:                 # doctest: +SKIP
    ...     httpx.get(sim.api_url + "spaces", auth=(DEMO_USER, DEMO_TOKEN)).status_code
    200

    ``port=0`` picks a free port (read it back from ``port``/``base_url``). ``faults`` is
    the live :class:`Faults` object: change it while the server runs. ``clamp_limit``:
    True clamps ``limit`` > 250 to 250; an int N caps every list page at N items.
    ``public_html``: the HTML view of pages needs no credentials (see ``create_app``).
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
        clamp_limit: int | bool = False,
        public_html: bool = True,
        log_level: str = "critical",
        access_log: bool = False,
    ) -> None:
        self.site = site
        self.host = host
        self.app = create_app(
            site, faults, admin=admin, download_redirect=download_redirect,
            clamp_limit=clamp_limit, public_html=public_html,
        )
        self._requested_port = port
        self._log_level = log_level
        self._access_log = access_log
        self._uvicorn: UvicornThread | None = None
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
        if self._uvicorn is not None:
            return self
        # a fresh server per start: a stopped simulator can start again (on a new port
        # when port=0)
        self._uvicorn = UvicornThread(
            self.app,
            host=self.host,
            port=self._requested_port,
            name="ragconf-simulator",
            what="the simulator",
            startup_timeout_s=15,
            join_timeout_s=10,
            log_level=self._log_level,
            access_log=self._access_log,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self.port = self._uvicorn.port
        try:
            self._uvicorn.start()
        except (RuntimeError, TimeoutError) as exc:
            self._uvicorn = None
            raise RuntimeError("the simulator did not start") from exc
        return self

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.stop()
        self._uvicorn = None

    def serve_forever(self) -> None:
        """Block until Ctrl-C (used by ``ragconf simulate``)."""
        self.start()
        try:
            while self._uvicorn is not None and self._uvicorn.is_alive():
                self._uvicorn.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __repr__(self) -> str:
        return f"SimulatorServer({self.base_url!r}, running={self._uvicorn is not None})"

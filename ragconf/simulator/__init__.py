"""A faithful Confluence Cloud REST v2 simulator: an in-memory site, an ASGI app, corpora.

>>> from ragconf.simulator import SimulatorServer, demo_site, DEMO_USER, DEMO_TOKEN
>>> site = demo_site()
>>> with SimulatorServer(site) as sim:                      # doctest: +SKIP
...     print(sim.api_url)                                  # http://127.0.0.1:PORT/wiki/api/v2/

Demo credentials: ``DEMO_USER``/``DEMO_TOKEN`` sees everything; ``GUEST_USER``/``GUEST_TOKEN``
sees fewer spaces and no restricted pages. See API-NOTES for the behaviour modelled.
"""

from ragconf.simulator._app import create_app
from ragconf.simulator._faults import Faults, Stats
from ragconf.simulator._model import User
from ragconf.simulator._server import SimulatorServer
from ragconf.simulator._site import Site
from ragconf.simulator._state import DEMO_TOKEN, DEMO_USER, GUEST_TOKEN, GUEST_USER
from ragconf.simulator._synthetic import synthetic_site
from ragconf.simulator.corpus_beir import beir_site
from ragconf.simulator.corpus_demo import CALENDAR_TYPE, HR_TOKEN, HR_USER, demo_site
from ragconf.simulator.corpus_html import html_site

__all__ = [
    "CALENDAR_TYPE",
    "DEMO_TOKEN",
    "DEMO_USER",
    "GUEST_TOKEN",
    "GUEST_USER",
    "HR_TOKEN",
    "HR_USER",
    "Faults",
    "SimulatorServer",
    "Site",
    "Stats",
    "User",
    "beir_site",
    "create_app",
    "demo_site",
    "html_site",
    "synthetic_site",
]

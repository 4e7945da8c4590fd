"""A full run with sentinel secrets, and a search for them everywhere they must not be.

The Confluence API token, a wrong token, the API key, a wrong API key and the Basic
values built from them are distinctive strings. ``ragconf configure`` (token typed at the
hidden prompt), ``verify``, ``spaces``, ``sync``, ``search`` and ``serve`` run as
subprocesses with ``--verbose`` (and uvicorn at debug); the same steps run in-process with
every logger at DEBUG, including failures (wrong token, unreachable site, rejected reader
credentials). None of the secrets may appear in stdout/stderr, log records, HTTP
responses (``/stats`` included), exception ``str``/``repr``/``to_dict``/tracebacks, object
reprs, or any byte of the data directory (Chroma's sqlite, the BM25 files, sync state).
The user config file is the one place the token is meant to be, readable by its owner only.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import traceback
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from ragconf.api.app import create_app
from ragconf.confluence import Confluence
from ragconf.errors import AuthenticationError, RagconfError
from ragconf.index.embed import HashEmbedder
from ragconf.index.lexical import BM25Index
from ragconf.index.store import open_store
from ragconf.search.permissions import USER_AUTH_HEADER, PermissionEngine
from ragconf.settings import Settings
from ragconf.simulator import SimulatorServer, Site
from ragconf.sync.engine import Syncer

RAGCONF = str(Path(sys.executable).parent / "ragconf")
SVC = "svc@ragconf.dev"
SENTINEL = "SENTINEL-7f3a9c1e5b2d4a68c0de"
WRONG = "SENTINEL-wrong-4b9d2e71aa03"
API_KEY = "APIKEY-SENTINEL-93b1d0c4e2f7"
WRONG_KEY = "APIKEY-SENTINEL-wrong-55e1"


def _b64(user: str, token: str) -> str:
    return base64.b64encode(f"{user}:{token}".encode()).decode()


SECRETS = [SENTINEL, WRONG, API_KEY, WRONG_KEY, _b64(SVC, SENTINEL), _b64(SVC, WRONG)]


def leaks(text: str | bytes) -> list[str]:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return [s for s in SECRETS if s.encode() in data]


def sentinel_site() -> Site:
    site = Site()
    site.add_space("ENG", "Engineering")
    site.add_space("OPS", "Operations")
    site.add_user(SVC, SENTINEL, "Service Account")
    for i in range(6):
        site.add_page("ENG" if i % 2 else "OPS", f"Deploy guide {i}",
                      f"<p>Deploy service {i} with the canary pipeline and watch errors.</p>")
    page = site.add_page("ENG", "Tokens", "<p>Never paste an API token in a ticket.</p>")
    site.add_attachment(page, "howto.txt", b"Rotate tokens every 90 days.", "text/plain")
    return site


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cli:
    """Runs ``ragconf`` as a user would, in an isolated home, and keeps every output."""

    def __init__(self, tmp: Path) -> None:
        self.work = tmp / "work"
        self.work.mkdir()
        self.data = tmp / "data"
        self.config_home = tmp / "config"
        self.outputs: list[str] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCONF_")}
        env.update(XDG_CONFIG_HOME=str(self.config_home), RAGCONF_DATA_DIR=str(self.data),
                   RAGCONF_EMBED_MODEL="hash:64", HF_HUB_OFFLINE="1", **extra)
        return env

    def run(
        self, *args: str, stdin: str | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([RAGCONF, *args], env=self.env(**extra), cwd=self.work,
                              input=stdin, capture_output=True, text=True, timeout=300)
        self.outputs += [f"$ ragconf {' '.join(args)}", done.stdout, done.stderr]
        return done


def test_a_full_run_shows_the_secrets_nowhere(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    with SimulatorServer(sentinel_site()) as sim:
        done = cli.run("configure", "--url", sim.base_url, "--username", SVC,
                       stdin=SENTINEL + "\n")
        assert done.returncode == 0, done.stderr
        config = cli.config_home / "ragconf" / "config.toml"
        assert SENTINEL in config.read_text()  # the one place it belongs ...
        assert stat.S_IMODE(config.stat().st_mode) == 0o600  # ... readable by its owner only
        for args in (("-v", "verify", "--json"), ("-v", "spaces", "--json"),
                     ("-v", "sync", "--json"), ("-v", "search", "deploy canary", "--json")):
            done = cli.run(*args)
            assert done.returncode == 0, (args, done.stderr)
        assert "Deploy guide" in cli.outputs[-2]
        # a wrong token (environment beats the config file): clear failure, no echo
        for wrong in (("-v", "verify"), ("-v", "sync", "--json")):
            done = cli.run(*wrong, RAGCONF_CONFLUENCE_TOKEN=WRONG)
            assert done.returncode == 4, (wrong, done.stdout, done.stderr)
            assert "token" in done.stderr.lower()
        responses = _serve_and_ask(cli, sim)
    text = "\n".join(cli.outputs + responses)
    assert not leaks(text), leaks(text)
    _assert_no_secret_bytes(cli.data)


def _serve_and_ask(cli: Cli, sim: SimulatorServer) -> list[str]:
    """``ragconf serve`` with API keys and per-reader permissions; every kind of request."""
    port = _free_port()
    proc = subprocess.Popen(
        [RAGCONF, "-v", "serve", "--port", str(port), "--log-level", "debug"],
        env=cli.env(RAGCONF_API_KEYS=f"{API_KEY},other-key", RAGCONF_PERMISSIONS="spaces"),
        cwd=cli.work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    out: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "ragconf serve did not become ready"
            time.sleep(0.2)
        key = {"Authorization": f"Bearer {API_KEY}"}
        reader = {USER_AUTH_HEADER: f"Basic {_b64(SVC, SENTINEL)}"}
        bad_reader = {USER_AUTH_HEADER: f"Basic {_b64(SVC, WRONG)}"}
        with httpx.Client(base_url=base, timeout=30) as c:
            expected = [
                (c.get("/search", params={"q": "deploy"}), 401),
                (c.get("/search", params={"q": "deploy"},
                       headers={"Authorization": f"Bearer {WRONG_KEY}", **reader}), 401),
                (c.get("/search", params={"q": "deploy"}, headers=key), 401),  # no reader
                (c.get("/search", params={"q": "deploy"}, headers={**key, **bad_reader}), 401),
                (c.get("/search", params={"q": "deploy", "k": 3}, headers={**key, **reader}), 200),
                (c.post("/context", json={"query": "rotate tokens"}, headers={**key, **reader}),
                 200),
                (c.get("/stats", headers={**key, **reader}), 200),
                (c.get("/search", params={"q": "", "k": 0}, headers={**key, **reader}), 422),
                (c.post("/search", content=b"{" + b" " * 100_000,
                        headers={**key, **reader, "content-type": "application/json"}), 413),
                (c.get("/readyz"), 200),
                (c.get("/openapi.json"), 200),
            ]
        for r, status in expected:
            assert r.status_code == status, (r.request.url, r.status_code, r.text)
            out += [str(r.request.url), str(dict(r.headers)), r.text]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            log, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            log, _ = proc.communicate(timeout=30)
    assert "GET /search" in log  # the access log was on
    return [*out, log]


def _assert_no_secret_bytes(folder: Path) -> None:
    files = [p for p in folder.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    lexical = any(w in str(p) for w in ("bm25", "lexical") for p in files)
    assert "chroma.sqlite3" in names and lexical
    for path in files:
        found = leaks(path.read_bytes())
        assert not found, f"{found} in {path}"


def test_in_process_debug_logs_errors_and_reprs_show_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    texts: list[str] = []

    def describe(exc: BaseException) -> None:
        texts.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])
        if isinstance(exc, RagconfError):
            texts.append(str(exc.to_dict()))

    settings = Settings(confluence_url="https://acme.atlassian.net", confluence_username=SVC,
                        confluence_token=SENTINEL, api_keys=[API_KEY])
    texts += [repr(settings), str(settings)]
    # model_dump() is an explicit export: the token stays masked there (SecretStr)
    assert SENTINEL not in settings.model_dump_json()
    data = tmp_path / "data"
    with SimulatorServer(sentinel_site()) as sim:
        with Confluence(sim.base_url, username=SVC, token=SENTINEL) as conf:
            texts += [repr(conf), str(conf.stats), str([s.key for s in conf.get_spaces()])]
            emb = HashEmbedder(64)
            store = open_store(data, model_name=emb.model_name, dimension=emb.dimension)
            lexical = BM25Index(data / "bm25")
            report = Syncer(conf, store, emb, lexical, state_dir=data).run()
            texts.append(str(report.to_dict()))
        with Confluence(sim.base_url, username=SVC, token=WRONG, max_retries=0) as bad:
            with pytest.raises(AuthenticationError) as info:
                list(bad.get_spaces())
            describe(info.value)
        with Confluence(f"http://127.0.0.1:{_free_port()}", username=SVC, token=SENTINEL,
                        max_retries=0, timeout=2) as unreachable:
            with pytest.raises(RagconfError) as info2:
                list(unreachable.get_spaces())
            describe(info2.value)
        app = create_app(
            Settings(confluence_url=sim.base_url, permissions="strict", api_keys=[API_KEY]),
            embedder=emb, store=store, lexical=lexical,
        )
        key = {"Authorization": f"Bearer {API_KEY}"}
        with TestClient(app, raise_server_exceptions=False) as client:
            for headers in (
                {**key, USER_AUTH_HEADER: f"Basic {_b64(SVC, SENTINEL)}"},
                {**key, USER_AUTH_HEADER: f"Basic {_b64(SVC, WRONG)}"},
                {**key, USER_AUTH_HEADER: f"Bearer {SENTINEL}"},
                {"Authorization": f"Bearer {WRONG_KEY}"},
            ):
                for r in (client.get("/search", params={"q": "rotate tokens"}, headers=headers),
                          client.post("/context", json={"query": "deploy"}, headers=headers),
                          client.get("/stats", headers=headers)):
                    assert r.status_code < 500, r.text
                    texts += [r.text, str(dict(r.headers))]
            engine: PermissionEngine = app.state.permission_engine
            texts += [repr(engine), repr(engine._views._data), repr(engine._docs._data)]
        store.close()
    texts += [caplog.text, *(str(rec.__dict__) for rec in caplog.records)]
    assert len(caplog.records) > 20  # DEBUG logging really was on
    found = leaks("\n".join(texts))
    assert not found, (found, [t[:300] for t in texts if leaks(t)][:3])
    _assert_no_secret_bytes(data)

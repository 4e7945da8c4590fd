"""Beyond one machine: a non-default Chroma tenant and database, and the auth token.

Against the session's real ``chroma run`` server: a tenant and a database are created
through Chroma's AdminClient, ``ragconf sync`` (the CLI, in a subprocess) writes into them
and the API serves from them, all configured only through RAGCONF_CHROMA_TENANT,
RAGCONF_CHROMA_DATABASE and RAGCONF_CHROMA_TOKEN.

The token: the single-node ``chroma run`` server does not check tokens (authentication
is a feature of Chroma's distributed and hosted deployments), so a server that accepts
the requests proves nothing about it. Instead every request passes through a small
pass-through TCP proxy (real sockets) that records the bytes the client sends, and the
test looks for the header there: ``Authorization: Bearer <token>`` by default, as Chroma's
own ``TokenAuthClientProvider`` sends it, or ``X-Chroma-Token: <token>`` (Chroma Cloud).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from ragconf.api.app import create_app
from ragconf.api.server import ApiServer
from ragconf.errors import ConfigurationError, StoreError
from ragconf.index.store import DEFAULT_DATABASE, DEFAULT_TENANT, collection_name, open_store
from ragconf.settings import Settings
from ragconf.simulator import SimulatorServer
from tests.test_sync_cli import RAGCONF, cli_env
from tests.test_sync_support import build_site, expected_keys, snapshot

pytestmark = pytest.mark.server

TOKEN = "ck-" + uuid.uuid4().hex  # only letters, digits and punctuation (Chroma checks)


class RecordingProxy:
    """Forwards TCP connections to ``target`` and keeps what the clients sent."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._sent: list[bytes] = []
        self._lock = threading.Lock()
        self._closed = False
        #: every connection's two sockets: closed with the proxy (idle keep-alive
        #: connections would otherwise outlive the test)
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def sent(self) -> bytes:
        with self._lock:
            return b"".join(self._sent)

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            conns, self._open = self._open, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        try:
            while data := src.recv(65536):
                if record:
                    with self._lock:
                        self._sent.append(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


def has_header(sent: bytes, name: str, value: str | None) -> bool:
    """Whether any request in ``sent`` has header ``name`` (any case), with ``value`` if given."""
    for line in sent.split(b"\r\n"):
        key, sep, got = line.partition(b":")
        same_name = sep and key.strip().lower() == name.lower().encode()
        if same_name and (value is None or got.strip() == value.encode()):
            return True
    return False


@pytest.fixture
def proxy(chroma_server: str) -> Iterator[RecordingProxy]:
    p = RecordingProxy(chroma_server)
    yield p
    p.close()


@pytest.fixture
def tenancy(chroma_server: str) -> tuple[str, str]:
    """A fresh tenant with one database, made through Chroma's admin API."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    parts = urlsplit(chroma_server)
    admin = chromadb.AdminClient(
        ChromaSettings(
            chroma_api_impl="chromadb.api.fastapi.FastAPI",
            chroma_server_host=parts.hostname,
            chroma_server_http_port=parts.port,
            anonymized_telemetry=False,
        )
    )
    tenant, database = f"acme-{uuid.uuid4().hex[:8]}", "confluence"
    try:
        admin.create_tenant(tenant)
        admin.create_database(database, tenant=tenant)
    finally:  # chromadb's clients never close their HTTP pool themselves (see ChromaStore.close)
        session = getattr(getattr(admin, "_server", None), "_session", None)
        if session is not None:
            session.close()
    return tenant, database


def _collections(chroma_server: str, tenant: str, database: str) -> set[str]:
    r = httpx.get(f"{chroma_server}/api/v2/tenants/{tenant}/databases/{database}/collections")
    r.raise_for_status()
    return {c["name"] for c in r.json()}


def test_sync_into_and_serve_from_a_non_default_tenant_and_database(
    tmp_path: Path, chroma_server: str, proxy: RecordingProxy, tenancy: tuple[str, str]
) -> None:
    tenant, database = tenancy
    name = collection_name("hash-64", 64)
    chroma = {
        "RAGCONF_CHROMA_URL": proxy.url,
        "RAGCONF_CHROMA_TENANT": tenant,
        "RAGCONF_CHROMA_DATABASE": database,
        "RAGCONF_CHROMA_TOKEN": TOKEN,
        "RAGCONF_EMBED_MODEL": "hash",
    }
    site, _ = build_site()
    with SimulatorServer(site) as sim:
        done = subprocess.run(
            [RAGCONF, "sync", "--json", "--quiet"],
            env=cli_env(sim, tmp_path / "data", **chroma),
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["failed"] == []
    assert TOKEN not in done.stdout + done.stderr
    # the token went out the way Chroma's clients send it
    assert has_header(proxy.sent, "Authorization", f"Bearer {TOKEN}")
    # the chunks are in the tenant's database, and not in the default one
    assert name in _collections(chroma_server, tenant, database)
    assert name not in _collections(chroma_server, DEFAULT_TENANT, DEFAULT_DATABASE)
    store = open_store(
        tmp_path / "unused",
        chroma_url=chroma_server,
        tenant=tenant,
        database=database,
        model_name="hash-64",
        dimension=64,
    )
    try:
        assert {c.rsplit(":", 1)[0] for c in snapshot(store)} == expected_keys(site)
    finally:
        store.close()

    # serving: the API finds the same index through the same settings
    proxy.clear()
    settings = Settings(
        chroma_url=proxy.url,
        chroma_tenant=tenant,
        chroma_database=database,
        chroma_token=TOKEN,  # type: ignore[arg-type]
        embed_model="hash",
        data_dir=tmp_path / "data",
    )
    with ApiServer(create_app(settings)) as server:
        r = httpx.get(server.base_url + "/search", params={"q": "restart the ledger", "k": 3})
        assert r.status_code == 200, r.text
        titles = [d["title"] for d in r.json()["results"]]
        assert "Restart the ledger" in titles
        stats = httpx.get(server.base_url + "/stats").json()
        assert stats["chunks"] > 0
        assert stats["store"].endswith(f"/tenants/{tenant}/databases/{database}")
        assert TOKEN not in json.dumps(stats)
    assert has_header(proxy.sent, "Authorization", f"Bearer {TOKEN}")


def test_the_token_can_travel_in_x_chroma_token(
    chroma_server: str, proxy: RecordingProxy, tenancy: tuple[str, str]
) -> None:
    tenant, database = tenancy
    store = open_store(
        Path("unused"),
        chroma_url=proxy.url,
        tenant=tenant,
        database=database,
        token=TOKEN,
        token_header="X-Chroma-Token",
        model_name="hash-64",
        dimension=64,
    )
    store.close()
    assert has_header(proxy.sent, "X-Chroma-Token", TOKEN)
    assert not has_header(proxy.sent, "Authorization", f"Bearer {TOKEN}")


def test_no_token_sends_no_auth_header(chroma_server: str, proxy: RecordingProxy) -> None:
    store = open_store(Path("unused"), chroma_url=proxy.url, model_name="hash-64", dimension=64)
    store.close()
    assert proxy.sent  # requests went through the proxy …
    assert not has_header(proxy.sent, "Authorization", None)  # … without credentials
    assert not has_header(proxy.sent, "X-Chroma-Token", None)


def test_a_missing_tenant_or_database_is_a_clear_store_error(
    chroma_server: str, tenancy: tuple[str, str]
) -> None:
    tenant, _ = tenancy
    for kwargs in ({"tenant": "no-such-tenant"}, {"tenant": tenant, "database": "nope"}):
        with pytest.raises(StoreError) as err:
            open_store(
                Path("unused"),
                chroma_url=chroma_server,
                token=TOKEN,
                model_name="hash-64",
                dimension=64,
                **kwargs,
            )
        assert "no such tenant or database" in err.value.message
        assert "RAGCONF_CHROMA_TENANT" in (err.value.hint or "")
        assert TOKEN not in err.value.message + (err.value.hint or "")


def test_tenant_settings_need_a_server_and_the_token_stays_secret() -> None:
    with pytest.raises(ConfigurationError, match="RAGCONF_CHROMA_URL"):
        Settings(chroma_tenant="acme").chroma_options()
    s = Settings(
        chroma_url="http://chroma:8000",
        chroma_tenant="acme",
        chroma_token=TOKEN,  # type: ignore[arg-type]
    )
    assert TOKEN in s.secrets()  # the CLI's log redaction masks it
    assert TOKEN not in repr(s) and TOKEN not in str(s.model_dump())
    assert s.chroma_options()["token"] == TOKEN
    with pytest.raises(ConfigurationError):  # a bad value is one line naming the setting
        Settings(chroma_token_header="Cookie")  # type: ignore[arg-type]

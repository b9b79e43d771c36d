"""Two live installations on loopback, each a real `yiwang serve` with its own database: the city on
SQLite and the Suzhou level on PostgreSQL (SQLite too when the suite runs without PostgreSQL)."""

import base64
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from tests.conftest import PG_URL, bearer, free_port, make_settings
from tests.databases import WORKER, Templates, _recreate
from tests.processes import Server, process_env, yiwang
from yiwang.config import Settings
from yiwang.core.crypto import INTL, load_signing_key
from yiwang.core.db import make_engine
from yiwang.core.migrate import upgrade
from yiwang.federation import protocol
from yiwang.federation.keys import InstallationKey
from yiwang.federation.schemas import Identity
from yiwang.federation.transport import own_key, own_keys

# Where the upper level's PostgreSQL is when the run itself is on SQLite: a database of its own is made
# there (and dropped after). Under CI the federation tests fail rather than fall back when it is missing.
FEDERATION_PG_SERVER = os.environ.get(
    "YIWANG_TEST_FEDERATION_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

FAST = {
    "YIWANG_DEMO_ON_FIRST_START": "true",
    "YIWANG_RUN_JOBS_IN_PROCESS": "true",
    "YIWANG_FEDERATION_DELIVERY_SECONDS": "1",
    "YIWANG_FEDERATION_SYNC_SECONDS": "2",
    "YIWANG_FEDERATION_RETRY_SECONDS": "0.5",
    "YIWANG_FEDERATION_RETRY_MAX_SECONDS": "2",
    "YIWANG_FEDERATION_TIMEOUT_SECONDS": "5",
}


class PinnedServer(Server):
    """`yiwang serve` on a given port, so a restarted installation is where its peer expects it."""

    def __init__(self, settings: Settings, log: Path, port: int, **env: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            yiwang("serve", "--port", str(port)),
            env=process_env(settings, **env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@dataclass
class Installation:
    name: str
    settings: Settings
    log: Path
    port: int = field(default_factory=free_port)
    server: Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return FAST | {"YIWANG_FEDERATION_NAME": self.name, "YIWANG_PUBLIC_URL": self.url}

    def start(self, wait: bool = True) -> "Installation":
        self.server = PinnedServer(self.settings, self.log, self.port, **self.env)
        if wait:
            self.ready()
        return self

    def ready(self) -> None:
        assert self.server is not None
        self.server.wait_ready(timeout=240)

    def kill(self) -> None:
        assert self.server is not None
        self.server.kill()
        self.server = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            yiwang(*args),
            env=process_env(self.settings, **self.env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def as_user(self, username: str) -> dict[str, str]:
        with self.http() as client:
            return bearer(client, username)


def _own_postgres_database() -> str | None:
    """A fresh, migrated PostgreSQL database on FEDERATION_PG_SERVER; None when no server answers there
    (a failure instead under CI, where the PostgreSQL half must run)."""
    server = make_url(FEDERATION_PG_SERVER)
    name = f"yiwang_federation_{WORKER}_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        _recreate(admin, name)
    except OperationalError as exc:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"the upper level needs PostgreSQL at {server.render_as_string()}: {exc}")
        return None
    finally:
        admin.dispose()
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


def _drop(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(make_url(FEDERATION_PG_SERVER), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _suzhou_database(templates: Templates) -> str | None:
    """A PostgreSQL database of this worker's own for the upper level: copied from the run's template
    when the run is on PostgreSQL, else made and migrated on FEDERATION_PG_SERVER."""
    if not PG_URL:
        return _own_postgres_database()
    base = make_url(PG_URL)
    name = f"{base.database}_{WORKER}_upper"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with templates._exclusive():  # a template cannot be copied while another copy is being made
            _recreate(admin, name, template=f"{base.database}_template")
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pair(settings, templates, tmp_path_factory) -> Iterator[tuple[Installation, Installation]]:
    """(city, suzhou), both started with the small demo, shared by the federation tests (one xdist group);
    the session's `settings` builds the database templates first."""
    root = tmp_path_factory.mktemp("federation")
    city_settings = make_settings(templates.migrated_data_dir(root / "city"))
    suzhou_url = _suzhou_database(templates)
    suzhou_dir = root / "suzhou"
    suzhou_settings = (
        make_settings(suzhou_dir, suzhou_url) if suzhou_url else make_settings(templates.migrated_data_dir(suzhou_dir))
    )
    city = Installation("常熟市一网平台", city_settings, root / "city.log")
    suzhou = Installation("苏州市政务信息资源共享平台", suzhou_settings, root / "suzhou.log")
    try:
        city.start(wait=False)
        suzhou.start(wait=False)  # both load the demo at once
        city.ready()
        suzhou.ready()
        yield city, suzhou
    finally:
        city.stop()
        suzhou.stop()
        if suzhou_url and not PG_URL:
            _drop(suzhou_url)


def federation_key(installation: Installation) -> InstallationKey:
    """The installation's current federation key, read from its keyring's key files (what its outbox signs with)."""
    with installation.http() as client:
        wanted = client.get("/api/federation/identity").json()["key_id"]
    for path in sorted((installation.settings.key_dir / "ring").glob("federation.v*.pem")):
        signer = load_signing_key(path.read_bytes())
        version = int(path.name.removeprefix("federation.v").removesuffix(".pem"))
        key = InstallationKey(version, signer, signer.algorithm, signer.public_key().raw())
        if key.key_id == wanted:
            return key
    raise AssertionError(f"no key file of {installation.name} holds {wanted}")


def wait_for(condition: Callable[[], Any], *, timeout: float = 60, every: float = 0.5, what: str = "") -> Any:
    """Poll until condition() is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(every)


@pytest.fixture
def upper(client, runtime):
    """A peer that exists only as a key pair: pinned here through the API, its messages signed by the test."""
    key = INTL.new_signing_key()
    raw = key.public_key().raw()
    identity = Identity(
        name=f"上级测试平台{uuid.uuid4().hex[:6]}",
        url="http://127.0.0.1:9",
        algorithm=key.algorithm,
        public_key=base64.b64encode(raw).decode(),
        fingerprint=protocol.fingerprint(key.algorithm, raw),
        key_id=protocol.key_id(key.algorithm, raw),
    )
    from yiwang.core.permissions import registry
    from yiwang.core.security import Principal
    from yiwang.federation import service
    from yiwang.federation.schemas import PeerCreate

    actor = Principal(None, "test", "测试", "system", permissions=frozenset(registry.permissions))
    with runtime.db.unit_of_work() as db:
        peer = service.add_peer(
            db,
            actor=actor,
            identity=identity,
            data=PeerCreate(url=identity.url, role="upper", fingerprint=identity.fingerprint),
            own=own_keys(runtime),
        )
    return key, identity, peer


def send_signed(client, runtime, key, identity, kind: str, payload: dict):
    message_id = uuid.uuid4().hex
    body = protocol.envelope(
        message_id=message_id,
        kind=kind,
        sender=identity.key_id,
        recipient=own_key(runtime).key_id,
        created=datetime.now(UTC),
        payload=payload,
    ).encode()
    headers = protocol.sign(
        body=body, key=key, keyid=identity.key_id, message_id=message_id, signed_at=int(time.time())
    )
    return client.post(protocol.PATH, content=body, headers=headers), message_id


def ensure_peered(city: Installation, suzhou: Installation) -> None:
    """Both sides pin each other — the city the upper level as its upper sharing platform, the upper level
    the city as lower — whatever the tests before this one on this worker left."""
    for here, there, role in ((city, suzhou, "upper"), (suzhou, city, "lower")):
        admin = here.as_user("admin")
        with here.http() as client:
            peers = client.get("/api/federation/peers", headers=admin).json()
            if any(p["url"] == there.url and p["status"] == "active" for p in peers):
                continue
            with there.http() as other:
                fingerprint = other.get("/api/federation/identity").json()["fingerprint"]
            added = client.post(
                "/api/federation/peers",
                json={"url": there.url, "role": role, "platform": "sharing", "fingerprint": fingerprint},
                headers=admin,
            )
            assert added.status_code in (201, 409), added.text


def unpeer(city: Installation, suzhou: Installation) -> None:
    """Neither side trusts the other (each removes the other if it had it)."""
    for here, there in ((city, suzhou), (suzhou, city)):
        admin = here.as_user("admin")
        with here.http() as client:
            for peer in client.get("/api/federation/peers", headers=admin).json():
                if peer["url"] == there.url and peer["status"] == "active":
                    removed = client.delete(f"/api/federation/peers/{peer['id']}", headers=admin)
                    assert removed.status_code == 200, removed.text

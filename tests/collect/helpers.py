"""Real source databases for collection tests: a PostgreSQL and a MariaDB database of this test worker's
own (`collect_src_<worker>`), tables named per test, and sources registered through the API."""

import os
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from tests.catalog.helpers import PERSON_ITEMS, publish_entry
from tests.conftest import bearer, unique
from tests.databases import WORKER

MARIADB_URL = os.environ.get("YIWANG_TEST_MARIADB_URL", "mysql+mysqldb://root@127.0.0.1:3306/test")
POSTGRES_URL = os.environ.get("YIWANG_TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SOURCE_DATABASE = f"collect_src_{WORKER}"


def _up(url: str, port: int) -> bool:
    parts = urlsplit(url.replace("+mysqldb", "").replace("+psycopg", ""))
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or port), timeout=1).close()
        return True
    except OSError:
        return False


# On a laptop without MariaDB these tests are skipped; in CI a missing server is a failure.
needs_mariadb = pytest.mark.skipif(
    not _up(MARIADB_URL, 3306) and os.environ.get("CI") != "true", reason=f"no MariaDB at {MARIADB_URL}"
)
needs_postgres = pytest.mark.skipif(
    not _up(POSTGRES_URL, 5432) and os.environ.get("CI") != "true", reason=f"no PostgreSQL at {POSTGRES_URL}"
)

_engines: dict[str, Engine] = {}


def source_url(kind: str) -> str:
    """The connection string of this worker's source database, as a steward would type it (no password)."""
    server = make_url(MARIADB_URL if kind == "mariadb" else POSTGRES_URL)
    return server.set(database=SOURCE_DATABASE).render_as_string(hide_password=False)


def source_engine(kind: str) -> Engine:
    """An engine on this worker's source database, created on first use."""
    if kind in _engines:
        return _engines[kind]
    server = make_url(MARIADB_URL if kind == "mariadb" else POSTGRES_URL)
    admin = create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if kind == "mariadb":
            connection.execute(text(f"CREATE DATABASE IF NOT EXISTS `{SOURCE_DATABASE}` CHARACTER SET utf8mb4"))
        elif not connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": SOURCE_DATABASE}
        ).first():
            connection.execute(text(f'CREATE DATABASE "{SOURCE_DATABASE}"'))
    admin.dispose()
    _engines[kind] = create_engine(source_url(kind), poolclass=NullPool)
    return _engines[kind]


PEOPLE_COLUMNS = (
    "person_id VARCHAR(20) PRIMARY KEY, name VARCHAR(40), id_number VARCHAR(18), mobile VARCHAR(20),"
    " birth_date DATE, town VARCHAR(20), score DECIMAL(6,2), updated_at {timestamp}"
)


def people_table(kind: str, rows: list[tuple[Any, ...]]) -> str:
    """A new table of people (the PERSON_ITEMS columns plus updated_at) holding `rows`; returns its name."""
    name = unique("people_")
    timestamp = "DATETIME" if kind == "mariadb" else "TIMESTAMP"
    with source_engine(kind).begin() as connection:
        connection.execute(text(f"CREATE TABLE {name} ({PEOPLE_COLUMNS.format(timestamp=timestamp)})"))
    insert(kind, name, rows)
    return name


def insert(kind: str, table: str, rows: list[tuple[Any, ...]]) -> None:
    names = ["person_id", "name", "id_number", "mobile", "birth_date", "town", "score", "updated_at"]
    with source_engine(kind).begin() as connection:
        for row in rows:
            connection.execute(
                text(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"),  # noqa: S608
                dict(zip(names, row, strict=True)),
            )


def execute(kind: str, sql: str, **params: Any) -> None:
    with source_engine(kind).begin() as connection:
        connection.execute(text(sql), params)


def person_entry(client) -> str:
    return publish_entry(client, items=PERSON_ITEMS)["code"]


def create_source(client, user: str = "hbj_steward", **fields: Any) -> dict:
    body = {"code": unique("SRC-"), "name": "测试归集源"} | fields
    response = client.post("/api/collect/sources", json=body, headers=bearer(client, user))
    assert response.status_code == 201, response.text
    return response.json()


def run_now(client, code: str, user: str = "hbj_steward") -> dict:
    """Ask for a run; the test client runs the response's background task before returning."""
    response = client.post(f"/api/collect/sources/{code}/run", headers=bearer(client, user))
    assert response.status_code == 202, response.text
    return last_run(client, code, user)


def last_run(client, code: str, user: str = "hbj_steward") -> dict:
    runs = client.get(f"/api/collect/sources/{code}/runs", headers=bearer(client, user)).json()
    return runs["items"][0]


def versions(client, entry: str, user: str = "hbj_steward") -> list[dict]:
    response = client.get(f"/api/governance/resources/{entry}/versions", headers=bearer(client, user))
    return response.json() if response.status_code == 200 else []

"""Database engine, declarative base, unit of work and column types shared by every domain."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, cast

from fastapi import Depends, Request
from sqlalchemy import CursorResult, DateTime, Engine, Executable, MetaData, Table, bindparam, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator

from yiwang.core.checkpoints import BackgroundCheckpointer
from yiwang.core.errors import AppError

SQLITE_LOCK_WAIT_SECONDS = 30
# How long a request waits for a pooled connection before it is answered 503 database_busy.
POOL_WAIT_SECONDS = 5.0
SQLITE_READ_CONNECTIONS = 4

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table; constraint names are stable across SQLite and PostgreSQL."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    if TYPE_CHECKING:
        # Every model maps one table (none maps a join or a select), so its __table__ is a Table.
        __table__: ClassVar[Table]


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC on both engines and always returns an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and IMMEDIATE transactions so concurrent writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event own transactions
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_WAIT_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that read first cannot later take the write lock once another
        # connection has committed (SQLITE_BUSY_SNAPSHOT); taking it up front makes writers wait.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _configure_sqlite_reader(engine: Engine) -> None:
    """Read-only connections: WAL lets them read a consistent snapshot while the writer works."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_WAIT_SECONDS * 1000}")
        cursor.execute("PRAGMA query_only=ON")  # a write here is a bug: it must go through the writer
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Deferred: a read transaction takes no lock, so it neither waits for the writer nor blocks it.
        conn.exec_driver_sql("BEGIN")


def make_engine(
    url: str, *, pool_wait_seconds: float = POOL_WAIT_SECONDS, pool_size: int = 10, pool_overflow: int = 20
) -> Engine:
    """Create an engine for SQLite (embedded default) or PostgreSQL (production).

    A request that cannot get a connection within pool_wait_seconds fails (sqlalchemy TimeoutError,
    answered 503 database_busy) instead of waiting on a queue that is not moving."""
    if url.startswith("sqlite"):
        # Every transaction takes SQLite's single write lock (BEGIN IMMEDIATE), so at most one runs at
        # a time anyway. One pooled connection makes the threads of this process queue on the pool and
        # take over the moment it is returned; with more connections they would wait in SQLite's busy
        # handler, which sleeps in growing steps of up to 100 ms and turns a queue of 5 ms
        # transactions into a tail of seconds. Other processes (the worker) still meet busy_timeout.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_LOCK_WAIT_SECONDS},
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=pool_wait_seconds,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_overflow, pool_timeout=pool_wait_seconds
    )


def make_sqlite_reader(url: str, *, connections: int, pool_wait_seconds: float = POOL_WAIT_SECONDS) -> Engine:
    """A pool of read-only connections to a SQLite file, beside the single writer connection."""
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_LOCK_WAIT_SECONDS},
        poolclass=QueuePool,
        pool_size=connections,
        max_overflow=0,
        pool_timeout=pool_wait_seconds,
    )
    _configure_sqlite_reader(engine)
    return engine


def _is_sqlite_file(url: str) -> bool:
    return url.startswith("sqlite") and ":memory:" not in url and url.rstrip("/") not in ("sqlite:", "sqlite:/")


class Database:
    """An engine and its session factory; one per process, kept on app.state.db."""

    def __init__(
        self,
        url: str,
        *,
        pool_wait_seconds: float = POOL_WAIT_SECONDS,
        read_connections: int = SQLITE_READ_CONNECTIONS,
        pool_size: int = 10,
        pool_overflow: int = 20,
    ) -> None:
        self.url = url
        self.engine = make_engine(
            url, pool_wait_seconds=pool_wait_seconds, pool_size=pool_size, pool_overflow=pool_overflow
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # On SQLite, reads that need no write get their own connections, so they do not queue on the
        # writer's; PostgreSQL's pool already serves many readers, so there it is the same engine.
        self.reader = (
            make_sqlite_reader(url, connections=read_connections, pool_wait_seconds=pool_wait_seconds)
            if _is_sqlite_file(url) and read_connections > 0
            else self.engine
        )
        self.read_sessions = sessionmaker(self.reader, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error: the transaction owner."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except AppError as exc:
            if exc.commit:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_only(self) -> Iterator[Session]:
        """A session for work that only reads: on SQLite it cannot write and never waits for the writer."""
        session = self.read_sessions()
        try:
            yield session
        finally:
            session.close()  # nothing to commit: ends the read transaction

    def background_checkpoints(self, *, interval_seconds: float, restart_pages: int) -> BackgroundCheckpointer | None:
        """A checkpointer for this SQLite file (not started), or None where there is nothing to checkpoint."""
        path = self.engine.url.database
        if not _is_sqlite_file(self.url) or not path:
            return None
        return BackgroundCheckpointer(
            writer=self.engine, path=path, interval_seconds=interval_seconds, restart_pages=restart_pages
        )

    def dispose(self) -> None:
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()


def dialect_insert(db: Session) -> Callable[..., Any]:
    """The INSERT construct of the session's engine, which has ON CONFLICT (upsert) on both engines."""
    return _insert_of(db.get_bind().dialect.name)


def _insert_of(dialect: str) -> Callable[..., Any]:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def next_counter_value(db: Session, model: type[Base], *, key: dict[str, Any], column: str = "last") -> int:
    """Raise a counter row by one and return the new value, creating it at 1 on first use.

    One upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING): two transactions taking the first number
    of a day at the same moment queue on the row instead of colliding on its key. The key columns
    must be the table's primary key or a unique constraint."""
    stmt = _counter_upsert(db.get_bind().dialect.name, model, tuple(key), column)
    value: int = db.execute(stmt, key).scalar_one()
    return value


def changed_rows(db: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE and return how many rows it changed."""
    # Statements that return no rows answer with the cursor's result, which counts them.
    return cast(CursorResult[Any], db.execute(statement)).rowcount


@lru_cache(maxsize=64)
def _counter_upsert(dialect: str, model: type[Base], key_columns: tuple[str, ...], column: str) -> Any:
    table = model.__table__
    stmt = _insert_of(dialect)(table).values({name: bindparam(name) for name in key_columns} | {column: 1})
    stmt = stmt.on_conflict_do_update(index_elements=list(key_columns), set_={column: table.c[column] + 1})
    return stmt.returning(table.c[column])


def get_db(request: Request) -> Iterator[Session]:
    """Request unit of work: commit after the endpoint returns, before the response is sent."""
    database: Database = request.app.state.db
    with database.unit_of_work() as session:
        yield session


def get_read_db(request: Request) -> Iterator[Session]:
    """A read-only session for endpoints that never write (public catalogues, CKAN, DCAT)."""
    database: Database = request.app.state.db
    with database.read_only() as session:
        yield session


DbSession = Annotated[Session, Depends(get_db, scope="function")]
ReadDbSession = Annotated[Session, Depends(get_read_db, scope="function")]


def is_pool_exhausted(error: BaseException) -> bool:
    """A connection could not be had in time: the pool's wait ran out, or SQLite's lock stayed taken."""
    if isinstance(error, PoolTimeout):
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)

"""Re-encryption (重新加密) of stored fields under the current keys, in resumable batches.

Each domain declares the columns it keeps encrypted (`SealedTable`, in its plugin). A batch reads the
next rows after the table's cursor in key order, decrypts each sealed value under whatever version it
names, encrypts it under the current field key, re-derives its lookup hash under the current lookup
key, and moves the cursor — all in one transaction, so a process killed at any point resumes from
the last committed batch. A row is only rewritten if it still holds the value read (compare and set),
so a change the platform makes meanwhile is never overwritten; that change was made with the current
keys already. The cursor is tied to the keys it works towards: after another rotation it starts over.
"""

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ColumnElement, Integer, String, and_, column, func, or_, select, table, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.expression import TableClause

from yiwang.core.crypto.fields import FieldCipher, parse_envelope
from yiwang.core.crypto.keys import FIELD, LOOKUP
from yiwang.core.db import Base, UTCDateTime, changed_rows
from yiwang.core.timeutil import utcnow


@dataclass(frozen=True)
class SealedColumn:
    """One encrypted column; `context` is its associated data, formatted with the row's context columns."""

    column: str
    context: str
    lookup_column: str | None = None  # the keyed hash of the same plaintext, under the same context


@dataclass(frozen=True)
class SealedTable:
    table: str
    key: str  # an integer primary key: the cursor's order
    columns: tuple[SealedColumn, ...]
    context_columns: tuple[str, ...] = ()


class ReencryptCursor(Base):
    """How far re-encryption got in one table, towards which keys."""

    __tablename__ = "core_reencrypt_cursor"

    table_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    target: Mapped[str] = mapped_column(String(120))
    last_key: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    rows_rewritten: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class TableProgress:
    table: str
    total: int  # rows holding at least one sealed value
    left: int  # of those, rows after the cursor


def target_of(cipher: FieldCipher) -> str:
    field, lookup = cipher.keys.current(FIELD), cipher.keys.current(LOOKUP)
    return f"{field.algorithm}:{field.version}/{lookup.algorithm}:{lookup.version}"


def _shape(sealed: SealedTable) -> TableClause:
    names = [sealed.key, *sealed.context_columns]
    for spec in sealed.columns:
        names.append(spec.column)
        if spec.lookup_column:
            names.append(spec.lookup_column)
    return table(sealed.table, *(column(name) for name in dict.fromkeys(names)))


def _any_sealed(shape: TableClause, sealed: SealedTable) -> ColumnElement[bool]:
    return or_(*(shape.c[spec.column].is_not(None) for spec in sealed.columns))


def _cursor(db: Session, sealed: SealedTable, target: str) -> ReencryptCursor:
    cursor = db.get(ReencryptCursor, sealed.table)
    if cursor is None:
        cursor = ReencryptCursor(
            table_name=sealed.table, target=target, last_key=0, rows_rewritten=0, updated_at=utcnow()
        )
        db.add(cursor)
    elif cursor.target != target:  # the keys moved on since: every row is checked again
        cursor.target, cursor.last_key, cursor.rows_rewritten = target, 0, 0
    return cursor


def progress(db: Session, *, cipher: FieldCipher, sealed: SealedTable) -> TableProgress:
    shape = _shape(sealed)
    base = select(func.count()).select_from(shape).where(_any_sealed(shape, sealed))
    total = db.execute(base).scalar_one()
    cursor = db.get(ReencryptCursor, sealed.table)
    if cursor is None or cursor.target != target_of(cipher):
        return TableProgress(sealed.table, total, total)
    left = db.execute(base.where(shape.c[sealed.key] > cursor.last_key)).scalar_one()
    return TableProgress(sealed.table, total, left)


def _rewrite(cipher: FieldCipher, sealed: SealedTable, row: dict[str, object]) -> dict[str, object]:
    changes: dict[str, object] = {}
    context_values = {name: row[name] for name in sealed.context_columns}
    for spec in sealed.columns:
        envelope = row[spec.column]
        if not isinstance(envelope, str) or not envelope:
            continue
        context = spec.context.format(**context_values)
        plain = cipher.decrypt(envelope, context=context)
        if not cipher.is_current(envelope):
            changes[spec.column] = cipher.encrypt(plain, context=context)
        if spec.lookup_column:
            digest = cipher.lookup_hash(plain, context=context)
            if digest != row[spec.lookup_column]:
                changes[spec.lookup_column] = digest
    return changes


def run_batch(db: Session, *, cipher: FieldCipher, sealed: SealedTable, size: int) -> int:
    """Re-encrypt the next `size` rows after the cursor; the number of rows read (0: the table is done)."""
    target = target_of(cipher)
    cursor = _cursor(db, sealed, target)
    shape = _shape(sealed)
    key = shape.c[sealed.key]
    rows = (
        db.execute(select(shape).where(key > cursor.last_key, _any_sealed(shape, sealed)).order_by(key).limit(size))
        .mappings()
        .all()
    )
    for row in rows:
        changes = _rewrite(cipher, sealed, dict(row))
        if not changes:
            continue
        unchanged = [
            shape.c[name] == row[name] if row[name] is not None else shape.c[name].is_(None) for name in changes
        ]
        done = changed_rows(db, update(shape).where(and_(key == row[sealed.key], *unchanged)).values(**changes))
        cursor.rows_rewritten += done
    if rows:
        cursor.last_key = int(rows[-1][sealed.key])
    cursor.updated_at = utcnow()
    db.flush()
    return len(rows)


def stale_rows(db: Session, *, cipher: FieldCipher, sealed: SealedTable) -> int:
    """Rows still holding a value under an older field key (a full scan: for checks and tests)."""
    shape = _shape(sealed)
    stale = 0
    for row in db.execute(select(shape).where(_any_sealed(shape, sealed))).mappings():
        for spec in sealed.columns:
            value = row[spec.column]
            if isinstance(value, str) and value and not cipher.is_current(value):
                stale += 1
                break
    return stale


def envelope_versions(db: Session, *, sealed: SealedTable) -> dict[str, int]:
    """How many stored values each key version holds ('SM4-GCM:2' → n), for `yiwang keys status`."""
    shape = _shape(sealed)
    counts: dict[str, int] = {}
    for spec in sealed.columns:
        for (value,) in db.execute(select(shape.c[spec.column]).where(shape.c[spec.column].is_not(None))):
            algorithm, version, _ = parse_envelope(value)
            label = f"{algorithm}:{version}"
            counts[label] = counts.get(label, 0) + 1
    return counts


def reencrypt_all(
    unit_of_work: Callable[[], AbstractContextManager[Session]],
    *,
    cipher: FieldCipher,
    tables: list[SealedTable],
    batch_size: int = 500,
    pause_seconds: float = 0.0,
    advanced: Callable[[str, int], None] | None = None,
) -> int:
    """Run batches until every table is done; each batch its own transaction. The rows read."""
    read = 0
    for sealed in tables:
        while True:
            with unit_of_work() as db:
                count = run_batch(db, cipher=cipher, sealed=sealed, size=batch_size)
            if not count:
                break
            read += count
            if advanced:
                advanced(sealed.table, count)
            if pause_seconds:
                time.sleep(pause_seconds)  # leave room for the platform's own writes
    return read

"""The persisted, append-only transparency log (RFC 6962 hashing) and its signed checkpoints.

Leaves and every complete subtree hash are stored once and never rewritten. An append reads the
right edge of the tree (at most log2(n) stored nodes), adds the new leaves, and writes the nodes they
complete; a proof reads the O(log n) stored nodes it needs in one query. Appenders serialise on the
single head row (SELECT … FOR UPDATE on PostgreSQL; SQLite transactions are IMMEDIATE already).
"""

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from yiwang.certs import merkle, notes
from yiwang.certs.models import LogCheckpoint, LogHead, LogLeaf
from yiwang.core.errors import ValidationFailed
from yiwang.core.timeutil import utcnow

LEVEL_SHIFT = 40
MAX_ENTRIES_PER_READ = 1000


def node_key(level: int, index: int) -> int:
    return (level << LEVEL_SHIFT) | index


def _head(db: Session, *, lock: bool) -> LogHead:
    stmt = select(LogHead).where(LogHead.id == 1)
    head = db.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if head is None:
        head = LogHead(id=1, tree_size=0, root_hash=merkle.EMPTY_ROOT)
        db.add(head)
        db.flush()
    return head


def fetch_nodes(db: Session, keys: set[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
    """Stored complete-subtree hashes by (level, index), in one query."""
    if not keys:
        return {}
    wanted = {node_key(level, index): (level, index) for level, index in keys}
    connection = db.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    placeholders = ", ".join([mark] * len(wanted))  # placeholders only; the keys are bound parameters
    sql = f"SELECT key, hash FROM certs_log_node WHERE key IN ({placeholders})"  # noqa: S608
    rows = connection.exec_driver_sql(sql, tuple(wanted)).all()
    found = {wanted[key]: bytes(value) for key, value in rows}
    if len(found) != len(keys):
        raise RuntimeError("transparency log is missing stored nodes")
    return found


def tree_size(db: Session) -> int:
    size = db.connection().exec_driver_sql("SELECT tree_size FROM certs_log_head WHERE id = 1").scalar()
    return int(size or 0)


def append(db: Session, entries: list[bytes]) -> list[int]:
    """Append leaf inputs in order; returns their indexes. Runs in the caller's transaction."""
    if not entries:
        return []
    head = _head(db, lock=True)
    start = head.tree_size
    edge = fetch_nodes(db, set(merkle.decomposition(start)))
    compact = merkle.CompactRange(start, [edge[key] for key in merkle.decomposition(start)])
    connection = db.connection()
    dialect = connection.dialect
    stamp_processor = LogLeaf.__table__.c.appended_at.type._cached_bind_processor(dialect)
    stamp = stamp_processor(utcnow()) if stamp_processor else utcnow()
    leaves: list[tuple[int, bytes, Any]] = []
    nodes: list[tuple[int, bytes]] = []
    for entry in entries:
        leaves.append((compact.size, entry, stamp))
        nodes.extend((node_key(level, i), h) for (level, i), h in compact.append(merkle.leaf_hash(entry)))
    _bulk_insert(connection, leaves, nodes)
    head.tree_size, head.root_hash = compact.size, compact.root()
    db.flush()
    return list(range(start, compact.size))


def _bulk_insert(connection: Connection, leaves: list[tuple], nodes: list[tuple]) -> None:
    """Leaf and node rows straight through the driver: COPY on PostgreSQL, executemany on SQLite.

    The ORM's per-row bookkeeping would cost far more than the hashing and the I/O.
    """
    if connection.dialect.name == "postgresql":
        with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy("COPY certs_log_leaf (idx, leaf_input, appended_at) FROM STDIN") as copy:
                for row in leaves:
                    copy.write_row(row)
            with cursor.copy("COPY certs_log_node (key, hash) FROM STDIN") as copy:
                for row in nodes:
                    copy.write_row(row)
        return
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO certs_log_leaf (idx, leaf_input, appended_at) VALUES ({mark}, {mark}, {mark})",  # noqa: S608
        leaves,
    )
    connection.exec_driver_sql(f"INSERT INTO certs_log_node (key, hash) VALUES ({mark}, {mark})", nodes)  # noqa: S608


def _check_size(db: Session, size: int) -> None:
    current = tree_size(db)
    if size > current:
        raise ValidationFailed(f"树大小 {size} 超过日志当前大小 {current}", code="tree_size_too_large")


def root_at(db: Session, size: int) -> bytes:
    """The tree head of the first `size` leaves."""
    _check_size(db, size)
    keys = merkle.decomposition(size)
    nodes = fetch_nodes(db, set(keys))
    return merkle.root_from_stack([nodes[key] for key in keys])


def inclusion_proof(db: Session, *, index: int, size: int) -> list[bytes]:
    """RFC 9162 audit path of leaf `index` in the tree of `size` leaves."""
    if not 0 <= index < size:
        raise ValidationFailed("叶子序号应满足 0 ≤ index < tree_size", code="bad_index")
    _check_size(db, size)
    return merkle.hashes_for(merkle.inclusion_ranges(index, size), lambda keys: fetch_nodes(db, keys))


def consistency_proof(db: Session, *, first: int, second: int) -> list[bytes]:
    """RFC 9162 consistency proof between tree sizes first ≤ second."""
    if not 0 <= first <= second:
        raise ValidationFailed("应满足 0 ≤ first ≤ second", code="bad_sizes")
    _check_size(db, second)
    if first in (0, second):
        return []
    return merkle.hashes_for(merkle.consistency_ranges(first, second), lambda keys: fetch_nodes(db, keys))


def entries(db: Session, *, start: int, end: int) -> list[tuple[int, bytes]]:
    """Leaf inputs [start, end) in index order (at most 1000 per call)."""
    if start < 0 or end < start:
        raise ValidationFailed("应满足 0 ≤ start ≤ end", code="bad_range")
    end = min(end, start + MAX_ENTRIES_PER_READ)
    rows = db.execute(
        select(LogLeaf.idx, LogLeaf.leaf_input).where(LogLeaf.idx >= start, LogLeaf.idx < end).order_by(LogLeaf.idx)
    ).all()
    return [(idx, bytes(data)) for idx, data in rows]


def entry(db: Session, index: int) -> bytes | None:
    value = db.execute(select(LogLeaf.leaf_input).where(LogLeaf.idx == index)).scalar_one_or_none()
    return bytes(value) if value is not None else None


@dataclass(frozen=True)
class SignedCheckpoint:
    note: str
    tree_size: int
    root_hash: bytes
    created_at: datetime


def latest_checkpoint(db: Session) -> SignedCheckpoint | None:
    row = db.execute(select(LogCheckpoint).order_by(LogCheckpoint.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        return None
    return SignedCheckpoint(row.note, row.tree_size, bytes(row.root_hash), row.created_at)


def sign_checkpoint(db: Session, *, key: Ed25519PrivateKey, origin: str) -> SignedCheckpoint:
    """Sign the current head unless the latest checkpoint already covers it; safe on several nodes."""
    head = _head(db, lock=True)
    latest = latest_checkpoint(db)
    if latest is not None and latest.tree_size == head.tree_size:
        return latest
    now = utcnow()
    checkpoint = notes.Checkpoint(
        origin, head.tree_size, bytes(head.root_hash), (f"timestamp {int(now.timestamp() * 1000)}",)
    )
    note = notes.sign_note(checkpoint.text(), name=origin, key=key)
    db.add(LogCheckpoint(tree_size=head.tree_size, root_hash=bytes(head.root_hash), note=note, created_at=now))
    db.flush()
    return SignedCheckpoint(note, head.tree_size, bytes(head.root_hash), now)


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()

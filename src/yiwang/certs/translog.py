"""The persisted, append-only transparency logs (RFC 6962 structure) and their stored checkpoints.

An installation has one active log at a time and may keep frozen ones (docs/certs.md, "Profile
switch"); every row names its log. Leaves and every complete subtree hash are stored once and never
rewritten. An append reads the right edge of the tree (at most log2(n) stored nodes), adds the new
leaves, and writes the nodes they complete; a proof reads the O(log n) stored nodes it needs in one
query. Appenders serialise on the log's head row (SELECT … FOR UPDATE on PostgreSQL; SQLite
transactions are IMMEDIATE already). Signing checkpoints is logs.py's part.
"""

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from yiwang.certs import merkle
from yiwang.certs.models import LogCheckpoint, LogHead, LogLeaf
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.timeutil import utcnow

LEVEL_SHIFT = 40
MAX_ENTRIES_PER_READ = 1000


def canonical_json(value: Any) -> bytes:
    """Leaf inputs and signed contents: UTF-8 JSON, keys sorted, no insignificant whitespace."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def node_key(level: int, index: int) -> int:
    return (level << LEVEL_SHIFT) | index


@dataclass(frozen=True)
class LogInfo:
    """One log as its readers need it: number, identity, algorithms and state."""

    id: int
    origin: str
    hash_name: str  # SHA-256 | SM3: the tree's hash
    signature_algorithm: str  # Ed25519 | SM2: its checkpoints' signatures
    key_file: str
    state: str  # active | frozen
    predecessor_id: int | None
    successor_id: int | None
    created_at: datetime | None
    frozen_at: datetime | None

    @property
    def tree(self) -> merkle.TreeHash:
        return merkle.tree_hash(self.hash_name)


def head_row(db: Session, log_id: int, *, lock: bool) -> LogHead:
    """The log's head row; with lock, locked and re-read, since the session may hold it from before
    another appender committed (PostgreSQL: reading it unlocked earlier in the transaction)."""
    stmt = select(LogHead).where(LogHead.id == log_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    head = db.execute(stmt).scalar_one_or_none()
    if head is None:
        raise NotFound(f"透明日志 {log_id} 不存在")
    return head


def fetch_nodes(db: Session, log_id: int, keys: set[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
    """Stored complete-subtree hashes of one log by (level, index), in one query."""
    if not keys:
        return {}
    wanted = {node_key(level, index): (level, index) for level, index in keys}
    connection = db.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    placeholders = ", ".join([mark] * len(wanted))  # placeholders only; the keys are bound parameters
    sql = f"SELECT key, hash FROM certs_log_node WHERE log_id = {mark} AND key IN ({placeholders})"  # noqa: S608
    rows = connection.exec_driver_sql(sql, (log_id, *wanted)).all()
    found = {wanted[key]: bytes(value) for key, value in rows}
    if len(found) != len(keys):
        raise RuntimeError("transparency log is missing stored nodes")
    return found


def tree_size(db: Session, log_id: int) -> int:
    return int(db.execute(select(LogHead.tree_size).where(LogHead.id == log_id)).scalar() or 0)


def append(db: Session, log_id: int, entries: list[bytes]) -> list[int]:
    """Append leaf inputs to an active log in order; returns their indexes. In the caller's transaction."""
    if not entries:
        return []
    head = head_row(db, log_id, lock=True)
    if head.state != "active":
        raise FrozenLog(f"透明日志 {head.origin} 已冻结，不再追加条目")
    start = head.tree_size
    edge = fetch_nodes(db, log_id, set(merkle.decomposition(start)))
    compact = merkle.CompactRange(
        merkle.tree_hash(head.hash_name), start, [edge[k] for k in merkle.decomposition(start)]
    )
    connection = db.connection()
    dialect = connection.dialect
    stamp_processor = LogLeaf.__table__.c.appended_at.type._cached_bind_processor(dialect)
    stamp = stamp_processor(utcnow()) if stamp_processor else utcnow()
    leaves: list[tuple[int, int, bytes, Any]] = []
    nodes: list[tuple[int, int, bytes]] = []
    leaf_hash = compact.tree.leaf
    for entry in entries:
        leaves.append((log_id, compact.size, entry, stamp))
        nodes.extend((log_id, node_key(level, i), h) for (level, i), h in compact.append(leaf_hash(entry)))
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
            with cursor.copy("COPY certs_log_leaf (log_id, idx, leaf_input, appended_at) FROM STDIN") as copy:
                for row in leaves:
                    copy.write_row(row)
            with cursor.copy("COPY certs_log_node (log_id, key, hash) FROM STDIN") as copy:
                for row in nodes:
                    copy.write_row(row)
        return
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO certs_log_leaf (log_id, idx, leaf_input, appended_at) VALUES ({mark}, {mark}, {mark}, {mark})",  # noqa: S608
        leaves,
    )
    connection.exec_driver_sql(
        f"INSERT INTO certs_log_node (log_id, key, hash) VALUES ({mark}, {mark}, {mark})",  # noqa: S608
        nodes,
    )


class FrozenLog(ValidationFailed):
    code = "log_frozen"


def _check_size(db: Session, log: LogInfo, size: int) -> None:
    current = tree_size(db, log.id)
    if size > current:
        raise ValidationFailed(f"树大小 {size} 超过日志当前大小 {current}", code="tree_size_too_large")


def root_at(db: Session, log: LogInfo, size: int) -> bytes:
    """The tree head of the first `size` leaves."""
    _check_size(db, log, size)
    keys = merkle.decomposition(size)
    nodes = fetch_nodes(db, log.id, set(keys))
    return merkle.root_from_stack(log.tree, [nodes[key] for key in keys])


def inclusion_proof(db: Session, log: LogInfo, *, index: int, size: int) -> list[bytes]:
    """RFC 9162 audit path of leaf `index` in the tree of `size` leaves."""
    if not 0 <= index < size:
        raise ValidationFailed("叶子序号应满足 0 ≤ index < tree_size", code="bad_index")
    _check_size(db, log, size)
    ranges = merkle.inclusion_ranges(index, size)
    return merkle.hashes_for(log.tree, ranges, lambda keys: fetch_nodes(db, log.id, keys))


def consistency_proof(db: Session, log: LogInfo, *, first: int, second: int) -> list[bytes]:
    """RFC 9162 consistency proof between tree sizes first ≤ second."""
    if not 0 <= first <= second:
        raise ValidationFailed("应满足 0 ≤ first ≤ second", code="bad_sizes")
    _check_size(db, log, second)
    if first in (0, second):
        return []
    ranges = merkle.consistency_ranges(first, second)
    return merkle.hashes_for(log.tree, ranges, lambda keys: fetch_nodes(db, log.id, keys))


def entries(db: Session, log_id: int, *, start: int, end: int) -> list[tuple[int, bytes]]:
    """Leaf inputs [start, end) in index order (at most 1000 per call)."""
    if start < 0 or end < start:
        raise ValidationFailed("应满足 0 ≤ start ≤ end", code="bad_range")
    end = min(end, start + MAX_ENTRIES_PER_READ)
    rows = db.execute(
        select(LogLeaf.idx, LogLeaf.leaf_input)
        .where(LogLeaf.log_id == log_id, LogLeaf.idx >= start, LogLeaf.idx < end)
        .order_by(LogLeaf.idx)
    ).all()
    return [(idx, bytes(data)) for idx, data in rows]


def entry(db: Session, log_id: int, index: int) -> bytes | None:
    value = db.execute(
        select(LogLeaf.leaf_input).where(LogLeaf.log_id == log_id, LogLeaf.idx == index)
    ).scalar_one_or_none()
    return bytes(value) if value is not None else None


@dataclass(frozen=True)
class SignedCheckpoint:
    note: str
    tree_size: int
    root_hash: bytes
    created_at: datetime


def latest_checkpoint(db: Session, log_id: int) -> SignedCheckpoint | None:
    row = db.execute(
        select(LogCheckpoint).where(LogCheckpoint.log_id == log_id).order_by(LogCheckpoint.id.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    return SignedCheckpoint(row.note, row.tree_size, bytes(row.root_hash), row.created_at)


def store_checkpoint(db: Session, log_id: int, *, note: str, size: int, root: bytes, at: datetime) -> SignedCheckpoint:
    db.add(LogCheckpoint(log_id=log_id, tree_size=size, root_hash=root, note=note, created_at=at))
    db.flush()
    return SignedCheckpoint(note, size, root, at)


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()

"""The installation's transparency logs: which one is active, their keys, signed checkpoints, and the
profile switch.

A log never changes its hash or its signature algorithm: an intl log is an RFC 6962 tree over SHA-256
with Ed25519 checkpoints, a gm log the same tree over SM3 with SM2 checkpoints. A fresh installation
starts its first log in its own profile. When an installation switches profile
(`crypto.profile_changed`), the active log is frozen with a final checkpoint naming its successor's
verifier key, and a new log with its own origin starts whose first entry is that final checkpoint —
each log vouches for the other, and both stay verifiable (docs/certs.md, "Profile switch").
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.certs import merkle, notes, translog
from yiwang.certs.models import LogHead
from yiwang.certs.translog import LogInfo, SignedCheckpoint, canonical_json
from yiwang.core.crypto import ED25519, SigningKey, Suite, suite
from yiwang.core.keyring import LOG_KEY_FILE, SigningContext
from yiwang.core.timeutil import utcnow

SUCCESSOR = "successor"  # extension line of a frozen log's final checkpoint: "successor <vkey>"
PREDECESSOR = "predecessor"  # the type of a new log's first entry


def _info(row: LogHead) -> LogInfo:
    assert row.origin is not None
    return LogInfo(
        id=row.id,
        origin=row.origin,
        hash_name=row.hash_name,
        signature_algorithm=row.signature_algorithm,
        key_file=row.key_file,
        state=row.state,
        predecessor_id=row.predecessor_id,
        successor_id=row.successor_id,
        created_at=row.created_at,
        frozen_at=row.frozen_at,
    )


def origin_of(signing: SigningContext, log_id: int) -> str:
    """The first log keeps the installation's origin; each later one adds its number."""
    return signing.origin if log_id == 1 else f"{signing.origin}/{log_id}"


def _key_file(log_id: int, algorithm: str) -> str:
    if log_id == 1 and algorithm == ED25519:
        return LOG_KEY_FILE  # the name the first log's key had before logs were numbered
    return f"transparency_log_{log_id}_{algorithm.lower()}.pem"


def _start(row: LogHead, signing: SigningContext, profile: Suite) -> None:
    """Give a new, empty log its identity and its profile's algorithms."""
    row.origin = origin_of(signing, row.id)
    row.hash_name, row.signature_algorithm = profile.hash_name, profile.signature_name
    row.key_file = _key_file(row.id, profile.signature_name)
    row.root_hash = merkle.tree_hash(profile.hash_name).empty_root
    row.state, row.created_at = "active", utcnow()


def create_log(
    db: Session, signing: SigningContext, *, log_id: int, profile: Suite, predecessor_id: int | None = None
) -> LogInfo:
    """A new, empty, active log numbered log_id in `profile` (the caller freezes any other)."""
    row = LogHead(id=log_id, tree_size=0, root_hash=b"", predecessor_id=predecessor_id)
    db.add(row)
    _start(row, signing, profile)
    db.flush()
    return _info(row)


def active_log(db: Session, signing: SigningContext) -> LogInfo:
    """The log new entries go to. The first call of an installation starts it in the installation's
    profile; a log made before logs had identities (origin unset) is adopted as the intl log it is."""
    row = db.execute(select(LogHead).where(LogHead.state == "active").order_by(LogHead.id.desc()).limit(1)).scalar()
    if row is not None and row.origin is not None:
        return _info(row)
    if row is None and db.execute(select(func.count()).select_from(LogHead)).scalar():
        raise RuntimeError("no active transparency log")
    if row is None:
        return create_log(db, signing, log_id=1, profile=signing.suite)
    row = translog.head_row(db, row.id, lock=True)  # the first caller adopts it; later ones see it done
    if row.origin is None and row.tree_size == 0:
        _start(row, signing, signing.suite)
    elif row.origin is None:
        row.origin, row.created_at = origin_of(signing, row.id), utcnow()  # intl entries: it stays intl
    db.flush()
    return _info(row)


def get_log(db: Session, signing: SigningContext, log_id: int | None = None) -> LogInfo:
    """A log by number, or the active one; NotFound for an unknown number."""
    if log_id is None:
        return active_log(db, signing)
    row = translog.head_row(db, log_id, lock=False)
    if row.origin is None:
        return active_log(db, signing)
    return _info(row)


def all_logs(db: Session, signing: SigningContext) -> list[LogInfo]:
    active_log(db, signing)
    rows = db.execute(select(LogHead).where(LogHead.origin.is_not(None)).order_by(LogHead.id)).scalars()
    return [_info(row) for row in rows]


def log_key(signing: SigningContext, log: LogInfo) -> SigningKey:
    return signing.keys.load_or_create(log.key_file, log.signature_algorithm)


def verifier_key(signing: SigningContext, log: LogInfo) -> str:
    return notes.verifier_key(log.origin, log_key(signing, log).public_key().raw(), log.signature_algorithm)


def _sign(
    db: Session, signing: SigningContext, log: LogInfo, head: LogHead, extra: tuple[str, ...] = ()
) -> SignedCheckpoint:
    now = utcnow()
    body = notes.Checkpoint(
        log.origin, head.tree_size, bytes(head.root_hash), (f"timestamp {int(now.timestamp() * 1000)}", *extra)
    )
    note = notes.sign_note(body.text(), name=log.origin, key=log_key(signing, log))
    return translog.store_checkpoint(db, log.id, note=note, size=head.tree_size, root=bytes(head.root_hash), at=now)


def sign_checkpoint(db: Session, signing: SigningContext, log: LogInfo | None = None) -> SignedCheckpoint:
    """Sign the log's current head unless its latest checkpoint covers it already (safe on several
    nodes). A frozen log signs nothing more: its final checkpoint stays its latest."""
    log = log or active_log(db, signing)
    head = translog.head_row(db, log.id, lock=True)
    latest = translog.latest_checkpoint(db, log.id)
    if latest is not None and (latest.tree_size == head.tree_size or head.state != "active"):
        return latest
    return _sign(db, signing, log, head)


def switch_profile(db: Session, signing: SigningContext, *, to: str) -> LogInfo:
    """Freeze the active log and start one in profile `to`, linked both ways; a no-op (returning the
    active log) when the active log already uses that profile's algorithms, so a redelivered event
    changes nothing."""
    target = suite(to)
    old = active_log(db, signing)
    if (old.hash_name, old.signature_algorithm) == (target.hash_name, target.signature_name):
        return old
    old_head = translog.head_row(db, old.id, lock=True)
    if old_head.state != "active":  # another node switched it between our read and our lock
        return active_log(db, signing)
    new_id = int(db.execute(select(func.max(LogHead.id))).scalar() or 0) + 1
    new = create_log(db, signing, log_id=new_id, profile=target, predecessor_id=old.id)
    final = _sign(db, signing, old, old_head, (f"{SUCCESSOR} {verifier_key(signing, new)}",))
    old_head.state, old_head.frozen_at, old_head.successor_id = "frozen", final.created_at, new_id
    db.flush()
    link = {
        "type": PREDECESSOR,
        "origin": old.origin,
        "tree_size": final.tree_size,
        "root_hash": translog.b64(final.root_hash),
        "checkpoint": final.note,
        "verifier_key": verifier_key(signing, old),
    }
    translog.append(db, new.id, [canonical_json(link)])
    sign_checkpoint(db, signing, new)
    return new

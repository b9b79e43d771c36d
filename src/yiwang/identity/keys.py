"""ID-token signing keys: one active key per algorithm (RS256, ES256), versioned by `kid`.

The private half of each key is a 0600 file under the key directory (`keys/oidc/<kid>.jwk`), written
all-or-nothing by `core.crypto.write_new_secret`; the database holds only the public half, which the
JWKS publishes. Rotating retires the active key (it signs no more) and keeps it in the JWKS until the
last ID token it signed has expired, so relying parties never meet a token they cannot verify."""

import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.crypto import write_new_secret
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.identity.models import SigningKey
from yiwang.identity.schemas import SigningKeyRead

log = logging.getLogger(__name__)
ALGORITHMS = ("RS256", "ES256")
SigningPrivateKey = RSAKey | ECKey
_private_cache: dict[str, SigningPrivateKey] = {}
_active_kid: dict[str, tuple[str, float]] = {}  # alg → (kid, when it was read)
ACTIVE_KEY_SECONDS = 30.0
_cache_lock = threading.Lock()


def key_folder(key_dir: Path) -> Path:
    return key_dir / "oidc"


def _generate(alg: str) -> SigningPrivateKey:
    parameters: dict[str, Any] = {"alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=parameters, auto_kid=True)  # type: ignore[arg-type]
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters, auto_kid=True)  # type: ignore[arg-type]
    raise ValueError(f"unsupported signing algorithm {alg}")


def create_key(db: Session, *, key_dir: Path, alg: str) -> SigningKeyRead:
    """A new active key: private half to its file first, then the public half to the database."""
    key = _generate(alg)
    kid = key.kid
    assert kid is not None
    write_new_secret(key_folder(key_dir) / f"{kid}.jwk", json.dumps(key.as_dict(private=True)).encode())
    row = SigningKey(kid=kid, alg=alg, public_jwk=json.dumps(key.as_dict(private=False)), created_at=utcnow())
    db.add(row)
    db.flush()
    with _cache_lock:
        _private_cache[kid] = key
    return _read(row)


def _read(row: SigningKey) -> SigningKeyRead:
    return SigningKeyRead(
        kid=row.kid, alg=row.alg, created_at=row.created_at, retired_at=row.retired_at, drop_after=row.drop_after
    )


def _active_row(db: Session, alg: str) -> SigningKey | None:
    return db.execute(
        select(SigningKey)
        .where(SigningKey.alg == alg, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _usable(row: SigningKey | None, key_dir: Path) -> bool:
    """An active key this node can sign with: its private file is here. A node without it (a key
    directory not shared, or lost) makes a new key rather than fail; the JWKS publishes both."""
    if row is None:
        return False
    if row.kid in _private_cache or (key_folder(key_dir) / f"{row.kid}.jwk").exists():
        return True
    log.error("private half of signing key %s is missing from %s; making a new key", row.kid, key_folder(key_dir))
    return False


def ensure_keys(db: Session, *, key_dir: Path) -> int:
    """Create the active key of each algorithm that has none this node can use; returns how many."""
    created = 0
    for alg in ALGORITHMS:
        if not _usable(_active_row(db, alg), key_dir):
            create_key(db, key_dir=key_dir, alg=alg)
            created += 1
    return created


def rotate(
    db: Session, *, actor: Principal, key_dir: Path, keep_for: timedelta, algs: tuple[str, ...] = ALGORITHMS
) -> list[SigningKeyRead]:
    """Retire each algorithm's active key (kept in the JWKS for `keep_for`) and make a new one."""
    now = utcnow()
    made = []
    for alg in algs:
        old = _active_row(db, alg)
        if old is not None:
            old.retired_at, old.drop_after = now, now + keep_for
        new = create_key(db, key_dir=key_dir, alg=alg)
        with _cache_lock:
            _active_kid.pop(alg, None)
        audit.record(
            db,
            actor=actor,
            action="identity.key.rotate",
            target_type="signing_key",
            target_id=new.kid,
            details={"alg": alg, "retired": old.kid if old else None, "drop_after": (now + keep_for).isoformat()},
        )
        made.append(new)
    return made


def list_keys(db: Session) -> list[SigningKeyRead]:
    rows = db.execute(select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.id.desc())).scalars()
    return [_read(row) for row in rows]


def jwks(db: Session, *, now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """The public keys relying parties verify with: the active ones and the retired ones still needed."""
    now = now or utcnow()
    rows = db.execute(
        select(SigningKey.public_jwk)
        .where(or_(SigningKey.drop_after.is_(None), SigningKey.drop_after > now))
        .order_by(SigningKey.id)
    ).scalars()
    return {"keys": [json.loads(jwk) for jwk in rows]}


def _load_private(key_dir: Path, kid: str) -> SigningPrivateKey:
    with _cache_lock:
        cached = _private_cache.get(kid)
    if cached is not None:
        return cached
    data = json.loads((key_folder(key_dir) / f"{kid}.jwk").read_text())
    key: SigningPrivateKey = RSAKey.import_key(data) if data["kty"] == "RSA" else ECKey.import_key(data)
    with _cache_lock:
        _private_cache[kid] = key
    return key


def signing_key(
    db: Session, *, key_dir: Path, alg: str, writing: Callable[[], AbstractContextManager[Session]] | None = None
) -> SigningPrivateKey:
    """The active private key of an algorithm (made on the spot if a fresh database has none; through
    `writing` when `db` is a read-only session).

    Which key is active is remembered for ACTIVE_KEY_SECONDS: after a rotation another process may
    sign with the previous key that long, which the JWKS still publishes."""
    now = time.monotonic()
    with _cache_lock:
        remembered = _active_kid.get(alg)
    if remembered is not None and now - remembered[1] < ACTIVE_KEY_SECONDS:
        return _load_private(key_dir, remembered[0])
    row = _active_row(db, alg)
    if row is not None and _usable(row, key_dir):
        kid = row.kid
    else:
        with writing() if writing is not None else nullcontext(db) as write:
            kid = create_key(write, key_dir=key_dir, alg=alg).kid
    key = _load_private(key_dir, kid)
    with _cache_lock:
        _active_kid[alg] = (kid, now)
    return key

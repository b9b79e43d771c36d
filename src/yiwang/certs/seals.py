"""Seal keys (电子印章密钥) of the issuing departments: versions, algorithms, rotation, publication.

Each department has one active seal key at a time, in the installation's current profile (Ed25519
in intl, SM2 in gm) — the profile of the active transparency log, which moves with the profile
switch (logs.py), so every process seals with the new algorithm as soon as the switch commits. A
certificate names the version that sealed it (by the key's name, and in its signed content the
version and algorithm), so rotating a key, or switching the installation's profile, never
invalidates what was sealed before. Retired versions stay published until the last certificate they
sealed expires.
"""

import base64
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yiwang.certs.identifiers import department_credit_code
from yiwang.certs.models import Certificate, IssuerKey
from yiwang.certs.schemas import IssuerKeyRead
from yiwang.core import audit
from yiwang.core.crypto import ED25519, GM, INTL, SigningKey, load_verifying_key
from yiwang.core.db import dialect_insert
from yiwang.core.inputs import check_parameters
from yiwang.core.keyring import SigningContext
from yiwang.core.security import Principal
from yiwang.core.timeutil import local_today, utcnow
from yiwang.org import service as org_service


def key_name(department_code: str, version: int) -> str:
    """The first version keeps the name keys had before versions existed."""
    base = f"{department_code.lower()}.issuer.yiwang"
    return base if version == 1 else f"{base}.v{version}"


def key_file(department_code: str, version: int, algorithm: str) -> str:
    if version == 1 and algorithm == ED25519:
        return f"issuer_{department_code.lower()}_ed25519.pem"  # as named before versions existed
    return f"issuer_{department_code.lower()}_v{version}_{algorithm.lower()}.pem"


def key_id(algorithm: str, public_key: bytes) -> str:
    """A short fingerprint of a public key, with its own profile's hash (SM3 for SM2 keys)."""
    return (INTL if algorithm == ED25519 else GM).digest(public_key)[:8].hex()


def private_key(signing: SigningContext, key: IssuerKey) -> SigningKey:
    return signing.keys.load_or_create(key.key_file, key.algorithm)


def _active(db: Session, department_code: str, *, lock: bool = False) -> IssuerKey | None:
    stmt = select(IssuerKey).where(IssuerKey.department_code == department_code, IssuerKey.active.is_(True))
    return db.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()


def _retire(db: Session, key_ids: list[int]) -> None:
    if key_ids:
        db.execute(
            update(IssuerKey)
            .where(IssuerKey.id.in_(key_ids), IssuerKey.active.is_(True))
            .values(active=False, retired_at=utcnow())
        )


def _create(db: Session, signing: SigningContext, department_code: str, algorithm: str) -> IssuerKey:
    """The department's next version, a key of `algorithm` (file and row)."""
    department = org_service.get_department_by_code(db, code=department_code)
    latest = db.execute(select(func.max(IssuerKey.version)).where(IssuerKey.department_code == department_code))
    version = int(latest.scalar() or 0) + 1
    file_name = key_file(department_code, version, algorithm)
    public = signing.keys.load_or_create(file_name, algorithm).public_key().raw()
    # Two first issues of a department at once both get here: the loser's insert yields to the
    # winner's row (waiting for its commit on PostgreSQL) instead of failing on the unique version.
    db.execute(
        dialect_insert(db)(IssuerKey)
        .values(
            department_id=department.id,
            department_code=department_code,
            issuer_code=department_credit_code(department_code),
            name=key_name(department_code, version),
            version=version,
            algorithm=algorithm,
            public_key=base64.b64encode(public).decode(),
            key_file=file_name,
            active=True,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["department_code", "version"])
    )
    found = _active(db, department_code)
    assert found is not None
    return found


def active_key(db: Session, *, signing: SigningContext, department_code: str, algorithm: str) -> IssuerKey:
    """The department's active seal key of `algorithm`, made on first use; a key of another profile
    (left from before a switch) is retired here and a new version made."""
    row = _active(db, department_code)
    if row is not None and row.algorithm == algorithm:
        return row
    if row is not None:
        _retire(db, [row.id])
    return _create(db, signing, department_code, algorithm)


def rotate(
    db: Session, *, actor: Principal, signing: SigningContext, department_code: str, algorithm: str
) -> IssuerKeyRead:
    """Retire the department's active seal key and make the next version; new seals use it at once."""
    check_parameters(department_code)
    org_service.get_department_by_code(db, code=department_code)  # NotFound for an unknown department
    old = _active(db, department_code, lock=True)
    if old is not None:
        _retire(db, [old.id])
    new = _create(db, signing, department_code, algorithm)
    audit.record(
        db,
        actor=actor,
        action="certs.seal.rotate",
        target_type="department",
        target_id=department_code,
        details={
            "retired": old.name if old else None,
            "new": new.name,
            "version": new.version,
            "algorithm": new.algorithm,
        },
    )
    return published_keys(db, names=[new.name])[0]


def retire_other_profiles(db: Session, *, algorithm: str) -> int:
    """At a profile switch: retire every active seal key not of `algorithm`; next issues make new ones."""
    ids = list(
        db.execute(select(IssuerKey.id).where(IssuerKey.active.is_(True), IssuerKey.algorithm != algorithm)).scalars()
    )
    _retire(db, ids)
    return len(ids)


def published_keys(db: Session, *, names: list[str] | None = None, today: date | None = None) -> list[IssuerKeyRead]:
    """Seal keys anyone may use to check certificates offline: every active key, and every retired
    one while a certificate it sealed is still within its validity."""
    today = today or local_today()
    spans = {
        key_id_: (total, bounded, latest)
        for key_id_, total, bounded, latest in db.execute(
            select(
                Certificate.issuer_key_id,
                func.count(),
                func.count(Certificate.valid_until),
                func.max(Certificate.valid_until),
            ).group_by(Certificate.issuer_key_id)
        ).all()
    }
    query = select(IssuerKey).order_by(IssuerKey.department_code, IssuerKey.version)
    if names is not None:
        query = query.where(IssuerKey.name.in_(names))
    found = []
    for row in db.execute(query).scalars():
        total, bounded, latest = spans.get(row.id, (0, 0, None))
        long_term = total > bounded
        if not row.active and names is None and not (long_term or (latest is not None and latest >= today)):
            continue  # retired and nothing it sealed is still valid: no longer published
        raw = base64.b64decode(row.public_key)
        found.append(
            IssuerKeyRead(
                name=row.name,
                department=row.department_code,
                issuer_code=row.issuer_code,
                version=row.version,
                algorithm=row.algorithm,
                key_id=key_id(row.algorithm, raw),
                public_key=row.public_key,
                public_key_pem=load_verifying_key(row.algorithm, raw).pem().decode(),
                active=row.active,
                not_before=row.created_at,
                not_after=row.retired_at,
                retired=row.retired_at is not None,
                certificates=total,
                signatures_valid_until=None if long_term or row.active else latest,
            )
        )
    return found

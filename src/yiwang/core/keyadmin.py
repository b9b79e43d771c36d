"""Key administration (密钥管理): status of the keyrings, rotation, re-encryption and the switch of an
installation's profile, each recorded in the audit chain.

Switching intl → gm (or back) is a rotation of every platform purpose into the other profile's
algorithms, a `crypto.profile_changed` entry that moves the audit chain onto the new hash, the new
profile recorded, and a re-encryption of every stored field; a `crypto.profile_changed` event lets
other domains (certificates) act. The platform keeps serving throughout: each process picks up the
new keys within a second, and lookups try every live key version until the re-encryption is done.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit, events
from yiwang.core.crypto import FIELD, LOOKUP, FieldCipher, Keyring, Profile
from yiwang.core.crypto.keys import PLATFORM_PURPOSES, REFRESH_SECONDS, CryptoKey, CryptoState, bump_generation
from yiwang.core.crypto.reencrypt import SealedTable, TableProgress, progress, reencrypt_all
from yiwang.core.db import Database
from yiwang.core.profile import CryptoProfileChanged
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow


@dataclass(frozen=True)
class KeyStatus:
    purpose: str
    version: int
    algorithm: str
    created: str
    current: bool
    retired: bool


def key_status(keyring: Keyring) -> list[KeyStatus]:
    rows = []
    for purpose in keyring.purposes():
        versions = keyring.versions(purpose)
        for key in versions:
            rows.append(
                KeyStatus(
                    purpose=key.purpose,
                    version=key.version,
                    algorithm=key.algorithm,
                    created=key.created_at.strftime("%Y-%m-%d %H:%M"),
                    current=key is versions[-1],
                    retired=key.retired,
                )
            )
    return rows


def rotate(db: Session, *, keyring: Keyring, actor: Principal, purpose: str, profile: Profile | None = None) -> int:
    """A new current version of purpose (in the installation's profile unless told otherwise); new data
    uses it at once, older versions stay to read."""
    key = keyring.rotate(db, purpose, profile=profile)
    audit.record(
        db,
        actor=actor,
        action="crypto.key.rotate",
        target_type="crypto_key",
        target_id=key.key_id,
        details={"purpose": purpose, "version": key.version, "algorithm": key.algorithm},
    )
    return key.version


def wait_for_processes(keyring: Keyring, db: Session) -> None:
    """Give every serving process the time to pick up the newest key before rows are rewritten."""
    newest = db.execute(select(CryptoKey.created_at).order_by(CryptoKey.created_at.desc()).limit(1)).scalar()
    if newest is not None:
        remaining = 2 * REFRESH_SECONDS - (utcnow() - newest).total_seconds()
        if remaining > 0:
            time.sleep(remaining)


@dataclass(frozen=True)
class ReencryptResult:
    rows_read: int
    left: list[TableProgress]
    seconds: float


def reencrypt(
    database: Database,
    *,
    keyring: Keyring,
    tables: list[SealedTable],
    actor: Principal,
    batch_size: int = 500,
    pause_seconds: float = 0.0,
    advanced: Callable[[str, int], None] | None = None,
) -> ReencryptResult:
    """Rewrite every sealed field under the current keys; resumable, safe while the platform serves."""
    started = time.monotonic()
    cipher = FieldCipher(keyring)
    with database.unit_of_work() as db:
        wait_for_processes(keyring, db)
    read = reencrypt_all(
        database.unit_of_work,
        cipher=cipher,
        tables=tables,
        batch_size=batch_size,
        pause_seconds=pause_seconds,
        advanced=advanced,
    )
    with database.unit_of_work() as db:
        left = [progress(db, cipher=cipher, sealed=sealed) for sealed in tables]
        if not any(p.left for p in left):  # nothing is under older keys: lookups need only the current
            keyring.retire_older(db, LOOKUP)
            keyring.retire_older(db, FIELD)
        audit.record(
            db,
            actor=actor,
            action="crypto.reencrypt",
            details={"rows_read": read, "left": sum(p.left for p in left)},
        )
    return ReencryptResult(rows_read=read, left=left, seconds=time.monotonic() - started)


def left_to_reencrypt(database: Database, *, keyring: Keyring, tables: list[SealedTable]) -> list[TableProgress]:
    cipher = FieldCipher(keyring)
    with database.unit_of_work() as db:
        return [progress(db, cipher=cipher, sealed=sealed) for sealed in tables]


@dataclass(frozen=True)
class SwitchResult:
    previous: str
    profile: str
    versions: dict[str, int]
    reencrypted: ReencryptResult
    seconds: float


def start_switch(db: Session, *, keyring: Keyring, actor: Principal, target: Profile) -> tuple[str, dict[str, int]]:
    """The switch's one transaction: new keys in the target profile, the audit chain's profile-change
    entry, the profile recorded, the event published."""
    state = db.execute(select(CryptoState).where(CryptoState.id == 1).with_for_update()).scalar_one()
    previous = state.profile
    if previous == target.value:
        raise ValueError(f"本安装的密码配置已是 {target.value}")
    audit.sign_head(db, keyring)  # the chain so far, sealed by the old profile's key
    versions = {purpose: keyring.rotate(db, purpose, profile=target).version for purpose in PLATFORM_PURPOSES}
    audit.record(
        db,
        actor=actor,
        action=audit.PROFILE_CHANGED,
        target_type="crypto_profile",
        target_id=target.value,
        details={"from": previous, "to": target.value, "versions": versions},
    )
    state.profile, state.changed_at = target.value, utcnow()
    bump_generation(db)
    db.flush()
    keyring.reload(db)
    events.publish(db, CryptoProfileChanged.model_validate({"from": previous, "to": target.value}))
    return previous, versions


def switch_profile(
    database: Database,
    *,
    keyring: Keyring,
    tables: list[SealedTable],
    actor: Principal,
    target: Profile,
    batch_size: int = 500,
    advanced: Callable[[str, int], None] | None = None,
) -> SwitchResult:
    """Move a live installation to another profile; resumable (a rerun finishes the re-encryption)."""
    started = time.monotonic()
    previous = target.value
    versions = {purpose: keyring.current(purpose).version for purpose in PLATFORM_PURPOSES}
    if keyring.profile != target:
        try:
            with database.unit_of_work() as db:
                previous, versions = start_switch(db, keyring=keyring, actor=actor, target=target)
        finally:
            with database.unit_of_work() as db:
                keyring.reload(db)  # what was committed, whether or not the switch was
    done = reencrypt(database, keyring=keyring, tables=tables, actor=actor, batch_size=batch_size, advanced=advanced)
    with database.unit_of_work() as db:
        audit.sign_head(db, keyring)  # the chain after the switch, under the new profile's key
    return SwitchResult(previous, target.value, versions, done, time.monotonic() - started)

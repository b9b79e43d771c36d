"""Keyrings (密钥环): versioned keys per purpose, and the installation's recorded profile.

Each purpose — field encryption, lookup hashes, pseudonyms, token MACs, audit signing, and whatever
signing purposes the certificates use — has numbered key versions; the highest is current. Rotating
adds a version, so new data uses it at once, while every older version stays to decrypt or verify
what it made (ciphertexts, hashes and signatures name their version).

Symmetric data keys are random and stored in `core_crypto_key` wrapped (AEAD) under a key derived from
the master key; signing keys' private halves are 0600 PEM files `key_dir/ring/<purpose>.v<N>.pem`,
with the public half in the table. Version 1 of an installation that started before keyrings existed
is what it always used: the field, lookup and pseudonym keys derived from the master key, the unkeyed
SHA-256 of tokens, and the platform's Ed25519 key file — so nothing stored needs rewriting.
"""

import base64
import contextlib
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Integer, String, Text, UniqueConstraint, create_engine, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

from yiwang.core.crypto.masterkey import check_private, write_new_secret
from yiwang.core.crypto.signing import SigningKey, VerifyingKey, load_signing_key, load_verifying_key
from yiwang.core.crypto.suites import INTL, SHA_256, Aead, Profile, Suite, suite
from yiwang.core.db import Base, UTCDateTime, changed_rows, dialect_insert
from yiwang.core.timeutil import utcnow

FIELD = "field"  # personal fields at rest (AEAD)
LOOKUP = "lookup"  # keyed hashes for exact-match lookup of encrypted fields
PSEUDONYM = "pseudonym"  # keyed-hash pseudonyms in de-identified views
TOKEN = "token"  # noqa: S105 (a purpose, not a secret): MACs of sessions, access tokens, API keys, device tokens
AUDIT = "audit"  # signatures of the audit chain's head
SYMMETRIC_PURPOSES = (FIELD, LOOKUP, PSEUDONYM, TOKEN)
PLATFORM_PURPOSES = (*SYMMETRIC_PURPOSES, AUDIT)
LEGACY_AUDIT_KEY_FILE = "platform_ed25519.pem"
REFRESH_SECONDS = 1.0  # how soon a process sees a rotation or a profile switch made elsewhere
_PURPOSE = re.compile(r"^[a-z][a-z0-9_.-]{0,79}$")
_LEGACY_DERIVATION = {FIELD: "field-encryption", LOOKUP: "field-lookup", PSEUDONYM: "pseudonym"}

KeyKind = Literal["aead", "mac", "signing"]


class CryptoState(Base):
    """One row: the installation's profile, the one it started with, and a counter every key change raises."""

    __tablename__ = "core_crypto_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile: Mapped[str] = mapped_column(String(8))
    initial_profile: Mapped[str] = mapped_column(String(8))
    generation: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CryptoKey(Base):
    """One version of one purpose's key: wrapped secret (symmetric) or public key (signing)."""

    __tablename__ = "core_crypto_key"
    __table_args__ = (UniqueConstraint("purpose", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    algorithm: Mapped[str] = mapped_column(String(24))
    wrapped: Mapped[str | None] = mapped_column(Text)
    public_key: Mapped[str | None] = mapped_column(Text)  # base64 raw public key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # no longer needed for lookups


class ProfileMismatch(RuntimeError):
    """The setting names another profile than the one the installation records."""

    def __init__(self, recorded: str, configured: str) -> None:
        self.recorded, self.configured = recorded, configured
        super().__init__(
            f"本安装的密码配置为 {recorded}，而 YIWANG_CRYPTO_PROFILE={configured}：拒绝启动。"
            f"切换已有安装请运行 `yiwang keys switch-profile {configured}`（重新加密并延续审计链），"
            f"否则请把 YIWANG_CRYPTO_PROFILE 设回 {recorded}"
        )


class KeyringNotOpen(RuntimeError):
    pass


def mac_name(profile_suite: Suite) -> str:
    return f"HMAC-{profile_suite.hash_name}"


def algorithm_of(purpose: str, profile_suite: Suite) -> str:
    if purpose == FIELD:
        return profile_suite.aead_name
    if purpose in SYMMETRIC_PURPOSES:
        return mac_name(profile_suite)
    return profile_suite.signature_name


def kind_of(algorithm: str) -> KeyKind:
    if algorithm.startswith("HMAC-") or algorithm == SHA_256:
        return "mac"
    if algorithm.endswith("-GCM"):
        return "aead"
    return "signing"


def _suite_of_algorithm(algorithm: str) -> Suite:
    for profile in Profile:
        candidate = suite(profile)
        if algorithm in (candidate.aead_name, mac_name(candidate), candidate.signature_name, candidate.hash_name):
            return candidate
    raise ValueError(f"unknown key algorithm {algorithm!r}")


@dataclass
class KeyVersion:
    """One usable key version. Symmetric: `secret`; signing: `verifier`, and `signer` where the file is."""

    purpose: str
    version: int
    algorithm: str
    created_at: datetime
    retired: bool = False
    secret: bytes | None = None
    verifier: VerifyingKey | None = None
    _signer: SigningKey | None = field(default=None, repr=False)
    _pem_path: Path | None = field(default=None, repr=False)
    _aead: Aead | None = field(default=None, repr=False)

    @property
    def kind(self) -> KeyKind:
        return kind_of(self.algorithm)

    @property
    def suite(self) -> Suite:
        return _suite_of_algorithm(self.algorithm)

    @property
    def key_id(self) -> str:
        return f"{self.purpose}/v{self.version}"

    def aead(self) -> Aead:
        if self._aead is None:
            assert self.secret is not None, f"{self.key_id} is not a symmetric key"
            self._aead = self.suite.aead(self.secret)
        return self._aead

    def mac(self, data: bytes) -> bytes:
        """The keyed MAC of data; the legacy token version 1 of intl is the unkeyed SHA-256."""
        if self.algorithm == SHA_256:
            return INTL.digest(data)
        assert self.secret is not None, f"{self.key_id} is not a MAC key"
        return self.suite.mac(self.secret, data)

    def signer(self) -> SigningKey:
        if self._signer is None:
            if self._pem_path is None or not self._pem_path.exists():
                raise KeyringNotOpen(f"签名密钥 {self.key_id} 的私钥文件不在本机（{self._pem_path}）")
            check_private(self._pem_path)
            self._signer = load_signing_key(self._pem_path.read_bytes())
        return self._signer

    def public_b64(self) -> str:
        assert self.verifier is not None, f"{self.key_id} is not a signing key"
        return base64.b64encode(self.verifier.raw()).decode()


class _Wrapper:
    """Wraps data keys under the master key: AEAD bound to purpose, version and algorithm."""

    def __init__(self, master: bytes) -> None:
        self._master = master

    def _aead(self, name: str) -> Aead:
        wrapping_suite = next(s for s in (suite(p) for p in Profile) if s.aead_name == name)
        return wrapping_suite.aead(wrapping_suite.derive(self._master, "key-wrapping"))

    def wrap(self, secret: bytes, *, label: str, profile_suite: Suite) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead(profile_suite.aead_name).encrypt(nonce, secret, label.encode())
        return f"{profile_suite.aead_name}:{base64.b64encode(nonce + sealed).decode()}"

    def unwrap(self, wrapped: str, *, label: str) -> bytes:
        name, _, payload = wrapped.partition(":")
        raw = base64.b64decode(payload)
        return self._aead(name).decrypt(raw[:12], raw[12:], label.encode())


def _label(purpose: str, version: int, algorithm: str) -> str:
    return f"yiwang-key:{purpose}:{version}:{algorithm}"


class Keyring:
    """The installation's keys, loaded from the database and refreshed when another process changes them."""

    def __init__(self, *, master: bytes, key_dir: Path, database_url: str) -> None:
        self._wrapper = _Wrapper(master)
        self._master = master
        self.key_dir = key_dir
        self._url = database_url
        self._lock = threading.RLock()
        self._keys: dict[str, dict[int, KeyVersion]] = {}
        self._profile: Profile | None = None
        self._generation = -1
        self._checked = 0.0
        self._probe: Engine | None = None

    @property
    def master_key(self) -> bytes:
        """For data migrations that predate keyrings (they use version 1 of the intl keys)."""
        return self._master

    # ---- opening and refreshing ------------------------------------------------------------------

    def open(self, db: Session, *, configured: str, allow_mismatch: bool = False) -> None:
        """Record the profile at first start (with version 1 of every platform key), or check it."""
        state = db.get(CryptoState, 1)
        if state is None:
            self._first_start(db, Profile(configured))
            state = db.get(CryptoState, 1)
            assert state is not None
        if state.profile != configured and not allow_mismatch:
            raise ProfileMismatch(state.profile, configured)
        self._load(db)

    def _first_start(self, db: Session, profile: Profile) -> None:
        head = db.execute(text("SELECT last_seq FROM audit_chain_head WHERE id = 1")).scalar()
        if head:  # an installation older than profiles: its data was made with intl keys
            profile = Profile.INTL
        insert = dialect_insert(db)
        now = utcnow()
        db.execute(
            insert(CryptoState)
            .values(id=1, profile=profile.value, initial_profile=profile.value, generation=1, changed_at=now)
            .on_conflict_do_nothing()
        )
        for purpose in PLATFORM_PURPOSES:
            self._create(db, purpose, 1, suite(profile), legacy=profile == Profile.INTL)
        # An empty chain starts with the profile's hash (the verifier reads initial_profile).
        db.execute(
            text("UPDATE audit_chain_head SET hash_algorithm = :h WHERE id = 1 AND last_seq = 0"),
            {"h": suite(profile).hash_name},
        )
        db.flush()

    def _create(self, db: Session, purpose: str, version: int, profile_suite: Suite, *, legacy: bool = False) -> None:
        """Insert one key version (a concurrent creator's row wins; its key is the one used)."""
        algorithm = algorithm_of(purpose, profile_suite)
        wrapped = public = None
        if purpose == TOKEN and legacy:
            algorithm = SHA_256
        elif kind_of(algorithm) == "signing":
            public = base64.b64encode(self._create_key_file(purpose, version, profile_suite, legacy).raw()).decode()
        else:
            size = profile_suite.aead_key_bytes if purpose == FIELD else 32
            if legacy and purpose in _LEGACY_DERIVATION:
                secret = profile_suite.derive(self._master, _LEGACY_DERIVATION[purpose], size)
            else:
                secret = secrets.token_bytes(size)
            wrapped = self._wrapper.wrap(secret, label=_label(purpose, version, algorithm), profile_suite=profile_suite)
        db.execute(
            dialect_insert(db)(CryptoKey)
            .values(
                purpose=purpose,
                version=version,
                algorithm=algorithm,
                wrapped=wrapped,
                public_key=public,
                created_at=utcnow(),
                retired_at=None,
            )
            .on_conflict_do_nothing()
        )

    def _pem_path(self, purpose: str, version: int) -> Path:
        return self.key_dir / "ring" / f"{purpose}.v{version}.pem"

    def _create_key_file(self, purpose: str, version: int, profile_suite: Suite, legacy: bool) -> VerifyingKey:
        path = self._pem_path(purpose, version)
        if not path.exists():
            legacy_file = self.key_dir / LEGACY_AUDIT_KEY_FILE
            if legacy and purpose == AUDIT and legacy_file.exists():
                pem = legacy_file.read_bytes()  # the key that signed this chain's heads so far
            else:
                pem = profile_suite.new_signing_key().private_pem()
            with contextlib.suppress(FileExistsError):  # another process wrote it first: theirs is used
                write_new_secret(path, pem)
        check_private(path)
        return load_signing_key(path.read_bytes()).public_key()

    def _load(self, db: Session) -> None:
        state = db.get(CryptoState, 1)
        if state is None:
            raise KeyringNotOpen("密钥环尚未初始化")
        rows = db.execute(select(CryptoKey).order_by(CryptoKey.purpose, CryptoKey.version)).scalars().all()
        loaded: dict[str, dict[int, KeyVersion]] = {}
        for row in rows:
            key = KeyVersion(row.purpose, row.version, row.algorithm, row.created_at, row.retired_at is not None)
            if row.wrapped is not None:
                key.secret = self._wrapper.unwrap(row.wrapped, label=_label(row.purpose, row.version, row.algorithm))
            if row.public_key is not None:
                key.verifier = load_verifying_key(row.algorithm, base64.b64decode(row.public_key))
                key._pem_path = self._pem_path(row.purpose, row.version)
            previous = self._keys.get(row.purpose, {}).get(row.version)
            if previous is not None and previous._signer is not None:
                key._signer = previous._signer
            loaded.setdefault(row.purpose, {})[row.version] = key
        with self._lock:
            self._keys = loaded
            self._profile = Profile(state.profile)
            self._generation = state.generation
            self._checked = time.monotonic()

    def _refresh(self) -> None:
        """Reload when another process rotated a key or switched the profile (checked once a second)."""
        if time.monotonic() - self._checked < REFRESH_SECONDS or not self._keys:
            return
        with self._lock:
            if time.monotonic() - self._checked < REFRESH_SECONDS:
                return
            if self._probe is None:  # its own connection: never waits on, or holds, the request's pool
                self._probe = (
                    create_engine(self._url, poolclass=NullPool)
                    if self._url.startswith("sqlite")
                    else create_engine(self._url, pool_size=1, max_overflow=0, pool_pre_ping=True)
                )
            with self._probe.connect() as connection:
                generation = connection.execute(text("SELECT generation FROM core_crypto_state WHERE id = 1")).scalar()
            self._checked = time.monotonic()
            if generation is not None and generation != self._generation:
                with Session(self._probe) as db:
                    self._load(db)

    def reload(self, db: Session) -> None:
        self._load(db)

    # ---- reading keys -------------------------------------------------------------------------------

    @property
    def profile(self) -> Profile:
        self._refresh()
        if self._profile is None:
            raise KeyringNotOpen("密钥环尚未打开")
        return self._profile

    @property
    def suite(self) -> Suite:
        """The algorithms new data is made with: the installation's current profile."""
        return suite(self.profile)

    def versions(self, purpose: str) -> list[KeyVersion]:
        self._refresh()
        found = self._keys.get(purpose)
        if not found:
            raise KeyError(f"no key for purpose {purpose!r}")
        return [found[v] for v in sorted(found)]

    def current(self, purpose: str) -> KeyVersion:
        """The version new data of this purpose is made with."""
        return self.versions(purpose)[-1]

    def get(self, purpose: str, version: int) -> KeyVersion:
        """A given version (to decrypt or verify what it made); KeyError when there is none."""
        self._refresh()
        try:
            return self._keys[purpose][version]
        except KeyError:
            raise KeyError(f"no key {purpose}/v{version}") from None

    def live(self, purpose: str) -> list[KeyVersion]:
        """Versions stored values may still be under, newest first (lookups try each)."""
        return [k for k in reversed(self.versions(purpose)) if not k.retired]

    def purposes(self) -> list[str]:
        self._refresh()
        return sorted(self._keys)

    def generation(self) -> int:
        self._refresh()
        return self._generation

    # ---- changing keys (the caller's transaction; commit, then every process sees it) ------------------

    def rotate(self, db: Session, purpose: str, *, profile: Profile | None = None) -> KeyVersion:
        """Add a new current version of purpose, in the installation's profile unless told otherwise."""
        if not _PURPOSE.match(purpose):
            raise ValueError(f"unsafe key purpose {purpose!r}")
        latest = db.execute(
            select(CryptoKey.version).where(CryptoKey.purpose == purpose).order_by(CryptoKey.version.desc())
        )
        version = (latest.scalars().first() or 0) + 1
        self._create(db, purpose, version, suite(profile or self._recorded_profile(db)))
        bump_generation(db)
        db.flush()
        self._load(db)
        return self.get(purpose, version)

    def ensure(self, db: Session, purpose: str) -> KeyVersion:
        """The current version of purpose, creating version 1 in the installation's profile if needed."""
        if purpose not in self._keys:
            self._create(db, purpose, 1, suite(self._recorded_profile(db)))
            bump_generation(db)
            db.flush()
            self._load(db)
        return self.current(purpose)

    def retire_older(self, db: Session, purpose: str) -> int:
        """Mark every version but the current as no longer needed for lookups."""
        current = self.current(purpose).version
        done = changed_rows(
            db,
            update(CryptoKey)
            .where(CryptoKey.purpose == purpose, CryptoKey.version < current, CryptoKey.retired_at.is_(None))
            .values(retired_at=utcnow()),
        )
        if done:
            bump_generation(db)
            db.flush()
            self._load(db)
        return done

    def _recorded_profile(self, db: Session) -> Profile:
        state = db.get(CryptoState, 1)
        if state is None:
            raise KeyringNotOpen("密钥环尚未初始化")
        return Profile(state.profile)


def bump_generation(db: Session) -> None:
    db.execute(update(CryptoState).where(CryptoState.id == 1).values(generation=CryptoState.generation + 1))


def recorded_profile(db: Session) -> tuple[str, str] | None:
    """(current, initial) profile of the installation, or None before its first start."""
    state = db.get(CryptoState, 1)
    return None if state is None else (state.profile, state.initial_profile)


# ---- the keyring of a database, for code that has a session but no runtime ------------------------------

_BY_ENGINE: "WeakKeyDictionary[Engine, Keyring]" = WeakKeyDictionary()


def bind(keyring: Keyring, *engines: Engine) -> None:
    for engine in engines:
        _BY_ENGINE[engine] = keyring


def keyring_for(db: Session) -> Keyring:
    """The keyring of the platform whose database the session uses."""
    bound = db.get_bind()
    engine = bound if isinstance(bound, Engine) else bound.engine
    try:
        return _BY_ENGINE[engine]
    except KeyError:
        raise KeyringNotOpen("该数据库没有打开的密钥环") from None

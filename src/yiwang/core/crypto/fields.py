"""Field encryption, keyed hashes for exact lookup, pseudonyms and token MACs, all through a keyring.

A field's ciphertext is an envelope naming its algorithm and key version,
`<algorithm>:<version>:<base64 nonce ‖ ciphertext ‖ tag>` (e.g. `SM4-GCM:2:…`); the older `v1:<…>`
envelopes are AES-256-GCM under version 1 of an intl installation and still decrypt. The record's
table and column are bound as associated data, so a ciphertext moved into another column fails.
"""

import base64
import secrets
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from yiwang.core.crypto.keys import FIELD, LOOKUP, PSEUDONYM, TOKEN, KeyVersion, keyring_for
from yiwang.core.crypto.suites import AES_256_GCM, INTL, NONCE_BYTES, SHA_256, Suite
from yiwang.core.timeutil import utcnow

_LEGACY_ENVELOPE = "v1"


class KeySource(Protocol):
    def current(self, purpose: str) -> KeyVersion: ...
    def get(self, purpose: str, version: int) -> KeyVersion: ...
    def live(self, purpose: str) -> list[KeyVersion]: ...
    @property
    def suite(self) -> Suite: ...


class LegacyKeys:
    """Version 1 of an intl installation, derived from the master key alone (for data migrations
    that predate keyrings)."""

    def __init__(self, master: bytes) -> None:
        now: datetime = utcnow()
        self._keys = {
            FIELD: KeyVersion(FIELD, 1, AES_256_GCM, now, secret=INTL.derive(master, "field-encryption", 32)),
            LOOKUP: KeyVersion(LOOKUP, 1, "HMAC-SHA-256", now, secret=INTL.derive(master, "field-lookup", 32)),
            PSEUDONYM: KeyVersion(PSEUDONYM, 1, "HMAC-SHA-256", now, secret=INTL.derive(master, "pseudonym", 32)),
            TOKEN: KeyVersion(TOKEN, 1, SHA_256, now),
        }

    @property
    def suite(self) -> Suite:
        return INTL

    def current(self, purpose: str) -> KeyVersion:
        return self._keys[purpose]

    def get(self, purpose: str, version: int) -> KeyVersion:
        if version != 1:
            raise KeyError(f"no key {purpose}/v{version}")
        return self._keys[purpose]

    def live(self, purpose: str) -> list[KeyVersion]:
        return [self._keys[purpose]]


def parse_envelope(envelope: str) -> tuple[str, int, bytes]:
    """(algorithm, key version, nonce ‖ sealed) of a stored ciphertext; ValueError if it is none."""
    head, _, rest = envelope.partition(":")
    if head == _LEGACY_ENVELOPE:
        return AES_256_GCM, 1, base64.b64decode(rest)
    version, _, payload = rest.partition(":")
    if not head or not version.isdigit() or not payload:
        raise ValueError("unknown ciphertext format")
    return head, int(version), base64.b64decode(payload)


class FieldCipher:
    """Encrypts personal fields at rest and hashes them for exact-match lookup.

    The encryption, lookup and pseudonym keys are separate keyring purposes, so the lookup hash
    reveals nothing that helps decrypt, and each can be rotated on its own."""

    def __init__(self, keys: KeySource) -> None:
        self.keys = keys

    @classmethod
    def legacy(cls, master: bytes) -> "FieldCipher":
        return cls(LegacyKeys(master))

    def encrypt(self, plaintext: str, *, context: str) -> str:
        key = self.keys.current(FIELD)
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = key.aead().encrypt(nonce, plaintext.encode(), context.encode())
        return f"{key.algorithm}:{key.version}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, envelope: str, *, context: str) -> str:
        algorithm, version, raw = parse_envelope(envelope)
        key = self.keys.get(FIELD, version)
        if key.algorithm != algorithm:
            raise ValueError(f"ciphertext names {algorithm} but key {key.key_id} is {key.algorithm}")
        return key.aead().decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()

    def is_current(self, envelope: str) -> bool:
        """Whether a stored ciphertext is under the current field key already."""
        algorithm, version, _ = parse_envelope(envelope)
        current = self.keys.current(FIELD)
        return (algorithm, version) == (current.algorithm, current.version)

    @staticmethod
    def _lookup(key: KeyVersion, value: str, context: str) -> str:
        return key.mac(context.encode() + b"\x00" + value.encode()).hex()

    def lookup_hash(self, value: str, *, context: str) -> str:
        """Deterministic keyed hash (HMAC-SHA-256 or HMAC-SM3) under the current lookup key, to store."""
        return self._lookup(self.keys.current(LOOKUP), value, context)

    def lookup_hashes(self, value: str, *, context: str) -> list[str]:
        """The value's hash under every lookup key rows may still be under, for `IN (…)` while keys change."""
        return [self._lookup(key, value, context) for key in self.keys.live(LOOKUP)]

    def pseudonym(self, value: str, *, namespace: str) -> str:
        """A stable keyed-hash pseudonym, for de-identified views."""
        return self.keys.current(PSEUDONYM).mac(namespace.encode() + b"\x00" + value.encode()).hex()[:24]

    def token_digest(self, secret: str) -> str:
        """The MAC of a bearer secret under the current token key: what is stored, never the secret."""
        return self.keys.current(TOKEN).mac(secret.encode()).hex()

    def token_digests(self, secret: str) -> list[str]:
        """The secret's MAC under every token key version (a secret is never re-derived: it is not kept)."""
        return [key.mac(secret.encode()).hex() for key in self.keys.live(TOKEN)]


def cipher_for(db: Session) -> FieldCipher:
    """The field cipher of the platform whose database the session uses."""
    return FieldCipher(keyring_for(db))


def token_digest(db: Session, secret: str) -> str:
    return cipher_for(db).token_digest(secret)


def token_digests(db: Session, secret: str) -> list[str]:
    return cipher_for(db).token_digests(secret)


def content_suite(db: Session) -> Suite:
    """The algorithms new digests are made with: the installation's profile (store its hash_name beside)."""
    return keyring_for(db).suite


def new_secret_token(prefix: str) -> str:
    """A random bearer secret with a readable prefix, e.g. 'ywk_…' for API keys."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"

"""The installation's federation key (对接密钥): what every message to a peer is signed with.

The keyring's `federation` purpose: versioned signing keys in the installation's profile (Ed25519 for
intl, SM2 for gm), private halves 0600 PEM files under key_dir/ring, public halves in the keyring's
table. Peers pin the public half of one version. `yiwang keys rotate federation` adds a version; the
outbox then tells each peer the new key in a message signed with the version that peer pinned, and
signs with the new one only once the peer has it. Every version stays, so a message addressed to an
older key of ours is still ours. A crypto profile switch (`yiwang keys switch-profile`) adds a version in
the new profile's algorithm the same way, so peers move to SM2 (or back) through the same rollover.
"""

import base64
from dataclasses import dataclass

from sqlalchemy.orm import Session

from yiwang.core import keyadmin
from yiwang.core.crypto import Keyring, Profile, SigningKey, suite
from yiwang.core.db import Database
from yiwang.core.security import Principal
from yiwang.federation import protocol

FEDERATION = "federation"


@dataclass(frozen=True)
class InstallationKey:
    version: int
    signer: SigningKey
    algorithm: str
    public_raw: bytes

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode()

    @property
    def fingerprint(self) -> str:
        return protocol.fingerprint(self.algorithm, self.public_raw)

    @property
    def key_id(self) -> str:
        return protocol.key_id(self.algorithm, self.public_raw)


@dataclass(frozen=True)
class FederationKeys:
    """Every version of the installation's federation key; the current one signs new peerings."""

    versions: dict[int, InstallationKey]

    @property
    def current(self) -> InstallationKey:
        return self.versions[max(self.versions)]

    def version(self, number: int) -> InstallationKey:
        """A given version (what a peer pinned); the current one if that version is unknown here."""
        return self.versions.get(number, self.current)

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(k.key_id for k in self.versions.values())


def federation_keys(keyring: Keyring, database: Database) -> FederationKeys:
    """The installation's federation keys, creating version 1 in its profile on first use."""
    try:
        versions = keyring.versions(FEDERATION)
    except KeyError:
        with database.unit_of_work() as db:
            keyring.ensure(db, FEDERATION)
        versions = keyring.versions(FEDERATION)
    found = {}
    for key in versions:
        signer = key.signer()
        found[key.version] = InstallationKey(key.version, signer, signer.algorithm, signer.public_key().raw())
    return FederationKeys(found)


def follow_profile(db: Session, keyring: Keyring, *, to: str) -> int | None:
    """After a crypto profile switch, a new federation key in the new profile's algorithm; peers learn it
    through the rollover. None when there is nothing to do: no key yet (version 1 will be made in the new
    profile), or the current one already is (the event is delivered at least once)."""
    keyring.reload(db)
    if FEDERATION not in keyring.purposes():
        return None
    target = Profile(to)
    if keyring.current(FEDERATION).algorithm == suite(target).signature_name:
        return None
    actor = Principal(user_id=None, username="system:federation", display_name="向上对接", kind="system")
    return keyadmin.rotate(db, keyring=keyring, actor=actor, purpose=FEDERATION, profile=target)

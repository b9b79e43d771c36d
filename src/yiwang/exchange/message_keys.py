"""The platform's message-signing key (报文签名密钥): what mediated requests, responses, evidence and the
message log's signed heads are signed with — the keyring's purpose `exchange.messages`, in the
installation's profile (Ed25519 or SM2).

Its versions are the keyring's (`core.crypto.Keyring`): the key id is `exchange.messages/v<N>`, the
newest version signs, every older one stays to verify what it signed, and all are published
(`GET /api/exchange/message-keys`). `ensure` (at start-up) creates version 1, and a new version when the
installation's profile has changed since the current one was made.
"""

import base64
from dataclasses import dataclass

from sqlalchemy.orm import Session

from yiwang.core.crypto import Keyring, SigningKey, VerifyingKey
from yiwang.core.httpsig import ALGORITHMS

PURPOSE = "exchange.messages"


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    alg: str  # the RFC 9421 alg name: ed25519 or sm2-sm3
    algorithm: str  # Ed25519 | SM2
    public_key: str  # base64 of the raw key (Ed25519: 32 bytes; SM2: the 65-byte uncompressed point)
    pem: str  # SubjectPublicKeyInfo


class MessageKeys:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def ensure(self, db: Session) -> str:
        """The current key id, making a version in the profile's algorithm when there is none."""
        key = self.keyring.ensure(db, PURPOSE)
        if key.algorithm != self.keyring.suite.signature_name:
            key = self.keyring.rotate(db, PURPOSE)
        return key.key_id

    def current(self) -> tuple[str, SigningKey]:
        """(key id, key) that new signatures are made with."""
        key = self.keyring.current(PURPOSE)
        return key.key_id, key.signer()

    def verifier(self, key_id: str) -> VerifyingKey | None:
        prefix = f"{PURPOSE}/v"
        if not key_id.startswith(prefix) or not key_id[len(prefix) :].isdigit():
            return None
        try:
            return self.keyring.get(PURPOSE, int(key_id[len(prefix) :])).verifier
        except KeyError:
            return None

    def published(self) -> list[PublishedKey]:
        found = []
        for key in self.keyring.versions(PURPOSE):
            assert key.verifier is not None, f"{key.key_id} is not a signing key"
            found.append(
                PublishedKey(
                    key_id=key.key_id,
                    alg=ALGORITHMS[key.algorithm],
                    algorithm=key.algorithm,
                    public_key=base64.b64encode(key.verifier.raw()).decode(),
                    pem=key.verifier.pem().decode(),
                )
            )
        return found

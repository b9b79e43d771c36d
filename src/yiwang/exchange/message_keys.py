"""The platform's message-signing key (报文签名密钥): what mediated requests, responses, evidence and the
message log's checkpoints are signed with, in the installation's profile (Ed25519 or SM2).

Versions are PEM files `key_dir/exchange/messages.v<N>.pem` (0600, created once, race-safe); the key id
is `exchange.messages/v<N>`. The current version is the newest one of the profile's algorithm, so a
profile switch adds a version while the older ones stay to verify what they signed. Every version's
public key is published (`GET /api/exchange/message-keys`).
"""

import base64
import contextlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from yiwang.core.crypto import (
    SigningKey,
    VerifyingKey,
    generate_signing_key,
    load_signing_key,
    suite,
    write_new_secret,
)
from yiwang.core.httpsig import ALGORITHMS

PURPOSE = "exchange.messages"
_FILE = re.compile(r"^messages\.v(\d+)\.pem$")


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    alg: str  # the RFC 9421 alg name: ed25519 or sm2-sm3
    algorithm: str  # Ed25519 | SM2
    public_key: str  # base64 of the raw key (Ed25519: 32 bytes; SM2: the 65-byte uncompressed point)
    pem: str  # SubjectPublicKeyInfo


class MessageKeys:
    """Loads the versions once per process; creates the profile's first version when there is none."""

    def __init__(self, key_dir: Path, profile: str) -> None:
        self.directory = key_dir / "exchange"
        self.algorithm = suite(profile).signature_name
        self._lock = threading.Lock()
        self._keys: dict[int, SigningKey] = {}

    def _load(self) -> dict[int, SigningKey]:
        with self._lock:
            if not self._keys or not any(k.algorithm == self.algorithm for k in self._keys.values()):
                self._keys = self._read()
                if not any(k.algorithm == self.algorithm for k in self._keys.values()):
                    self._create(max(self._keys, default=0) + 1)
                    self._keys = self._read()
            return self._keys

    def _read(self) -> dict[int, SigningKey]:
        found: dict[int, SigningKey] = {}
        if self.directory.is_dir():
            for path in self.directory.iterdir():
                match = _FILE.match(path.name)
                if match:
                    found[int(match.group(1))] = load_signing_key(path.read_bytes())
        return found

    def _create(self, version: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):  # another process made this version first
            write_new_secret(
                self.directory / f"messages.v{version}.pem", generate_signing_key(self.algorithm).private_pem()
            )

    def current(self) -> tuple[str, SigningKey]:
        """(key id, key) that new signatures are made with."""
        keys = self._load()
        version = max(v for v, k in keys.items() if k.algorithm == self.algorithm)
        return f"{PURPOSE}/v{version}", keys[version]

    def verifier(self, key_id: str) -> VerifyingKey | None:
        prefix = f"{PURPOSE}/v"
        if not key_id.startswith(prefix) or not key_id[len(prefix) :].isdigit():
            return None
        key = self._load().get(int(key_id[len(prefix) :]))
        return None if key is None else key.public_key()

    def published(self) -> list[PublishedKey]:
        return [
            PublishedKey(
                key_id=f"{PURPOSE}/v{version}",
                alg=ALGORITHMS[key.algorithm],
                algorithm=key.algorithm,
                public_key=base64.b64encode(key.public_key().raw()).decode(),
                pem=key.public_key().pem().decode(),
            )
            for version, key in sorted(self._load().items())
        ]

"""The installation's federation key (对接密钥): what every message to a peer is signed with.

One key pair in the installation's profile (Ed25519 for intl, SM2 for gm), its private half a 0600
PEM file under key_dir/federation, created once; peers pin its public half.
"""

import base64
import contextlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from yiwang.core.crypto import SigningKey, load_signing_key, suite, write_new_secret
from yiwang.federation import protocol


@dataclass(frozen=True)
class InstallationKey:
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


@cache
def _load(path: str) -> InstallationKey:
    signer = load_signing_key(Path(path).read_bytes())
    return InstallationKey(signer, signer.algorithm, signer.public_key().raw())


def installation_key(key_dir: Path, profile: str) -> InstallationKey:
    """The key of this installation's profile, created on first use (a concurrent creator's file wins)."""
    profile_suite = suite(profile)
    path = key_dir / "federation" / f"{profile_suite.signature_name.lower()}.pem"
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            write_new_secret(path, profile_suite.new_signing_key().private_pem())
    return _load(str(path))

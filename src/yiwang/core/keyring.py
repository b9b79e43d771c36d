"""The certificate-signing context: Ed25519 keys of the certificate issuers and of the transparency
log, kept as files in key_dir/certs, and the log's identity. Built once per process, on the runtime.

Private keys never enter the database; the tables hold only public keys and the key file's name.
"""

import contextlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yiwang.core.crypto import Suite, suite, write_new_secret

LOG_KEY_FILE = "transparency_log_ed25519.pem"
_SAFE_NAME = re.compile(r"^[a-z0-9_]+\.pem$")


class KeyStore:
    """Loads or creates PEM key files under one directory (mode 0600, created once, race-safe)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, file_name: str) -> Path:
        if not _SAFE_NAME.match(file_name):
            raise ValueError(f"unsafe key file name {file_name!r}")
        return self.directory / file_name

    def load_or_create(self, file_name: str) -> Ed25519PrivateKey:
        path = self._path(file_name)
        if not path.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            with contextlib.suppress(FileExistsError):  # another thread or process made it first
                write_new_secret(path, pem)
        return _load(path)

    def log_key(self) -> Ed25519PrivateKey:
        return self.load_or_create(LOG_KEY_FILE)


@cache
def _load_cached(path: str, mtime_ns: int) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def _load(path: Path) -> Ed25519PrivateKey:
    return _load_cached(str(path), path.stat().st_mtime_ns)


@dataclass(frozen=True)
class SigningContext:
    """What certificates and the transparency log are signed with, and the log's identity."""

    keys: KeyStore
    origin: str  # the log's identity: its checkpoints' origin line and the name of its note key
    suite: Suite  # the installation's crypto profile: what new seals and log entries are made with

    @classmethod
    def build(cls, key_dir: Path, city_code: str, profile: str = "intl") -> "SigningContext":
        return cls(KeyStore(key_dir / "certs"), f"yiwang.{city_code}.gov.cn/certs-log", suite(profile))

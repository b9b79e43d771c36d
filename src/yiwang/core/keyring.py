"""The certificate-signing context: the signature keys of the certificate issuers (seals) and of the
transparency logs, kept as PEM files in key_dir/certs, and the log's base identity. Built once per
process, on the runtime.

Private keys never enter the database; the tables hold only public keys and the key file's name.
Keys are Ed25519 (intl) or SM2 (gm); a file holds one key of one algorithm for its whole life, so a
certificate sealed before a profile switch still names the key that verifies it.
"""

import contextlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from yiwang.core.crypto import (
    ED25519,
    SigningKey,
    Suite,
    generate_signing_key,
    load_signing_key,
    suite,
    write_new_secret,
)

LOG_KEY_FILE = "transparency_log_ed25519.pem"  # the first (intl) log's key, named before logs had numbers
_SAFE_NAME = re.compile(r"^[a-z0-9_]+\.pem$")


class KeyStore:
    """Loads or creates PEM key files under one directory (mode 0600, created once, race-safe)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, file_name: str) -> Path:
        if not _SAFE_NAME.match(file_name):
            raise ValueError(f"unsafe key file name {file_name!r}")
        return self.directory / file_name

    def load_or_create(self, file_name: str, algorithm: str = ED25519) -> SigningKey:
        """The key in file_name, made with `algorithm` if the file does not exist yet."""
        path = self._path(file_name)
        if not path.exists():
            pem = generate_signing_key(algorithm).private_pem()
            with contextlib.suppress(FileExistsError):  # another thread or process made it first
                write_new_secret(path, pem)
        key = _load(path)
        if key.algorithm != algorithm:
            raise ValueError(f"{file_name} holds an {key.algorithm} key, not {algorithm}")
        return key


@cache
def _load_cached(path: str, mtime_ns: int) -> SigningKey:
    return load_signing_key(Path(path).read_bytes())


def _load(path: Path) -> SigningKey:
    return _load_cached(str(path), path.stat().st_mtime_ns)


@dataclass(frozen=True)
class SigningContext:
    """What certificates and the transparency log are signed with, and the logs' base identity."""

    keys: KeyStore
    origin: str  # the first log's identity (checkpoint origin, note key name); later logs add "/<n>"
    suite: Suite  # the installation's crypto profile: what new seals and new logs are made with

    @classmethod
    def build(cls, key_dir: Path, city_code: str, profile: str = "intl") -> "SigningContext":
        return cls(KeyStore(key_dir / "certs"), f"yiwang.{city_code}.gov.cn/certs-log", suite(profile))

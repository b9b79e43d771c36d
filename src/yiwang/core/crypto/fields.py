"""Field encryption (AES-GCM), keyed hashes for exact lookup, and the platform's Ed25519 key."""

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_ENVELOPE_VERSION = "v1"


def write_new_secret(path: Path, data: bytes) -> None:
    """Create a 0600 file holding data, all or nothing; FileExistsError if it exists already.

    Written under a temporary name, synced, then hard-linked to its name: a process killed half-way
    leaves no empty or partial key behind, and one starting at the same moment never reads one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    finally:
        os.unlink(temporary)


def load_or_create_master_key(key_dir: Path, configured: str | None) -> bytes:
    """The 32-byte master key: from settings if given, else ./var/keys/field.key, created once."""
    if configured:
        key = base64.b64decode(configured)
        if len(key) != 32:
            raise ValueError("YIWANG_FIELD_KEY must be 32 bytes, base64-encoded")
        return key
    path = key_dir / "field.key"
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process created it first
            write_new_secret(path, base64.b64encode(secrets.token_bytes(32)))
    key = base64.b64decode(path.read_bytes().strip())
    if len(key) != 32:
        raise ValueError(f"{path} does not hold a 32-byte base64 key")
    return key


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=b"yiwang:" + purpose).derive(master)


class FieldCipher:
    """Encrypts personal fields at rest and hashes them for exact-match lookup.

    The encryption key and the lookup key are derived separately from one master key, so the lookup
    hash reveals nothing that helps decrypt. The record's table and column are bound as associated
    data, so a ciphertext moved into another column fails to decrypt.
    """

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(_derive(master_key, b"field-encryption"))
        self._lookup_key = _derive(master_key, b"field-lookup")
        self._pseudonym_key = _derive(master_key, b"pseudonym")

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_ENVELOPE_VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, envelope: str, *, context: str) -> str:
        version, _, payload = envelope.partition(":")
        if version != _ENVELOPE_VERSION:
            raise ValueError("unknown ciphertext version")
        raw = base64.b64decode(payload)
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def lookup_hash(self, value: str, *, context: str) -> str:
        """Deterministic keyed hash (HMAC-SHA256) of a normalised value, for WHERE clauses."""
        message = context.encode() + b"\x00" + value.encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()

    def pseudonym(self, value: str, *, namespace: str) -> str:
        """A stable keyed-hash pseudonym, for de-identified views."""
        message = namespace.encode() + b"\x00" + value.encode()
        return hmac.new(self._pseudonym_key, message, hashlib.sha256).hexdigest()[:24]


def load_or_create_signing_key(key_dir: Path) -> Ed25519PrivateKey:
    """The platform's Ed25519 key in ./var/keys/platform_ed25519.pem, created once."""
    path = key_dir / "platform_ed25519.pem"
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        with contextlib.suppress(FileExistsError):
            write_new_secret(path, pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_secret_token(prefix: str) -> str:
    """A random bearer secret with a readable prefix, e.g. 'ywk_…' for API keys."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"

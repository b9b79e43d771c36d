"""The two cryptographic profiles (密码配置) and the algorithms each one uses.

`intl` is the international set (SHA-256, HMAC-SHA-256, AES-256-GCM, Ed25519); `gm` is the national
commercial-cryptography set (国密: SM3 per GB/T 32905, HMAC-SM3, SM4-GCM per GB/T 32907 and RFC 8998,
SM2 signatures with SM3 per GB/T 32918 and GM/T 0009 with the default identity 1234567812345678).

Every module that hashes, encrypts, derives a key or signs asks a Suite for it instead of calling an
algorithm itself, so an installation's profile decides them all in one place. SHA-256, SM3, SM4 and
AES come from `cryptography`; SM2 from tongsuopy, the Tongsuo project's binding to its C library
(OpenSSL-compatible, about as fast as the `openssl` command; docs/security.md says why it was chosen).
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from yiwang.core.crypto.signing import ED25519, SM2, SigningKey, generate_signing_key

NONCE_BYTES = 12
TAG_BYTES = 16


class Profile(StrEnum):
    INTL = "intl"
    GM = "gm"


class Aead:
    """Authenticated encryption with associated data: ciphertext ‖ 16-byte tag out, the same in."""

    def __init__(self, name: str, key: bytes) -> None:
        self.name = name
        self._key = key
        self._aes = AESGCM(key) if name == AES_256_GCM else None

    def encrypt(self, nonce: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
        if self._aes is not None:
            return self._aes.encrypt(nonce, plaintext, associated_data)
        encryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated_data)
        sealed = encryptor.update(plaintext) + encryptor.finalize()
        return sealed + encryptor.tag

    def decrypt(self, nonce: bytes, sealed: bytes, associated_data: bytes) -> bytes:
        """The plaintext; cryptography.exceptions.InvalidTag if the key, nonce, data or tag is wrong."""
        if self._aes is not None:
            return self._aes.decrypt(nonce, sealed, associated_data)
        body, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
        decryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(associated_data)
        return decryptor.update(body) + decryptor.finalize()


class Hasher:
    """update() with each chunk, then digest() once."""

    def __init__(self, name: str, state: hashes.Hash) -> None:
        self.name = name
        self._state = state
        self.size = 0

    def update(self, data: bytes) -> None:
        self._state.update(data)
        self.size += len(data)

    def digest(self) -> bytes:
        return self._state.finalize()


SHA_256 = "SHA-256"
SM3 = "SM3"
AES_256_GCM = "AES-256-GCM"
SM4_GCM = "SM4-GCM"


@dataclass(frozen=True)
class Suite:
    """The algorithms of one profile. Names are the standards' names, stored beside what they made."""

    profile: Profile
    hash_name: str  # SHA-256 | SM3
    aead_name: str  # AES-256-GCM | SM4-GCM
    aead_key_bytes: int  # 32 | 16
    signature_name: str  # Ed25519 | SM2

    def _hash(self) -> hashes.HashAlgorithm:
        return hashes.SHA256() if self.hash_name == SHA_256 else hashes.SM3()

    def digest(self, data: bytes) -> bytes:
        hasher = hashes.Hash(self._hash())
        hasher.update(data)
        return hasher.finalize()

    def hash_function(self) -> Callable[[bytes], bytes]:
        """A one-shot digest function for hot loops (Merkle trees): OpenSSL through hashlib, whose
        per-call cost is a third of a `cryptography` Hash object's; the same bytes as digest()."""
        if self.hash_name == SHA_256:
            return lambda data: hashlib.sha256(data).digest()
        if "sm3" in hashlib.algorithms_available:
            return lambda data: hashlib.new("sm3", data).digest()
        return self.digest

    def hexdigest(self, data: bytes) -> str:
        return self.digest(data).hex()

    def hasher(self) -> hashes.Hash:
        """An incremental hash (update, finalize) for data read in pieces."""
        return hashes.Hash(self._hash())

    def counting_hasher(self) -> "Hasher":
        """An incremental hash that also counts the bytes, for bodies too large to hold at once."""
        return Hasher(self.hash_name, hashes.Hash(self._hash()))

    def mac(self, key: bytes, data: bytes) -> bytes:
        """HMAC-SHA-256 or HMAC-SM3."""
        signer = hmac.HMAC(key, self._hash())
        signer.update(data)
        return signer.finalize()

    def derive(self, master: bytes, purpose: str, length: int | None = None) -> bytes:
        """A key for one purpose from the master key (HKDF with the profile's hash, RFC 5869)."""
        size = length or self.aead_key_bytes
        return HKDF(algorithm=self._hash(), length=size, salt=None, info=b"yiwang:" + purpose.encode()).derive(master)

    def aead(self, key: bytes) -> Aead:
        if len(key) != self.aead_key_bytes:
            raise ValueError(f"{self.aead_name} needs a {self.aead_key_bytes}-byte key")
        return Aead(self.aead_name, key)

    def new_signing_key(self) -> SigningKey:
        return generate_signing_key(self.signature_name)


INTL = Suite(Profile.INTL, SHA_256, AES_256_GCM, 32, ED25519)
GM = Suite(Profile.GM, SM3, SM4_GCM, 16, SM2)
_SUITES = {Profile.INTL: INTL, Profile.GM: GM}


def suite(profile: Profile | str) -> Suite:
    """The suite of a profile; ValueError naming the choices for anything else."""
    try:
        return _SUITES[Profile(profile)]
    except ValueError:
        raise ValueError(f"unknown crypto profile {profile!r}; choose intl or gm") from None


def suite_for_hash(hash_name: str) -> Suite:
    """The suite whose hash is hash_name: records name their algorithm, so old ones stay checkable."""
    for candidate in _SUITES.values():
        if candidate.hash_name == hash_name:
            return candidate
    raise ValueError(f"unknown hash algorithm {hash_name!r}")


# Authenticator apps compute TOTP codes (RFC 6238) with HMAC-SHA-1 whatever the installation's profile:
# the code is a second factor typed by a person, not data the platform protects, so it is not a 密评
# item, and an app on the user's phone could not follow a profile switch.
TOTP_DIGEST = hashlib.sha1

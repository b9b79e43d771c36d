"""Signature keys of both profiles behind one small interface: Ed25519 and SM2 (with SM3, GM/T 0009).

SM2 signatures are DER-encoded (r, s), made over SM3(Z ‖ message) with the default distinguishing
identifier 1234567812345678, exactly as `openssl pkeyutl -sign -rawin -digest sm3` makes them, so
either side verifies the other's. Public keys travel as raw bytes: Ed25519's 32 bytes, SM2's 65-byte
uncompressed point (04 ‖ x ‖ y); private keys as unencrypted PKCS#8 PEM in 0600 files.
"""

from abc import ABC, abstractmethod
from typing import cast

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from tongsuopy.crypto import exceptions as tongsuo_exceptions
from tongsuopy.crypto import hashes as tongsuo_hashes
from tongsuopy.crypto import serialization as tongsuo_serialization
from tongsuopy.crypto.asymciphers import ec

ED25519 = "Ed25519"
SM2 = "SM2"  # SM2 signature with SM3 and the default identifier (GM/T 0009)
SM2_DEFAULT_ID = b"1234567812345678"
SM2_CURVE_OID = "1.2.156.10197.1.301"


class VerifyingKey(ABC):
    algorithm: str

    @abstractmethod
    def verify(self, signature: bytes, data: bytes) -> bool:
        """True when signature is this key's signature of data; False for anything else."""

    @abstractmethod
    def raw(self) -> bytes:
        """Ed25519: 32 bytes; SM2: the 65-byte uncompressed point."""

    @abstractmethod
    def pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM, for tools such as `openssl pkeyutl -verify`."""


class SigningKey(ABC):
    algorithm: str

    @abstractmethod
    def sign(self, data: bytes) -> bytes: ...

    @abstractmethod
    def public_key(self) -> VerifyingKey: ...

    @abstractmethod
    def private_pem(self) -> bytes:
        """Unencrypted PKCS#8 PEM: write it only to a 0600 file."""


class _Ed25519Public(VerifyingKey):
    algorithm = ED25519

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def raw(self) -> bytes:
        return self._key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def pem(self) -> bytes:
        return self._key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class _Ed25519Private(SigningKey):
    algorithm = ED25519

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def public_key(self) -> VerifyingKey:
        return _Ed25519Public(self._key.public_key())

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def ed25519(self) -> Ed25519PrivateKey:
        """The underlying key, for formats that are Ed25519 by definition (C2SP signed notes)."""
        return self._key


_SM2_SIGNATURE = ec.ECDSA(tongsuo_hashes.SM3())


class _Sm2Public(VerifyingKey):
    algorithm = SM2

    def __init__(self, key: ec.EllipticCurvePublicKey) -> None:
        self._key = key

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self._key.verify(signature, data, _SM2_SIGNATURE)
        except (tongsuo_exceptions.InvalidSignature, ValueError):
            return False
        return True

    def raw(self) -> bytes:
        return cast(
            bytes,
            self._key.public_bytes(
                tongsuo_serialization.Encoding.X962, tongsuo_serialization.PublicFormat.UncompressedPoint
            ),
        )

    def pem(self) -> bytes:
        return cast(
            bytes,
            self._key.public_bytes(
                tongsuo_serialization.Encoding.PEM, tongsuo_serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )


class _Sm2Private(SigningKey):
    algorithm = SM2

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    def sign(self, data: bytes) -> bytes:
        return cast(bytes, self._key.sign(data, _SM2_SIGNATURE))

    def public_key(self) -> VerifyingKey:
        return _Sm2Public(self._key.public_key())

    def private_pem(self) -> bytes:
        return cast(
            bytes,
            self._key.private_bytes(
                tongsuo_serialization.Encoding.PEM,
                tongsuo_serialization.PrivateFormat.PKCS8,
                tongsuo_serialization.NoEncryption(),
            ),
        )


def generate_signing_key(algorithm: str) -> SigningKey:
    if algorithm == ED25519:
        return _Ed25519Private(Ed25519PrivateKey.generate())
    if algorithm == SM2:
        return _Sm2Private(ec.generate_private_key(ec.SM2()))
    raise ValueError(f"unknown signature algorithm {algorithm!r}")


def load_signing_key(pem: bytes) -> SigningKey:
    """A PKCS#8 PEM private key of either algorithm; ValueError for anything else."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None  # not a key `cryptography` knows: SM2 keys are read by Tongsuo below
    if isinstance(key, Ed25519PrivateKey):
        return _Ed25519Private(key)
    sm2 = tongsuo_serialization.load_pem_private_key(pem, password=None)
    if isinstance(sm2, ec.EllipticCurvePrivateKey) and isinstance(sm2.curve, ec.SM2):
        return _Sm2Private(sm2)
    raise ValueError("not an Ed25519 or SM2 private key")


def load_verifying_key(algorithm: str, raw: bytes) -> VerifyingKey:
    """A public key from its raw bytes; ValueError when they are not a valid key of that algorithm."""
    if algorithm == ED25519:
        return _Ed25519Public(Ed25519PublicKey.from_public_bytes(raw))
    if algorithm == SM2:
        return _Sm2Public(ec.EllipticCurvePublicKey.from_encoded_point(ec.SM2(), raw))
    raise ValueError(f"unknown signature algorithm {algorithm!r}")


def load_verifying_pem(pem: bytes) -> VerifyingKey:
    """A SubjectPublicKeyInfo PEM public key of either algorithm (e.g. one made by openssl)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if isinstance(key, Ed25519PublicKey):
        return _Ed25519Public(key)
    sm2 = tongsuo_serialization.load_pem_public_key(pem)
    if isinstance(sm2, ec.EllipticCurvePublicKey) and isinstance(sm2.curve, ec.SM2):
        return _Sm2Public(sm2)
    raise ValueError("not an Ed25519 or SM2 public key")

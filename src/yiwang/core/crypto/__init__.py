"""The platform's one crypto service: profiles and their algorithms (suites), signature keys, field
encryption and keyed hashes. No other module calls a hash, cipher or signature algorithm itself."""

from yiwang.core.crypto.fields import (
    FieldCipher,
    load_or_create_master_key,
    load_or_create_signing_key,
    new_secret_token,
    public_key_b64,
    sha256_hex,
    write_new_secret,
)
from yiwang.core.crypto.signing import (
    ED25519,
    SM2,
    SigningKey,
    VerifyingKey,
    generate_signing_key,
    load_signing_key,
    load_verifying_key,
    load_verifying_pem,
)
from yiwang.core.crypto.suites import GM, INTL, SHA_256, SM3, Aead, Hasher, Profile, Suite, suite, suite_for_hash

__all__ = [
    "ED25519",
    "GM",
    "INTL",
    "SHA_256",
    "SM2",
    "SM3",
    "Aead",
    "FieldCipher",
    "Hasher",
    "Profile",
    "SigningKey",
    "Suite",
    "VerifyingKey",
    "generate_signing_key",
    "load_or_create_master_key",
    "load_or_create_signing_key",
    "load_signing_key",
    "load_verifying_key",
    "load_verifying_pem",
    "new_secret_token",
    "public_key_b64",
    "sha256_hex",
    "suite",
    "suite_for_hash",
    "write_new_secret",
]

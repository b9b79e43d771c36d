"""What an outside party needs to check the platform's message signatures in either crypto profile,
without the platform's code: the `http-message-signatures` library with Ed25519 and SHA-256 (intl), or,
for gm's `sm2-sm3` and `sm3` Content-Digest (outside the RFC 9421 and 9530 registries), an algorithm
class that hands each SM2 signature to the OpenSSL command line and a digest class with SM3."""

import base64
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import http_message_signatures as hms
from http_message_signatures import ContentDigest
from http_message_signatures.exceptions import HTTPMessageSignaturesException

PROFILE = os.environ.get("YIWANG_CRYPTO_PROFILE", "intl")
HASH = "sha256" if PROFILE == "intl" else "sm3"  # hashlib's name (OpenSSL provides SM3)
DIGEST_LABEL = "sha-256" if PROFILE == "intl" else "sm3"
CHAIN_HASH_NAME = "SHA-256" if PROFILE == "intl" else "SM3"


def hexdigest(data: bytes) -> str:
    return hashlib.new(HASH, data).hexdigest()


def content_digest(body: bytes) -> str:
    """The Content-Digest field value (RFC 9530) the platform sends for a body."""
    return f"{DIGEST_LABEL}=:{base64.b64encode(hashlib.new(HASH, body).digest()).decode()}:"


class SM2WithOpenSSL(hms.algorithms.HTTPSignatureAlgorithm):
    """`sm2-sm3`: SM2 over SM3 with the default identifier, verified by `openssl pkeyutl`."""

    algorithm_id = "sm2-sm3"

    def __init__(self, public_key: Any = None, private_key: Any = None) -> None:
        self.public_pem = public_key

    def sign(self, message: bytes) -> bytes:
        raise NotImplementedError("the outside party only verifies")

    def verify(self, signature: bytes, message: bytes) -> None:
        with tempfile.TemporaryDirectory() as folder:
            base = Path(folder)
            (base / "pub.pem").write_bytes(self.public_pem)
            (base / "msg").write_bytes(message)
            (base / "sig").write_bytes(signature)
            done = subprocess.run(
                ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(base / "pub.pem"), "-rawin",
                 "-in", str(base / "msg"), "-sigfile", str(base / "sig"), "-digest", "sm3",
                 "-pkeyopt", "distid:1234567812345678"],
                capture_output=True,
                check=False,
            )  # fmt: skip
        if done.returncode != 0 or b"Signature Verified Successfully" not in done.stdout:
            raise HTTPMessageSignaturesException("the SM2 signature does not verify (openssl)")


class _DigestWithSM3(ContentDigest):
    _hashers: ClassVar = {**ContentDigest._hashers, "sm3": lambda data=b"": hashlib.new("sm3", data)}


class Verifier(hms.HTTPMessageVerifier):
    content_digest_class = _DigestWithSM3


def verifier(key_resolver: hms.HTTPSignatureKeyResolver) -> hms.HTTPMessageVerifier:
    """The library's verifier for the profile the platform runs in."""
    algorithm = hms.algorithms.ED25519 if PROFILE == "intl" else SM2WithOpenSSL
    return Verifier(signature_algorithm=algorithm, key_resolver=key_resolver)

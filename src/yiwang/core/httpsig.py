"""HTTP Message Signatures (RFC 9421) with Content-Digest (RFC 9530), made with the platform's keys.

The structured-field work — component values, the signature base, `Signature-Input` and `Signature`
— is done by the `http-message-signatures` library; the signing itself by the crypto service
(`core.crypto.SigningKey`), so the profile decides the algorithm:

- intl: `alg="ed25519"` (RFC 9421 §3.3.6), Content-Digest `sha-256` (RFC 9530).
- gm: `alg="sm2-sm3"`, which is not in the RFC 9421 registry: an SM2 signature with SM3 and the default
  identifier 1234567812345678 (GM/T 0009), DER-encoded; Content-Digest `sm3`, not in the RFC 9530
  registry either: the SM3 digest of the body.

Bodies are digested by the caller (incrementally, they may be large); the digest is set as the
message's Content-Digest field and covered like any other field.
"""

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import http_sf
from http_message_signatures import ContentDigest, HTTPMessageSigner, HTTPSignatureAlgorithm
from http_message_signatures.structures import CaseInsensitiveDict

from yiwang.core.crypto import ED25519, SHA_256, SM2, SigningKey, VerifyingKey

LABEL = "yiwang"
ALGORITHMS = {ED25519: "ed25519", SM2: "sm2-sm3"}
DIGEST_NAMES = {SHA_256: "sha-256", "SM3": "sm3"}


def content_digest(hash_name: str, digest: bytes) -> str:
    """The Content-Digest field value of a body whose digest (SHA-256 or SM3) was computed by the caller."""
    return f"{DIGEST_NAMES[hash_name]}=:{base64.b64encode(digest).decode()}:"


class _PresetDigest(ContentDigest):
    """The caller sets Content-Digest itself (from an incremental hash); the library only covers it."""

    @classmethod
    def prepare(cls, headers: Any, body: bytes | None, *, use_existing_digest: bool) -> None:
        return None


def _algorithm(name: str) -> type[HTTPSignatureAlgorithm]:
    """A stand-in naming the algorithm: prepare() and apply() need only its id; the signature itself
    is made by the crypto service."""

    class External(HTTPSignatureAlgorithm):
        algorithm_id = name

        def __init__(self, public_key: object = None, private_key: object = None) -> None:
            raise NotImplementedError("signatures are made by yiwang.core.crypto")

    return External


_ALGORITHM_CLASSES = {alg: _algorithm(name) for alg, name in ALGORITHMS.items()}


class _Signer(HTTPMessageSigner):
    content_digest_class = _PresetDigest


def _fields(values: Mapping[str, str]) -> CaseInsensitiveDict:
    return CaseInsensitiveDict(dict(values))  # type: ignore[no-untyped-call]  # the library's own mapping


@dataclass
class _Request:
    method: str
    url: str
    headers: CaseInsensitiveDict


@dataclass
class _Response:
    status_code: int
    headers: CaseInsensitiveDict
    request: _Request


@dataclass(frozen=True)
class MessageSignature:
    """A signature as sent (the two header fields) and the exact base it was made over."""

    key_id: str
    alg: str
    signature_input: str  # the Signature-Input field value
    signature: str  # the Signature field value
    signature_base: str


def _sign(
    message: _Request | _Response,
    *,
    key: SigningKey,
    key_id: str,
    components: Sequence[str],
    tag: str,
    created: datetime,
) -> MessageSignature:
    signer = _Signer(signature_algorithm=_ALGORITHM_CLASSES[key.algorithm])
    prepared = signer.prepare(
        message, key_id=key_id, created=created, label=LABEL, tag=tag, covered_component_ids=tuple(components)
    )
    # The two fields hold one member each, so they are written here rather than by the library's
    # apply(), which builds the whole signature base a second time to check it did not change.
    signature = base64.b64encode(key.sign(prepared.signature_base)).decode()
    return MessageSignature(
        key_id=key_id,
        alg=ALGORITHMS[key.algorithm],
        signature_input=f"{LABEL}={prepared.signature_params}",
        signature=f"{LABEL}=:{signature}:",
        signature_base=prepared.signature_base.decode("ascii"),
    )


def sign_request(
    *,
    key: SigningKey,
    key_id: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    components: Sequence[str],
    tag: str,
    created: datetime,
) -> MessageSignature:
    """Sign a request to be sent: the covered components are taken from method, url and headers."""
    return _sign(
        _Request(method, url, _fields(headers)),
        key=key,
        key_id=key_id,
        components=components,
        tag=tag,
        created=created,
    )


def sign_response(
    *,
    key: SigningKey,
    key_id: str,
    status: int,
    headers: Mapping[str, str],
    request_method: str,
    request_url: str,
    components: Sequence[str],
    tag: str,
    created: datetime,
) -> MessageSignature:
    """Sign a response; components with `;req` are taken from the request it answers."""
    request = _Request(request_method, request_url, _fields({}))
    return _sign(
        _Response(status, _fields(headers), request),
        key=key,
        key_id=key_id,
        components=components,
        tag=tag,
        created=created,
    )


def signature_bytes(signature_field: str, label: str = LABEL) -> bytes | None:
    """The signature under label in a Signature field value, or None if it has none."""
    try:
        parsed = http_sf.parse(signature_field.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeEncodeError):
        return None
    member = parsed.get(label) if isinstance(parsed, dict) else None
    if not isinstance(member, tuple) or not isinstance(member[0], bytes):
        return None
    return member[0]


def verify_stored(verifier: VerifyingKey, *, signature_base: str, signature_field: str) -> bool:
    """Check a logged signature against the exact base it was made over (evidence, `verify-messages`)."""
    raw = signature_bytes(signature_field)
    return raw is not None and verifier.verify(raw, signature_base.encode("ascii"))

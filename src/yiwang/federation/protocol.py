"""The wire format between peers: a JSON envelope signed as an RFC 9421 HTTP message signature.

The body is the envelope `{"id", "kind", "sender", "recipient", "created", "payload"}`; its digest is
the `Content-Digest` header (RFC 9530: `sha-256` under the intl profile, `sm3` under gm). The
signature covers the method, the path, the content type and that digest, with the parameters
`created` (when this attempt was signed), `keyid` (the sender's key fingerprint), `alg` and `nonce`
(the message id), so a body cannot be swapped under a signature and the signature names its message.
A retry signs the same envelope afresh: the message id stays, the signing time moves.
"""

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime

from yiwang.core.crypto import ED25519, GM, INTL, SM2, SigningKey, VerifyingKey
from yiwang.core.errors import AppError

PATH = "/api/federation/messages"
LABEL = "fed"
COMPONENTS = ('"@method"', '"@path"', '"content-type"', '"content-digest"')
CONTENT_TYPE = "application/json"
ALGORITHM_NAMES = {ED25519: "ed25519", SM2: "sm2-sm3"}  # RFC 9421's name for Ed25519; SM2 has none registered
DIGEST_NAMES = {"sha-256": INTL, "sm3": GM}
_PARAMS = re.compile(
    r'^fed=\("@method" "@path" "content-type" "content-digest"\)'
    r';created=(?P<created>\d{1,12});keyid="(?P<keyid>[A-Za-z0-9:_-]{1,80})"'
    r';alg="(?P<alg>[a-z0-9-]{1,20})";nonce="(?P<nonce>[a-f0-9]{32})"$'
)
_SIGNATURE = re.compile(r"^fed=:(?P<value>[A-Za-z0-9+/=]{1,400}):$")
_DIGEST = re.compile(r"^(?P<name>sha-256|sm3)=:(?P<value>[A-Za-z0-9+/=]{1,100}):$")


class MessageRefused(AppError):
    """A peer message that is not accepted; the code says why (unsigned, forged, replayed …)."""

    status_code = 401
    code = "message_refused"
    message = "对接消息未被接受"


def fingerprint(algorithm: str, public_key: bytes) -> str:
    """The key's fingerprint for the out-of-band check: the profile's hash of algorithm and key, grouped."""
    digest_suite = GM if algorithm == SM2 else INTL
    hexed = digest_suite.hexdigest(algorithm.encode() + b":" + public_key)[:40].upper()
    return ":".join(hexed[i : i + 4] for i in range(0, 40, 4))


def key_id(algorithm: str, public_key: bytes) -> str:
    """How a sender names its key in `keyid`: the fingerprint without separators."""
    return fingerprint(algorithm, public_key).replace(":", "")


def content_digest(body: bytes, algorithm: str) -> str:
    name, digest_suite = ("sm3", GM) if algorithm == SM2 else ("sha-256", INTL)
    return f"{name}=:{base64.b64encode(digest_suite.digest(body)).decode()}:"


def _params(created: int, keyid: str, alg: str, nonce: str) -> str:
    return f'({" ".join(COMPONENTS)});created={created};keyid="{keyid}";alg="{alg}";nonce="{nonce}"'


def signature_base(*, method: str, path: str, digest: str, params: str) -> bytes:
    """The RFC 9421 signature base of the components the peers sign."""
    lines = [
        f'"@method": {method.upper()}',
        f'"@path": {path}',
        f'"content-type": {CONTENT_TYPE}',
        f'"content-digest": {digest}',
        f'"@signature-params": {params}',
    ]
    return "\n".join(lines).encode()


def envelope(*, message_id: str, kind: str, sender: str, recipient: str, created: datetime, payload: object) -> str:
    return json.dumps(
        {
            "id": message_id,
            "kind": kind,
            "sender": sender,
            "recipient": recipient,
            "created": created.isoformat(),
            "payload": payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )


def sign(*, body: bytes, key: SigningKey, keyid: str, message_id: str, signed_at: int) -> dict[str, str]:
    """The headers that make a POST of body to PATH a signed peer message."""
    digest = content_digest(body, key.algorithm)
    params = _params(signed_at, keyid, ALGORITHM_NAMES[key.algorithm], message_id)
    signature = key.sign(signature_base(method="POST", path=PATH, digest=digest, params=params))
    return {
        "Content-Type": CONTENT_TYPE,
        "Content-Digest": digest,
        "Signature-Input": f"{LABEL}={params}",
        "Signature": f"{LABEL}=:{base64.b64encode(signature).decode()}:",
    }


@dataclass(frozen=True)
class SignedRequest:
    """What the signature headers claim, parsed but not yet verified."""

    keyid: str
    created: int
    algorithm: str
    nonce: str
    params: str
    digest: str
    signature: bytes


def parse(headers: dict[str, str]) -> SignedRequest:
    """The signature's claims; MessageRefused (unsigned) when the headers are missing or malformed."""
    raw_input, raw_signature, digest = (
        headers.get("signature-input", ""),
        headers.get("signature", ""),
        headers.get("content-digest", ""),
    )
    if not raw_input or not raw_signature:
        raise MessageRefused("对接消息未签名", code="unsigned")
    params, signature, digest_match = _PARAMS.match(raw_input), _SIGNATURE.match(raw_signature), _DIGEST.match(digest)
    if params is None or signature is None or digest_match is None:
        raise MessageRefused("签名头格式不正确", code="malformed_signature")
    algorithm = {v: k for k, v in ALGORITHM_NAMES.items()}.get(params["alg"])
    if algorithm is None:
        raise MessageRefused("不支持的签名算法", code="unsupported_algorithm")
    return SignedRequest(
        keyid=params["keyid"],
        created=int(params["created"]),
        algorithm=algorithm,
        nonce=params["nonce"],
        params=raw_input.removeprefix(f"{LABEL}="),
        digest=digest,
        signature=base64.b64decode(signature["value"]),
    )


def verify(request: SignedRequest, *, body: bytes, key: VerifyingKey) -> None:
    """MessageRefused unless the body matches its digest and the pinned key signed the base."""
    name, _, _ = request.digest.partition("=")
    digest_suite = DIGEST_NAMES[name]
    if content_digest(body, SM2 if digest_suite is GM else ED25519) != request.digest:
        raise MessageRefused("消息体与摘要不符", code="digest_mismatch")
    if key.algorithm != request.algorithm:
        raise MessageRefused("签名算法与登记的公钥不符", code="bad_signature")
    base = signature_base(method="POST", path=PATH, digest=request.digest, params=request.params)
    if not key.verify(request.signature, base):
        raise MessageRefused("签名验证失败", code="bad_signature")

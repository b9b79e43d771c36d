"""The transparency log as anyone sees it: what it records for a certificate (canonical JSON, the
entries of an issuance and a revocation), the latest signed checkpoint, and the verification of a
certificate (signature, issuer, inclusion, revocation, validity).
"""

import base64
import hashlib
import json
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.certs import identifiers, notes, translog, verifier
from yiwang.certs.keys import KeyStore
from yiwang.certs.models import Certificate, CertificateType, IssuerKey
from yiwang.certs.schemas import (
    Check,
    CheckpointRead,
    VerificationResult,
)
from yiwang.core.errors import NotFound
from yiwang.core.identifiers import IdentifierError
from yiwang.core.masking import mask_name
from yiwang.core.timeutil import SHANGHAI, utcnow


def canonical_json(value: Any) -> bytes:
    """The signed form: UTF-8 JSON, keys sorted, no insignificant whitespace."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def issue_leaf(cert: Certificate, key: IssuerKey) -> bytes:
    """The log entry of an issuance: binds identifier, content digest, signature and key."""
    return canonical_json(
        {
            "type": "issue",
            "identifier": cert.identifier,
            "content_sha256": hashlib.sha256(cert.content.encode()).hexdigest(),
            "signature": cert.signature,
            "key": key.name,
        }
    )


def revoke_leaf(cert: Certificate) -> bytes:
    return canonical_json(
        {
            "type": "revoke",
            "identifier": cert.identifier,
            "reason": cert.revoke_reason or "",
            "revoked_at": cert.revoked_at.isoformat() if cert.revoked_at else "",
        }
    )


def certificate_status(cert: Certificate, today: date | None = None) -> str:
    if cert.status == "revoked":
        return "revoked"
    today = today or utcnow().astimezone(SHANGHAI).date()
    if cert.valid_until is not None and cert.valid_until < today:
        return "expired"
    return "valid"


def checkpoint(db: Session, *, keys: KeyStore, origin: str) -> CheckpointRead:
    """The latest signed checkpoint (signing one if the log has none yet) and the log's public key."""
    latest = translog.latest_checkpoint(db)
    if latest is None:
        latest = translog.sign_checkpoint(db, key=keys.log_key(), origin=origin)
    public = notes.raw_public_key(keys.log_key().public_key())
    return CheckpointRead(
        checkpoint=latest.note,
        origin=origin,
        tree_size=latest.tree_size,
        root_hash=translog.b64(latest.root_hash),
        public_key=base64.b64encode(public).decode(),
        verifier_key=notes.verifier_key(origin, public),
        created_at=latest.created_at,
    )


def verify(db: Session, *, keys: KeyStore, origin: str, identifier: str) -> VerificationResult:
    """Check identifier, issuer signature, inclusion under the latest checkpoint, revocation, validity."""
    checks: list[Check] = []
    try:
        identifiers.parse_identifier(identifier)
    except IdentifierError as exc:
        checks.append(Check(name="identifier", label="证照标识", ok=False, message=str(exc)))
        return VerificationResult(identifier=identifier, ok=False, checks=checks)
    checks.append(Check(name="identifier", label="证照标识", ok=True, message="标识格式与校验位正确"))
    cert = db.execute(
        select(Certificate).where(Certificate.identifier == identifier.strip().upper())
    ).scalar_one_or_none()
    if cert is None:
        raise NotFound("未找到该电子证照")
    key = db.get(IssuerKey, cert.issuer_key_id)
    ctype = db.get(CertificateType, cert.type_id)
    assert key is not None and ctype is not None
    checks.append(_check_signature(cert, key))
    checks.append(_check_issuer(cert, ctype, key))
    inclusion, cp_note, path = _check_inclusion(db, keys, origin, cert, key)
    checks.append(inclusion)
    status = certificate_status(cert)
    checks.append(
        Check(
            name="revocation",
            label="注销状态",
            ok=status != "revoked",
            message=f"已于{cert.revoked_at:%Y-%m-%d}注销：{cert.revoke_reason}" if cert.revoked_at else "未注销",
        )
    )
    today = utcnow().astimezone(SHANGHAI).date()
    in_period = cert.valid_from <= today and (cert.valid_until is None or today <= cert.valid_until)
    period = f"{cert.valid_from} 至 {cert.valid_until or '长期'}"
    checks.append(
        Check(
            name="validity",
            label="有效期",
            ok=in_period,
            message=("在有效期内（" if in_period else "不在有效期内（") + period + "）",
        )
    )
    summary = {
        "type_code": ctype.code,
        "type_name": ctype.name,
        "issuer_code": key.issuer_code,
        "issuer": json.loads(cert.content).get("issuer"),
        "holder_name": mask_name(cert.holder_name),
        "holder_code": cert.holder_code_masked,
        "issued_at": cert.issued_at.isoformat(),
        "status": status,
        "valid_from": cert.valid_from.isoformat(),
        "valid_until": cert.valid_until.isoformat() if cert.valid_until else None,
        "issuer_key": key.name,
        "issuer_public_key": key.public_key,
    }
    return VerificationResult(
        identifier=cert.identifier,
        ok=all(c.ok for c in checks),
        checks=checks,
        certificate=summary,
        checkpoint=cp_note,
        log_index=cert.log_index,
        audit_path=[h.hex() for h in path],
    )


def _check_signature(cert: Certificate, key: IssuerKey) -> Check:
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key))
        public.verify(base64.b64decode(cert.signature), cert.content.encode())
    except (InvalidSignature, ValueError):
        return Check(name="signature", label="颁证单位签名", ok=False, message="签名与证照内容不符（内容可能被篡改）")
    if json.loads(cert.content).get("identifier") != cert.identifier:
        return Check(name="signature", label="颁证单位签名", ok=False, message="签名内容中的标识与证照标识不一致")
    return Check(name="signature", label="颁证单位签名", ok=True, message=f"{key.name} 的 Ed25519 签名有效")


def _check_issuer(cert: Certificate, ctype: CertificateType, key: IssuerKey) -> Check:
    """A valid signature is not enough: the signing department must be the one the type names."""
    label = "颁证单位资格"
    signed_type = json.loads(cert.content).get("type_code")
    if signed_type != ctype.code:
        return Check(name="issuer", label=label, ok=False, message="签名内容中的证照类型与登记的类型不一致")
    if ctype.issuer_department_code is None:
        return Check(name="issuer", label=label, ok=False, message=f"“{ctype.name}”未指定颁证部门")
    if key.department_code != ctype.issuer_department_code:
        expected = f"颁证部门为 {ctype.issuer_department_code}"
        message = f"签名部门 {key.department_code} 无权颁发“{ctype.name}”（{expected}）"
        return Check(name="issuer", label=label, ok=False, message=message)
    return Check(name="issuer", label=label, ok=True, message=f"由“{ctype.name}”的颁证部门 {key.department_code} 签发")


def _check_inclusion(
    db: Session, keys: KeyStore, origin: str, cert: Certificate, key: IssuerKey
) -> tuple[Check, str | None, list[bytes]]:
    label = "透明日志"
    latest = translog.latest_checkpoint(db)
    if latest is None or latest.tree_size <= cert.log_index:
        return Check(name="inclusion", label=label, ok=False, message="最新检查点尚未包含该证照"), None, []
    public = notes.raw_public_key(keys.log_key().public_key())
    try:
        body = notes.parse_checkpoint(notes.open_note(latest.note, name=origin, public_key=public))
    except notes.NoteError as exc:
        return Check(name="inclusion", label=label, ok=False, message=f"检查点无效：{exc}"), latest.note, []
    leaf = issue_leaf(cert, key)
    stored = translog.entry(db, cert.log_index)
    path = translog.inclusion_proof(db, index=cert.log_index, size=body.tree_size)
    if stored != leaf:
        return Check(name="inclusion", label=label, ok=False, message="日志中的条目与证照不一致"), latest.note, path
    try:
        verifier.verify_inclusion(
            leaf=leaf, index=cert.log_index, tree_size=body.tree_size, path=path, root=body.root_hash
        )
    except verifier.ProofError as exc:
        return Check(name="inclusion", label=label, ok=False, message=f"包含性证明失败：{exc}"), latest.note, path
    message = f"第 {cert.log_index} 条，已包含于大小为 {body.tree_size} 的已签名树头"
    return Check(name="inclusion", label=label, ok=True, message=message), latest.note, path

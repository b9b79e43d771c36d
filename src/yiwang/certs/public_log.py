"""The transparency log as anyone sees it: what it records for a certificate (canonical JSON, the
entries of an issuance and a revocation), the latest signed checkpoint of each log, and the
verification of a certificate (signature, issuer, inclusion, revocation, validity) in either profile.
"""

import base64
import json
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.certs import identifiers, logs, notes, translog, verifier
from yiwang.certs.models import Certificate, CertificateType, IssuerKey
from yiwang.certs.schemas import Check, CheckpointRead, LogAlgorithms, VerificationResult
from yiwang.certs.translog import LogInfo, canonical_json
from yiwang.core.crypto import ED25519, load_verifying_key, suite_for_hash
from yiwang.core.errors import NotFound
from yiwang.core.identifiers import IdentifierError
from yiwang.core.keyring import SigningContext
from yiwang.core.masking import mask_name
from yiwang.core.timeutil import local_today

__all__ = ["canonical_json", "certificate_status", "checkpoint", "issue_leaf", "revoke_leaf", "verify"]


def issue_leaf(cert: Certificate, key: IssuerKey, log: LogInfo) -> bytes:
    """The log entry of an issuance: binds identifier, content digest (with the log's hash, named
    content_sha256 or content_sm3), signature and key; a key other than Ed25519 is named with its
    algorithm too. An intl log's entries keep exactly the form they had before gm existed."""
    digest_field = "content_" + log.hash_name.replace("-", "").lower()
    entry = {
        "type": "issue",
        "identifier": cert.identifier,
        digest_field: suite_for_hash(log.hash_name).hexdigest(cert.content.encode()),
        "signature": cert.signature,
        "key": key.name,
    }
    if key.algorithm != ED25519:
        entry["signature_algorithm"] = key.algorithm
    return canonical_json(entry)


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
    today = today or local_today()
    if cert.valid_until is not None and cert.valid_until < today:
        return "expired"
    return "valid"


def _origin(db: Session, signing: SigningContext, log_id: int | None) -> str | None:
    return logs.get_log(db, signing, log_id).origin if log_id is not None else None


def checkpoint(db: Session, *, signing: SigningContext, log_id: int | None = None) -> CheckpointRead:
    """A log's latest signed checkpoint (the active log's unless log_id names another; signing one if
    the log has none yet), its algorithms and its public key."""
    log = logs.get_log(db, signing, log_id)
    latest = translog.latest_checkpoint(db, log.id) or logs.sign_checkpoint(db, signing, log)
    public = logs.log_key(signing, log).public_key()
    raw = public.raw()
    algorithms = LogAlgorithms(
        hash=log.hash_name,
        signature=log.signature_algorithm,
        note_signature_type=notes.note_type(log.signature_algorithm).hex(),
        key_id=notes.key_id(log.origin, raw, log.signature_algorithm).hex(),
    )
    return CheckpointRead(
        checkpoint=latest.note,
        log_id=log.id,
        origin=log.origin,
        state=log.state,
        algorithms=algorithms,
        tree_size=latest.tree_size,
        root_hash=translog.b64(latest.root_hash),
        public_key=base64.b64encode(raw).decode(),
        public_key_pem=public.pem().decode(),
        verifier_key=notes.verifier_key(log.origin, raw, log.signature_algorithm),
        predecessor=_origin(db, signing, log.predecessor_id),
        successor=_origin(db, signing, log.successor_id),
        created_at=latest.created_at,
    )


def verify(db: Session, *, signing: SigningContext, identifier: str) -> VerificationResult:
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
    log = logs.get_log(db, signing, cert.log_id)
    inclusion, cp_note, path = _check_inclusion(db, signing, log, cert, key)
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
    today = local_today()
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
        "issuer_key_version": key.version,
        "signature_algorithm": key.algorithm,
        "issuer_public_key": key.public_key,
    }
    return VerificationResult(
        identifier=cert.identifier,
        ok=all(c.ok for c in checks),
        checks=checks,
        certificate=summary,
        checkpoint=cp_note,
        log_id=log.id,
        log_origin=log.origin,
        log_hash=log.hash_name,
        log_index=cert.log_index,
        audit_path=[h.hex() for h in path],
    )


def _check_signature(cert: Certificate, key: IssuerKey) -> Check:
    """The seal, checked with the algorithm of the key that made it, whatever the profile is now."""
    label = "颁证单位签名"
    try:
        public = load_verifying_key(key.algorithm, base64.b64decode(key.public_key))
        valid = public.verify(base64.b64decode(cert.signature), cert.content.encode())
    except ValueError:
        valid = False
    if not valid:
        return Check(name="signature", label=label, ok=False, message="签名与证照内容不符（内容可能被篡改）")
    signed = json.loads(cert.content)
    if signed.get("identifier") != cert.identifier:
        return Check(name="signature", label=label, ok=False, message="签名内容中的标识与证照标识不一致")
    if signed.get("key", key.name) != key.name or signed.get("signature_algorithm", key.algorithm) != key.algorithm:
        return Check(name="signature", label=label, ok=False, message="签名内容所指明的密钥与签名密钥不一致")
    who = f"{key.department_code} 第 {key.version} 版印章密钥 {key.name}"
    return Check(name="signature", label=label, ok=True, message=f"{who} 的 {key.algorithm} 签名有效")


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
    db: Session, signing: SigningContext, log: LogInfo, cert: Certificate, key: IssuerKey
) -> tuple[Check, str | None, list[bytes]]:
    """Inclusion in the log the certificate went to, under that log's latest checkpoint (for a frozen
    log, its final one), with that log's hash and checkpoint signature."""
    label = "透明日志"
    latest = translog.latest_checkpoint(db, log.id)
    if latest is None or latest.tree_size <= cert.log_index:
        return Check(name="inclusion", label=label, ok=False, message="最新检查点尚未包含该证照"), None, []
    public = logs.log_key(signing, log).public_key().raw()
    try:
        text = notes.open_note(latest.note, name=log.origin, public_key=public, algorithm=log.signature_algorithm)
        body = notes.parse_checkpoint(text)
    except notes.NoteError as exc:
        return Check(name="inclusion", label=label, ok=False, message=f"检查点无效：{exc}"), latest.note, []
    leaf = issue_leaf(cert, key, log)
    stored = translog.entry(db, log.id, cert.log_index)
    path = translog.inclusion_proof(db, log, index=cert.log_index, size=body.tree_size)
    if stored != leaf:
        return Check(name="inclusion", label=label, ok=False, message="日志中的条目与证照不一致"), latest.note, path
    try:
        verifier.verify_inclusion(
            leaf=leaf,
            index=cert.log_index,
            tree_size=body.tree_size,
            path=path,
            root=body.root_hash,
            hash_name=log.hash_name,
        )
    except verifier.ProofError as exc:
        return Check(name="inclusion", label=label, ok=False, message=f"包含性证明失败：{exc}"), latest.note, path
    frozen = "，已冻结" if log.state == "frozen" else ""
    which = f"{log.origin}（{log.hash_name} 树，{log.signature_algorithm} 签名{frozen}）"
    message = f"{which}第 {cert.log_index} 条，已包含于大小为 {body.tree_size} 的已签名树头"
    return Check(name="inclusion", label=label, ok=True, message=message), latest.note, path

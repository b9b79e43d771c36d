"""Rules of 电子证照: types, issuing and revoking signed certificates, the wallet, use log, verification.

Other domains call these functions (onestop issues certificates on approval and logs their use). The
public side of the transparency log (checkpoint, verification) lives in public_log.py and is
re-exported here.
"""

import base64
import json
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from yiwang.certs import identifiers, logs, seals, translog
from yiwang.certs import permissions as perm
from yiwang.certs.identifiers import demo_credit_code, department_credit_code
from yiwang.certs.models import Certificate, CertificateType, CertificateUse, IssuerKey, SerialCounter
from yiwang.certs.public_log import canonical_json, certificate_status, checkpoint, issue_leaf, revoke_leaf, verify

# the read model other domains use, re-exported
from yiwang.certs.reads import (
    counts as counts,
)
from yiwang.certs.schemas import (
    CertificateIssued,
    CertificateRead,
    CertificateRevoked,
    CertificateTypeCreate,
    CertificateTypeRead,
    CertificateUseRead,
    CheckpointRead,
    IssuerKeyRead,
)
from yiwang.core import audit, events
from yiwang.core.crypto import suite
from yiwang.core.db import next_counter_value
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.identifiers import IdentifierError
from yiwang.core.inputs import check_parameters
from yiwang.core.keyring import SigningContext
from yiwang.core.security import Principal, check_department_scope
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.org import service as org_service

# Who the audit chain names for what the certs domain does on its own (a profile switch's log change).
LOG_KEEPER = Principal(user_id=None, username="system:certs", display_name="电子证照", kind="system")

__all__ = [
    "checkpoint",
    "counts",
    "create_type",
    "demo_credit_code",
    "department_credit_code",
    "get_certificate",
    "get_type",
    "issue_certificate",
    "issuer_public_keys",
    "issuing_department",
    "list_types",
    "list_uses",
    "record_use",
    "record_uses",
    "revoke_certificate",
    "rotate_seal_key",
    "sign_log_checkpoint",
    "switch_profile",
    "transparency_logs",
    "usable_certificates",
    "verify",
    "wallet",
]

# ---- types -----------------------------------------------------------------------------------


def list_types(db: Session) -> list[CertificateTypeRead]:
    rows = db.execute(select(CertificateType).order_by(CertificateType.id)).scalars()
    return [CertificateTypeRead.model_validate(t) for t in rows]


def _type(db: Session, code: str) -> CertificateType:
    check_parameters(code)
    found = db.execute(select(CertificateType).where(CertificateType.code == code)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"证照类型 {code} 不存在")
    return found


def get_type(db: Session, *, code: str) -> CertificateTypeRead:
    return CertificateTypeRead.model_validate(_type(db, code))


def create_type(db: Session, *, actor: Principal, data: CertificateTypeCreate) -> CertificateTypeRead:
    """Register a certificate type; its code embeds the ministry's credit code (checked)."""
    try:
        identifiers.make_identifier(
            type_code=data.code, issuer_code=department_credit_code("DSJ"), serial="1", version="001"
        )
    except IdentifierError as exc:
        raise ValidationFailed(str(exc)) from exc
    if db.execute(select(CertificateType.id).where(CertificateType.code == data.code)).first():
        raise Conflict(f"证照类型代码 {data.code} 已存在")
    check_parameters(data.issuer_department_code)
    try:
        org_service.get_department_by_code(db, code=data.issuer_department_code)
    except NotFound as exc:
        raise ValidationFailed(f"颁证部门 {data.issuer_department_code} 不存在", code="unknown_issuer") from exc
    row = CertificateType(**data.model_dump(), created_at=utcnow())
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="certs.type.create",
        target_type="cert_type",
        target_id=data.code,
        details={"name": data.name, "issuer": data.issuer_department_code},
    )
    return CertificateTypeRead.model_validate(row)


# ---- keys and logs ---------------------------------------------------------------------------


def issuer_public_keys(db: Session) -> list[IssuerKeyRead]:
    """Every published seal key (public half, algorithm, version, validity), for offline checks."""
    return seals.published_keys(db)


def rotate_seal_key(db: Session, *, actor: Principal, signing: SigningContext, department_code: str) -> IssuerKeyRead:
    """Retire a department's seal key and start its next version (audited); the old one stays published."""
    algorithm = logs.active_log(db, signing).signature_algorithm
    return seals.rotate(db, actor=actor, signing=signing, department_code=department_code, algorithm=algorithm)


def transparency_logs(db: Session, *, signing: SigningContext) -> list[CheckpointRead]:
    """Every log of the installation, oldest first, each with its latest (for a frozen log: final) checkpoint."""
    return [checkpoint(db, signing=signing, log_id=log.id) for log in logs.all_logs(db, signing)]


def switch_profile(db: Session, *, signing: SigningContext, to: str) -> CheckpointRead:
    """What certificates do when the installation switches crypto profile: freeze the active log and
    start one in the new profile, retire seal keys of the old algorithm. Idempotent."""
    before = logs.active_log(db, signing)
    new = logs.switch_profile(db, signing, to=to)
    retired = seals.retire_other_profiles(db, algorithm=suite(to).signature_name)
    if new.id != before.id:
        audit.record(
            db,
            actor=LOG_KEEPER,
            action="certs.log.switch",
            target_type="transparency_log",
            target_id=before.origin,
            details={"frozen": before.origin, "successor": new.origin, "profile": to, "seal_keys_retired": retired},
        )
    return checkpoint(db, signing=signing, log_id=new.id)


# ---- issuing and revoking --------------------------------------------------------------------


def _next_serial(db: Session, type_id: int, year: int) -> str:
    return f"{year}{next_counter_value(db, SerialCounter, key={'type_id': type_id, 'year': year}):08d}"


def _read(
    db: Session, cert: Certificate, ctype: CertificateType | None = None, key: IssuerKey | None = None
) -> CertificateRead:
    """The certificate as its holder and its department see it."""
    ctype = ctype or db.get(CertificateType, cert.type_id)
    key = key or db.get(IssuerKey, cert.issuer_key_id)
    assert ctype is not None and key is not None
    content = json.loads(cert.content)
    return CertificateRead(
        identifier=cert.identifier,
        type_code=ctype.code,
        type_name=ctype.name,
        issuer_department=content.get("issuer", key.department_code),
        issuer_code=key.issuer_code,
        holder_user_id=cert.holder_user_id,
        holder_name=cert.holder_name,
        holder_code_masked=cert.holder_code_masked,
        data=content.get("data", {}),
        issued_at=cert.issued_at,
        valid_from=cert.valid_from,
        valid_until=cert.valid_until,
        status=certificate_status(cert),
        revoked_at=cert.revoked_at,
        revoke_reason=cert.revoke_reason,
        log_id=cert.log_id,
        log_index=cert.log_index,
        revocation_log_id=cert.revocation_log_id,
        revocation_log_index=cert.revocation_log_index,
        source=cert.source,
    )


def sign_log_checkpoint(db: Session, *, signing: SigningContext) -> None:
    """Sign a checkpoint over the active log's head (no-op when the latest already covers it)."""
    logs.sign_checkpoint(db, signing)


def _issuing_department(db: Session, *, actor: Principal, ctype: CertificateType, requested: str | None) -> str:
    """The department that signs a certificate of this type: always the type's issuer.

    The caller must hold the issue permission and reach that department; naming another department
    is refused. Refusals are written to the audit chain, since they are attempted forgeries."""
    problem: PermissionDenied | None = None
    issuer = ctype.issuer_department_code
    if not actor.has(perm.CERT_ISSUE):
        problem = PermissionDenied("没有签发电子证照的权限", details={"missing": [perm.CERT_ISSUE]})
    elif issuer is None:
        problem = PermissionDenied(f"证照类型“{ctype.name}”尚未指定颁证部门，不能签发", code="no_type_issuer")
    elif requested is not None and requested != issuer:
        problem = PermissionDenied(
            f"“{ctype.name}”只能由颁证部门 {issuer} 签发", code="not_type_issuer", details={"issuer": issuer}
        )
    elif not actor.can_reach_department(org_service.get_department_by_code(db, code=issuer).id):
        problem = PermissionDenied(
            f"“{ctype.name}”只能由颁证部门 {issuer} 的人员签发", code="department_scope", details={"issuer": issuer}
        )
    if problem is None:
        return issuer  # type: ignore[return-value]
    audit.record(
        db,
        actor=actor,
        action="certs.certificate.issue",
        target_type="cert_type",
        target_id=ctype.code,
        outcome=audit.OUTCOME_DENIED,
        details={"issuer": issuer, "requested": requested, "refusal": problem.code},
    )
    problem.commit = True
    raise problem


def issuing_department(db: Session, *, actor: Principal, type_code: str, department_code: str | None = None) -> str:
    """The department that would sign a certificate of this type for this actor, or the refusal (audited).

    Lets a caller that issues several certificates check them all before it changes anything."""
    check_parameters(department_code)
    return _issuing_department(db, actor=actor, ctype=_type(db, type_code), requested=department_code)


def issue_certificate(
    db: Session,
    *,
    actor: Principal,
    signing: SigningContext,
    type_code: str,
    department_code: str | None = None,
    holder_user_id: int | None,
    holder_name: str,
    holder_code_masked: str | None,
    data: dict[str, Any],
    valid_from: date | None = None,
    valid_until: date | None = None,
    source: str | None = None,
    checkpoint: bool = True,
) -> CertificateRead:
    """Issue a certificate into the holder's wallet: seal it with the active key of the type's issuing
    department (in the installation's profile) and log it. `department_code`, when given, must be
    that department.

    With checkpoint=False (bulk loads) the caller signs one checkpoint after the batch.
    """
    ctype = _type(db, type_code)
    check_parameters(department_code)
    department_code = _issuing_department(db, actor=actor, ctype=ctype, requested=department_code)
    log = logs.active_log(db, signing)  # its profile is the installation's current one
    key = seals.active_key(db, signing=signing, department_code=department_code, algorithm=log.signature_algorithm)
    department = org_service.get_department_by_code(db, code=department_code)
    now = utcnow()
    local_today = now.astimezone(SHANGHAI).date()
    valid_from = valid_from or local_today
    if valid_until is None and ctype.validity_years:
        valid_until = valid_from.replace(year=valid_from.year + ctype.validity_years)
    if valid_until is not None and valid_until < valid_from:
        raise ValidationFailed("有效期截止日期不能早于起始日期")
    serial = _next_serial(db, ctype.id, local_today.year)
    identifier = identifiers.make_identifier(type_code=ctype.code, issuer_code=key.issuer_code, serial=serial)
    content = canonical_json(
        {
            "identifier": identifier,
            "type_code": ctype.code,
            "type_name": ctype.name,
            "issuer": department.full_name,
            "issuer_code": key.issuer_code,
            "holder_name": holder_name,
            "holder_code": holder_code_masked,
            "data": data,
            "issued_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat() if valid_until else None,
            "key": key.name,
            "key_version": key.version,
            "signature_algorithm": key.algorithm,
        }
    ).decode()
    signature = base64.b64encode(seals.private_key(signing, key).sign(content.encode())).decode()
    cert = Certificate(
        identifier=identifier,
        type_id=ctype.id,
        serial=serial,
        holder_user_id=holder_user_id,
        holder_name=holder_name,
        holder_code_masked=holder_code_masked,
        issuer_key_id=key.id,
        content=content,
        signature=signature,
        issued_at=now,
        valid_from=valid_from,
        valid_until=valid_until,
        status="valid",
        log_index=-1,
        source=source,
    )
    cert.log_id = log.id
    (cert.log_index,) = translog.append(db, log.id, [issue_leaf(cert, key, log)])
    db.add(cert)
    db.flush()
    if checkpoint:
        logs.sign_checkpoint(db, signing, log)
    audit.record(
        db,
        actor=actor,
        action="certs.certificate.issue",
        target_type="certificate",
        target_id=identifier,
        details={
            "type": ctype.code,
            "holder_user_id": holder_user_id,
            "source": source,
            "key": key.name,
            "signature_algorithm": key.algorithm,
            "log_id": cert.log_id,
            "log_index": cert.log_index,
        },
    )
    events.publish(db, CertificateIssued(identifier=identifier, holder_user_id=holder_user_id, type_code=ctype.code))
    return _read(db, cert, ctype, key)


def _certificate(db: Session, identifier: str) -> Certificate:
    check_parameters(identifier)
    cert = db.execute(
        select(Certificate).where(Certificate.identifier == identifier.strip().upper())
    ).scalar_one_or_none()
    if cert is None:
        raise NotFound("电子证照不存在")
    return cert


def revoke_certificate(
    db: Session, *, actor: Principal, signing: SigningContext, identifier: str, reason: str
) -> CertificateRead:
    """Revoke (注销) a certificate: only its issuing department; the revocation is logged too."""
    cert = _certificate(db, identifier)
    key = db.get(IssuerKey, cert.issuer_key_id)
    assert key is not None
    check_department_scope(actor, key.department_id)
    if cert.status == "revoked":
        raise Conflict("该证照已注销")
    cert.status, cert.revoked_at, cert.revoke_reason = "revoked", utcnow(), reason
    log = logs.active_log(db, signing)  # after a profile switch: the new log, not the certificate's
    cert.revocation_log_id = log.id
    (cert.revocation_log_index,) = translog.append(db, log.id, [revoke_leaf(cert)])
    db.flush()
    logs.sign_checkpoint(db, signing, log)
    audit.record(
        db,
        actor=actor,
        action="certs.certificate.revoke",
        target_type="certificate",
        target_id=cert.identifier,
        details={"reason": reason, "log_id": log.id, "log_index": cert.revocation_log_index},
    )
    events.publish(db, CertificateRevoked(identifier=cert.identifier, holder_user_id=cert.holder_user_id))
    return _read(db, cert)


def get_certificate(db: Session, *, actor: Principal, identifier: str) -> CertificateRead:
    """A certificate for its holder, or for staff of the issuing department."""
    cert = _certificate(db, identifier)
    if actor.user_id is None or cert.holder_user_id != actor.user_id:
        key = db.get(IssuerKey, cert.issuer_key_id)
        if actor.kind != "staff" or key is None:
            raise PermissionDenied("只能查看本人持有的证照")
        check_department_scope(actor, key.department_id)
    return _read(db, cert)


def wallet(db: Session, *, holder_user_id: int) -> list[CertificateRead]:
    """Every certificate the holder holds (证照夹), newest first."""
    rows = db.execute(
        select(Certificate).where(Certificate.holder_user_id == holder_user_id).order_by(Certificate.id.desc())
    ).scalars()
    return [_read(db, c) for c in rows]


def usable_certificates(db: Session, *, holder_user_id: int, type_codes: list[str]) -> dict[str, CertificateRead]:
    """The newest valid certificate of each requested type the holder holds."""
    if not type_codes:
        return {}
    rows = db.execute(
        select(Certificate, CertificateType, IssuerKey)
        .join(CertificateType, CertificateType.id == Certificate.type_id)
        .join(IssuerKey, IssuerKey.id == Certificate.issuer_key_id)
        .where(
            Certificate.holder_user_id == holder_user_id,
            CertificateType.code.in_(type_codes),
            Certificate.status == "valid",
        )
        .order_by(Certificate.id.desc())
    ).all()
    found: dict[str, CertificateRead] = {}
    for cert, ctype, key in rows:
        if ctype.code not in found and certificate_status(cert) == "valid":
            found[ctype.code] = _read(db, cert, ctype, key)
    return found


def record_use(
    db: Session,
    *,
    actor: Principal,
    identifier: str,
    holder_user_id: int,
    used_by: str,
    purpose: str,
    reference: str | None = None,
    consent_reference: str | None = None,
) -> None:
    """Log one use of a certificate (用证); only the holder's own certificates, only when valid."""
    cert = _certificate(db, identifier)
    if cert.holder_user_id != holder_user_id:
        raise PermissionDenied("不能使用他人持有的证照")
    if certificate_status(cert) != "valid":
        raise ValidationFailed("证照已注销或过期，不能使用")
    db.add(
        CertificateUse(
            certificate_id=cert.id,
            holder_user_id=holder_user_id,
            used_by=used_by,
            purpose=purpose,
            reference=reference,
            consent_reference=consent_reference,
            actor_name=actor.username,
            used_at=utcnow(),
        )
    )
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="certs.certificate.use",
        target_type="certificate",
        target_id=cert.identifier,
        details={"used_by": used_by, "purpose": purpose, "reference": reference},
    )


def record_uses(
    db: Session,
    *,
    actor: Principal,
    holder_user_id: int,
    uses: list[tuple[str, str]],
    used_by: str,
    reference: str | None = None,
    consent_reference: str | None = None,
) -> None:
    """Log several uses at once (identifier, purpose) — e.g. one application reusing six certificates."""
    if not uses:
        return
    identifiers = [identifier.strip().upper() for identifier, _ in uses]
    check_parameters(*identifiers)
    found = {
        c.identifier: c
        for c in db.execute(select(Certificate).where(Certificate.identifier.in_(identifiers))).scalars()
    }
    now = utcnow()
    rows = []
    for identifier, purpose in zip(identifiers, (p for _, p in uses), strict=True):
        cert = found.get(identifier)
        if cert is None:
            raise NotFound("电子证照不存在")
        if cert.holder_user_id != holder_user_id:
            raise PermissionDenied("不能使用他人持有的证照")
        if certificate_status(cert) != "valid":
            raise ValidationFailed("证照已注销或过期，不能使用")
        rows.append(
            {
                "certificate_id": cert.id,
                "holder_user_id": holder_user_id,
                "used_by": used_by,
                "purpose": purpose,
                "reference": reference,
                "consent_reference": consent_reference,
                "actor_name": actor.username,
                "used_at": now,
            }
        )
    db.execute(insert(CertificateUse), rows)
    audit.record(
        db,
        actor=actor,
        action="certs.certificate.use",
        target_type="certificate",
        target_id=identifiers[0],
        details={"used_by": used_by, "reference": reference, "certificates": identifiers},
    )


def list_uses(db: Session, *, holder_user_id: int, limit: int = 200) -> list[CertificateUseRead]:
    """The holder's certificate use log, newest first."""
    rows = db.execute(
        select(CertificateUse, Certificate, CertificateType)
        .join(Certificate, Certificate.id == CertificateUse.certificate_id)
        .join(CertificateType, CertificateType.id == Certificate.type_id)
        .where(CertificateUse.holder_user_id == holder_user_id)
        .order_by(CertificateUse.id.desc())
        .limit(limit)
    ).all()
    return [
        CertificateUseRead(
            identifier=c.identifier,
            type_name=t.name,
            used_by=u.used_by,
            purpose=u.purpose,
            reference=u.reference,
            consent_reference=u.consent_reference,
            actor_name=u.actor_name,
            used_at=u.used_at,
        )
        for u, c, t in rows
    ]

"""Relying parties (接入应用): registered, changed, disabled and given new secrets by the administrator.

A confidential client's secret is shown once and stored only as its digest (the platform's token
MAC, `core.crypto.token_digest`, so the crypto profile and key rotation apply to it); a disabled client can
neither start a sign-in nor use the token endpoint."""

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.crypto import PSEUDONYM, cipher_for, new_secret_token, token_digest, token_digests
from yiwang.core.errors import Conflict, NotFound
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.identity.models import OidcClient
from yiwang.identity.schemas import ClientCreate, ClientCreated, ClientRead, ClientUpdate
from yiwang.org import service as org


def secret_matches(db: Session, row: OidcClient, secret: str) -> bool:
    """Whether a presented secret is the client's: its digest under any live token key matches."""
    stored = row.secret_hash or ""
    return bool(stored) and any(secrets.compare_digest(stored, digest) for digest in token_digests(db, secret))


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


def read(db: Session, row: OidcClient) -> ClientRead:
    department = org.get_department(db, department_id=row.department_id) if row.department_id else None
    return ClientRead(
        client_id=row.client_id,
        name=row.name,
        public=row.public,
        redirect_uris=_lines(row.redirect_uris),
        post_logout_redirect_uris=_lines(row.post_logout_redirect_uris),
        scopes=row.scopes.split(),
        department_code=department.code if department else None,
        department_name=department.full_name if department else None,
        id_token_alg=row.id_token_alg,
        first_party=row.first_party,
        may_introspect=row.may_introspect,
        backchannel_logout_uri=row.backchannel_logout_uri,
        frontchannel_logout_uri=row.frontchannel_logout_uri,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def find_row(db: Session, client_id: str) -> OidcClient | None:
    return db.execute(select(OidcClient).where(OidcClient.client_id == client_id)).scalar_one_or_none()


def _row(db: Session, client_id: str) -> OidcClient:
    row = find_row(db, client_id)
    if row is None:
        raise NotFound(f"接入应用 {client_id} 不存在")
    return row


def create_client(db: Session, *, actor: Principal, data: ClientCreate) -> ClientCreated:
    """Register a client; a confidential one gets a secret, returned here and never again."""
    client_id = data.client_id or f"app-{secrets.token_hex(6)}"
    if find_row(db, client_id) is not None:
        raise Conflict(f"接入应用标识 {client_id} 已存在", code="client_exists")
    department_id = org.get_department_by_code(db, code=data.department_code).id if data.department_code else None
    secret = None if data.public else new_secret_token("ywc")
    now = utcnow()
    row = OidcClient(
        client_id=client_id,
        name=data.name,
        department_id=department_id,
        public=data.public,
        secret_hash=token_digest(db, secret) if secret else None,
        redirect_uris="\n".join(data.redirect_uris),
        post_logout_redirect_uris="\n".join(data.post_logout_redirect_uris),
        scopes=" ".join(data.scopes),
        id_token_alg=data.id_token_alg,
        subject_key_version=cipher_for(db).keys.current(PSEUDONYM).version,
        first_party=data.first_party,
        may_introspect=data.may_introspect and not data.public,
        backchannel_logout_uri=data.backchannel_logout_uri,
        frontchannel_logout_uri=data.frontchannel_logout_uri,
        active=True,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    db.flush()
    created = read(db, row)
    audit.record(
        db,
        actor=actor,
        action="identity.client.create",
        target_type="oidc_client",
        target_id=client_id,
        details=created.model_dump(mode="json", exclude={"created_at", "updated_at"}),
    )
    return ClientCreated(client=created, client_secret=secret)


def update_client(db: Session, *, actor: Principal, client_id: str, data: ClientUpdate) -> ClientRead:
    """Change a client's registration; disabling it (active=false) is audited as its own action."""
    row = _row(db, client_id)
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if name in ("redirect_uris", "post_logout_redirect_uris"):
            setattr(row, name, "\n".join(value or []))
        elif name == "scopes":
            row.scopes = " ".join(value or [])
        elif name == "department_code":
            row.department_id = org.get_department_by_code(db, code=value).id if value else None
        elif name == "may_introspect":
            row.may_introspect = bool(value) and not row.public
        elif name in ("active", "first_party", "name", "id_token_alg") and value is None:
            continue
        else:
            setattr(row, name, value)
    row.updated_at = utcnow()
    db.flush()
    action = "identity.client.update"
    if changes.get("active") is False:
        action = "identity.client.disable"
    elif changes.get("active") is True:
        action = "identity.client.enable"
    audit.record(
        db, actor=actor, action=action, target_type="oidc_client", target_id=client_id, details={"changed": changes}
    )
    return read(db, row)


def rotate_secret(db: Session, *, actor: Principal, client_id: str) -> ClientCreated:
    """A new secret for a confidential client; the old one stops working at once."""
    row = _row(db, client_id)
    if row.public:
        raise Conflict("公开客户端没有密钥", code="public_client")
    secret = new_secret_token("ywc")
    row.secret_hash, row.updated_at = token_digest(db, secret), utcnow()
    db.flush()
    audit.record(
        db, actor=actor, action="identity.client.secret_rotate", target_type="oidc_client", target_id=client_id
    )
    return ClientCreated(client=read(db, row), client_secret=secret)


def list_clients(db: Session) -> list[ClientRead]:
    return [read(db, row) for row in db.execute(select(OidcClient).order_by(OidcClient.id)).scalars()]


def get_client(db: Session, *, client_id: str) -> ClientRead:
    return read(db, _row(db, client_id))

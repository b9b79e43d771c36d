"""Consent (授权同意): what a citizen or enterprise allowed an application to receive, and withdrawing it.

Staff signing in to an application the administrator marked first-party (a city system for staff)
are not asked; everyone else is asked once per application, and again when it asks for more."""

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.errors import NotFound
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.identity.models import Consent, IssuedToken, OidcClient
from yiwang.identity.schemas import ConsentRead


def needs_consent(db: Session, *, user_id: int, kind: str, client: OidcClient, scopes: set[str]) -> bool:
    """Whether the person must be asked before the application gets these scopes."""
    if client.first_party and kind == "staff":
        return False
    row = db.execute(
        select(Consent).where(Consent.user_id == user_id, Consent.client_pk == client.id)
    ).scalar_one_or_none()
    if row is None or row.withdrawn_at is not None:
        return True
    return not scopes <= set(row.scopes.split())


def give_consent(db: Session, *, actor: Principal, client: OidcClient, scopes: set[str]) -> None:
    """Record (or widen) the caller's consent for the application; audited."""
    assert actor.user_id is not None
    now = utcnow()
    row = db.execute(
        select(Consent).where(Consent.user_id == actor.user_id, Consent.client_pk == client.id)
    ).scalar_one_or_none()
    if row is None:
        row = Consent(user_id=actor.user_id, client_pk=client.id, scopes="", granted_at=now)
        db.add(row)
    held = set() if row.withdrawn_at is not None else set(row.scopes.split())
    row.scopes, row.granted_at, row.withdrawn_at = " ".join(sorted(held | scopes)), now, None
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="identity.consent.give",
        target_type="oidc_client",
        target_id=client.client_id,
        details={"scopes": sorted(held | scopes)},
    )


def list_consents(db: Session, *, user_id: int) -> list[ConsentRead]:
    rows = db.execute(
        select(Consent, OidcClient)
        .join(OidcClient, OidcClient.id == Consent.client_pk)
        .where(Consent.user_id == user_id, Consent.withdrawn_at.is_(None))
        .order_by(Consent.granted_at.desc())
    ).all()
    return [
        ConsentRead(client_id=c.client_id, client_name=c.name, scopes=r.scopes.split(), granted_at=r.granted_at)
        for r, c in rows
    ]


def withdraw_consent(db: Session, *, actor: Principal, client_id: str) -> None:
    """Withdraw the caller's consent: the application's tokens for them stop working at once."""
    row = db.execute(
        select(Consent)
        .join(OidcClient, OidcClient.id == Consent.client_pk)
        .where(Consent.user_id == actor.user_id, OidcClient.client_id == client_id, Consent.withdrawn_at.is_(None))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("没有对该应用的授权")
    now = utcnow()
    row.withdrawn_at = now
    db.execute(
        update(IssuedToken)
        .where(
            IssuedToken.user_id == actor.user_id,
            IssuedToken.client_pk == row.client_pk,
            IssuedToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    db.flush()
    audit.record(db, actor=actor, action="identity.consent.withdraw", target_type="oidc_client", target_id=client_id)

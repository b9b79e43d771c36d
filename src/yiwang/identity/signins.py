"""Applications signed in through a yiwang session (已登录的应用), and logging them out.

When a yiwang session ends (org publishes `SessionEnded` through the outbox), every application
signed in through it is ended here: its tokens from that session are revoked, and an application that
registered a back-channel logout URI gets a `BackchannelLogoutDue` event, whose handler POSTs a signed
logout token to it — retried with back-off by the outbox until the application answers, surviving a
crash of the process in between. Front-channel logout URIs are loaded in frames by the logout page."""

import json
import secrets
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from joserfc import jwt
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yiwang.config import Settings
from yiwang.core import audit, events
from yiwang.core.crypto import FieldCipher
from yiwang.core.errors import NotFound, PermissionDenied
from yiwang.core.events import Transactions
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.identity import keys
from yiwang.identity.models import AppSession, IssuedToken, OidcClient
from yiwang.identity.schemas import AppSessionRead, BackchannelLogoutDue
from yiwang.org.schemas import SessionEnded

SID_NAMESPACE = "oidc-sid"
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_SECONDS = 120
_SYSTEM = Principal(user_id=None, username="system:identity", display_name="统一身份认证", kind="system")


def session_sid(cipher: FieldCipher, session_id: int) -> str:
    """The `sid` applications see for a yiwang session: stable, and revealing nothing of its id."""
    return cipher.pseudonym(str(session_id), namespace=SID_NAMESPACE)


def record_signin(
    db: Session, *, session_id: int, client: OidcClient, user_id: int, sid: str, subject: str, issuer: str
) -> None:
    """Note that the application signed in through this session (once per session and application),
    with the subject and issuer its logout token will name."""
    now = utcnow()
    match = select(AppSession).where(AppSession.session_id == session_id, AppSession.client_pk == client.id)
    row = db.execute(match).scalar_one_or_none()
    if row is None:
        try:
            # Two sign-ins through one session can race here: the loser's insert meets the unique key,
            # and then the winner's row is the one to refresh.
            with db.begin_nested():
                db.add(
                    AppSession(
                        session_id=session_id,
                        client_pk=client.id,
                        user_id=user_id,
                        sid=sid,
                        subject=subject,
                        issuer=issuer,
                        created_at=now,
                        last_seen_at=now,
                    )
                )
            return
        except IntegrityError:
            row = db.execute(match).scalar_one()
    row.last_seen_at, row.ended_at = now, None
    db.flush()


def list_app_sessions(db: Session, *, user_id: int) -> list[AppSessionRead]:
    rows = db.execute(
        select(AppSession, OidcClient)
        .join(OidcClient, OidcClient.id == AppSession.client_pk)
        .where(AppSession.user_id == user_id, AppSession.ended_at.is_(None))
        .order_by(AppSession.last_seen_at.desc())
    ).all()
    return [
        AppSessionRead(
            id=a.id,
            session_id=a.session_id,
            client_id=c.client_id,
            client_name=c.name,
            created_at=a.created_at,
            last_seen_at=a.last_seen_at,
        )
        for a, c in rows
    ]


def _end(db: Session, *, row: AppSession, client: OidcClient, actor: Principal, reason: str) -> None:
    """End one application's session: revoke its tokens from that session, tell it by back-channel."""
    now = utcnow()
    row.ended_at = now
    db.execute(
        update(IssuedToken)
        .where(
            IssuedToken.session_id == row.session_id,
            IssuedToken.client_pk == client.id,
            IssuedToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    if client.backchannel_logout_uri:
        events.publish(
            db,
            BackchannelLogoutDue(
                client_id=client.client_id,
                uri=client.backchannel_logout_uri,
                iss=row.issuer,
                sub=row.subject,
                sid=row.sid,
            ),
        )
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="identity.app_session.end",
        target_type="oidc_client",
        target_id=client.client_id,
        details={"session_id": row.session_id, "user_id": row.user_id, "reason": reason},
    )


def end_app_session(db: Session, *, actor: Principal, app_session_id: int) -> None:
    """The holder signs one application out (from the account page)."""
    found = db.execute(
        select(AppSession, OidcClient)
        .join(OidcClient, OidcClient.id == AppSession.client_pk)
        .where(AppSession.id == app_session_id)
    ).one_or_none()
    if found is None or found[0].ended_at is not None:
        raise NotFound("该应用登录已结束")
    if found[0].user_id != actor.user_id:
        raise PermissionDenied("只能结束自己的应用登录")
    _end(db, row=found[0], client=found[1], actor=actor, reason="ended_by_user")


def on_session_ended(db: Session, payload: SessionEnded) -> None:
    """Event handler: a yiwang session ended, so every application signed in through it ends too."""
    rows = db.execute(
        select(AppSession, OidcClient)
        .join(OidcClient, OidcClient.id == AppSession.client_pk)
        .where(AppSession.session_id == payload.session_id, AppSession.ended_at.is_(None))
    ).all()
    for row, client in rows:
        _end(db, row=row, client=client, actor=_SYSTEM, reason=payload.reason)


def frontchannel_urls(db: Session, *, session_id: int, issuer: str) -> list[str]:
    """The front-channel logout URLs of the applications signed in through the session."""
    rows = db.execute(
        select(AppSession.sid, OidcClient.frontchannel_logout_uri)
        .join(OidcClient, OidcClient.id == AppSession.client_pk)
        .where(AppSession.session_id == session_id, OidcClient.frontchannel_logout_uri.is_not(None))
    ).all()
    urls = []
    for sid, uri in rows:
        if not uri:
            continue
        separator = "&" if "?" in uri else "?"
        urls.append(f"{uri}{separator}{urlencode({'iss': issuer, 'sid': sid})}")
    return urls


def logout_token(db: Session, *, key_dir: Path, client: OidcClient, iss: str, sub: str, sid: str) -> str:
    """A logout token (OpenID Connect Back-Channel Logout 1.0 §2.4), signed like the client's ID tokens."""
    key = keys.signing_key(db, key_dir=key_dir, alg=client.id_token_alg)
    now = int(utcnow().timestamp())
    payload = {
        "iss": iss,
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_SECONDS,
        "jti": secrets.token_urlsafe(16),
        "events": {BACKCHANNEL_EVENT: {}},
        "sub": sub,
        "sid": sid,
    }
    header = {"alg": client.id_token_alg, "kid": key.kid, "typ": "logout+jwt"}
    return jwt.encode(header, payload, key, algorithms=[client.id_token_alg])


class BackchannelRefused(RuntimeError):
    """The application did not acknowledge the logout token; the outbox retries later."""


def send_backchannel_logout(transaction: Transactions, payload: BackchannelLogoutDue, *, settings: Settings) -> None:
    """Event io handler: POST the logout token, outside any transaction (an application slow to answer
    must not hold the database); anything but 200/204 is a failure the outbox retries."""
    with transaction() as db:
        client = db.execute(select(OidcClient).where(OidcClient.client_id == payload.client_id)).scalar_one_or_none()
        if client is None:
            return  # the application was removed: nobody left to tell
        uri = client.backchannel_logout_uri or payload.uri
        token = logout_token(
            db, key_dir=settings.key_dir, client=client, iss=payload.iss, sub=payload.sub, sid=payload.sid
        )
    request = urllib.request.Request(  # noqa: S310  (an http(s) URI the administrator registered)
        uri,
        data=urlencode({"logout_token": token}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-store"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.oidc_backchannel_timeout_seconds) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise BackchannelRefused(f"{uri}: {exc}") from exc
    if status not in (200, 204):
        raise BackchannelRefused(f"{uri} answered {status}: {json.dumps(payload.client_id)}")

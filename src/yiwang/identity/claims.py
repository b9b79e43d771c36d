"""Who a person is to an application: the subject identifier and the claims each scope releases.

Citizens and enterprises get a pairwise `sub` (一个应用一个标识): a keyed hash of the client's sector
and the account id through the platform's keyed-hash helper, so two applications cannot join their
users by it, and the crypto profile decides the algorithm. Staff get their stable user code (public
`sub`), which the city's own systems already know them by."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from yiwang.core.crypto import PSEUDONYM, FieldCipher
from yiwang.core.errors import NotFound
from yiwang.core.security import Principal
from yiwang.org import service as org
from yiwang.org.service import AccountBrief

SUBJECT_NAMESPACE = "oidc-sub"
KIND_NAMES = {"staff": "工作人员", "citizen": "个人", "enterprise": "企业"}


@dataclass(frozen=True)
class EndUser:
    """The signed-in person as one application sees them."""

    account: AccountBrief
    sub: str

    @property
    def user_id(self) -> int:
        return self.account.id

    def get_user_id(self) -> int:  # Authlib asks the resource owner for its id
        return self.account.id


def subject(cipher: FieldCipher, *, sector: str, key_version: int, account: AccountBrief) -> str:
    """Public for staff (the user code), pairwise per sector for citizens and enterprises: the keyed
    hash (HMAC-SHA-256 or HMAC-SM3) of the sector and account under the client's pseudonym key version."""
    if account.kind == "staff":
        return account.username
    key = cipher.keys.get(PSEUDONYM, key_version)
    return key.mac(f"{SUBJECT_NAMESPACE}\x00{sector}\x00{account.id}".encode()).hex()[:24]


def end_user(db: Session, cipher: FieldCipher, *, user_id: int, sector: str, key_version: int) -> EndUser | None:
    """The account as an application sees it; None when it no longer exists or was disabled."""
    try:
        account = org.get_account(db, user_id=user_id)
    except NotFound:  # removed since it signed in
        return None
    if not account.active:
        return None
    return EndUser(account=account, sub=subject(cipher, sector=sector, key_version=key_version, account=account))


def id_token_claims(user: EndUser, scope: str) -> dict[str, Any]:
    """What the ID token says: the subject and, with `profile`, the name; nothing personal beyond."""
    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": user.sub}
    if "profile" in scopes:
        claims |= _profile(user)
    return claims


def _profile(user: EndUser) -> dict[str, Any]:
    claims: dict[str, Any] = {"name": user.account.display_name, "account_kind": user.account.kind}
    if user.account.kind == "staff":  # a citizen's login name would let applications join their users
        claims["preferred_username"] = user.account.username
    return claims


def userinfo_claims(
    db: Session, cipher: FieldCipher, *, user: EndUser, scope: str, client_id: str, client_name: str
) -> dict[str, Any]:
    """The claims the token's scopes release. The phone number is masked unless the `phone` scope
    was granted (by the person's consent); a clear phone number is released through org, audited."""
    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": user.sub}
    if "profile" in scopes:
        claims |= _profile(user)
    if "phone" in scopes:
        actor = Principal(user_id=None, username=f"oidc:{client_id}", display_name=client_name, kind="system")
        phone = org.release_phone(
            db, actor=actor, user_id=user.user_id, cipher=cipher, reason=f"经本人同意提供给接入应用 {client_name}"
        )
        if phone:
            claims["phone_number"] = phone
    elif "profile" in scopes:
        masked = org.masked_phone(db, user_id=user.user_id, cipher=cipher)
        if masked:
            claims["phone_number"] = masked
    if "department" in scopes and user.account.kind == "staff":
        if user.account.department_id is not None:
            department = org.get_department(db, department_id=user.account.department_id)
            claims["department"] = department.code
            claims["department_name"] = department.full_name
        claims["roles"] = org.account_role_codes(db, user_id=user.user_id)
    if "enterprise" in scopes and user.account.kind == "enterprise" and user.account.credit_code:
        claims["credit_code"] = user.account.credit_code
    return claims

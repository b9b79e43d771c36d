"""JSON API of one's own second factor (双因素认证): status, TOTP enrolment, recovery codes, removal."""

from fastapi import APIRouter, Depends, Response
from fastapi.security import OAuth2PasswordBearer

from yiwang.core.db import DbSession
from yiwang.core.runtime import CipherDep
from yiwang.core.security import CurrentUser
from yiwang.org import mfa
from yiwang.org.schemas import OtpInput, RecoveryCodesRead, SecondFactorStatusRead, TotpEnrolmentRead

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
router = APIRouter(prefix="/api/auth/second-factor", tags=["认证 auth"], dependencies=[Depends(oauth2_scheme)])


@router.get("", response_model=SecondFactorStatusRead)
def second_factor_status(db: DbSession, user: CurrentUser) -> SecondFactorStatusRead:
    """Whether the caller has a second factor, whether a role requires one, recovery codes left."""
    assert user.user_id is not None
    found = mfa.status(db, user_id=user.user_id)
    return SecondFactorStatusRead(
        enrolled=found.enrolled,
        pending=found.pending,
        required=found.required,
        recovery_codes_left=found.recovery_codes_left,
        confirmed_at=found.confirmed_at,
    )


@router.post("/totp", response_model=TotpEnrolmentRead, status_code=201)
def begin_totp(db: DbSession, user: CurrentUser, cipher: CipherDep) -> TotpEnrolmentRead:
    """Start enrolling an authenticator app: its secret and otpauth URI, in force once confirmed."""
    enrolment = mfa.begin_totp(db, actor=user, cipher=cipher)
    return TotpEnrolmentRead(secret=enrolment.secret, otpauth_uri=enrolment.uri)


@router.post("/totp/confirm", response_model=RecoveryCodesRead)
def confirm_totp(db: DbSession, user: CurrentUser, cipher: CipherDep, data: OtpInput) -> RecoveryCodesRead:
    """Confirm the enrolment with the app's current code; returns ten recovery codes, shown once."""
    return RecoveryCodesRead(recovery_codes=mfa.confirm_totp(db, actor=user, cipher=cipher, code=data.code))


@router.post("/recovery-codes", response_model=RecoveryCodesRead)
def regenerate_recovery_codes(db: DbSession, user: CurrentUser, cipher: CipherDep) -> RecoveryCodesRead:
    """Ten new recovery codes; the previous ones stop working."""
    return RecoveryCodesRead(recovery_codes=mfa.regenerate_recovery_codes(db, actor=user, cipher=cipher))


@router.post("/remove", status_code=204)
def remove_second_factor(db: DbSession, user: CurrentUser, cipher: CipherDep, data: OtpInput) -> Response:
    """Remove one's own factor, proven with a current code; refused while a role requires one."""
    mfa.remove_own(db, actor=user, cipher=cipher, code=data.code)
    return Response(status_code=204)

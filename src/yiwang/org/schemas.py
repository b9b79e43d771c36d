"""Input and output models of the org domain."""

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from yiwang.core.events import EventPayload
from yiwang.core.identifiers import CreditCode, IdNumber, Mobile
from yiwang.core.inputs import StrictInput

AccountKind = Literal["staff", "citizen", "enterprise", "system"]


class DivisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    lon: float | None
    lat: float | None


class DivisionCreate(StrictInput):
    code: str = Field(min_length=6, max_length=12, pattern=r"^\d+$")
    name: str = Field(min_length=1, max_length=60)
    level: Literal["city", "subdistrict", "town", "community", "village"]
    parent_code: str | None = None
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class DepartmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    short_name: str
    full_name: str
    kind: str
    parent_id: int | None
    active: bool


class DepartmentCreate(StrictInput):
    code: str = Field(min_length=2, max_length=20, pattern=r"^[A-Z0-9_]+$")
    short_name: str = Field(min_length=1, max_length=40)
    full_name: str = Field(min_length=1, max_length=100)
    kind: Literal["government", "platform", "department", "command_center", "unit"] = "unit"
    parent_code: str | None = None


class DepartmentUpdate(StrictInput):
    short_name: str | None = Field(None, min_length=1, max_length=40)
    full_name: str | None = Field(None, min_length=1, max_length=100)
    active: bool | None = None


class RoleRead(BaseModel):
    code: str
    name: str
    description: str
    permissions: list[str]
    requires_second_factor: bool = False


class RolePermissionsUpdate(StrictInput):
    permissions: list[str]


class RoleSecondFactorUpdate(StrictInput):
    """Whether holders of the role must log in with a second factor (双因素认证)."""

    requires_second_factor: bool


class RolesAssign(StrictInput):
    """The complete set of roles an account is to hold."""

    roles: list[str]


class SecondFactorReset(StrictInput):
    reason: str = Field(min_length=4, max_length=200, description="重置事由，记入审计")


class SecondFactorStatusRead(BaseModel):
    enrolled: bool
    pending: bool
    required: bool
    recovery_codes_left: int
    confirmed_at: datetime | None


class TotpEnrolmentRead(BaseModel):
    """A TOTP secret being enrolled: type it or scan the otpauth URI, then confirm with a code."""

    secret: str
    otpauth_uri: str


class OtpInput(StrictInput):
    code: str = Field(min_length=6, max_length=20, description="身份验证器的6位动态口令，或一个恢复码")


class RecoveryCodesRead(BaseModel):
    """Shown once: each code signs in once in place of a dynamic code."""

    recovery_codes: list[str]


class UserCreate(StrictInput):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    kind: AccountKind = "staff"
    display_name: str = Field(min_length=1, max_length=100)
    password: str | None = Field(None, min_length=1, max_length=200)
    department_code: str | None = None
    roles: list[str] = Field(default_factory=list)
    id_number: IdNumber | None = None
    phone: Mobile | None = None
    credit_code: CreditCode | None = None
    scopes: list[str] = Field(default_factory=list)
    must_change_password: bool = False


class UserUpdate(StrictInput):
    display_name: str | None = Field(None, min_length=1, max_length=100)
    department_code: str | None = None
    roles: list[str] | None = None
    active: bool | None = None
    phone: Mobile | None = None


class UserRead(BaseModel):
    """An account as shown to others: personal fields are masked."""

    id: int
    username: str
    kind: str
    display_name: str
    department_code: str | None
    department_name: str | None
    roles: list[str]
    active: bool
    locked: bool
    id_number: str | None = Field(None, description="脱敏显示")
    phone: str | None = Field(None, description="脱敏显示")
    credit_code: str | None
    created_at: datetime
    last_login_at: datetime | None


class PersonalRead(BaseModel):
    """Personal fields in clear; every read of this is audited."""

    user_id: int
    display_name: str
    id_number: str | None
    phone: str | None


class PasswordChange(StrictInput):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 access token response."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    scope: str


class ClientCreate(StrictInput):
    client_id: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=100)
    department_code: str | None = None
    scopes: list[str] = Field(default_factory=list)


class ClientCreated(BaseModel):
    client_id: str
    client_secret: str
    scopes: list[str]


class ApiKeyCreated(BaseModel):
    api_key: str
    expires_at: datetime
    scope: str = Field("", description="空：账号自身的全部权限；否则为空格分隔的权限")


# ---- self-registration, one-time codes, password reset (docs/registration.md) --------------------

CodePurpose = Literal["register", "reset", "phone_change"]
Username = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
OneTimeCode = Annotated[str, Field(pattern=r"^\d{6}$", description="短信验证码，6位数字")]
PersonName = Annotated[str, Field(min_length=2, max_length=50)]


class CodeRequest(StrictInput):
    """Ask for a code to a mobile number (registration, or binding a new number to one's account)."""

    phone: Mobile


class ResetCodeRequest(StrictInput):
    """Ask for a password-reset code: sent only when the username and the mobile belong together."""

    username: str = Field(min_length=1, max_length=64)
    phone: Mobile


class CodeSent(BaseModel):
    """The same answer whether or not a message went out (an unknown number is not told apart)."""

    message: str
    expires_in_seconds: int
    resend_after_seconds: int


class CitizenRegistration(StrictInput):
    """实名注册 of a citizen: name, ID number (GB 11643), and a mobile proven by its code."""

    display_name: PersonName
    id_number: IdNumber
    phone: Mobile
    code: OneTimeCode
    username: Username
    password: str = Field(min_length=1, max_length=200)


class EnterpriseRegistration(StrictInput):
    """An enterprise: its credit code (GB 32100), legal representative, and the operator's mobile."""

    enterprise_name: str = Field(min_length=2, max_length=100)
    credit_code: CreditCode
    legal_representative: PersonName
    operator_name: PersonName
    phone: Mobile
    code: OneTimeCode
    username: Username
    password: str = Field(min_length=1, max_length=200)


class RegistrationAccepted(BaseModel):
    """One answer for a new account and for a number already registered: the outcome goes by SMS."""

    status: Literal["accepted"] = "accepted"
    message: str


class PasswordReset(StrictInput):
    username: str = Field(min_length=1, max_length=64)
    phone: Mobile
    code: OneTimeCode
    new_password: str = Field(min_length=1, max_length=200)


class PhoneChange(StrictInput):
    phone: Mobile
    code: OneTimeCode


class MessageRead(BaseModel):
    """A message in the gateway's record; the number masked, the text as the recipient reads it."""

    id: int
    request_id: str
    created_at: datetime
    to: str
    template: str
    text: str
    status: str
    sent_at: datetime | None


class SmsRequested(EventPayload):
    """A message is waiting for the HTTP SMS gateway (delivered after commit, retried until accepted)."""

    event_name: ClassVar[str] = "org.sms_requested"

    message_id: int


class SessionRead(BaseModel):
    """A yiwang browser session as its holder sees it (登录设备)."""

    id: int
    user_id: int
    device: str = Field(description="浏览器与操作系统，取自 User-Agent")
    ip: str | None
    created_at: datetime = Field(description="登录时间")
    last_used_at: datetime | None
    expires_at: datetime
    live: bool


class SessionEnded(EventPayload):
    """A yiwang browser session ended: logout, ended from the sessions list, timed out, or revoked."""

    event_name = "org.session_ended"

    session_id: int
    user_id: int
    reason: str

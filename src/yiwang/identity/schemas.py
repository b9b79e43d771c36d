"""Input and output models of the identity domain, and its events."""

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from yiwang.core.events import EventPayload
from yiwang.core.inputs import StrictInput

# Scopes the provider knows, and what each releases (docs/identity.md).
SCOPES: dict[str, str] = {
    "openid": "登录标识（sub）",
    "profile": "姓名与脱敏手机号码（工作人员另含用户名）",
    "phone": "完整手机号码",
    "department": "所在部门与角色（工作人员）",
    "enterprise": "统一社会信用代码（企业）",
    "offline_access": "离线访问（刷新令牌）",
}
SigningAlg = Literal["RS256", "ES256"]


def _check_uri(value: str) -> str:
    if len(value) > 500:
        raise ValueError("地址不能超过500个字符")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
        raise ValueError("地址须为不含 # 片段的 http(s) 绝对地址")
    return value


def _check_scopes(values: list[str]) -> list[str]:
    unknown = sorted(set(values) - set(SCOPES))
    if unknown:
        raise ValueError(f"未知的授权范围：{' '.join(unknown)}")
    if "openid" not in values:
        raise ValueError("授权范围须包含 openid")
    return sorted(set(values))


class ClientCreate(StrictInput):
    client_id: str | None = Field(
        None, min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="留空则自动生成"
    )
    name: str = Field(min_length=1, max_length=100)
    redirect_uris: list[str] = Field(min_length=1, max_length=10, description="回调地址，逐字匹配")
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=10)
    public: bool = Field(False, description="公开客户端（浏览器或移动应用，无密钥，须用 PKCE S256）")
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile"])
    department_code: str | None = None
    id_token_alg: SigningAlg = "RS256"  # noqa: S105  (an algorithm name)
    first_party: bool = Field(False, description="市属工作人员应用：工作人员登录时不再询问同意")
    may_introspect: bool = Field(False, description="资源服务：可查询任意令牌的状态（RFC 7662）")
    backchannel_logout_uri: str | None = Field(None, max_length=500)
    frontchannel_logout_uri: str | None = Field(None, max_length=500)

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _uris(cls, values: list[str]) -> list[str]:
        return [_check_uri(v) for v in values]

    @field_validator("backchannel_logout_uri", "frontchannel_logout_uri")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        return _check_uri(value) if value else None

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, values: list[str]) -> list[str]:
        return _check_scopes(values)


class ClientUpdate(StrictInput):
    name: str | None = Field(None, min_length=1, max_length=100)
    redirect_uris: list[str] | None = Field(None, min_length=1, max_length=10)
    post_logout_redirect_uris: list[str] | None = Field(None, max_length=10)
    scopes: list[str] | None = None
    department_code: str | None = None
    id_token_alg: SigningAlg | None = None
    first_party: bool | None = None
    may_introspect: bool | None = None
    backchannel_logout_uri: str | None = Field(None, max_length=500)
    frontchannel_logout_uri: str | None = Field(None, max_length=500)
    active: bool | None = None

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _uris(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else [_check_uri(v) for v in values]

    @field_validator("backchannel_logout_uri", "frontchannel_logout_uri")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        return _check_uri(value) if value else None

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _check_scopes(values)


class ClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    client_id: str
    name: str
    public: bool
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    scopes: list[str]
    department_code: str | None
    department_name: str | None
    id_token_alg: str
    first_party: bool
    may_introspect: bool
    backchannel_logout_uri: str | None
    frontchannel_logout_uri: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class ClientCreated(BaseModel):
    """A newly registered client, or one whose secret was reset: the secret is shown this once."""

    client: ClientRead
    client_secret: str | None = Field(None, description="只显示这一次；公开客户端没有密钥")


class ConsentRead(BaseModel):
    client_id: str
    client_name: str
    scopes: list[str]
    granted_at: datetime


class AppSessionRead(BaseModel):
    """An application signed in through a yiwang session (已登录的应用)."""

    id: int
    session_id: int
    client_id: str
    client_name: str
    created_at: datetime
    last_seen_at: datetime


class SigningKeyRead(BaseModel):
    kid: str
    alg: str
    created_at: datetime
    retired_at: datetime | None
    drop_after: datetime | None


class BackchannelLogoutDue(EventPayload):
    """One application must be told, by a signed logout token, that a session it relied on ended."""

    event_name = "identity.backchannel_logout_due"

    client_id: str
    uri: str
    iss: str
    sub: str
    sid: str

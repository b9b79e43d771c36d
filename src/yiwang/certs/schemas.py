"""Input and output models of the certs domain."""

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from yiwang.core.events import EventPayload


def reject_nul(value: Any) -> Any:
    """NUL characters cannot be stored (PostgreSQL text) and never belong in certificate data."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("不能包含空字符（\\x00）")
    if isinstance(value, list | tuple):
        for item in value:
            reject_nul(item)
    if isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key)
            reject_nul(item)
    return value


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)


class CertificateTypeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    ministry: str
    holder_kind: str
    validity_years: int | None
    high_frequency: bool
    issuer_department_code: str | None


class CertificateTypeCreate(StrictInput):
    code: str = Field(
        min_length=21, max_length=21, pattern=r"^[0-9A-Z]{18}\d{3}$", description="部委统一社会信用代码+3位数字"
    )
    name: str = Field(min_length=1, max_length=60)
    ministry: str = Field(min_length=1, max_length=60)
    holder_kind: Literal["citizen", "enterprise", "any"] = "citizen"
    validity_years: int | None = Field(None, ge=1, le=100)
    high_frequency: bool = False
    issuer_department_code: str = Field(min_length=2, max_length=20, description="唯一有权签发该类证照的部门代码")


class CertificateIssue(StrictInput):
    type_code: str = Field(min_length=21, max_length=21)
    department_code: str | None = Field(
        None, min_length=2, max_length=20, description="颁证部门；省略时为证照类型指定的颁证部门，填写时须与之相同"
    )
    holder_username: str = Field(min_length=1, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)
    valid_from: date | None = None
    valid_until: date | None = None


class CertificateRevoke(StrictInput):
    reason: str = Field(min_length=2, max_length=200)


class CertificateRead(BaseModel):
    identifier: str
    type_code: str
    type_name: str
    issuer_department: str
    issuer_code: str
    holder_user_id: int | None
    holder_name: str
    holder_code_masked: str | None
    data: dict[str, Any]
    issued_at: datetime
    valid_from: date
    valid_until: date | None
    status: Literal["valid", "revoked", "expired"]
    revoked_at: datetime | None
    revoke_reason: str | None
    log_index: int
    revocation_log_index: int | None
    source: str | None


class CertificateUseRead(BaseModel):
    identifier: str
    type_name: str
    used_by: str
    purpose: str
    reference: str | None
    consent_reference: str | None
    actor_name: str
    used_at: datetime


class Check(BaseModel):
    name: Literal["identifier", "signature", "issuer", "inclusion", "revocation", "validity"]
    label: str
    ok: bool
    message: str


class VerificationResult(BaseModel):
    identifier: str
    ok: bool
    checks: list[Check]
    certificate: dict[str, Any] | None = Field(None, description="公开可见的证照摘要（个人信息已脱敏）")
    checkpoint: str | None = Field(None, description="用于包含性校验的已签名检查点")
    log_index: int | None = None
    audit_path: list[str] = Field(default_factory=list)


class CheckpointRead(BaseModel):
    checkpoint: str = Field(description="C2SP tlog-checkpoint 签名笔记")
    origin: str
    tree_size: int
    root_hash: str = Field(description="base64")
    public_key: str = Field(description="Ed25519 公钥，base64")
    verifier_key: str = Field(description="note 验证密钥 name+keyid+base64(0x01‖公钥)")
    created_at: datetime | None


class LogEntry(BaseModel):
    index: int
    leaf_input: str = Field(description="base64")


class EntriesRead(BaseModel):
    entries: list[LogEntry]


class InclusionProofRead(BaseModel):
    index: int
    tree_size: int
    audit_path: list[str] = Field(description="十六进制哈希，叶到根")


class ConsistencyProofRead(BaseModel):
    first: int
    second: int
    consistency: list[str] = Field(description="十六进制哈希")


# ---- events (core.events outbox payloads) ---------------------------------------------------------


class CertificateIssued(EventPayload):
    event_name: ClassVar[str] = "certs.issued"

    identifier: str
    holder_user_id: int | None
    type_code: str


class CertificateRevoked(EventPayload):
    event_name: ClassVar[str] = "certs.revoked"

    identifier: str
    holder_user_id: int | None


# ---- the read model other domains use (certs.reads) ----------------------------------------------


class CertificateCounts(BaseModel):
    certificates: int = Field(description="issued, revoked ones included")
    revoked: int
    types: int
    high_frequency_types: int
    log_size: int = Field(description="entries in the transparency log")

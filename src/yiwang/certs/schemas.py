"""Input and output models of the certs domain."""

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from yiwang.core.events import EventPayload
from yiwang.core.inputs import StrictInput


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
    log_id: int = Field(description="透明日志编号（切换密码配置后为新日志）")
    log_index: int
    revocation_log_id: int | None
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
    log_id: int | None = None
    log_origin: str | None = None
    log_hash: str | None = Field(None, description="该日志的哈希算法：SHA-256 或 SM3")
    log_index: int | None = None
    audit_path: list[str] = Field(default_factory=list)


class LogAlgorithms(BaseModel):
    hash: Literal["SHA-256", "SM3"] = Field(description="RFC 6962 树的哈希算法")
    signature: Literal["Ed25519", "SM2"] = Field(
        description="检查点签名算法（SM2 为 SM3 摘要、默认标识 1234567812345678）"
    )
    note_signature_type: str = Field(description="签名笔记的签名类型，十六进制（Ed25519 为 01）")
    key_id: str = Field(description="签名笔记密钥 ID，十六进制")


class CheckpointRead(BaseModel):
    checkpoint: str = Field(description="C2SP tlog-checkpoint 签名笔记")
    log_id: int
    origin: str
    state: Literal["active", "frozen"] = Field(description="active：正在追加；frozen：切换密码配置后冻结")
    algorithms: LogAlgorithms
    tree_size: int
    root_hash: str = Field(description="base64")
    public_key: str = Field(description="公钥，base64（Ed25519 为 32 字节，SM2 为 65 字节未压缩点）")
    public_key_pem: str = Field(description="SubjectPublicKeyInfo PEM，可供 openssl 验签")
    verifier_key: str = Field(description="note 验证密钥 name+keyid+base64(签名类型‖公钥)")
    predecessor: str | None = Field(None, description="前一日志的 origin（其最终检查点是本日志第 0 条）")
    successor: str | None = Field(None, description="冻结后接续的日志的 origin")
    created_at: datetime | None


class IssuerKeyRead(BaseModel):
    name: str = Field(description="密钥名称，证照签名内容与日志条目以此指明密钥")
    department: str
    issuer_code: str
    version: int
    algorithm: Literal["Ed25519", "SM2"]
    key_id: str = Field(description="公钥指纹：SM2 密钥取 SM3，Ed25519 密钥取 SHA-256，前 8 字节十六进制")
    public_key: str = Field(description="base64：Ed25519 为 32 字节，SM2 为 65 字节未压缩点")
    public_key_pem: str
    active: bool = Field(description="当前用于签发")
    not_before: datetime = Field(description="启用时间")
    not_after: datetime | None = Field(None, description="停用时间；此后不再用它签名")
    retired: bool
    certificates: int = Field(description="用该密钥签发的证照数")
    signatures_valid_until: date | None = Field(
        None, description="停用后：其所签证照的最晚有效期（公开至该日）；为空表示仍在使用或有长期有效证照"
    )


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

"""What the audit administrator (审计管理员) does with the audit log — search it, verify it, export
it — each itself written into the chain, so the auditor's own reading is on the record too."""

from dataclasses import asdict

from pydantic import BaseModel
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.crypto import Keyring
from yiwang.core.security import Principal
from yiwang.core.spreadsheets import SheetData, xlsx_bytes
from yiwang.core.timeutil import SHANGHAI

EXPORT_LIMIT = 10_000


class VerifyRead(BaseModel):
    ok: bool
    entries_checked: int
    signatures_checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


def _filters(query: audit.AuditQuery) -> dict[str, object]:
    return {name: value for name, value in asdict(query).items() if value is not None}


def record_read(db: Session, *, actor: Principal, query: audit.AuditQuery, page: int, found: int) -> None:
    """One entry per search of the log: who looked for what, and how much they saw."""
    audit.record(
        db,
        actor=actor,
        action="audit.read",
        target_type="audit_log",
        target_id=None,
        details={"filters": _filters(query), "page": page, "found": found},
    )


def verify(db: Session, *, actor: Principal, keyring: Keyring) -> VerifyRead:
    """Check the chain, then record that it was checked and what the check found."""
    result = audit.verify(db, keyring)
    audit.record(
        db,
        actor=actor,
        action="audit.verify",
        target_type="audit_log",
        target_id=None,
        outcome=audit.OUTCOME_SUCCESS if result.ok else audit.OUTCOME_FAILURE,
        details={
            "ok": result.ok,
            "entries_checked": result.entries_checked,
            "first_broken_seq": result.first_broken_seq,
        },
    )
    return VerifyRead(**asdict(result))


EXPORT_HEADER = ("序号", "时间", "操作人", "类型", "动作", "对象类型", "对象", "地址", "结果", "详情", "哈希")


def export_xlsx(db: Session, *, actor: Principal, query: audit.AuditQuery) -> bytes:
    """The matching entries, newest first (at most EXPORT_LIMIT), as a workbook; the export is audited."""
    rows, total = audit.search(db, query=query, limit=EXPORT_LIMIT)
    content = xlsx_bytes(
        SheetData(
            "审计日志",
            EXPORT_HEADER,
            (
                (
                    r.seq,
                    r.occurred_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
                    r.actor_name,
                    r.actor_kind,
                    r.action,
                    r.target_type or "",
                    r.target_id or "",
                    r.ip or "",
                    r.outcome,
                    r.details,
                    r.entry_hash,
                )
                for r in rows
            ),
        )
    )
    audit.record(
        db,
        actor=actor,
        action="audit.export",
        target_type="audit_log",
        target_id=None,
        details={"filters": _filters(query), "rows": len(rows), "found": total},
    )
    return content

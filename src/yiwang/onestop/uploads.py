"""Uploaded materials: checked (type by content, size, PDF page count) and stored under files_dir."""

import io
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.crypto import content_suite
from yiwang.core.errors import ValidationFailed
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.onestop.models import Attachment
from yiwang.onestop.schemas import AttachmentRead

UPLOAD_FOLDER = "onestop"  # under the platform's files folder

MAX_BYTES = 10 * 1024 * 1024
MAX_PDF_PAGES = 200
_SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
ALLOWED_NAMES = "PDF、JPG、PNG"


def sniff(content: bytes) -> str | None:
    """The file type from its first bytes; the declared type and extension are not trusted."""
    for magic, kind in _SIGNATURES.items():
        if content.startswith(magic):
            return kind
    return None


def pdf_pages(content: bytes) -> int:
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise ValidationFailed("PDF 文件已加密，请上传未加密的文件", code="upload_encrypted")
        return len(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ValidationFailed("PDF 文件已损坏或无法读取", code="upload_bad_pdf") from exc


def check(content: bytes, filename: str, *, max_pages: int = MAX_PDF_PAGES) -> tuple[str, int | None]:
    """(content type, pages) of an acceptable upload, or ValidationFailed saying what is wrong."""
    if not content:
        raise ValidationFailed("上传的文件为空", code="upload_empty", details={"filename": filename})
    if len(content) > MAX_BYTES:
        raise ValidationFailed(
            f"文件超过 {MAX_BYTES // 1024 // 1024} MB 上限",
            code="upload_too_large",
            details={"filename": filename, "size": len(content), "limit": MAX_BYTES},
        )
    kind = sniff(content)
    if kind is None:
        raise ValidationFailed(
            f"文件类型不支持，仅接受 {ALLOWED_NAMES}", code="upload_bad_type", details={"filename": filename}
        )
    pages = None
    if kind == "application/pdf":
        pages = pdf_pages(content)
        if pages == 0:
            raise ValidationFailed("PDF 文件没有页面", code="upload_bad_pdf", details={"filename": filename})
        if pages > max_pages:
            raise ValidationFailed(
                f"PDF 共 {pages} 页，超过该材料 {max_pages} 页的上限",
                code="upload_too_many_pages",
                details={"filename": filename, "pages": pages, "limit": max_pages},
            )
    return kind, pages


def _safe_name(filename: str) -> str:
    name = os.path.basename(filename.replace("\\", "/").replace("\x00", "")).strip() or "file"
    return name[:200]


def store(
    db: Session,
    *,
    actor: Principal,
    files_dir: Path,
    material_key: str,
    filename: str,
    content: bytes,
    max_pages: int = MAX_PDF_PAGES,
) -> AttachmentRead:
    """Check and keep an upload for the caller; it is bound to an application when submitted."""
    assert actor.user_id is not None
    kind, pages = check(content, filename, max_pages=max_pages)
    algorithm = content_suite(db)
    digest = algorithm.hexdigest(content)
    now = utcnow()
    relative = Path(UPLOAD_FOLDER) / now.strftime("%Y/%m") / f"{digest[:16]}-{secrets.token_hex(8)}"
    target = files_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".part")
    temporary.write_bytes(content)
    temporary.replace(target)
    row = Attachment(
        owner_id=actor.user_id,
        material_key=material_key,
        filename=_safe_name(filename),
        content_type=kind,
        size=len(content),
        pages=pages,
        digest=digest,
        digest_algorithm=algorithm.hash_name,
        path=str(relative),
        uploaded_at=now,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="onestop.attachment.upload",
        target_type="attachment",
        target_id=row.id,
        details={
            "material": material_key,
            "size": len(content),
            "pages": pages,
            "digest": digest,
            "digest_algorithm": algorithm.hash_name,
        },
    )
    return AttachmentRead.model_validate(row)


# ---- what uploads leave behind ----------------------------------------------------------------------

UNBOUND_DAYS = 7  # an upload no application took within a week was abandoned
STRAY_FILE_HOURS = 24  # a file without a row this old was written by a request that then failed
_SWEEPER = Principal(user_id=None, username="system:onestop.uploads", display_name="附件清理", kind="system")


def expire_unbound(db: Session, *, now: datetime | None = None) -> list[str]:
    """Delete uploads no application took within UNBOUND_DAYS; returns their files (relative paths) for
    the caller to remove once the deletion has committed."""
    cutoff = (now or utcnow()) - timedelta(days=UNBOUND_DAYS)
    stale = list(
        db.execute(
            select(Attachment).where(Attachment.application_id.is_(None), Attachment.uploaded_at < cutoff)
        ).scalars()
    )
    if not stale:
        return []
    for row in stale:
        db.delete(row)
    db.flush()
    audit.record(
        db,
        actor=_SWEEPER,
        action="onestop.attachment.expire",
        target_type="attachment",
        details={"ids": [row.id for row in stale], "days": UNBOUND_DAYS},
    )
    return [row.path for row in stale]


def stray_files(db: Session, *, files_dir: Path, now: datetime | None = None) -> list[str]:
    """Files under the uploads folder that no attachment names and that are older than STRAY_FILE_HOURS
    (a request stored the file, then failed and rolled its row back)."""
    root = files_dir / UPLOAD_FOLDER
    if not root.is_dir():
        return []
    cutoff = ((now or utcnow()) - timedelta(hours=STRAY_FILE_HOURS)).timestamp()
    known = set(db.execute(select(Attachment.path)).scalars())
    stray = []
    for path in root.rglob("*"):
        relative = str(path.relative_to(files_dir))
        if path.is_file() and relative not in known and path.stat().st_mtime < cutoff:
            stray.append(relative)
    return stray


def remove_files(files_dir: Path, relative_paths: list[str]) -> int:
    """Remove files of the uploads folder; a path outside it, or one already gone, is skipped."""
    root = (files_dir / UPLOAD_FOLDER).resolve()
    removed = 0
    for relative in relative_paths:
        path = (files_dir / relative).resolve()
        if root in path.parents and path.is_file():
            path.unlink()
            removed += 1
    return removed

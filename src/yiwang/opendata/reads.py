"""The read model other domains use for what the portal itself does not show: how enterprises use
the 有条件开放 datasets they were approved for.

The platform records an enterprise's use of open data as its downloads, which are audited for
signed-in users (the open API pages are not recorded per account).
"""

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core.audit import AuditEntry
from yiwang.core.timeutil import utcnow
from yiwang.opendata.models import OpenApplication, OpenDataset
from yiwang.opendata.schemas import EnterpriseApproval
from yiwang.org import service as org_service

USE_WINDOW = timedelta(days=30)
DOWNLOAD_ACTION = "opendata.download"


def enterprise_approvals(db: Session) -> list[EnterpriseApproval]:
    """Approved applications of enterprise accounts for published datasets, oldest first, with each
    account's downloads of its dataset in the last 30 days."""
    downloads = (
        select(func.count(AuditEntry.seq))
        .where(
            AuditEntry.action == DOWNLOAD_ACTION,
            AuditEntry.actor_id == OpenApplication.user_id,
            AuditEntry.target_id == OpenDataset.entry_code,
            AuditEntry.occurred_at >= utcnow() - USE_WINDOW,
        )
        .correlate(OpenApplication, OpenDataset)
        .scalar_subquery()
    )
    rows = db.execute(
        select(
            OpenApplication.id,
            OpenApplication.user_id,
            OpenDataset.entry_code,
            OpenDataset.title,
            OpenDataset.department_code,
            downloads,
        )
        .join(OpenDataset, OpenDataset.id == OpenApplication.dataset_id)
        .where(OpenApplication.status == "approved", OpenDataset.status == "published")
        .order_by(OpenApplication.id)
    ).all()
    if not rows:
        return []
    enterprises = {a.id: a.display_name for a in org_service.list_accounts(db, kind="enterprise")}
    return [
        EnterpriseApproval(
            application_id=application_id,
            enterprise=enterprises[user_id],
            dataset_code=code,
            dataset_title=title,
            provider_department_code=department,
            downloads_30d=count,
        )
        for application_id, user_id, code, title, department, count in rows
        if user_id in enterprises
    ]

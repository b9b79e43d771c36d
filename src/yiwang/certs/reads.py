"""The read model other domains use: certificate figures as typed shapes."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.certs.models import Certificate, CertificateType, LogHead
from yiwang.certs.schemas import CertificateCounts


def counts(db: Session) -> CertificateCounts:
    """Figures for dashboards: certificates issued, revoked, types, log size (all logs together)."""
    return CertificateCounts(
        certificates=db.execute(select(func.count(Certificate.id))).scalar_one(),
        revoked=db.execute(select(func.count(Certificate.id)).where(Certificate.status == "revoked")).scalar_one(),
        types=db.execute(select(func.count(CertificateType.id))).scalar_one(),
        high_frequency_types=db.execute(
            select(func.count(CertificateType.id)).where(CertificateType.high_frequency.is_(True))
        ).scalar_one(),
        log_size=db.execute(select(func.coalesce(func.sum(LogHead.tree_size), 0))).scalar_one(),
    )

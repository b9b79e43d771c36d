"""The read model other domains use: certificate figures, typed, as the log page and onestop's figures
page show them."""

from sqlalchemy import func, select

from tests.conftest import page_login
from yiwang.certs import service
from yiwang.certs.models import Certificate, CertificateType
from yiwang.certs.schemas import CertificateCounts


def test_counts_are_typed_and_shown(client, runtime):
    with runtime.db.read_only() as db:
        counts = service.counts(db)
        issued = db.execute(select(func.count(Certificate.id))).scalar_one()
        high = db.execute(select(func.count(CertificateType.id)).where(CertificateType.high_frequency)).scalar_one()
    assert isinstance(counts, CertificateCounts)
    assert (counts.certificates, counts.high_frequency_types) == (issued, high)
    assert counts.revoked <= counts.certificates <= counts.log_size
    page_login(client, "admin")
    log = client.get("/certs/log", headers={"accept": "text/html"})
    assert log.status_code == 200 and f"{counts.certificates}（已注销 {counts.revoked}）" in log.text
    figures = client.get("/onestop/figures", headers={"accept": "text/html"})
    assert figures.status_code == 200 and f"透明日志 {counts.log_size} 条" in figures.text

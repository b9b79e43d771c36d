"""The read model other domains use: portal figures, typed and as the API shows them, and enterprises'
approved 有条件开放 applications with their downloads (the enterprise side of indicator 15)."""

from tests.conftest import bearer
from tests.opendata.conftest import open_dataset
from yiwang.opendata import service
from yiwang.opendata.schemas import EnterpriseApproval, PortalFigures


def test_portal_figures_are_typed_and_the_api_shows_them(client, runtime):
    with runtime.db.read_only() as db:
        figures = service.portal_figures(db)
    assert isinstance(figures, PortalFigures)
    assert figures.departments_open == sum(1 for d in figures.by_department.values() if d.open)
    shown = client.get("/api/opendata/figures", headers=bearer(client, "yushan_tech")).json()
    assert shown | {"as_of": figures.as_of} == figures.model_dump()


def _approve(client, code: str, username: str) -> int:
    asked = client.post(
        f"/api/opendata/datasets/{code}/applications",
        json={"purpose": "经营分析与选址"},
        headers=bearer(client, username),
    )
    assert asked.status_code == 201, asked.text
    decided = client.post(
        f"/api/opendata/applications/{asked.json()['id']}/decision",
        json={"approve": True},
        headers=bearer(client, "admin"),
    )
    assert decided.json()["status"] == "approved"
    return asked.json()["id"]


def test_enterprise_approvals_with_their_downloads(client, runtime):
    code = open_dataset(client, open_type="有条件开放")
    enterprise = _approve(client, code, "yushan_tech")
    citizen = _approve(client, code, "lisi")  # not an enterprise: not listed
    with runtime.db.read_only() as db:
        before = {a.application_id: a for a in service.enterprise_approvals(db)}
    assert isinstance(before[enterprise], EnterpriseApproval) and citizen not in before
    assert before[enterprise].downloads_30d == 0 and before[enterprise].provider_department_code == "HBJ"
    for fmt in ("csv", "json"):
        response = client.get(f"/opendata/datasets/{code}/download.{fmt}", headers=bearer(client, "yushan_tech"))
        assert response.status_code == 200, response.text
    with runtime.db.read_only() as db:
        after = {a.application_id: a for a in service.enterprise_approvals(db)}
    assert after[enterprise].downloads_30d == 2 and after[enterprise].dataset_code == code
    assert after[enterprise].enterprise and after[enterprise].dataset_title

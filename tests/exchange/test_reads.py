"""The read model other domains use: sharing figures and each active grant's use in the last 30 days,
typed and consistent with the exchange's own usage log."""

from tests.conftest import bearer
from tests.exchange.conftest import apply_for, client_token
from yiwang.exchange import service
from yiwang.exchange.schemas import GrantUse, SharingFigures


def test_figures_and_grant_use_count_successful_calls_of_active_grants(client, runtime, mounted):
    with runtime.db.read_only() as db:
        before = service.sharing_figures(db)
    code = mounted()
    called = apply_for(client, code, ["person_id", "name"]).json()["grant_id"]
    idle = apply_for(client, code, ["person_id"]).json()["grant_id"]
    revoked = apply_for(client, code, ["score"]).json()["grant_id"]
    headers = client_token(client)
    for page in (1, 2):
        assert client.get(f"/api/exchange/data/{called}", params={"page": page, "size": 10}, headers=headers).is_success
    response = client.post(
        f"/api/exchange/grants/{revoked}/revoke", json={"reason": "测试撤销授权"}, headers=bearer(client, "hbj_steward")
    )
    assert response.status_code == 200, response.text
    with runtime.db.read_only() as db:
        after = service.sharing_figures(db)
        use = {g.grant_id: g for g in service.grant_usage(db)}
    assert isinstance(after, SharingFigures)
    assert after.active_grants - before.active_grants == 2  # the revoked grant no longer counts
    assert after.grants_used_30d - before.grants_used_30d == 1 and after.used_grants == after.grants_used_30d
    assert after.calls_30d - before.calls_30d == 2 and after.rows_30d - before.rows_30d == 20
    assert after.utilisation_ratio == round(after.grants_used_30d / after.active_grants, 4)
    assert client.get("/api/exchange/figures", headers=bearer(client, "admin")).json() == after.model_dump()

    assert all(isinstance(g, GrantUse) for g in use.values()) and revoked not in use
    assert (use[called].calls_30d, use[idle].calls_30d) == (2, 0)
    assert use[called].entry_code == code and use[called].consumer_department_code == "DSJ"
    assert list(use) == sorted(use)

"""Separation of duties (职责分离): the bureau member who applied for data cannot approve the application."""

from tests.conftest import bearer
from tests.exchange.conftest import apply_for


def test_the_applicant_cannot_approve_their_own_application(client, mounted):
    code = mounted(sharing_type="有条件共享")
    app_id = apply_for(client, code, ["person_id"], user="dsj_steward").json()["id"]
    answered = client.post(
        f"/api/exchange/applications/{app_id}/provider-decision",
        json={"approve": True, "reason": "同意"},
        headers=bearer(client, "hbj_admin"),
    )
    assert answered.json()["status"] == "pending_bureau"
    own = client.post(
        f"/api/exchange/applications/{app_id}/bureau-decision",
        json={"approve": True},
        headers=bearer(client, "dsj_steward"),
    )
    assert own.status_code == 403 and own.json()["error"]["code"] == "separation_of_duties"
    granted = client.post(
        f"/api/exchange/applications/{app_id}/bureau-decision", json={"approve": True}, headers=bearer(client, "admin")
    )
    assert granted.status_code == 200 and granted.json()["status"] == "granted"

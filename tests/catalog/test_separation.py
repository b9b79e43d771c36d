"""Separation of duties (职责分离): whoever drafts a catalog entry cannot also publish it."""

from tests.catalog.helpers import PERSON_ITEMS
from tests.conftest import bearer, unique


def test_the_drafter_cannot_publish_their_own_entry(client):
    dsj = bearer(client, "dsj_steward")
    body = {"name": f"测试{unique()}", "items": PERSON_ITEMS}
    code = client.post("/api/catalog/entries", json=body, headers=dsj).json()["code"]
    assert client.post(f"/api/catalog/entries/{code}/submit", headers=dsj).status_code == 200
    own = client.post(f"/api/catalog/entries/{code}/review", json={"approve": True}, headers=dsj)
    assert own.status_code == 403
    assert own.json()["error"]["code"] == "separation_of_duties" and "职责分离" in own.json()["error"]["message"]
    # Sending it back is not an approval: the drafter may withdraw it with reasons.
    other = client.post(f"/api/catalog/entries/{code}/review", json={"approve": True}, headers=bearer(client, "admin"))
    assert other.status_code == 200 and other.json()["status"] == "published"

"""Helpers of the exchange tests: a mounted entry, applications, and the demo exchange client's token."""

from datetime import date, timedelta

import pytest

from tests.catalog.helpers import VALID_ID, person_csv, publish_entry
from tests.conftest import bearer
from yiwang.demo.loader import DEMO_CLIENT_SECRET

ROWS = [
    (f"P{n:03d}", f"张{'三丰' if n % 2 else '四'}", VALID_ID, f"1381234{n:04d}", "1949-12-31", "虞山街道", str(n % 100))
    for n in range(1, 251)
]
END = (date.today() + timedelta(days=90)).isoformat()


def client_token(client, client_id="demo-exchange-client", secret=DEMO_CLIENT_SECRET) -> dict[str, str]:
    response = client.post(
        "/api/auth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def mounted(client):
    """A published HBJ entry with 250 rows mounted; unconditional sharing unless overridden."""

    def make(**fields):
        entry = publish_entry(client, **fields)
        response = client.post(
            f"/api/governance/resources/{entry['code']}/upload",
            files={"file": ("p.csv", person_csv(ROWS).encode())},
            headers=bearer(client, "hbj_steward"),
        )
        assert response.status_code == 201, response.text
        return entry["code"]

    return make


def apply_for(client, code, fields, user="dsj_steward", **extra):
    body = {"entry_code": code, "fields": fields, "purpose": "测试用途：业务协同", "period_end": END, **extra}
    return client.post("/api/exchange/applications", json=body, headers=bearer(client, user))

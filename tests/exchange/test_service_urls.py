"""A provider's addresses are checked when the service is registered: what no HTTP client could call is
a 422 naming the field, never a 500 when the platform first tries it."""

import pytest

from tests.conftest import bearer, unique
from tests.exchange.mediation_helpers import PROVIDER_USER
from tests.exchange.provider import OPERATIONS


@pytest.mark.parametrize("field", ["base_url", "openapi_url"])
@pytest.mark.parametrize("url", ["http://\u0080", "https://", "http://provider.example:99999/v1"])
def test_an_address_no_client_can_call_is_refused_with_the_field_named(client, field, url):
    body = {
        "code": unique("svc").lower().replace("_", "-"),
        "name": "人员信息核验",
        "base_url": "http://provider.example/v1",
        "operations": OPERATIONS,
    } | {field: url}
    response = client.post("/api/exchange/services", json=body, headers=bearer(client, PROVIDER_USER))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert field in str(error["details"])

"""Helpers of the open data tests: an entry with data mounted and opened on the portal."""

from tests.catalog.helpers import VALID_ID, person_csv, publish_entry
from tests.conftest import bearer

ROWS = [(f"P{n}", "张三丰", VALID_ID, "13812345678", f"2024-01-{n:02d}", "虞山街道", str(50 + n)) for n in range(1, 21)]


def open_dataset(client, open_type="无条件开放", **fields):
    entry = publish_entry(client, open_type=open_type, licence="CC-BY-4.0", **fields)
    code = entry["code"]
    steward = bearer(client, "hbj_steward")
    assert (
        client.post(
            f"/api/governance/resources/{code}/upload",
            files={"file": ("d.csv", person_csv(ROWS).encode())},
            headers=steward,
        ).status_code
        == 201
    )
    published = client.post(f"/api/opendata/datasets/{code}/publish", headers=steward)
    assert published.status_code == 201, published.text
    return code

"""The read model other domains use: indicator 4 and 14 figures (14 counts the clean rows held whose
sensitive items all leave de-identified) and every published entry with its current data."""

from tests.catalog.helpers import PERSON_ITEMS, VALID_ID, person_csv, publish_entry
from tests.conftest import bearer
from yiwang.governance import service
from yiwang.governance.schemas import EntryMounting, GovernanceFigures

ROWS = [
    ("P1", "张三丰", VALID_ID, "13812345678", "1949-12-31", "虞山街道", "90"),
    ("P2", "李四", "", "13912345678", "1995/11/22", "梅李镇", "75.5"),
    ("P3", "王五", "", "", "2001年1月1日", "海虞镇", "60"),
]
# The same resource, but its phone numbers would leave in the clear.
PHONES_IN_CLEAR = [dict(i, masking="none") if i["name"] == "mobile" else i for i in PERSON_ITEMS]


def _mount(client, code: str, rows: list[tuple]) -> None:
    response = client.post(
        f"/api/governance/resources/{code}/upload",
        files={"file": ("data.csv", person_csv(rows).encode())},
        headers=bearer(client, "hbj_steward"),
    )
    assert response.status_code == 201, response.text


def test_figures_count_rows_held_and_rows_that_leave_de_identified(client, runtime):
    with runtime.db.read_only() as db:
        before = service.governance_figures(db)
    masked = publish_entry(client)["code"]
    in_clear = publish_entry(client, items=PHONES_IN_CLEAR)["code"]
    unmounted = publish_entry(client)["code"]
    _mount(client, masked, ROWS)
    _mount(client, in_clear, ROWS[:2])
    with runtime.db.read_only() as db:
        after = service.governance_figures(db)
        mounting = {e.code: e for e in service.catalog_mounting(db)}
    assert isinstance(after, GovernanceFigures)
    assert after.catalog_entries - before.catalog_entries == 3
    assert after.mounted_resources - before.mounted_resources == 2
    assert after.deidentified_resources - before.deidentified_resources == 1
    assert (after.rows_held - before.rows_held, after.rows_deidentified - before.rows_deidentified) == (5, 3)
    assert after.cleaned_deidentified_ratio == round(after.rows_deidentified / after.rows_held, 4)
    assert after.mount_ratio == round(after.mounted_resources / after.catalog_entries, 4)
    assert client.get("/api/governance/figures", headers=bearer(client, "hbj_steward")).json() == after.model_dump()

    assert all(isinstance(e, EntryMounting) for e in mounting.values())
    assert (mounting[masked].version, mounting[masked].rows, mounting[masked].sensitive_in_clear) == (1, 3, [])
    assert mounting[in_clear].sensitive_in_clear == ["手机号码"] and mounting[in_clear].rows == 2
    assert mounting[unmounted].version is None and mounting[unmounted].rows is None
    assert mounting[masked].data_updated_at is not None and mounting[masked].update_cycle == "每月"
    assert len(mounting) == after.catalog_entries
    assert sum(1 for e in mounting.values() if e.version is not None) == after.mounted_resources

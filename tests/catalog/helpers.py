"""Helpers shared by the data-foundation tests: entries drafted, reviewed and published through the API."""

from typing import Any

from tests.conftest import bearer, unique

PERSON_ITEMS = [
    {"name": "person_id", "label": "人员编号", "required": True, "is_key": True},
    {"name": "name", "label": "姓名", "required": True, "masking": "name", "sensitivity": 3},
    {"name": "id_number", "label": "身份证号码", "validator": "id_number", "masking": "id_number", "sensitivity": 4},
    {"name": "mobile", "label": "手机号码", "validator": "mobile", "masking": "mobile", "sensitivity": 3},
    {"name": "birth_date", "label": "出生日期", "data_type": "date", "masking": "year", "sensitivity": 3},
    {"name": "town", "label": "所在镇", "validator": "enum", "validator_arg": "虞山街道|梅李镇|海虞镇"},
    {"name": "score", "label": "评分", "data_type": "number", "validator": "range", "validator_arg": "0,100"},
]


def publish_entry(client, *, steward: str = "hbj_steward", items: list[dict] | None = None, **fields: Any) -> dict:
    """Draft as a steward, submit, and publish as the bureau (admin); returns the published entry."""
    body = {
        "name": fields.pop("name", f"测试资源{unique()}"),
        "summary": fields.pop("summary", "用于自动化测试的资源目录条目，包含人员信息字段。"),
        "items": items if items is not None else PERSON_ITEMS,
        "sharing_type": fields.pop("sharing_type", "无条件共享"),
        "open_type": fields.pop("open_type", "不予开放"),
        "update_cycle": fields.pop("update_cycle", "每月"),
        "data_grade": fields.pop("data_grade", "3"),
        **fields,
    }
    headers = bearer(client, steward)
    created = client.post("/api/catalog/entries", json=body, headers=headers)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    assert client.post(f"/api/catalog/entries/{code}/submit", headers=headers).status_code == 200
    reviewed = client.post(
        f"/api/catalog/entries/{code}/review",
        json={"approve": True, "note": "测试通过"},
        headers=bearer(client, "admin"),
    )
    assert reviewed.status_code == 200, reviewed.text
    return reviewed.json()


def person_csv(rows: list[tuple], header: str = "person_id,name,id_number,mobile,birth_date,town,score") -> str:
    return header + "\n" + "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"


VALID_ID = "11010519491231002X"

"""Registries behind indicators 1–3, 10, 16–20: hand-checked values, XLSX import with bad rows,
export round trip, and who may maintain them."""

import secrets

import pytest
from openpyxl import load_workbook

from tests.brain.conftest import SYSTEM, xlsx
from tests.conftest import bearer, unique
from yiwang.brain import registries
from yiwang.brain import service as svc
from yiwang.brain.schemas import CardScenarioIn, GovSystemIn, UpstreamIntegrationIn
from yiwang.core.identifiers import credit_code_check_char

HEADERS = ["系统编号", "系统名称", "部门代码", "部署位置", "承载网络", "原建专网", "支持IPv6", "备注"]


def _credit_code(body: str) -> str:
    return body + credit_code_check_char(body)


def test_registry_indicators_from_hand_made_rows(fresh):
    systems = [
        # code, hosting, network, private network, ipv6
        ("A-1", "gov_cloud", "extranet", "", True),
        ("A-2", "gov_cloud", "extranet", "视频专网", True),  # integrated
        ("B-1", "own_room", "private", "教育城域网", False),  # not integrated, not on cloud
        ("B-2", "gov_cloud", "private", "应急专网", True),
        ("C-1", "own_room", "extranet", "", False),
    ]
    with fresh.db.unit_of_work() as db:
        for code, hosting, network, private, ipv6 in systems:
            svc.save_registry_row(
                db,
                actor=SYSTEM,
                key="systems",
                data=GovSystemIn(
                    code=code,
                    name=f"系统{code}",
                    department_code="HBJ",
                    hosting=hosting,
                    network=network,
                    private_network=private,
                    ipv6=ipv6,
                ),
            )
        for n, status in enumerate(["live", "live", "pilot", "planned", "live"]):
            svc.save_registry_row(
                db,
                actor=SYSTEM,
                key="cards",
                data=CardScenarioIn(
                    code=f"C{n}",
                    name=f"场景{n}",
                    department_code="JTJ",
                    status=status,
                    launched_on="2025-01-01" if status == "live" else None,
                ),
            )
        for n, state in enumerate(["done", "done", "in_progress", "not_started"]):
            svc.save_registry_row(
                db,
                actor=SYSTEM,
                key="upstream",
                data=UpstreamIntegrationIn(
                    code=f"U17-{n}",
                    indicator_no=17,
                    name=f"事项{n}",
                    state=state,
                    done_on="2025-06-01" if state == "done" else None,
                ),
            )
    with fresh.db.unit_of_work() as db:
        values = {i.no: i for i in svc.compute_indicators(db)}
        assert values[1].value == 60.0 and (values[1].numerator, values[1].denominator) == (3, 5)  # 3 of 5 on cloud
        assert values[2].value == pytest.approx(33.33) and values[2].denominator == 3  # 1 of 3 private integrated
        assert values[3].value == 60.0  # 3 of 5 IPv6
        assert values[10].value == 3  # live scenarios
        # The upstream registry is a record only: 17 counts the cascade's messages, and no peer is registered.
        assert values[17].source == "computed" and values[17].value is None
        assert values[18].value is None and values[18].status == "no_data" and "对接节点" in values[18].status_reason
        assert values[16].status == "no_data"
        drill = svc.drill_down(db, principal=SYSTEM, no=1)
        assert drill.counted == 3 and drill.total == 5
        assert {r["code"] for r in drill.records if not r["counted"]} == {"B-1", "C-1"}
        drill2 = svc.drill_down(db, principal=SYSTEM, no=2)
        assert [r["code"] for r in drill2.records if r["counted"]] == ["A-2"]


def test_xlsx_import_saves_good_rows_and_returns_bad_rows_with_reasons(client, admin_headers):
    tag = unique("X").upper()
    content = xlsx(
        [
            HEADERS,
            [f"{tag}-1", "好的系统", "HBJ", "政务云", "电子政务外网", "", "是", ""],
            [f"{tag}-2", "好的系统二", "SWJ", "own_room", "private", "水务专网", "否", "代码和标签都可用"],
            [f"{tag}-3", "坏的部署", "HBJ", "云上", "电子政务外网", "", "是", ""],
            [f"{tag}-4", "", "HBJ", "政务云", "电子政务外网", "", "是", ""],
            [f"{tag}-5", "未知部门", "NOPE", "政务云", "电子政务外网", "", "是", ""],
            [f"{tag}-6", "专网缺名称", "HBJ", "政务云", "部门专网", "", "是", ""],
            [f"{tag}-7", "IPv6写错", "HBJ", "政务云", "电子政务外网", "", "也许", ""],
            [f"{tag}-1", "重复编号", "HBJ", "政务云", "电子政务外网", "", "是", ""],
            [None, None, None, None, None, None, None, None],  # blank lines are skipped
        ]
    )
    response = client.post(
        "/api/brain/registries/systems/import",
        files={"file": ("systems.xlsx", content, "application/octet-stream")},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows_total"], report["rows_saved"], report["rows_rejected"]) == (8, 2, 6)
    reasons = {r["row"]: " ".join(r["reasons"]) for r in report["rejects"]}
    assert "部署位置" in reasons[4] and "政务云" in reasons[4]
    assert "系统名称" in reasons[5]
    assert "NOPE" in reasons[6]
    assert "专网名称" in reasons[7]
    assert "支持IPv6" in reasons[8]
    assert "重复" in reasons[9]
    assert report["rejects"][0]["values"]["系统名称"] == "坏的部署"  # the rejected row is kept as submitted
    rows = {r["code"]: r for r in client.get("/api/brain/registries/systems", headers=admin_headers).json()}
    assert rows[f"{tag}-1"]["hosting"] == "gov_cloud" and rows[f"{tag}-2"]["network"] == "private"
    assert f"{tag}-3" not in rows


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "空"), (b"not a workbook at all", "xlsx"), (xlsx([["名称"], ["x"]]), "表头缺少列")],
)
def test_bad_uploads_are_clear_4xx(client, admin_headers, content, message):
    response = client.post(
        "/api/brain/registries/cards/import", files={"file": ("x.xlsx", content)}, headers=admin_headers
    )
    assert response.status_code == 422 and message in response.json()["error"]["message"]


def test_export_then_import_round_trips(client, admin_headers):
    exported = client.get("/brain/registries/upstream/export", headers=admin_headers)  # bearer works here too
    assert exported.status_code == 200
    sheet = load_workbook(__import__("io").BytesIO(exported.content)).active
    header = [c.value for c in sheet[1]]
    assert header == [c.header for c in registries.SPECS["upstream"].columns]
    assert sheet.max_row > 1
    again = client.post(
        "/api/brain/registries/upstream/import", files={"file": ("u.xlsx", exported.content)}, headers=admin_headers
    ).json()
    assert again["rows_rejected"] == 0 and again["rows_saved"] == sheet.max_row - 1


def test_enterprise_credit_codes_are_checked(client, admin_headers):
    good = _credit_code(f"91320581MA{secrets.randbelow(10**7):07d}")
    ok = client.put(
        f"/api/brain/registries/enterprises/{good}",
        json={"name": "测试企业", "status": "settled", "settled_on": "2025-03-01", "field": "数据治理"},
        headers=admin_headers,
    )
    assert ok.status_code == 200, ok.text
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    refused = client.put(
        f"/api/brain/registries/enterprises/{bad}",
        json={"name": "x", "status": "settled", "settled_on": "2025-03-01"},
        headers=admin_headers,
    )
    assert refused.status_code == 422
    assert client.delete(f"/api/brain/registries/enterprises/{good}", headers=admin_headers).status_code == 204


def test_who_may_maintain_registries(client):
    leader = bearer(client, "leader")
    body = {"name": "x", "department_code": "DSJ", "status": "live", "launched_on": "2025-01-01"}
    assert client.put("/api/brain/registries/cards/T-LEADER", json=body, headers=leader).status_code == 403
    assert client.get("/api/brain/registries/cards", headers=leader).status_code == 200
    steward = bearer(client, "hbj_steward")  # a data steward of 生态环境局 maintains only its own rows
    assert client.put("/api/brain/registries/cards/T-HBJ-DSJ", json=body, headers=steward).status_code == 403
    own = body | {"department_code": "HBJ"}
    assert client.put("/api/brain/registries/cards/T-HBJ-OWN", json=own, headers=steward).status_code == 200
    assert client.delete("/api/brain/registries/cards/T-HBJ-OWN", headers=steward).status_code == 204
    citizen = bearer(client, "zhangsan")
    assert client.get("/api/brain/registries/cards", headers=citizen).status_code == 403


def test_registry_rules(fresh):
    with fresh.db.unit_of_work() as db, pytest.raises(Exception, match="完成日期"):
        svc.save_registry_row(
            db,
            actor=SYSTEM,
            key="upstream",
            data=UpstreamIntegrationIn(code="U18-X", indicator_no=18, name="x", state="done"),
        )

"""Mounting data: uploads in UTF-8/GBK/GB18030, bad files refused clearly, quarantine, versions,
compare and rollback, failed and cancelled ingests, API push, the background job and the CLI."""

import csv
import io

import pytest

from tests.catalog.helpers import VALID_ID, person_csv, publish_entry
from tests.conftest import bearer, csrf_from, page_login, run_cli, unique

GOOD = [
    ("P1", "张三丰", VALID_ID, "13812345678", "1949-12-31", "虞山街道", "90"),
    ("P2", "李四", "", "13912345678", "1995/11/22", "梅李镇", "75.5"),
    ("P3", "王五", "", "", "2001年1月1日", "海虞镇", "60"),
]


def _upload(client, code, content: bytes, filename="data.csv", user="hbj_steward"):
    return client.post(
        f"/api/governance/resources/{code}/upload", files={"file": (filename, content)}, headers=bearer(client, user)
    )


def test_utf8_upload_makes_a_version_with_a_quality_report(client):
    code = publish_entry(client)["code"]
    response = _upload(client, code, person_csv(GOOD).encode("utf-8"))
    assert response.status_code == 201, response.text
    version = response.json()
    assert version["version"] == 1 and version["current"] and version["encoding"] == "UTF-8"
    assert version["rows_in"] == 3 and version["rows_out"] == 3 and version["rows_quarantined"] == 0
    assert version["report"]["fields"]["id_number"]["completeness"] == round(1 / 3, 4)
    assert len(version["checksum"]) == 64


def test_gbk_and_gb18030_files_are_detected_and_decoded(client):
    code = publish_entry(client)["code"]
    gbk = _upload(client, code, person_csv(GOOD).encode("gbk"))
    assert gbk.status_code == 201 and gbk.json()["encoding"] == "GBK"
    rare = [("P9", "𠀀王", VALID_ID, "13812345678", "1949-12-31", "虞山街道", "1")]  # outside GBK
    content = person_csv(rare).encode("gb18030")
    try:
        content.decode("gbk")
        raise AssertionError("the sample must not be valid GBK")
    except UnicodeDecodeError:
        pass
    gb18030 = _upload(client, code, content)
    assert gb18030.status_code == 201 and gb18030.json()["encoding"] == "GB18030"
    rows = client.get(f"/api/governance/resources/{code}/versions/2", headers=bearer(client, "hbj_steward")).json()
    assert rows["rows_out"] == 1


def test_bad_uploads_are_refused_with_clear_messages_and_nothing_changes(client):
    code = publish_entry(client)["code"]
    assert _upload(client, code, person_csv(GOOD).encode()).status_code == 201
    cases = {
        "empty": (b"", "文件为空"),
        "blank": (b"  \n\n", "文件为空"),
        "binary junk": (b"\x00\x01\x02\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, "二进制"),
        "wrong columns": ("编号,颜色\n1,红\n".encode(), "列与资源目录的信息项不符"),
        "header only": (b"person_id,name\n", "没有数据行"),
        "undecodable": (b"person_id,name\n" + bytes([0x81, 0x20, 0xFE, 0xFF]) * 10 + b"\n", "编码"),
        "huge row": (("person_id,name\nP1," + "长" * 400_000 + "\n").encode(), "超过"),
        "unknown type": (b"abc", "不支持的文件类型"),
    }
    for label, (content, message) in cases.items():
        name = "data.bin" if label == "unknown type" else "data.csv"
        response = _upload(client, code, content, filename=name)
        assert response.status_code in (413, 422), (label, response.text)
        body = response.json()["error"]
        assert message in body["message"], (label, body)
    versions = client.get(f"/api/governance/resources/{code}/versions", headers=bearer(client, "hbj_steward")).json()
    assert [v["version"] for v in versions] == [1] and versions[0]["current"]
    broken_xlsx = _upload(client, code, b"PK\x03\x04 not really a zip", filename="data.xlsx")
    assert broken_xlsx.status_code == 422 and "XLSX" in broken_xlsx.json()["error"]["message"]


def test_every_rejected_row_is_quarantined_with_its_reasons_and_downloadable(client):
    code = publish_entry(client)["code"]
    rows = [
        *GOOD,
        ("P4", "赵六", "110105194912310021", "12345", "1990-01-01", "火星", "101"),
        ("P1", "重复", "", "", "", "", ""),
        ("P5", "", "", "", "1990-02-30", "", ""),
    ]
    version = _upload(client, code, person_csv(rows).encode()).json()
    assert version["rows_out"] == 3 and version["rows_quarantined"] == 3 and version["duplicates"] == 1
    response = client.get(
        f"/api/governance/resources/{code}/versions/1/quarantine.csv", headers=bearer(client, "hbj_steward")
    )
    assert response.status_code == 200
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_line = {r["原文件行号"]: r["问题"] for r in table}
    assert set(by_line) == {"5", "6", "7"}
    assert "身份证号码无效" in by_line["5"] and "手机号码无效" in by_line["5"]
    assert "不在枚举取值内" in by_line["5"] and "超出范围" in by_line["5"]
    assert by_line["6"] == "主键重复：与第 2 行相同"
    assert "必填项为空" in by_line["7"] and "日期格式无效" in by_line["7"]
    assert table[0]["姓名"] == "赵六"  # the submitted values are kept with the reasons


def test_versions_compare_by_key_and_roll_back(client):
    code = publish_entry(client)["code"]
    _upload(client, code, person_csv(GOOD).encode())
    second = [
        GOOD[0],
        ("P2", "李四", "", "13912345678", "1995-11-22", "梅李镇", "80"),
        ("P7", "新人", "", "", "", "", ""),
    ]
    assert _upload(client, code, person_csv(second).encode()).json()["version"] == 2
    headers = bearer(client, "hbj_steward")
    diff = client.get(f"/api/governance/resources/{code}/compare", params={"base": 1, "other": 2}, headers=headers)
    assert diff.status_code == 200, diff.text
    result = diff.json()
    assert (result["added"], result["removed"], result["changed"], result["unchanged"]) == (1, 1, 1, 1)
    assert result["key"] == ["person_id"] and result["samples"]["added"] == ["P7"]
    assert result["samples"]["removed"] == ["P3"] and result["samples"]["changed"] == ["P2"]
    back = client.post(
        f"/api/governance/resources/{code}/rollback", json={"version": 1, "reason": "误传"}, headers=headers
    )
    assert back.status_code == 200 and back.json()["current"] and back.json()["version"] == 1
    versions = client.get(f"/api/governance/resources/{code}/versions", headers=headers).json()
    assert [(v["version"], v["current"]) for v in versions] == [(2, False), (1, True)]
    again = client.post(f"/api/governance/resources/{code}/rollback", json={"version": 1}, headers=headers)
    assert again.status_code == 409


def test_a_failed_ingest_leaves_the_current_version(client, runtime, monkeypatch):
    from yiwang.governance import pipeline

    code = publish_entry(client)["code"]
    _upload(client, code, person_csv(GOOD).encode())

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pipeline.pl.DataFrame, "write_parquet", explode)
    with pytest.raises(OSError, match="disk full"):  # the test client re-raises what the app turns into a 500
        _upload(client, code, person_csv(GOOD[:1]).encode())
    monkeypatch.undo()
    versions = client.get(f"/api/governance/resources/{code}/versions", headers=bearer(client, "hbj_steward")).json()
    assert [(v["version"], v["current"], v["rows_out"]) for v in versions] == [(1, True, 3)]
    staging = runtime.settings.data_dir / "governance" / "_staging"
    assert not staging.exists() or not any(staging.iterdir())  # the half-written snapshot was removed


def test_a_cancelled_ingest_leaves_the_current_version(client, runtime):
    from yiwang.catalog.demo import demo_actor
    from yiwang.core.errors import AppError
    from yiwang.governance import service

    code = publish_entry(client)["code"]
    _upload(client, code, person_csv(GOOD).encode())
    try:
        with runtime.db.unit_of_work() as db:
            service.ingest(
                db,
                actor=demo_actor(),
                data_dir=runtime.settings.data_dir,
                entry_code=code,
                content=person_csv(GOOD[:1]).encode(),
                cancelled=lambda: True,
            )
        raise AssertionError("the ingest should have been cancelled")
    except AppError as exc:
        assert exc.code == "ingest_cancelled"
    with runtime.db.unit_of_work() as db:
        status = service.resource_status(db, entry_codes=[code])[code]
    assert status.version == 1 and status.rows == 3


def test_api_push_of_json_rows(client):
    code = publish_entry(client)["code"]
    rows = [{"person_id": "P1", "name": "张三", "score": 88}, {"person_id": "P2", "name": "李四", "mobile": "bad"}]
    response = client.post(
        f"/api/governance/resources/{code}/rows",
        json={"rows": rows, "note": "接口推送"},
        headers=bearer(client, "hbj_steward"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["rows_out"] == 1 and response.json()["source"] == "api"
    assert response.json()["report"]["reasons"] == {"手机号码：手机号码无效": 1}
    empty = client.post(
        f"/api/governance/resources/{code}/rows", json={"rows": []}, headers=bearer(client, "hbj_steward")
    )
    assert empty.status_code == 422


def test_stewards_mount_only_their_departments_data(client):
    code = publish_entry(client)["code"]
    denied = _upload(client, code, person_csv(GOOD).encode(), user="cgj_admin")
    assert denied.status_code == 403
    assert _upload(client, "HBJ-99999", person_csv(GOOD).encode()).status_code == 404


def test_web_upload_runs_as_a_background_job_with_progress(client):
    code = publish_entry(client)["code"]
    token = page_login(client, "hbj_steward")
    page = client.get(f"/governance/{code}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "上传并治理" in page.text
    response = client.post(
        f"/governance/{code}/upload",
        data={"csrf_token": csrf_from(page.text)},
        files={"file": ("人口.csv", person_csv(GOOD).encode("gbk"))},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    job_url = response.headers["location"]
    job_id = int(job_url.rsplit("/", 1)[1])
    job = client.get(f"/api/governance/jobs/{job_id}", headers={"x-csrf-token": token})
    assert job.json()["status"] == "succeeded", job.text
    assert job.json()["progress"] == 100 and "入库 3 行" in job.json()["message"]
    fragment = client.get(f"{job_url}/progress", headers={"accept": "text/html"})
    assert 'data-status="succeeded"' in fragment.text and "hx-trigger" not in fragment.text
    bad = client.post(
        f"/governance/{code}/upload",
        data={"csrf_token": csrf_from(page.text)},
        files={"file": ("x.csv", b"colour\nred\n")},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    failed = client.get(f"/api/governance/jobs/{bad.headers['location'].rsplit('/', 1)[1]}").json()
    assert failed["status"] == "failed" and "列与资源目录的信息项不符" in failed["message"]
    versions = client.get(f"/api/governance/resources/{code}/versions").json()
    assert len(versions) == 1


def test_cli_ingest_mounts_a_file(client, runtime, tmp_path):
    code = publish_entry(client)["code"]
    path = tmp_path / f"{unique()}.csv"
    path.write_bytes(person_csv(GOOD).encode("gb18030"))
    result = run_cli(runtime, "ingest", code, str(path))
    assert result.exit_code == 0, result.output
    assert "第 1 版" in result.output and "入库 3 行" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    failed = run_cli(runtime, "ingest", code, str(bad))
    assert failed.exit_code == 1 and "当前版本未改变" in failed.output

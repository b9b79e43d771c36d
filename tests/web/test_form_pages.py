"""Refused page forms in the pages themselves: the Chinese message beside its field, what was typed kept,
nothing cut short to fit, and nothing saved."""

import re

from tests.catalog.helpers import publish_entry
from tests.conftest import bearer, csrf_from, page_login, unique
from tests.opendata.conftest import open_dataset

HTML = {"accept": "text/html"}


def beside(html: str, name: str) -> str:
    """The label (or table cell) holding the control `name`: the control, its kept value and its message."""
    for match in re.finditer(r"<(label|td)\b(?:(?!<\1\b).)*?</\1>", html, flags=re.S):
        if f'name="{name}"' in match.group(0):
            return match.group(0)
    raise AssertionError(f"no field {name} on the page")


def message_of(block: str) -> str:
    found = re.search(r'<span class="field-error" id="error-[^"]+">([^<]*)</span>', block)
    assert found, block
    return found.group(1)


def test_a_refused_report_keeps_what_was_typed_with_each_message_beside_its_field(client):
    csrf = page_login(client, "cgj_handler")
    form = {
        "csrf_token": csrf,
        "description": "短",
        "address": "虞山街道书院街 12 号",
        "source": "hotline",
        "reporter_phone": "123",
    }
    response = client.post("/cityops/report", data=form, headers=HTML)
    assert response.status_code == 422
    description = beside(response.text, "description")
    assert message_of(description) == "问题描述至少4个字" and ">短</textarea>" in description
    assert 'aria-invalid="true"' in description
    assert message_of(beside(response.text, "reporter_phone")) == "来电号码格式不正确"
    assert 'value="虞山街道书院街 12 号"' in beside(response.text, "address")
    assert re.search(r'<option value="hotline"\s+selected>', beside(response.text, "source"))
    assert response.text.count("问题描述至少4个字") == 1  # once, beside the field; the top names the fields
    assert "请按提示修改：问题描述、来电号码" in response.text


def test_a_refused_account_keeps_the_form_and_names_the_wrong_fields(client):
    page_login(client, "admin")
    csrf = csrf_from(client.get("/admin/users/new", headers=HTML).text)
    response = client.post(
        "/admin/users/new",
        headers=HTML,
        data={
            "csrf_token": csrf,
            "kind": "citizen",
            "username": "有 空格",
            "display_name": "赵六",
            "password": "Citizen2026a",
            "roles": "citizen",
            "id_number": "320581199003071230",
        },
    )
    assert response.status_code == 422
    assert message_of(beside(response.text, "username")) == "用户名格式不正确"
    assert "校验位" in message_of(beside(response.text, "id_number"))
    assert 'value="赵六"' in beside(response.text, "display_name")
    assert re.search(r'value="citizen"\s+checked', response.text)  # the role ticked stays ticked
    assert "Citizen2026a" not in response.text  # a password is never written back


def test_a_refused_item_row_shows_its_message_in_that_row(client):
    page_login(client, "admin")
    page = client.get("/onestop/admin/items", headers=HTML).text
    code = re.search(r'action="/onestop/admin/items/([^"]+)"', page).group(1)
    form = {"csrf_token": csrf_from(page), "name": "新名称", "legal_days": "999", "promised_days": "5", "visits": "0"}
    response = client.post(f"/onestop/admin/items/{code}", data=form, headers=HTML)
    assert response.status_code == 422
    cell = beside(response.text, "legal_days")
    assert message_of(cell) == "法定时限不能大于365" and 'value="999"' in cell
    assert response.text.count('class="field-error"') == 1
    assert "新名称" not in client.get("/onestop/admin/items", headers=HTML).text  # nothing saved


def test_a_refused_sharing_application_keeps_the_chosen_fields(client):
    code = publish_entry(client, sharing_type="有条件共享")["code"]
    page_login(client, "cgj_admin")
    csrf = csrf_from(client.get(f"/exchange/apply/{code}", headers=HTML).text)
    form = {"csrf_token": csrf, "fields": ["name"], "purpose": "核对", "period_end": "2027-02-30"}
    response = client.post(f"/exchange/apply/{code}", data=form, headers=HTML)
    assert response.status_code == 422
    assert message_of(beside(response.text, "purpose")) == "用途至少4个字"
    assert message_of(beside(response.text, "period_end")).startswith("使用期限须为有效日期")
    assert 'value="2027-02-30"' in beside(response.text, "period_end")
    assert re.search(r'value="name"\s+checked', response.text) and not re.search(
        r'value="town"\s+checked', response.text
    )


def test_a_refused_catalog_draft_points_at_the_row(client):
    page_login(client, "hbj_steward")
    csrf = csrf_from(client.get("/catalog/new", headers=HTML).text)
    name = f"表单测试{unique()}"
    form = {
        "csrf_token": csrf,
        "name": name,
        "category": "部门信息资源",
        "format": "数据库",
        "sharing_type": "有条件共享",
        "sharing_method": "接口",
        "open_type": "不予开放",
        "update_cycle": "每月",
        "data_grade": "2",
        "item-0-name": "person_id",
        "item-1-name": "",
        "item-2-name": "score",
        "item-2-length": "十位",
    }
    response = client.post("/catalog/new", data=form, headers=HTML)
    assert response.status_code == 422
    cell = beside(response.text, "item-2-length")
    assert message_of(cell) == "第3行信息项的长度须为整数" and 'value="十位"' in cell
    assert f'value="{name}"' in beside(response.text, "name") and 'value="person_id"' in response.text
    fixed = client.post("/catalog/new", data=form | {"item-2-length": "10", "item-2-name": "Score"}, headers=HTML)
    assert fixed.status_code == 422  # the catalog's own rule on field names, beside the same row
    assert "字段名" in message_of(beside(fixed.text, "item-2-name"))


def test_too_long_is_refused_never_cut_short(client):
    code = open_dataset(client, open_type="有条件开放")
    csrf = page_login(client, "lisi")
    purpose = "研究" * 1001
    response = client.post(
        f"/opendata/datasets/{code}/apply", data={"csrf_token": csrf, "purpose": purpose}, headers=HTML
    )
    assert response.status_code == 422
    block = beside(response.text, "purpose")
    assert message_of(block) == "用途不能超过2000个字" and f">{purpose}</textarea>" in block
    mine = client.get("/api/opendata/applications", headers=bearer(client, "admin")).json()
    assert all(a["purpose"] != purpose[:2000] for a in mine)
    steward = page_login(client, "hbj_steward")
    rollback = client.post(
        "/governance/HBJ-00001/rollback",
        data={"csrf_token": steward, "version": "1", "reason": "字" * 501},
        headers=HTML,
    )
    assert rollback.status_code == 422 and "回滚原因不能超过500个字" in rollback.text


def test_a_refused_registry_row_keeps_its_values(client):
    csrf = page_login(client, "admin")
    form = {"csrf_token": csrf, "code": "FORM-1", "name": "名" * 101, "department_code": "WTL", "status": "live"}
    response = client.post("/brain/registries/cards", data=form, headers=HTML)
    assert response.status_code == 422
    assert message_of(beside(response.text, "name")) == "场景名称不能超过100个字"
    assert 'name="code" value="FORM-1"' in response.text


def test_sign_in_and_password_forms_refuse_in_chinese(client, anon):
    page = anon.get("/login", headers=HTML)
    response = anon.post(
        "/login", data={"csrf_token": csrf_from(page.text), "username": "u" * 65, "password": "x"}, headers=HTML
    )
    assert response.status_code == 422
    username = beside(response.text, "username")
    assert message_of(username) == "用户名不能超过64个字" and 'value="' + "u" * 65 + '"' in username
    csrf = page_login(client, "cgj_handler")
    changed = client.post(
        "/account/password", data={"csrf_token": csrf, "current_password": "changshu2026"}, headers=HTML
    )
    assert changed.status_code == 422 and message_of(beside(changed.text, "new_password")) == "请填写新密码"

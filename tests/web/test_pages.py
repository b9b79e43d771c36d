"""Pages for people: home, workbench, account, and the administration pages."""

import re

from tests.conftest import csrf_from, page_login, unique
from yiwang.demo.people import demo_id_number

HTML = {"accept": "text/html"}


def test_home_for_visitors_offers_login(anon):
    response = anon.get("/", headers=HTML)
    assert response.status_code == 200
    assert "登录平台" in response.text and "一网通办" in response.text
    assert 'src="/static/vendor/htmx.min.js"' in response.text


def test_static_assets_are_served_by_the_app(anon):
    for path in ("/static/vendor/htmx.min.js", "/static/vendor/echarts.min.js", "/static/app.css"):
        response = anon.get(path)
        assert response.status_code == 200 and len(response.content) > 1000, path


def test_no_page_loads_anything_from_another_host(client):
    page_login(client, "admin")
    for path in ("/", "/workbench", "/account", "/account/second-factor", "/admin", "/admin/users", "/admin/roles"):
        html = client.get(path, headers=HTML).text
        external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
        assert external == [], (path, external)


def test_staff_workbench_lists_role_and_empty_state(client):
    page_login(client, "cgj_handler")
    response = client.get("/workbench", headers=HTML)
    assert response.status_code == 200
    assert "常熟市城市管理局" in response.text and "业务经办人" in response.text


def test_citizen_has_no_workbench(client):
    page_login(client, "zhangsan")
    response = client.get("/workbench", headers=HTML)
    assert response.status_code == 403 and "没有权限" in response.text


def test_account_page_masks_then_reveals_own_data_with_audit(client):
    token = page_login(client, "lisi")
    page = client.get("/account", headers=HTML).text
    full = demo_id_number("19951122", 246)
    assert full not in page and full[:6] + "********" + full[-4:] in page
    revealed = client.post("/account/reveal", data={"csrf_token": token}, headers=HTML)
    assert revealed.status_code == 200 and full in revealed.text


def test_admin_creates_a_user_through_the_form_and_sees_field_errors(client):
    page_login(client, "admin")
    form_page = client.get("/admin/users/new", headers=HTML)
    token = csrf_from(form_page.text)
    bad = client.post(
        "/admin/users/new",
        headers=HTML,
        data={
            "csrf_token": token,
            "kind": "citizen",
            "username": unique("c"),
            "display_name": "赵六",
            "password": "Citizen2026a",
            "roles": "citizen",
            "id_number": "320581199003071230",
        },
    )
    assert bad.status_code == 422 and "校验位" in bad.text
    username = unique("c")
    good = client.post(
        "/admin/users/new",
        headers=HTML,
        follow_redirects=False,
        data={
            "csrf_token": token,
            "kind": "citizen",
            "username": username,
            "display_name": "赵六",
            "password": "Citizen2026a",
            "roles": "citizen",
            "id_number": demo_id_number("19990909", 111),
            "phone": "13611112222",
        },
    )
    assert good.status_code == 303
    detail = client.get(good.headers["location"], headers=HTML)
    assert "赵六" in detail.text and "136****2222" in detail.text and "13611112222" not in detail.text


def test_admin_reveals_personal_data_with_a_reason(client):
    token = page_login(client, "admin")
    users = client.get("/admin/users", headers=HTML, params={"q": "zhangsan"}).text
    user_id = re.search(r'href="/admin/users/(\d+)">zhangsan<', users).group(1)
    shown = client.post(
        f"/admin/users/{user_id}/reveal", headers=HTML, data={"csrf_token": token, "reason": "电话回访"}
    )
    assert shown.status_code == 200 and "13912345678" in shown.text and "已记入审计日志" in shown.text
    page_login(client, "auditor")  # the audit log is the audit administrator's to read
    audit_page = client.get(
        "/admin/audit", headers=HTML, params={"action": "personal.read_clear", "target_id": user_id}
    )
    assert "电话回访" in audit_page.text


def test_department_admin_sees_only_own_department_in_the_user_list(client):
    page_login(client, "hbj_admin")
    html = client.get("/admin/users", headers=HTML).text
    assert "hbj_steward" in html and "cgj_handler" not in html and "（仅显示本部门）" in html


def test_admin_pages_render(client):
    for account, path, text in (
        ("admin", "/admin", "系统管理"),
        ("admin", "/admin/roles", "系统管理员"),
        ("secadmin", "/admin/roles", "要求双因素认证"),
        ("admin", "/admin/departments", "常熟市城市管理局"),
        ("admin", "/admin/divisions", "虞山街道"),
        ("auditor", "/admin/audit", "审计日志"),
    ):
        page_login(client, account)
        response = client.get(path, headers=HTML)
        assert response.status_code == 200 and text in response.text, path


def test_audit_page_verifies_the_chain(client):
    token = page_login(client, "auditor")
    response = client.post("/admin/audit/verify", headers=HTML, data={"csrf_token": token})
    assert response.status_code == 200 and "哈希链完整" in response.text


def test_admin_adds_a_sub_unit_and_a_community(client):
    token = page_login(client, "admin")
    code = unique("U").upper()[:12]
    response = client.post(
        "/admin/departments",
        headers=HTML,
        follow_redirects=False,
        data={
            "csrf_token": token,
            "code": code,
            "short_name": "测试科",
            "full_name": "城管局测试科",
            "parent_code": "CGJ",
        },
    )
    assert response.status_code == 303
    assert code in client.get("/admin/departments", headers=HTML).text
    bad = client.post(
        "/admin/divisions",
        headers=HTML,
        data={
            "csrf_token": token,
            "code": "999999999",
            "name": "错位社区",
            "level": "community",
            "parent_code": "320581001",
        },
    )
    assert bad.status_code == 422 and "上级代码开头" in bad.text


def test_password_change_page(client):
    username = unique("p")
    admin_token = page_login(client, "admin")
    client.post(
        "/admin/users/new",
        headers=HTML,
        data={
            "csrf_token": admin_token,
            "kind": "staff",
            "username": username,
            "display_name": "改密",
            "password": "Start2026ab",
            "department_code": "CGJ",
            "roles": "handler",
        },
    )
    client.cookies.clear()
    token = page_login(client, username, "Start2026ab")
    wrong = client.post(
        "/account/password",
        headers=HTML,
        data={"csrf_token": token, "current_password": "nope12345", "new_password": "Next2026abc"},
    )
    assert wrong.status_code == 422 and "当前密码错误" in wrong.text
    ok = client.post(
        "/account/password",
        headers=HTML,
        follow_redirects=False,
        data={"csrf_token": token, "current_password": "Start2026ab", "new_password": "Next2026abc"},
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/account?notice=password_changed"
    assert "密码已修改" in client.get(ok.headers["location"], headers=HTML).text


def test_logout_ends_the_session(client):
    token = page_login(client, "cgj_handler")
    client.post("/logout", data={"csrf_token": token}, headers=HTML)
    response = client.get("/workbench", headers=HTML, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_domains_plug_pending_work_into_the_workbench(client):
    from datetime import timedelta

    from yiwang.core import workbench
    from yiwang.core.timeutil import utcnow

    def provider(db, principal):
        if principal.department_code != "CGJ":
            return []
        return [
            workbench.WorkItem("测试模块", "处理占道经营投诉", "/somewhere", utcnow() - timedelta(hours=1), True),
            workbench.WorkItem("测试模块", "复核垃圾满溢", "/elsewhere", utcnow() + timedelta(days=1)),
        ]

    workbench.register("test-provider", provider)
    try:
        page_login(client, "cgj_handler")
        html = client.get("/workbench", headers=HTML).text
        assert html.index("处理占道经营投诉") < html.index("复核垃圾满溢")  # overdue first
        row = html[html.index("处理占道经营投诉") :].split("</tr>")[0]
        assert "已超期" in row and "已超期" not in html[html.index("复核垃圾满溢") :].split("</tr>")[0]
        client.cookies.clear()
        page_login(client, "hbj_steward")
        assert "处理占道经营投诉" not in client.get("/workbench", headers=HTML).text
    finally:
        workbench.unregister("test-provider")

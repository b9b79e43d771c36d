"""Sessions (part 5): a person sees their yiwang sessions and signed-in applications and ends any; idle
and absolute timeouts end sessions; ending a session logs its applications out by back-channel
(through the outbox, surviving a crash) and front-channel."""

import contextlib
import subprocess
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.conftest import bearer, free_port, page_login
from tests.identity.conftest import Person, authorize_params, get_code, hidden_fields, pkce_pair, register, wait_for
from tests.processes import process_env, yiwang
from yiwang.core.events import CRASH_AFTER_COMMIT_ENV, OutboxMessage
from yiwang.core.timeutil import utcnow
from yiwang.org import sessions

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
)


def test_device_names_come_from_the_user_agent():
    assert sessions.device_name(FIREFOX) == "Firefox · Windows"
    assert sessions.device_name(PHONE) == "Chrome · Android"
    assert sessions.device_name(None) == "未知设备"
    assert sessions.device_name("curl/8.5.0") == "curl"


def _session_ids(runtime, username: str) -> list[int]:
    with runtime.db.read_only() as db:
        return list(
            db.execute(
                text(
                    "SELECT c.id FROM org_credential c JOIN org_user u ON u.id = c.user_id "
                    "WHERE u.username = :u AND c.kind = 'session' AND c.revoked_at IS NULL ORDER BY c.id"
                ),
                {"u": username},
            ).scalars()
        )


def _outbox(runtime, name: str) -> list[str]:
    with runtime.db.read_only() as db:
        return list(db.execute(select(OutboxMessage.payload).where(OutboxMessage.name == name)).scalars())


def test_a_person_sees_their_sessions_and_ends_another_one(app, client, anon, runtime, admin_headers):
    page_login(anon, "zhangsan")  # "another device"
    client.headers["user-agent"] = FIREFOX
    page_login(client, "zhangsan")
    created = register(runtime)
    get_code(client, authorize_params(created, pkce_pair()[1]))
    page = client.get("/account/apps", headers={"accept": "text/html"})
    assert "Firefox · Windows" in page.text and "当前" in page.text and created.client.name in page.text
    other = _session_ids(runtime, "zhangsan")[-2]
    ended = client.post(
        f"/account/sessions/{other}/end",
        data={"csrf_token": hidden_fields(page.text)["csrf_token"]},
        follow_redirects=False,
    )
    assert ended.status_code == 303 and ended.headers["location"].startswith("/account/apps")
    assert anon.get("/account", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303
    assert client.get("/account", headers={"accept": "text/html"}).status_code == 200
    entries = client.get(
        "/api/audit/entries", headers=bearer(client, "auditor"), params={"action": "auth.session.end"}
    ).json()
    assert any(e["target_id"] == str(other) for e in entries["items"])
    with TestClient(app, base_url="http://testserver") as third:
        page_login(third, "lisi")
    foreign = client.post(
        f"/account/sessions/{_session_ids(runtime, 'lisi')[-1]}/end",
        data={"csrf_token": hidden_fields(page.text)["csrf_token"]},
    )
    assert foreign.status_code in (403, 404)


def test_idle_sessions_stop_working_and_the_timeout_job_ends_their_applications(client, runtime):
    page_login(client, "lisi")
    created = register(runtime, backchannel_logout_uri="http://127.0.0.1:9/backchannel")
    get_code(client, authorize_params(created, pkce_pair()[1]))
    session_id = _session_ids(runtime, "lisi")[-1]
    idle = runtime.settings.session_idle_minutes
    with runtime.db.unit_of_work() as db:
        db.execute(
            text("UPDATE org_credential SET last_used_at = :t WHERE id = :i"),
            {"t": utcnow() - timedelta(minutes=idle + 1), "i": session_id},
        )
    assert client.get("/account", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303
    with runtime.db.unit_of_work() as db:
        assert sessions.expire_sessions(db, settings=runtime.settings) >= 1
    assert wait_for(
        lambda: any(created.client.client_id in p for p in _outbox(runtime, "identity.backchannel_logout_due"))
    )
    assert any(f'"session_id":{session_id},' in p for p in _outbox(runtime, "org.session_ended"))


def test_the_platform_logout_page_frames_the_front_channel_logouts(client, runtime):
    created = register(runtime, frontchannel_logout_uri="https://app.example/fc?x=1")
    csrf = page_login(client, "zhangsan")
    get_code(client, authorize_params(created, pkce_pair()[1]))
    response = client.post(
        "/logout", data={"csrf_token": csrf}, headers={"accept": "text/html"}, follow_redirects=False
    )
    assert response.status_code == 200 and '<iframe src="https://app.example/fc?x=1&amp;iss=' in response.text
    assert "frame-src https://app.example;" in response.headers["content-security-policy"]
    assert client.get("/account", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303


def test_ending_one_application_tells_only_it(relying_party):
    first = relying_party(name="甲应用")
    second = relying_party(name="乙应用")
    person = Person("lisi")
    try:
        person.visit(f"{first.base_url}/login")
        person.visit(f"{second.base_url}/login")
        page = person.http.get(f"{first.issuer}/account/apps", headers={"accept": "text/html"})
        app_id = next(
            part.split("/")[3]
            for part in page.text.split('action="')
            if part.startswith("/account/apps/") and "乙应用" in part.split("</form>")[0]
        )
        ended = person.http.post(
            f"{first.issuer}/account/apps/{app_id}/end", data={"csrf_token": hidden_fields(page.text)["csrf_token"]}
        )
        assert ended.status_code == 303
        assert wait_for(lambda: len(second.logouts) == 1)
        assert first.logouts == [] and "已登录" in person.http.get(f"{first.base_url}/").text
        assert "通过统一身份认证登录" in person.http.get(f"{second.base_url}/").text
    finally:
        person.close()


@pytest.mark.slow
def test_a_logout_acknowledged_just_before_a_crash_still_reaches_the_application(relying_party, runtime, tmp_path):
    """The process dies right after committing the session's end; the restarted one delivers the
    back-channel logout from the outbox."""
    rp = relying_party(name="崩溃测试应用")
    person = Person("zhangsan")
    settings = runtime.settings

    def start(log: str, **env: str) -> tuple[subprocess.Popen, str]:
        port = free_port()
        extra = {"YIWANG_PUBLIC_URL": settings.public_url} | env  # the issuer the application knows
        process = subprocess.Popen(
            yiwang("serve", "--port", str(port)),
            env=process_env(settings, **extra),
            stdout=(tmp_path / log).open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _ready(url), 90), f"server did not start; see {tmp_path / log}"
        return process, url

    try:
        person.visit(f"{rp.base_url}/login")
        sid = next(v for v in rp.sessions.values() if "user" in v)["sid"]
        crashing, url = start("crash.log", **{CRASH_AFTER_COMMIT_ENV: "org.session_ended"})
        try:
            page = person.http.get(f"{url}/account", headers={"accept": "text/html"})
            with contextlib.suppress(httpx.HTTPError):
                person.http.post(f"{url}/logout", data={"csrf_token": hidden_fields(page.text)["csrf_token"]})
            assert crashing.wait(timeout=30) == 137
        finally:
            with contextlib.suppress(ProcessLookupError):
                crashing.kill()
        assert rp.logouts == []
        restarted, _ = start("restart.log", YIWANG_RUN_JOBS_IN_PROCESS="true", YIWANG_EVENT_DELIVERY_SECONDS="1")
        try:
            assert wait_for(lambda: any(t.get("sid") == sid for t in rp.logouts), 60)
        finally:
            restarted.terminate()
            restarted.wait(timeout=30)
    finally:
        person.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False

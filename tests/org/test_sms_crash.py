"""A process killed between committing a text message for the HTTP gateway and handing it over: after a
restart the message reaches the gateway, once."""

import contextlib
import time

import httpx
import pytest
from sqlalchemy import select

from tests.org.gateway import TOKEN, Gateway
from tests.org.signup import new_phone
from tests.processes import Server
from yiwang.core.events import CRASH_AFTER_COMMIT_ENV
from yiwang.org.models import Message


@pytest.mark.slow
def test_a_message_committed_before_a_kill_reaches_the_gateway_after_restart(runtime, tmp_path):
    gateway = Gateway()
    settings, phone = runtime.settings, new_phone()
    # Other tests of the session asked codes from 127.0.0.1 too; the per-address limit is not tested here.
    via_gateway = {
        "YIWANG_SMS_GATEWAY": gateway.url,
        "YIWANG_SMS_GATEWAY_TOKEN": TOKEN,
        "YIWANG_CODE_HOURLY_PER_ADDRESS": "100000",
    }
    crashing = Server(settings, tmp_path / "crash.log", **via_gateway, **{CRASH_AFTER_COMMIT_ENV: "org.sms_requested"})
    try:
        crashing.wait_ready()
        with contextlib.suppress(httpx.HTTPError):  # the process dies under the request, as intended
            httpx.post(f"{crashing.url}/api/register/code", json={"phone": phone}, timeout=30)
        assert crashing.process.wait(timeout=30) == 137
    finally:
        crashing.kill()

    # The code and its message committed; nothing reached the gateway.
    assert gateway.to(phone) == []
    with runtime.db.sessions() as db:
        message = db.execute(select(Message).order_by(Message.id.desc()).limit(1)).scalar_one()
    assert message.status == "pending" and message.to_masked == phone[:3] + "****" + phone[-4:]

    restarted = Server(
        settings,
        tmp_path / "restart.log",
        **via_gateway,
        YIWANG_RUN_JOBS_IN_PROCESS="true",
        YIWANG_EVENT_DELIVERY_SECONDS="1",
    )
    try:
        restarted.wait_ready()
        deadline = time.monotonic() + 60
        while not gateway.to(phone):
            assert time.monotonic() < deadline, "the restarted process did not send the message"
            assert restarted.process.poll() is None
            time.sleep(0.3)
        time.sleep(2)  # a second delivery would arrive within the next rounds of the job
    finally:
        restarted.stop()
        gateway.close()
    [sent] = gateway.to(phone)
    assert sent["request_id"] == message.request_id and sent["template"] == "register_code"
    with runtime.db.sessions() as db:
        assert db.get(Message, message.id).status == "sent"

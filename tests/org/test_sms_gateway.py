"""The HTTP SMS gateway: a real local HTTP server receives the platform's requests (JSON POST with a bearer
token), a failing gateway is retried through the events outbox with the same request_id, and a
registration completes with the code the gateway received."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import bearer, token_for, unique
from tests.org.gateway import TOKEN, Gateway
from tests.org.signup import PASSWORD, citizen, client_at, new_phone
from yiwang.app import create_app
from yiwang.core import events
from yiwang.core.timeutil import utcnow
from yiwang.org.models import Message
from yiwang.org.plugin import plugin


@pytest.fixture(scope="module")
def gateway():
    server = Gateway()
    yield server
    server.close()


@pytest.fixture(scope="module")
def gateway_app(settings, runtime, gateway):
    """The platform on the same database, its message gateway set to the test server."""
    app = create_app(settings.model_copy(update={"sms_gateway": gateway.url, "sms_gateway_token": TOKEN}))
    yield app
    app.state.db.dispose()
    plugin().on_startup(runtime)  # the session's platform delivers its own messages again


def test_a_code_reaches_the_http_gateway_and_registers_the_citizen(gateway_app, gateway):
    phone = new_phone()
    with client_at(gateway_app) as client:
        assert client.post("/api/register/code", json={"phone": phone}).status_code == 202
        [request] = [r for r in gateway.received if r["json"]["to"] == phone]
        assert request["path"] == "/sms/send"
        assert request["authorization"] == f"Bearer {TOKEN}"
        assert request["content_type"] == "application/json"
        sent = request["json"]
        assert set(sent) == {"to", "template", "params", "request_id"}
        assert sent["template"] == "register_code" and sent["params"]["minutes"] == "5"
        code = sent["params"]["code"]

        body = citizen(phone, code)
        assert client.post("/api/register/citizen", json=body).status_code == 202
        assert [m["template"] for m in gateway.to(phone)] == ["register_code", "register_done"]
        assert gateway.to(phone)[1]["params"] == {"username": body["username"]}
        assert token_for(client, body["username"], PASSWORD)

        # Once the gateway has taken them, the platform keeps no code or username in its record.
        listed = client.get("/api/org/messages", headers=bearer(client, "admin")).json()["items"]
        mine = [m for m in listed if m["request_id"] in {s["request_id"] for s in gateway.to(phone)}]
        assert {m["status"] for m in mine} == {"sent"}
        assert all(code not in m["text"] and body["username"] not in m["text"] for m in mine)


def test_a_refused_message_is_retried_with_the_same_request_id(gateway_app, gateway):
    phone = new_phone()
    gateway.answers[:] = [503]
    with client_at(gateway_app) as client:
        assert client.post("/api/register/code", json={"phone": phone}).status_code == 202
    [first] = gateway.to(phone)
    runtime = gateway_app.state.runtime
    with runtime.db.sessions() as db:
        message = db.execute(select(Message).where(Message.request_id == first["request_id"])).scalar_one()
        assert message.status == "pending" and message.params_enc is not None
        outbox = (
            db.execute(
                select(events.OutboxMessage)
                .where(events.OutboxMessage.name == "org.sms_requested")
                .order_by(events.OutboxMessage.id.desc())
            )
            .scalars()
            .first()
        )
        assert outbox.status == "pending" and outbox.attempts == 1 and "503" in outbox.last_error

    # The delivery job, once the back-off has passed, sends it again; the gateway can drop a repeat by its id.
    events.deliver_due(runtime.db.engine, now=utcnow() + timedelta(minutes=5))
    again = gateway.to(phone)
    assert len(again) == 2 and again[1] == first
    with runtime.db.sessions() as db:
        message = db.execute(select(Message).where(Message.request_id == first["request_id"])).scalar_one()
        assert message.status == "sent" and message.params_enc is None


def test_an_unreachable_gateway_keeps_the_message_waiting(settings, runtime, gateway):
    closed = Gateway()
    closed.close()  # nothing listens there any more
    app = create_app(settings.model_copy(update={"sms_gateway": closed.url, "sms_gateway_token": TOKEN}))
    try:
        phone = new_phone()
        with client_at(app) as client:
            answer = client.post("/api/register/code", json={"phone": phone})
        assert answer.status_code == 202  # the caller is not made to wait for the gateway
        with app.state.db.sessions() as db:
            newest = db.execute(select(Message).order_by(Message.id.desc()).limit(1)).scalar_one()
            assert newest.status == "pending"
            row = db.execute(
                select(events.OutboxMessage).order_by(events.OutboxMessage.id.desc()).limit(1)
            ).scalar_one()
            assert row.status == "pending" and "unreachable" in row.last_error
    finally:
        app.state.db.dispose()
        plugin().on_startup(runtime)


def test_a_slow_gateway_holds_up_no_other_writer(gateway_app, gateway, runtime, admin_headers):
    """The gateway is called outside any transaction: while one request waits on a slow gateway, other
    requests write (on SQLite, through the platform's single write lock) without waiting for it."""
    phone = new_phone()
    plugin().on_startup(gateway_app.state.runtime)  # this platform's messages go to the test gateway
    gateway.delay_seconds = 3.0
    try:
        with (
            client_at(gateway_app) as sender,
            client_at(gateway_app) as other,
            ThreadPoolExecutor(max_workers=1) as pool,
        ):
            started = time.perf_counter()
            slow = pool.submit(lambda: sender.post("/api/register/code", json={"phone": phone}))
            while not gateway.to(phone) and time.perf_counter() - started < 10:
                time.sleep(0.02)  # the message has reached the gateway, which is still answering
            assert gateway.to(phone), slow.result().text if slow.done() else "the gateway never received it"
            writes = []
            for n in range(3):
                began = time.perf_counter()
                answer = other.post(
                    "/api/org/departments",
                    headers=admin_headers,
                    json={
                        "code": unique("SLOW").upper().replace("-", "_")[:20],
                        "short_name": f"慢网关{n}",
                        "full_name": f"慢网关测试科室{n}",
                        "parent_code": "DSJ",
                    },
                )
                assert answer.status_code == 201, answer.text
                writes.append(time.perf_counter() - began)
            assert slow.result().status_code == 202
        assert max(writes) < 1.5, writes
        with gateway_app.state.runtime.db.sessions() as db:
            request_id = gateway.to(phone)[0]["request_id"]
            assert db.execute(select(Message.status).where(Message.request_id == request_id)).scalar_one() == "sent"
    finally:
        gateway.delay_seconds = 0.0
        plugin().on_startup(runtime)

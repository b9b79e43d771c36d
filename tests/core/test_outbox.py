"""The event outbox: written with the change, delivered after commit, retried with back-off, marked
failed after the last attempt, shown to the platform administrator and retried from the API, the page
and the command line."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import ClassVar

import pytest
from sqlalchemy import insert, select

from tests.conftest import bearer, page_login, run_cli
from yiwang.core import events
from yiwang.core.db import make_engine
from yiwang.core.events import EventPayload, OutboxMessage
from yiwang.core.timeutil import utcnow


class Probe(EventPayload):
    event_name: ClassVar[str] = "test.probe"

    label: str


class ProbeHandler:
    """A subscriber that fails while told to, and otherwise records what it received."""

    def __init__(self) -> None:
        self.failing = True
        self.received: list[str] = []

    def __call__(self, db, probe: Probe) -> None:
        if self.failing:
            raise RuntimeError(f"下游暂不可用 {probe.label}")
        self.received.append(probe.label)


@pytest.fixture
def probe(runtime):
    handler = ProbeHandler()
    events.subscribe(Probe, handler, key="test.probe_handler")
    saved = (events.policy.max_attempts, events.policy.retry_base_seconds)
    events.configure(max_attempts=3, retry_base_seconds=2)
    yield handler
    handler.failing = False
    events.configure(max_attempts=saved[0], retry_base_seconds=saved[1])


def _publish(runtime, label: str) -> int:
    with runtime.db.unit_of_work() as db:
        events.publish(db, Probe(label=label))
    with runtime.db.unit_of_work() as db:
        return db.execute(
            select(OutboxMessage.id).where(OutboxMessage.payload.contains(label)).order_by(OutboxMessage.id.desc())
        ).scalar_one()


def _row(runtime, row_id: int) -> OutboxMessage:
    with runtime.db.unit_of_work() as db:
        row = db.get(OutboxMessage, row_id)
        assert row is not None
        db.expunge(row)
        return row


def _fail_until_given_up(runtime, row_id: int) -> None:
    """The first delivery (right after commit) failed; let the back-off pass twice more."""
    first = _row(runtime, row_id)
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.available_at > utcnow()  # not retried before its back-off
    assert events.deliver_due(runtime.db.engine) == 0
    assert _row(runtime, row_id).attempts == 1
    later = utcnow() + timedelta(hours=2)
    events.deliver_due(runtime.db.engine, now=later)
    assert (_row(runtime, row_id).status, _row(runtime, row_id).attempts) == ("pending", 2)
    events.deliver_due(runtime.db.engine, now=later + timedelta(hours=2))
    gave_up = _row(runtime, row_id)
    assert (gave_up.status, gave_up.attempts) == ("failed", 3)
    assert "RuntimeError: 下游暂不可用" in (gave_up.last_error or "")


def test_backoff_doubles_and_is_capped():
    policy = events.DeliveryPolicy(retry_base_seconds=5, retry_max_seconds=60)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]


def test_an_event_is_delivered_right_after_commit_and_not_on_rollback(runtime, probe):
    probe.failing = False
    row_id = _publish(runtime, "at-once")
    assert probe.received == ["at-once"]
    assert _row(runtime, row_id).status == "delivered"
    with pytest.raises(RuntimeError), runtime.db.unit_of_work() as db:
        events.publish(db, Probe(label="rolled-back"))
        raise RuntimeError("the change fails")
    with runtime.db.unit_of_work() as db:
        assert not db.execute(select(OutboxMessage).where(OutboxMessage.payload.contains("rolled-back"))).first()
    assert probe.received == ["at-once"]


def test_a_failing_handler_is_marked_failed_shown_to_the_admin_and_retried(client, runtime, probe):
    row_id = _publish(runtime, "api-retry")
    _fail_until_given_up(runtime, row_id)

    admin = bearer(client, "admin")
    listed = client.get("/api/admin/events?status=failed&size=200", headers=admin)
    assert listed.status_code == 200, listed.text
    mine = next(item for item in listed.json()["items"] if item["id"] == row_id)
    assert mine["name"] == "test.probe" and mine["payload"] == {"label": "api-retry"} and mine["attempts"] == 3
    assert "下游暂不可用" in mine["last_error"]
    assert client.get("/api/admin/events?status=nonsense", headers=admin).status_code == 422
    for username in ("ldz_dispatcher", "hbj_admin"):
        assert client.get("/api/admin/events", headers=bearer(client, username)).status_code == 403
        assert client.post(f"/api/admin/events/{row_id}/retry", headers=bearer(client, username)).status_code == 403

    probe.failing = False
    retried = client.post(f"/api/admin/events/{row_id}/retry", headers=admin)
    assert retried.status_code == 200, retried.text
    assert client.get(f"/api/admin/events/{row_id}", headers=admin).json()["status"] == "delivered"
    assert probe.received == ["api-retry"]
    again = client.post(f"/api/admin/events/{row_id}/retry", headers=admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "event_not_failed"
    assert client.post("/api/admin/events/999999999/retry", headers=admin).status_code == 404


def test_the_admin_page_lists_failures_and_its_button_retries(client, runtime, probe):
    row_id = _publish(runtime, "page-retry")
    _fail_until_given_up(runtime, row_id)
    csrf = page_login(client, "admin")
    assert 'href="/admin/events"' in client.get("/admin", headers={"accept": "text/html"}).text
    page = client.get("/admin/events", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "事件投递" in page.text and "投递失败" in page.text and "page-retry" in page.text
    assert f'action="/admin/events/{row_id}/retry"' in page.text
    assert "下游暂不可用" in page.text

    probe.failing = False
    forged = client.post(f"/admin/events/{row_id}/retry", data={"csrf_token": "x"}, headers={"accept": "text/html"})
    assert forged.status_code == 403
    done = client.post(
        f"/admin/events/{row_id}/retry",
        data={"csrf_token": csrf},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _row(runtime, row_id).status == "delivered"
    assert probe.received == ["page-retry"]


def test_the_cli_lists_and_retries_a_failed_delivery(runtime, probe):
    row_id = _publish(runtime, "cli-retry")
    _fail_until_given_up(runtime, row_id)
    listed = run_cli(runtime, "events", "list", "--status", "failed", "--limit", "500")
    assert listed.exit_code == 0 and str(row_id) in listed.output, listed.output
    still_failing = run_cli(runtime, "events", "retry", str(row_id))
    assert still_failing.exit_code == 1 and "仍未投递" in still_failing.output
    probe.failing = False
    events.configure(max_attempts=3, retry_base_seconds=2)
    with runtime.db.unit_of_work() as db:
        db.get(OutboxMessage, row_id).status = "failed"  # type: ignore[union-attr]
    result = run_cli(runtime, "events", "retry", str(row_id))
    assert result.exit_code == 0, result.output
    assert f"事件 #{row_id} 已投递" in result.output
    assert _row(runtime, row_id).status == "delivered"
    assert run_cli(runtime, "events", "retry", "999999999").exit_code == 1


def test_a_payload_that_no_longer_validates_fails_at_once(runtime, probe):
    probe.failing = False
    now = utcnow()
    with runtime.db.unit_of_work() as db:
        row_id = db.execute(
            insert(OutboxMessage)
            .values(
                name="test.probe",
                payload='{"label": 7, "extra": true}',
                status="pending",
                attempts=0,
                handlers_done="[]",
                created_at=now,
                available_at=now,
            )
            .returning(OutboxMessage.id)
        ).scalar_one()
    events.deliver_one(runtime.db.engine, row_id=row_id)
    row = _row(runtime, row_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "ValidationError" in (row.last_error or "")
    assert probe.received == []


def test_two_nodes_delivering_at_once_never_deliver_a_row_twice(runtime, probe):
    labels = [f"node-{n}" for n in range(30)]
    with runtime.db.unit_of_work() as db:
        for label in labels:
            events.publish(db, Probe(label=label))  # the handler fails: all wait for their back-off
    probe.failing = False
    slow = probe.__call__

    def slow_handler(db, payload: Probe) -> None:
        time.sleep(0.01)  # long enough for the other node to look for work meanwhile
        slow(db, payload)

    events.subscribe(Probe, slow_handler, key="test.probe_handler")
    later = utcnow() + timedelta(hours=2)
    engines = [runtime.db.engine, make_engine(runtime.settings.resolved_database_url)]
    try:
        with ThreadPoolExecutor(2) as pool:
            delivered = sum(pool.map(lambda engine: events.deliver_due(engine, now=later), engines))
    finally:
        engines[1].dispose()
    mine = [label for label in probe.received if label.startswith("node-")]
    assert sorted(mine) == sorted(labels)  # every row once, none twice
    assert delivered >= len(labels)


class IoProbe(EventPayload):
    event_name: ClassVar[str] = "test.io_probe"

    label: str


def test_an_io_handler_runs_outside_the_transaction_under_a_lease(runtime):
    """A handler that calls another system runs with no transaction open (so the database is free while
    it waits), the row leased so no other deliverer takes it meanwhile; a failure is retried as usual,
    and the row's ordinary handlers run after the io handler got through."""
    seen: list[str] = []
    ordinary: list[str] = []
    state = {"fail": True}

    def io_handler(transaction, probe: IoProbe) -> None:
        with runtime.db.unit_of_work() as other:  # another writer gets in: nothing holds the database
            other.execute(select(OutboxMessage.id).limit(1))
        # The row is leased: a second deliverer finds nothing due.
        assert events.deliver_due(runtime.db.engine) == 0
        with transaction() as db:
            assert db.get(OutboxMessage, row_id_of(probe.label)).status == "pending"
        if state["fail"]:
            raise RuntimeError("对方系统暂不可用")
        seen.append(probe.label)

    def row_id_of(label: str) -> int:
        with runtime.db.sessions() as db:
            return db.execute(select(OutboxMessage.id).where(OutboxMessage.payload.contains(label))).scalar_one()

    events.subscribe_io(IoProbe, io_handler, key="test.io_probe_io")
    events.subscribe(IoProbe, lambda db, probe: ordinary.append(probe.label), key="test.io_probe_db")
    label = f"io-{time.monotonic_ns()}"
    with runtime.db.unit_of_work() as db:
        events.publish(db, IoProbe(label=label))
    row = _row(runtime, row_id_of(label))
    assert (row.status, row.attempts) == ("pending", 1) and "对方系统暂不可用" in (row.last_error or "")
    assert seen == [] and ordinary == []  # the ordinary handler waits for the io one

    state["fail"] = False
    events.deliver_due(runtime.db.engine, now=utcnow() + timedelta(hours=2))
    done = _row(runtime, row.id)
    assert done.status == "delivered" and seen == [label] and ordinary == [label]
    assert set(json.loads(done.handlers_done)) == {"test.io_probe_io", "test.io_probe_db"}

"""The per-process state of mediation: rate and quota figures that reach other processes and survive a
restart, and the message log's group commit, which answers no call before its record is committed."""

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from yiwang.core.timeutil import utcnow
from yiwang.exchange import counters, message_log
from yiwang.exchange.counters import Counters, day_window
from yiwang.exchange.mediation import Gateway
from yiwang.exchange.message_keys import MessageKeys
from yiwang.exchange.models import MessageRecord


def _saved(runtime, process: Counters) -> None:
    taken = process.drain()
    with runtime.db.unit_of_work() as db:
        totals = counters.save(db, taken)
    process.settle(totals)


def test_quota_figures_reach_other_processes_through_the_save_and_survive_a_restart(runtime):
    window = day_window(900_000 + secrets.randbelow(99_999), utcnow())
    first, second = Counters(), Counters()
    with runtime.db.unit_of_work() as db:
        first.load(db, first.unknown([window]))
        second.load(db, second.unknown([window]))
    assert first.take([(window, 3)]) is None and first.take([(window, 3)]) is None
    _saved(runtime, first)
    assert second.take([(window, 3)]) is None  # it has not heard of the first one's calls yet
    _saved(runtime, second)  # now it has: the stored total is 3
    assert second.take([(window, 3)]) == window
    restarted = Counters()
    with runtime.db.unit_of_work() as db:
        restarted.load(db, restarted.unknown([window]))
    assert restarted.take([(window, 3)]) == window
    assert restarted.drain() == {}  # a refused call used nothing


def _record(service: str) -> message_log.CallRecord:
    return message_log.CallRecord(
        call_id=secrets.token_hex(12),
        received_at=utcnow(),
        duration_ms=1.0,
        service_code=service,
        operation_id="getPerson",
        method="GET",
        path="/persons/1",
        query="",
        provider_department_id=1,
        consumer_department_id=2,
        caller_id=None,
        caller_name="test",
        grant_id=None,
        outcome="refused",
        status_code=403,
        error_code="no_grant",
    )


def test_concurrent_calls_share_group_commits_and_each_waits_for_its_own(runtime):
    gateway = Gateway(runtime)
    batches: list[int] = []
    write = gateway.writer._write

    def counted(entries: list[message_log.Entry]) -> None:
        with runtime.db.sessions() as db:  # nothing of this batch is visible before its commit
            ids = [e.record.call_id for e in entries]
            assert not db.execute(select(MessageRecord.call_id).where(MessageRecord.call_id.in_(ids))).first()
        write(entries)
        batches.append(len(entries))

    gateway.writer._write = counted
    service = "group-" + secrets.token_hex(4)
    records = [_record(service) for _ in range(60)]

    async def call(record: message_log.CallRecord) -> bool:
        await gateway.writer.commit(message_log.Entry(record))
        with runtime.db.sessions() as db:  # committed by the time the call is released
            return (
                db.execute(select(MessageRecord.seq).where(MessageRecord.call_id == record.call_id)).first() is not None
            )

    async def all_calls() -> list[bool]:
        return await asyncio.gather(*(call(r) for r in records))

    with ThreadPoolExecutor(max_workers=1) as thread:  # a loop of its own, whatever the test runner runs
        assert all(thread.submit(asyncio.run, all_calls()).result())
    assert sum(batches) == 60 and len(batches) < 60  # shared transactions
    with runtime.db.unit_of_work() as db:
        assert message_log.verify(db, keys=MessageKeys(runtime.keyring)).ok

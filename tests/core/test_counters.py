"""Daily and yearly counters: one upsert, so concurrent first uses of a key queue instead of colliding."""

import threading
import uuid

from yiwang.cityops.models import Sequence  # any counter table will do; this one is keyed by an 8-character day
from yiwang.core.db import next_counter_value


def _fresh_key() -> str:
    return uuid.uuid4().hex[:8]


def test_a_counter_starts_at_one_and_counts_per_key(runtime):
    first, second = _fresh_key(), _fresh_key()
    with runtime.db.unit_of_work() as db:
        assert [next_counter_value(db, Sequence, key={"day": first}) for _ in range(3)] == [1, 2, 3]
        assert next_counter_value(db, Sequence, key={"day": second}) == 1
    with runtime.db.unit_of_work() as db:
        assert next_counter_value(db, Sequence, key={"day": first}) == 4


def test_concurrent_first_uses_of_a_key_get_distinct_numbers(runtime):
    key, workers = _fresh_key(), 8
    barrier = threading.Barrier(workers)
    taken: list[int] = []
    errors: list[BaseException] = []

    def take() -> None:
        try:
            barrier.wait(timeout=10)
            with runtime.db.unit_of_work() as db:
                taken.append(next_counter_value(db, Sequence, key={"day": key}))
        except BaseException as exc:  # collected and asserted below: a collision must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(taken) == list(range(1, workers + 1))


def test_a_rolled_back_number_is_given_again(runtime):
    key = _fresh_key()
    db = runtime.db.sessions()
    try:
        assert next_counter_value(db, Sequence, key={"day": key}) == 1
        db.rollback()
        assert next_counter_value(db, Sequence, key={"day": key}) == 1
        db.commit()
    finally:
        db.close()

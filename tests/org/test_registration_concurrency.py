"""Registration under concurrency, against the live server: two registrations of one ID number at the same
moment open exactly one account (SQLite and PostgreSQL), and the code and registration routes under load
mixed with other routes neither fail nor stall."""

import itertools
import threading
import time
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import bearer
from tests.org.signup import CODE_IN_TEXT, citizen, new_id_number, new_phone
from yiwang.core.masking import mask_phone
from yiwang.org import accounts
from yiwang.org.models import User

ROUNDS = 4
THREADS = 6
SECONDS = 15
SLOW_SECONDS = 5.0


@pytest.fixture
def generous_limits(runtime, monkeypatch):
    """Every request of these tests comes from 127.0.0.1; the per-address limit is not what they test."""
    monkeypatch.setattr(runtime.settings, "code_hourly_per_address", 100_000)


def _code(http: httpx.Client, admin: dict[str, str], phone: str) -> str:
    assert http.post("/api/register/code", json={"phone": phone}).status_code == 202
    items = http.get("/api/org/messages", headers=admin, params={"size": 100}).json()["items"]
    text = next(m["text"] for m in items if m["to"] == mask_phone(phone) and m["template"] == "register_code")
    return CODE_IN_TEXT.search(text).group(1)


def _templates_to(http: httpx.Client, admin: dict[str, str], phone: str) -> list[str]:
    items = http.get("/api/org/messages", headers=admin, params={"size": 100}).json()["items"]
    return [m["template"] for m in items if m["to"] == mask_phone(phone)]


def test_two_registrations_of_one_id_number_at_once_open_one_account(live_url, client, runtime, generous_limits):
    admin = bearer(client, "admin")
    with httpx.Client(base_url=live_url, timeout=30) as http:
        for _ in range(ROUNDS):
            id_number = new_id_number()
            phones = [new_phone(), new_phone()]
            bodies = [citizen(p, _code(http, admin, p), id_number=id_number) for p in phones]
            barrier = threading.Barrier(2)
            answers: list[httpx.Response | None] = [None, None]

            def register(n: int, bodies=bodies, barrier=barrier, answers=answers) -> None:
                with httpx.Client(base_url=live_url, timeout=30) as own:
                    barrier.wait()
                    answers[n] = own.post("/api/register/citizen", json=bodies[n])

            threads = [threading.Thread(target=register, args=(n,)) for n in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

            assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
            assert answers[0].json() == answers[1].json()
            digest = runtime.cipher.lookup_hash(id_number, context=accounts.ID_NUMBER_CONTEXT)
            with runtime.db.sessions() as db:
                holders = db.execute(select(User.username).where(User.id_number_hash == digest)).scalars().all()
            assert len(holders) == 1
            winner = next(n for n in range(2) if bodies[n]["username"] == holders[0])
            assert _templates_to(http, admin, phones[winner])[:2] == ["register_exists", "register_done"]
            assert _templates_to(http, admin, phones[1 - winner]) == ["register_code"]


@dataclass(frozen=True)
class Outcome:
    kind: str
    status: int
    seconds: float
    error: str = ""


def _kinds(admin: dict[str, str], staff: dict[str, str]):
    def code(http):
        return http.post("/api/register/code", json={"phone": new_phone()})

    def registration(http):
        phone = new_phone()
        return http.post("/api/register/citizen", json=citizen(phone, _code(http, admin, phone)))

    def reset_code(http):
        return http.post("/api/password-reset/code", json={"username": "nobody-here", "phone": new_phone()})

    def page(path):
        return lambda http: http.get(path, headers={"accept": "text/html"})

    return [
        ("code", code),
        ("registration", registration),
        ("reset code", reset_code),
        ("page /register/citizen", page("/register/citizen")),
        ("page /login", page("/login")),
        ("ckan package_search", lambda http: http.get("/api/3/action/package_search", params={"rows": "5"})),
        ("me", lambda http: http.get("/api/auth/me", headers=staff)),
        ("departments", lambda http: http.get("/api/org/departments", headers=staff)),
    ]


def _worker(live_url: str, kinds, offset: int, until: float, out: list[Outcome]) -> None:
    limits = httpx.Limits(keepalive_expiry=1.0)
    with httpx.Client(base_url=live_url, timeout=SLOW_SECONDS * 3, limits=limits) as http:
        for name, call in itertools.islice(itertools.cycle(kinds), offset, None):
            if time.monotonic() > until:
                return
            started = time.perf_counter()
            try:
                response = call(http)
                out.append(Outcome(name, response.status_code, time.perf_counter() - started))
            except (httpx.HTTPError, AssertionError, StopIteration) as exc:
                out.append(Outcome(name, 0, time.perf_counter() - started, repr(exc)))


@pytest.mark.slow
@pytest.mark.serial
def test_registration_and_code_routes_under_load_with_other_routes(live_url, client, generous_limits):
    kinds = _kinds(bearer(client, "admin"), bearer(client, "cgj_handler"))
    outcomes: list[Outcome] = []
    until = time.monotonic() + SECONDS
    threads = [threading.Thread(target=_worker, args=(live_url, kinds, n, until, outcomes)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 90)

    ms = sorted(o.seconds * 1000 for o in outcomes)
    print(
        f"\nregistration load: {len(outcomes)} requests in {SECONDS} s from {THREADS} threads; "
        f"p50 {ms[len(ms) // 2]:.0f} ms, p99 {ms[int(len(ms) * 0.99)]:.0f} ms, max {ms[-1]:.0f} ms"
    )
    bad = [o for o in outcomes if o.status == 0 or o.status >= 500 or o.seconds > SLOW_SECONDS]
    never_ok = {name for name, _ in kinds} - {o.kind for o in outcomes if 200 <= o.status < 300}
    assert not bad, f"{len(bad)} of {len(outcomes)} failed or were slow, e.g. {bad[:5]}"
    assert not never_ok, f"never succeeded: {never_ok}"
    assert all(o.status < 400 for o in outcomes), [o for o in outcomes if o.status >= 400][:5]
    assert len(outcomes) > 60

"""The Argon2 cost is a setting: new hashes take the configured cost, older hashes still verify and
are rehashed at the next login."""

import pytest
from argon2 import extract_parameters
from sqlalchemy import select

from tests.conftest import unique
from yiwang.config import Settings
from yiwang.core import passwords
from yiwang.org.models import User


@pytest.fixture
def restore_cost(runtime):
    yield
    settings = runtime.settings
    passwords.configure(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)


@pytest.mark.usefixtures("restore_cost")
def test_a_hash_keeps_its_cost_and_still_verifies_after_the_cost_changes():
    passwords.configure(time_cost=2, memory_kib=64)
    older = passwords.hash_password("Secret2026x")
    assert (extract_parameters(older).time_cost, extract_parameters(older).memory_cost) == (2, 64)
    passwords.configure(time_cost=1, memory_kib=32)
    assert passwords.verify_password(older, "Secret2026x")
    assert not passwords.verify_password(older, "Wrong2026x")
    assert passwords.needs_rehash(older)
    newer = passwords.hash_password("Secret2026x")
    assert extract_parameters(newer).time_cost == 1 and not passwords.needs_rehash(newer)


def test_the_test_settings_hash_at_the_lowest_cost_and_the_defaults_at_the_production_cost(runtime):
    defaults = Settings(_env_file=None)
    assert (defaults.password_time_cost, defaults.password_memory_kib) == (3, 65536)
    assert (runtime.settings.password_time_cost, runtime.settings.password_memory_kib) == (1, 32)


@pytest.mark.usefixtures("restore_cost")
def test_a_login_rehashes_a_password_made_at_another_cost(client, admin_headers, runtime):
    username = unique("staff")
    passwords.configure(time_cost=2, memory_kib=64)
    created = client.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": username,
            "kind": "staff",
            "display_name": "测试人员",
            "password": "Handler2026x",
            "department_code": "CGJ",
            "roles": ["handler"],
        },
    )
    assert created.status_code == 201, created.text
    settings = runtime.settings
    passwords.configure(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)
    login = client.post(
        "/api/auth/token", data={"grant_type": "password", "username": username, "password": "Handler2026x"}
    )
    assert login.status_code == 200, login.text
    with runtime.db.unit_of_work() as db:
        stored = db.execute(select(User.password_hash).where(User.username == username)).scalar_one()
    assert extract_parameters(stored).time_cost == settings.password_time_cost

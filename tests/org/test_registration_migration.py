"""The migration that makes ID numbers and credit codes unique stops on an installation holding two
accounts for one number, names the numbers, and goes through once they are resolved."""

import pytest
from sqlalchemy import text

from yiwang.core.db import make_engine
from yiwang.core.migrate import upgrade

BEFORE, UNIQUE = "org_0003", "org_0004"  # the revision before one account per number, and that one


def _account(connection, username: str, credit_code: str) -> None:
    connection.execute(
        text(
            "INSERT INTO org_user (username, kind, display_name, active, scopes, failed_logins,"
            " must_change_password, created_at, credit_code)"
            " VALUES (:u, 'enterprise', :u, true, '', 0, false, '2026-01-01 00:00:00', :c)"
        ),
        {"u": username, "c": credit_code},
    )


def test_shared_credit_codes_stop_the_upgrade_until_resolved(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, BEFORE)
    with engine.begin() as connection:
        _account(connection, "first", "91320581MA1YE20261")
        _account(connection, "second", "91320581MA1YE20261")
    with pytest.raises(RuntimeError, match=r"1 credit codes shared by several accounts \(91320581MA1YE20261\)"):
        upgrade(engine, UNIQUE)
    with engine.begin() as connection:
        connection.execute(text("UPDATE org_user SET credit_code = NULL WHERE username = 'second'"))
    upgrade(engine, UNIQUE)
    with engine.begin() as connection, pytest.raises(Exception, match="UNIQUE"):
        _account(connection, "third", "91320581MA1YE20261")
    engine.dispose()

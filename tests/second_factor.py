"""Logging in as accounts with a second factor, as a person with an authenticator app would.

The demo's administrators have the published TOTP secret `DEMO_TOTP_SECRET`. The platform accepts
each time step once per account (replay protection), so a test process cannot type a fresh code for
every one of its hundreds of administrator logins: it remembers which steps it used on which
database and waits for the next step when the window is spent, and the shared helpers keep the
tokens and sessions they obtained, checking they are still live before handing them out again."""

import time

from yiwang.demo.loader import DEMO_TOTP_SECRET
from yiwang.org import totp

_last_step: dict[tuple[str, str], int] = {}
_secrets: dict[tuple[str, str], str] = {}


def remember_secret(database: str, username: str, secret: str) -> None:
    """The secret an account enrolled in a test, for its later logins."""
    _secrets[(database, username.lower())] = secret


def fresh_code(database: str, username: str, secret: str | None = None) -> str:
    """A code for a time step not yet used for this account on this database by this process; the
    account's enrolled secret, or else the demo administrators' published one."""
    key = (database, username.lower())
    secret = secret or _secrets.get(key, DEMO_TOTP_SECRET)
    while True:
        step = int(time.time()) // totp.PERIOD_SECONDS
        for candidate in (step, step + 1):  # the platform accepts one step either side of now
            if candidate > _last_step.get(key, -1):
                _last_step[key] = candidate
                return _code_for_step(secret, candidate)
        time.sleep(totp.PERIOD_SECONDS - time.time() % totp.PERIOD_SECONDS + 0.05)


def _code_for_step(secret: str, step: int) -> str:
    from datetime import UTC, datetime

    return totp.code_at(secret, datetime.fromtimestamp(step * totp.PERIOD_SECONDS, UTC))


def forget(database: str) -> None:
    """A database made afresh (same URL, new accounts): its steps are unused again."""
    for key in [k for k in _last_step if k[0] == database]:
        del _last_step[key]

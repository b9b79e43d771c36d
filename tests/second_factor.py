"""Logging in as accounts with a second factor, as a person with an authenticator app would.

The demo's administrators have the published TOTP secret `DEMO_TOTP_SECRET`. The platform accepts
each time step once per account (replay protection), so a test process cannot type a fresh code for
every one of its hundreds of administrator logins: it remembers which steps it used on which
database and waits for the next step when the window is spent, and the shared helpers keep the
tokens and sessions they obtained, checking they are still live before handing them out again.

Steps are remembered per account name, whichever database: a test talking to a live server cannot
always tell which database is behind it, and never reusing a step anywhere is merely cautious."""

import time

from yiwang.demo.loader import DEMO_TOTP_SECRET
from yiwang.org import totp

_last_step: dict[str, int] = {}
_secrets: dict[tuple[str, str], str] = {}


def remember_secret(database: str, username: str, secret: str) -> None:
    """The secret an account enrolled in a test, for its later logins."""
    _secrets[(database, username.lower())] = secret


def fresh_code(database: str, username: str, secret: str | None = None) -> str:
    """A code for a time step this process has not used for this account name yet; the account's
    enrolled secret on this database, or else the demo administrators' published one."""
    secret = secret or _secrets.get((database, username.lower()), DEMO_TOTP_SECRET)
    key = username.lower()
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

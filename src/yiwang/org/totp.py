"""TOTP codes (RFC 6238) through pyotp: new secrets, the otpauth URI and its QR code, and matching a
code against the time steps around now."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyotp
import segno
from pyotp.utils import strings_equal

from yiwang.core.crypto import TOTP_DIGEST

DIGITS = 6
PERIOD_SECONDS = 30
# One step either side of now: a phone's clock a little off, or a code typed as it rolls over.
WINDOW = 1
ISSUER = "一网 yiwang"


@dataclass(frozen=True)
class Match:
    """A code checked against a secret: the time step it belongs to (None: no step in the window),
    and whether that step was already used (a replay)."""

    step: int | None
    replayed: bool = False

    @property
    def accepted(self) -> bool:
        return self.step is not None and not self.replayed


def new_secret() -> str:
    """A random 160-bit secret, base32 as authenticator apps take it."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, *, account: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code, drawn here (no external service sees the secret)."""
    svg: str = segno.make(uri, error="m").svg_inline(scale=5, dark="#1f2937", light="#ffffff", border=2)
    return svg


def match(
    secret: str,
    code: str,
    *,
    at: datetime,
    last_step: int | None,
    digits: int = DIGITS,
    digest: Callable[..., Any] = TOTP_DIGEST,
) -> Match:
    """Which step of the window around `at` this code is, refusing a step at or before `last_step`.

    Compared in constant time; anything but exactly `digits` digits matches nothing."""
    code = code.strip().replace(" ", "")
    if len(code) != digits or not code.isascii() or not code.isdigit():
        return Match(step=None)
    generator = pyotp.TOTP(secret, digits=digits, digest=digest, interval=PERIOD_SECONDS)
    now_step = generator.timecode(at)
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        if step >= 0 and strings_equal(generator.generate_otp(step), code):
            return Match(step=step, replayed=last_step is not None and step <= last_step)
    return Match(step=None)


def code_at(secret: str, at: datetime) -> str:
    """The code for the step holding `at` (the demo's instructions and tests use it)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS).at(at)

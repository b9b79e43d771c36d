"""TOTP codes (RFC 6238) through the code that verifies them: the RFC's test vectors, the window of
one step either side, replays, and input that is not a code."""

import base64
import hashlib
from datetime import UTC, datetime

import pytest

from yiwang.org import totp

# RFC 6238 Appendix B: SHA-1, the 20-byte ASCII seed "12345678901234567890", 8 digits, 30 s steps.
RFC_SEED = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.mark.parametrize(("seconds", "code"), RFC_VECTORS)
def test_rfc_6238_vectors_are_accepted_at_their_time(seconds, code):
    found = totp.match(RFC_SEED, code, at=_at(seconds), last_step=None, digits=8, digest=hashlib.sha1)
    assert found.accepted and found.step == seconds // 30


@pytest.mark.parametrize(("seconds", "code"), RFC_VECTORS)
def test_rfc_6238_vectors_are_refused_two_steps_away(seconds, code):
    for offset in (-60, 60):
        if seconds + offset < 0:
            continue
        found = totp.match(RFC_SEED, code, at=_at(seconds + offset), last_step=None, digits=8, digest=hashlib.sha1)
        assert not found.accepted and found.step is None


def test_one_step_either_side_is_accepted():
    seconds, code = 1111111111, "14050471"
    for offset in (-30, 30):
        found = totp.match(RFC_SEED, code, at=_at(seconds + offset), last_step=None, digits=8)
        assert found.accepted and found.step == seconds // 30


def test_a_code_of_a_step_already_used_is_a_replay():
    seconds, code = 1234567890, "89005924"
    step = seconds // 30
    assert totp.match(RFC_SEED, code, at=_at(seconds), last_step=step - 1, digits=8).accepted
    replayed = totp.match(RFC_SEED, code, at=_at(seconds), last_step=step, digits=8)
    assert replayed.replayed and not replayed.accepted
    assert not totp.match(RFC_SEED, code, at=_at(seconds), last_step=step + 1, digits=8).accepted


def test_the_six_digit_codes_of_the_platform_follow_the_same_rule():
    secret = totp.new_secret()
    now = datetime.now(UTC)
    code = totp.code_at(secret, now)
    assert len(code) == 6 and totp.match(secret, code, at=now, last_step=None).accepted
    assert totp.match(secret, f" {code[:3]} {code[3:]} ", at=now, last_step=None).accepted  # as read aloud


@pytest.mark.parametrize("typed", ["", "1234567", "12345", "abcdef", "１２３４５６", "12345678901234567890"])
def test_anything_but_a_code_of_the_right_length_matches_nothing(typed):
    secret = totp.new_secret()
    assert totp.match(secret, typed, at=datetime.now(UTC), last_step=None).step is None


def test_the_qr_code_is_drawn_here_and_carries_the_otpauth_uri():
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", account="admin")
    assert uri.startswith("otpauth://totp/") and "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in uri and "issuer=" in uri
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg") and "<path" in svg and "href" not in svg and "<script" not in svg

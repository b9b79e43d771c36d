"""One-time codes on their own: expiry, single use, wrong entries, the limits per number and per address,
and the registration rules read from identifiers (age from the ID number)."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.org.signup import new_address, new_id_number, new_phone
from yiwang.core.errors import ValidationFailed
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.org import codes, messages, registration
from yiwang.org.models import Message, VerificationCode


@pytest.fixture
def db(runtime):
    with runtime.db.sessions() as session:
        yield session
        session.rollback()


@pytest.fixture
def limits(runtime):
    return runtime.settings.model_copy(
        update={"code_resend_seconds": 60, "code_daily_per_number": 10, "code_hourly_per_address": 30}
    )


def _ask(db, runtime, limits, phone, *, at, address=None, purpose="register", subject=""):
    actor = Principal.anonymous(address or "10.9.9.9")
    return codes.request_code(
        db,
        settings=limits,
        cipher=runtime.cipher,
        actor=actor,
        purpose=purpose,
        phone=phone,
        subject=subject,
        now=at,
    )


def _texted_code(db, runtime, limits) -> str:
    """The code in the newest message, as the outbox shows it."""
    newest = db.execute(select(Message.id).order_by(Message.id.desc()).limit(1)).scalar_one()
    items, _ = messages.list_messages(
        db, actor=Principal.anonymous("10.0.0.1"), settings=limits, cipher=runtime.cipher, limit=5
    )
    text = next(m.text for m in items if m.id == newest)
    return re.search(r"验证码(\d{6})", text).group(1)


def _check(db, runtime, limits, phone, code, *, at, purpose="register", subject=""):
    return codes.check_code(
        db,
        settings=limits,
        cipher=runtime.cipher,
        purpose=purpose,
        phone=phone,
        code=code,
        subject=subject,
        now=at,
    )


def test_a_code_is_six_digits_stored_only_as_a_keyed_hash(db, runtime, limits):
    phone, now = new_phone(), utcnow()
    issued = _ask(db, runtime, limits, phone, at=now)
    assert issued.expires_in_seconds == 300 and issued.resend_after_seconds == 60
    code = _texted_code(db, runtime, limits)
    row = db.execute(select(VerificationCode).order_by(VerificationCode.id.desc()).limit(1)).scalar_one()
    assert re.fullmatch(r"\d{6}", code) and code not in row.code_hash and len(row.code_hash) == 64
    assert phone not in row.phone_hash
    message = db.execute(select(Message).order_by(Message.id.desc()).limit(1)).scalar_one()
    assert phone not in message.to_enc and code not in (message.params_enc or "")


def test_a_code_expires_after_its_minutes(db, runtime, limits):
    phone, now = new_phone(), utcnow()
    _ask(db, runtime, limits, phone, at=now)
    code = _texted_code(db, runtime, limits)
    with pytest.raises(codes.CodeRejected, match="已失效"):
        _check(db, runtime, limits, phone, code, at=now + timedelta(minutes=5, seconds=1))
    assert _check(db, runtime, limits, phone, code, at=now + timedelta(minutes=4, seconds=59))


def test_a_code_is_used_once(db, runtime, limits):
    phone, now = new_phone(), utcnow()
    _ask(db, runtime, limits, phone, at=now)
    code = _texted_code(db, runtime, limits)
    code_id = _check(db, runtime, limits, phone, code, at=now)
    codes.spend_code(db, code_id=code_id)
    with pytest.raises(codes.CodeRejected):
        codes.spend_code(db, code_id=code_id)
    with pytest.raises(codes.CodeRejected, match="已失效"):
        _check(db, runtime, limits, phone, code, at=now)


def test_a_code_is_bound_to_its_purpose_and_subject(db, runtime, limits):
    phone, now = new_phone(), utcnow()
    _ask(db, runtime, limits, phone, at=now, purpose="reset", subject="alice")
    code = _texted_code(db, runtime, limits)
    with pytest.raises(codes.CodeRejected, match="已失效"):  # no registration code for this number
        _check(db, runtime, limits, phone, code, at=now)
    with pytest.raises(codes.CodeRejected, match="验证码错误"):
        _check(db, runtime, limits, phone, code, at=now, purpose="reset", subject="bob")
    assert _check(db, runtime, limits, phone, code, at=now, purpose="reset", subject="ALICE")


def test_wrong_entries_are_limited_per_code(db, runtime, limits):
    phone, now = new_phone(), utcnow()
    _ask(db, runtime, limits, phone, at=now)
    code = _texted_code(db, runtime, limits)
    wrong = f"{(int(code) + 7) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(codes.CodeRejected, match=f"还可尝试{left}次") as refused:
            _check(db, runtime, limits, phone, wrong, at=now)
        assert refused.value.commit  # the count is kept although the request fails
    with pytest.raises(codes.CodeRejected, match="次数过多"):
        _check(db, runtime, limits, phone, wrong, at=now)
    with pytest.raises(codes.CodeRejected, match="次数过多"):
        _check(db, runtime, limits, phone, code, at=now)
    # A new code starts afresh, and replaces the old one.
    _ask(db, runtime, limits, phone, at=now + timedelta(seconds=61))
    fresh = _texted_code(db, runtime, limits)
    assert _check(db, runtime, limits, phone, fresh, at=now + timedelta(seconds=62))


def test_one_code_a_minute_and_ten_a_day_per_number(db, runtime, limits):
    phone, start = new_phone(), utcnow()
    _ask(db, runtime, limits, phone, at=start)
    with pytest.raises(codes.CodeRateLimited) as refused:
        _ask(db, runtime, limits, phone, at=start + timedelta(seconds=20))
    assert refused.value.details == {"retry_after_seconds": 40}
    assert refused.value.message == "验证码已发送，请在40秒后再获取"
    # Another purpose is not held back by the minute, but counts towards the day.
    _ask(db, runtime, limits, phone, at=start + timedelta(seconds=21), purpose="reset")
    for n in range(1, 9):
        _ask(db, runtime, limits, phone, at=start + timedelta(minutes=n * 2))
    with pytest.raises(codes.CodeRateLimited) as daily:
        _ask(db, runtime, limits, phone, at=start + timedelta(minutes=30))
    # The oldest of the ten leaves the 24-hour window 23.5 hours from now.
    assert daily.value.details == {"retry_after_seconds": int(timedelta(hours=23, minutes=30).total_seconds())}
    assert daily.value.message == "该手机号24小时内获取验证码已达10次，请在23小时30分钟后再试"
    _ask(db, runtime, limits, phone, at=start + timedelta(hours=24, seconds=1))


def test_one_address_may_ask_a_limited_number_an_hour(db, runtime, limits):
    limited = limits.model_copy(update={"code_hourly_per_address": 3})
    address, start = new_address(), utcnow()
    for n in range(3):
        _ask(db, runtime, limited, new_phone(), at=start + timedelta(minutes=n), address=address)
    with pytest.raises(codes.CodeRateLimited) as refused:
        _ask(db, runtime, limited, new_phone(), at=start + timedelta(minutes=10), address=address)
    assert refused.value.details == {"retry_after_seconds": 50 * 60}
    assert refused.value.message == "本网络地址1小时内获取验证码已达3次，请在50分钟后再试"
    _ask(db, runtime, limited, new_phone(), at=start + timedelta(minutes=10), address=new_address())
    _ask(db, runtime, limited, new_phone(), at=start + timedelta(minutes=61), address=address)


def test_an_undelivered_request_counts_like_a_delivered_one(db, runtime, limits):
    phone, now = new_phone(), utcnow()
    before = db.execute(select(Message.id).order_by(Message.id.desc()).limit(1)).scalar()
    codes.request_code(
        db,
        settings=limits,
        cipher=runtime.cipher,
        actor=Principal.anonymous("10.9.9.8"),
        purpose="reset",
        phone=phone,
        deliver=False,
        now=now,
    )
    assert db.execute(select(Message.id).order_by(Message.id.desc()).limit(1)).scalar() == before
    with pytest.raises(codes.CodeRateLimited):
        _ask(db, runtime, limits, phone, at=now + timedelta(seconds=5), purpose="reset")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1, "1秒"), (59, "59秒"), (119, "119秒"), (120, "2分钟"), (3600, "1小时"), (3601, "1小时1分钟")],
)
def test_waits_read_as_people_say_them(seconds, text):
    assert codes.wait_text(seconds) == text


def test_age_is_read_from_the_id_number():
    today = date(2026, 12, 7)
    assert registration.age_on(date(2008, 12, 7), today) == 18
    assert registration.age_on(date(2008, 12, 8), today) == 17
    registration.check_age(new_id_number(born=date(2008, 12, 7)), min_age=18, today=today)
    with pytest.raises(ValidationFailed, match="未满18周岁") as refused:
        registration.check_age(new_id_number(born=date(2008, 12, 8)), min_age=18, today=today)
    assert refused.value.code == "under_age" and refused.value.details == {"min_age": 18}

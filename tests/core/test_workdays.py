"""Working days on the official calendar: Spring Festival 2026, its make-up Saturdays, and overrides."""

from datetime import date

import chinese_calendar
import pytest

from tests.conftest import bearer
from yiwang.core.workdays import add_working_days, is_workday, working_days_between


def test_spring_festival_2026_and_its_make_up_days():
    assert is_workday(date(2026, 2, 14))  # Saturday, a make-up working day
    assert not is_workday(date(2026, 2, 16))  # Monday inside the holiday
    assert is_workday(date(2026, 2, 28))  # Saturday, make-up
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)  # nine days off
    assert add_working_days(date(2026, 2, 12), 5) == date(2026, 2, 26)
    assert add_working_days(date(2026, 2, 24), 4) == date(2026, 2, 28)  # 25, 26, 27 and Saturday the 28th
    assert add_working_days(date(2026, 2, 24), 5) == date(2026, 3, 2)  # Sunday 1 March is off
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 27)) == 5  # 14, 24, 25, 26, 27


def test_overrides_win_and_cover_years_the_package_does_not_know():
    overrides = {date(2026, 2, 16): True}
    assert add_working_days(date(2026, 2, 14), 1, overrides) == date(2026, 2, 16)
    far = date(2099, 1, 1)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(far)
    assert is_workday(date(2099, 1, 2)) is True  # Friday, by the weekday fallback
    assert is_workday(date(2099, 1, 2), {date(2099, 1, 2): False}) is False


def test_the_calendar_api_uses_the_override_table(client, admin_headers):
    assert (
        client.put(
            "/api/onestop/calendar",
            headers=admin_headers,
            json={"day": "2099-01-02", "workday": False, "note": "测试假日"},
        ).status_code
        == 204
    )
    body = client.get("/api/onestop/workdays", headers=admin_headers, params={"start": "2099-01-01", "days": 1}).json()
    assert body["end"] == "2099-01-05"  # Fri 2 Jan declared a holiday, then the weekend
    assert (
        client.put(
            "/api/onestop/calendar", headers=bearer(client, "spj_handler"), json={"day": "2099-01-02", "workday": True}
        ).status_code
        == 403
    )

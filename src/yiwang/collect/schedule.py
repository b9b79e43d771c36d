"""Cron schedules of sources, read in the city's time (Asia/Shanghai)."""

from datetime import UTC, datetime

from croniter import croniter

from yiwang.core.errors import ValidationFailed
from yiwang.core.timeutil import SHANGHAI


def check_cron(expression: str) -> None:
    """Refuse what is not a five-field cron expression (or six, with seconds first)."""
    fields = expression.split()
    if len(fields) not in (5, 6) or not croniter.is_valid(expression, second_at_beginning=True):
        raise ValidationFailed("计划须是 cron 表达式：分 时 日 月 周（如 0 2 * * * 为每天 2 点），或在前面加秒")


def next_fire(expression: str, after: datetime) -> datetime:
    """The first time the schedule fires after `after`, in UTC."""
    local = after.astimezone(SHANGHAI)
    following = croniter(expression, local, second_at_beginning=True).get_next(datetime)
    return following.astimezone(UTC)

"""Time helpers: the platform stores UTC and shows Asia/Shanghai."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def local_today() -> date:
    """Today's date in Asia/Shanghai, whatever the server's own zone is."""
    return utcnow().astimezone(SHANGHAI).date()


def to_local(value: datetime | None) -> datetime | None:
    """Convert a stored UTC time to Asia/Shanghai for display."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Format a stored UTC time as Shanghai local time; empty for None."""
    local = to_local(value)
    return local.strftime(fmt) if local else ""

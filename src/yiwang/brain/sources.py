"""How 城市智脑 reads other domains: their service functions, which return typed shapes.

A reader that fails (a fault or an outage in the other domain) becomes SourceUnavailable with the
reason, shown to people; callers then report "no data" with that reason, never a made-up figure.
"""

import logging
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from yiwang.core.permissions import registry
from yiwang.core.security import Principal

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

DOMAIN_NAMES = {
    "catalog": "资源目录",
    "governance": "数据治理",
    "exchange": "共享交换",
    "opendata": "数据开放",
    "certs": "电子证照",
    "onestop": "一网通办",
    "sensing": "物联感知",
    "cityops": "一网统管",
    "federation": "向上对接",
}


class SourceUnavailable(Exception):
    """A figure's source failed; `reason` is shown to people (Chinese)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def read(
    domain: str, reader: Callable[Concatenate[Session, P], T], db: Session, *args: P.args, **kwargs: P.kwargs
) -> T:
    """Call another domain's reader; its failure becomes SourceUnavailable (and is logged)."""
    try:
        with db.begin_nested():  # a failing reader must not spoil the caller's transaction
            return reader(db, *args, **kwargs)
    except Exception as exc:
        log.warning("brain source %s.%s failed: %s", domain, reader.__name__, exc)
        raise SourceUnavailable(f"{DOMAIN_NAMES[domain]}服务 {reader.__name__} 出错：{exc}") from exc


def system_actor() -> Principal:
    """The brain reads city-wide as a system actor; who may see what is decided by brain's own scope rules."""
    return Principal(
        user_id=None,
        username="system:brain",
        display_name="城市智脑",
        kind="system",
        permissions=frozenset(registry.permissions),
    )

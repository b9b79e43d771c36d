"""Entry points shown on the home page and in the top navigation; each domain registers its own."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from yiwang.core.security import Principal

# The four areas of the plan, in the order the home page shows them.
AREAS = {
    "onestop": ("一网通办", "政务服务事项、一件事集成办理、办件进度与好差评"),
    "cityops": ("一网统管", "城市事件上报、智能分拨、限时办结与督办"),
    "data": ("一网通用", "统一身份、资源目录、数据治理、共享交换与开放"),
    "brain": ("城市智脑", "城市体征、指标评估、预警与预测驾驶舱"),
}


@dataclass(frozen=True)
class Entry:
    area: str  # a key of AREAS, or "admin"
    title: str
    url: str
    description: str = ""
    permission: str | None = None  # None: anyone who is logged in; "public": everyone
    order: int = 100


_entries: list[Entry] = []


def register(*entries: Entry) -> None:
    for entry in entries:
        if entry not in _entries:
            _entries.append(entry)


def visible_entries(principal: Principal, area: str | None = None) -> list[Entry]:
    """Entries the principal may open, optionally for one area."""

    def allowed(entry: Entry) -> bool:
        if entry.permission == "public":
            return True
        if not principal.is_authenticated:
            return False
        return entry.permission is None or principal.has(entry.permission)

    chosen = [e for e in _entries if (area is None or e.area == area) and allowed(e)]
    return sorted(chosen, key=lambda e: (e.order, e.title))


# The home page of an account kind other than staff (citizens and enterprises get the 城市服务总入口),
# registered by the domain that draws it: (request, db session, principal) -> response.
HomePage = Callable[[Any, Any, Principal], Any]
_homes: dict[str, HomePage] = {}


def register_home(kind: str, page: HomePage) -> None:
    _homes[kind] = page


def home_for(kind: str) -> HomePage | None:
    return _homes.get(kind)

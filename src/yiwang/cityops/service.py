"""The rules of 一网统管: the public face the routers, pages, jobs and other domains use.

The rules live in modules by responsibility and are re-exported here: where an event goes (rules:
categories, dispatch rules, routing, classification), its lifecycle (intake, transitions, ratings,
deadlines, alarms), reading events as the caller may see them (reading), and figures. Other domains
(the city brain) read the typed figures and shapes of `reads`.
"""

from yiwang.cityops.figures import (
    figures,
    supervision,
)
from yiwang.cityops.lifecycle import (
    ACTION_NAMES,
    NOTE_REQUIRED,
    OPEN_STATUSES,
    REOPEN_RATING,
    STATUS_NAMES,
    SYSTEM,
    TRANSITIONS,
    WARN_FRACTION,
    act,
    can_see,
    check_deadlines,
    create_event,
    event_for_alarm,
    get_event_row,
    open_from_alarm,
    rate,
    role_ok,
)
from yiwang.cityops.nearby import NEARBY_RADIUS_M, nearby, register_nearby
from yiwang.cityops.reading import (
    EventFilter,
    list_events,
    map_points,
    read_reporter_clear,
    reporter_events,
    to_read,
    to_reads,
    transitions,
)

# the read model other domains use, re-exported
from yiwang.cityops.reads import (
    city_event_figures as city_event_figures,
)
from yiwang.cityops.reads import (
    closed_events as closed_events,
)
from yiwang.cityops.reads import (
    event_categories as event_categories,
)
from yiwang.cityops.reads import (
    event_figures as event_figures,
)
from yiwang.cityops.reads import (
    event_map as event_map,
)
from yiwang.cityops.reads import (
    late_open_events as late_open_events,
)
from yiwang.cityops.rules import (
    CategoryInfo,
    Route,
    add_dispatch_rule,
    classify,
    delete_dispatch_rule,
    dispatch_rule_read,
    ensure_categories,
    get_dispatch_rule,
    list_categories,
    list_dispatch_rules,
    route_for,
    update_dispatch_rule,
)

__all__ = [
    "ACTION_NAMES",
    "NEARBY_RADIUS_M",
    "NOTE_REQUIRED",
    "OPEN_STATUSES",
    "REOPEN_RATING",
    "STATUS_NAMES",
    "SYSTEM",
    "TRANSITIONS",
    "WARN_FRACTION",
    "CategoryInfo",
    "EventFilter",
    "Route",
    "act",
    "add_dispatch_rule",
    "can_see",
    "check_deadlines",
    "city_event_figures",
    "classify",
    "closed_events",
    "create_event",
    "delete_dispatch_rule",
    "dispatch_rule_read",
    "ensure_categories",
    "event_categories",
    "event_figures",
    "event_for_alarm",
    "event_map",
    "figures",
    "get_dispatch_rule",
    "get_event_row",
    "late_open_events",
    "list_categories",
    "list_dispatch_rules",
    "list_events",
    "map_points",
    "nearby",
    "open_from_alarm",
    "rate",
    "read_reporter_clear",
    "register_nearby",
    "reporter_events",
    "role_ok",
    "route_for",
    "supervision",
    "to_read",
    "to_reads",
    "transitions",
    "update_dispatch_rule",
]

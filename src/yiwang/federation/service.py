"""The federation's public face (向上对接): peers, messages, catalog sync, cross-level applications,
data objections and the cascade figures. The work sits in the modules beside it."""

from yiwang.federation.applications import (
    apply as apply,
)
from yiwang.federation.applications import (
    follow_incoming as follow_incoming,
)
from yiwang.federation.applications import (
    get_application as get_application,
)
from yiwang.federation.applications import (
    list_applications as list_applications,
)
from yiwang.federation.applications import (
    returned_data as returned_data,
)
from yiwang.federation.catalog_sync import (
    queue_changes as queue_catalog_changes,
)
from yiwang.federation.catalog_sync import (
    search_remote as search_remote,
)
from yiwang.federation.catalog_sync import (
    sync_history as sync_history,
)
from yiwang.federation.inbox import receive as receive
from yiwang.federation.objections import (
    answer_objection as answer_objection,
)
from yiwang.federation.objections import (
    get_objection as get_objection,
)
from yiwang.federation.objections import (
    list_objections as list_objections,
)
from yiwang.federation.objections import (
    open_for as open_objections_for,
)
from yiwang.federation.objections import (
    raise_objection as raise_objection,
)
from yiwang.federation.objections import (
    send_report as send_report,
)
from yiwang.federation.peers import (
    add_peer as add_peer,
)
from yiwang.federation.peers import (
    get_peer as get_peer,
)
from yiwang.federation.peers import (
    list_peers as list_peers,
)
from yiwang.federation.peers import (
    remove_peer as remove_peer,
)
from yiwang.federation.reads import (
    cascade_figures as cascade_figures,
)
from yiwang.federation.reads import (
    message_history as message_history,
)

__all__ = [
    "add_peer",
    "answer_objection",
    "apply",
    "cascade_figures",
    "follow_incoming",
    "get_application",
    "get_objection",
    "get_peer",
    "list_applications",
    "list_objections",
    "list_peers",
    "message_history",
    "open_objections_for",
    "queue_catalog_changes",
    "raise_objection",
    "receive",
    "remove_peer",
    "returned_data",
    "search_remote",
    "send_report",
    "sync_history",
]

"""Rules of 一网通办: the public face other domains, the routers and the pages use.

The rules live in modules by responsibility — service items and bundles (service_items), forms and materials
(forms), applications, the per-department workflow and its clock, feedback (ratings, follow-ups,
notifications) and figures — and are re-exported here. Other domains read this domain only through
these names (the city brain reads `indicator_figures` and the typed summaries of `reads`).
"""

from yiwang.onestop.applications import (
    get_application,
    my_applications,
    read_personal_clear,
    submit_application,
    upload_material,
)
from yiwang.onestop.clock import (
    add_working_days,
    calendar_overrides,
    set_calendar_override,
    today,
)
from yiwang.onestop.feedback import (
    close_followup,
    list_followups,
    mark_read,
    notifications,
    rate_application,
)
from yiwang.onestop.figures import (
    applications_since,
    department_figures,
    indicator_figures,
)
from yiwang.onestop.forms import (
    material_page_limit,
    prefill,
    validate_form,
)

# the read model other domains use, re-exported
from yiwang.onestop.reads import (
    active_bundle_summaries as active_bundle_summaries,
)
from yiwang.onestop.reads import (
    active_item_summaries as active_item_summaries,
)
from yiwang.onestop.service_items import (
    create_bundle,
    create_item,
    event_names,
    export_xlsx,
    get_bundle,
    get_item,
    import_xlsx,
    list_bundles,
    search_items,
    update_item,
)
from yiwang.onestop.workflow import (
    accept_task,
    complete_task,
    decide_task,
    get_task,
    pending_work,
    request_supplement,
    review_task,
    submit_supplement,
    task_queue,
)

__all__ = [
    "accept_task",
    "active_bundle_summaries",
    "active_item_summaries",
    "add_working_days",
    "applications_since",
    "calendar_overrides",
    "close_followup",
    "complete_task",
    "create_bundle",
    "create_item",
    "decide_task",
    "department_figures",
    "event_names",
    "export_xlsx",
    "get_application",
    "get_bundle",
    "get_item",
    "get_task",
    "import_xlsx",
    "indicator_figures",
    "list_bundles",
    "list_followups",
    "mark_read",
    "material_page_limit",
    "my_applications",
    "notifications",
    "pending_work",
    "prefill",
    "rate_application",
    "read_personal_clear",
    "request_supplement",
    "review_task",
    "search_items",
    "set_calendar_override",
    "submit_application",
    "submit_supplement",
    "task_queue",
    "today",
    "update_item",
    "upload_material",
    "validate_form",
]

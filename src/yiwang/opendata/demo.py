"""Demo open data (演示数据): every published entry whose open type allows it is opened."""

from typing import Any

from yiwang.catalog import service as catalog_service
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS, registry
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.opendata import service


def demo_actor() -> Principal:
    """The demo loader acting with every permission (recorded as system:demo in the audit chain)."""
    return Principal(
        user_id=None,
        username="system:demo",
        display_name="演示数据装载",
        kind="system",
        permissions=frozenset(registry.permissions) | {SCOPE_ALL_DEPARTMENTS},
    )


def load(runtime: Runtime, console: Any = None) -> dict[str, int]:
    with runtime.db.unit_of_work() as db:
        codes = [e.code for e in catalog_service.list_entries(db, open_types=("无条件开放", "有条件开放"))]
        opened = service.bulk_publish(db, actor=demo_actor(), entry_codes=codes)
    return {"datasets": opened}

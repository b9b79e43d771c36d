"""Demo sharing (演示数据): grants for the demo exchange client's department (DSJ) with some usage,
a conditional application waiting for its provider, and a refused one."""

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS, registry
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.exchange import permissions as perm
from yiwang.exchange import service
from yiwang.exchange.models import ShareApplication
from yiwang.exchange.schemas import ApplicationCreate, Decision
from yiwang.org import service as org_service


def demo_actor() -> Principal:
    """The demo loader acting with every permission (recorded as system:demo in the audit chain)."""
    return Principal(
        user_id=None,
        username="system:demo",
        display_name="演示数据装载",
        kind="system",
        permissions=frozenset(registry.permissions) | {SCOPE_ALL_DEPARTMENTS},
    )


def _staff(db, username: str) -> Principal:
    account = org_service.find_account(db, username=username)
    actor = demo_actor()
    if account is None or account.department_id is None:
        return actor
    scope = frozenset(org_service.department_subtree_ids(db, department_id=account.department_id))
    return Principal(
        user_id=account.id,
        username=account.username,
        display_name=account.display_name,
        kind="staff",
        department_id=account.department_id,
        department_code=account.department_code,
        scope_department_ids=scope,
        permissions=actor.permissions - {"core.scope.all"},
    )


def load(runtime: Runtime, console: Any = None) -> dict[str, int]:
    with runtime.db.unit_of_work() as db:
        if db.execute(select(ShareApplication.id).limit(1)).first():
            return {"applications": 0}
        dsj = _staff(db, "dsj_steward")
        cgj = _staff(db, "cgj_admin")
        end = (utcnow() + timedelta(days=365)).date()
        bureau = demo_actor()
        enterprises = service.apply(
            db,
            actor=dsj,
            data=ApplicationCreate(
                entry_code="SJJ-00001",
                fields=["credit_code", "name", "industry", "status", "legal_rep"],
                purpose="企业画像与信用监管（演示）",
                period_end=end,
            ),
        )
        people = service.apply(
            db,
            actor=dsj,
            data=ApplicationCreate(
                entry_code="GAJ-00001",
                fields=["person_id", "name", "id_number", "gender", "division_code"],
                purpose="一件事办理中核验申请人户籍信息（演示）",
                period_end=end,
            ),
        )
        service.provider_decide(
            db, actor=bureau, application_id=people.id, decision=Decision(approve=True, reason="同意，按脱敏规则提供")
        )
        service.bureau_decide(
            db,
            actor=bureau,
            application_id=people.id,
            decision=Decision(approve=True, reason="同意", masking={"name": "name"}),
        )
        service.apply(
            db,
            actor=cgj,
            data=ApplicationCreate(
                entry_code="GAJ-00001",
                fields=["person_id", "address", "mobile"],
                purpose="城市管理执法中联系当事人（演示）",
                period_end=end,
            ),
        )
        refused = service.apply(
            db,
            actor=cgj,
            data=ApplicationCreate(
                entry_code="GAJ-00001",
                fields=["id_number", "birth_date"],
                purpose="城管宣传对象统计（演示）",
                period_end=end,
            ),
        )
        service.provider_decide(
            db,
            actor=bureau,
            application_id=refused.id,
            decision=Decision(approve=False, reason="用途不需要身份证号码，建议改用统计数据"),
        )
        granted = [enterprises, service.get_application(db, actor=bureau, application_id=people.id)]
        grants = [a.grant_id for a in granted if a.grant_id is not None]
        client = org_service.find_account(db, username="demo-exchange-client")
    calls = 0
    if client is not None:
        caller = Principal(
            user_id=client.id,
            username=client.username,
            display_name=client.display_name,
            kind="system",
            department_id=client.department_id,
            permissions=frozenset({perm.DATA_READ}),
            via="token",
        )
        for grant_id in grants:
            for page in (1, 2, 3):
                with runtime.db.unit_of_work() as db:
                    service.serve_data(
                        db,
                        caller=caller,
                        grant_id=grant_id,
                        page=page,
                        size=50,
                        request_id=f"demo-{grant_id}-{page}",
                        data_dir=runtime.settings.data_dir,
                        pseudonym=lambda v, ns: runtime.cipher.pseudonym(v, namespace=ns),
                    )
                calls += 1
    return {"applications": 4, "calls": calls}

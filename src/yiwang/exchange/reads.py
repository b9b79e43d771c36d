"""The read model other domains use: sharing figures and grant use, as typed shapes (never grant rows).
Data sharing only: applications and grants for live services are counted by their message log.

A grant is active until it expires or is revoked; it is used when the data API served it successfully
in the last 30 days.
"""

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.exchange.models import DataCall, ShareApplication, ShareGrant
from yiwang.exchange.schemas import GrantUse, SharingFigures
from yiwang.org import service as org_service

USE_WINDOW = timedelta(days=30)


def _active(now: datetime) -> ColumnElement[bool]:
    """Active data grants: grants of live services are not data sharing and have their own log."""
    return (ShareGrant.kind == "data") & ShareGrant.revoked_at.is_(None) & (ShareGrant.expires_at > now)


def _successful_calls_since(since: datetime) -> ColumnElement[bool]:
    return (DataCall.occurred_at >= since) & (DataCall.status_code == 200)


def sharing_figures(db: Session) -> SharingFigures:
    """Applications by status, active grants, calls and rows of the last 30 days, and the share of
    active grants used in them (the grant side of plan indicator 15)."""
    now = utcnow()
    since = now - USE_WINDOW
    by_status = dict(
        db.execute(
            select(ShareApplication.status, func.count())
            .where(ShareApplication.kind == "data")
            .group_by(ShareApplication.status)
        ).all()
    )
    active = db.execute(select(func.count(ShareGrant.id)).where(_active(now))).scalar_one()
    used = db.execute(
        select(func.count(ShareGrant.id)).where(
            _active(now), ShareGrant.id.in_(select(DataCall.grant_id).where(_successful_calls_since(since)))
        )
    ).scalar_one()
    calls, rows = db.execute(
        select(func.count(), func.coalesce(func.sum(DataCall.rows), 0)).where(DataCall.occurred_at >= since)
    ).one()
    today = now.astimezone(SHANGHAI).date()
    overdue = db.execute(
        select(func.count()).where(ShareApplication.status == "pending_provider", ShareApplication.provider_due < today)
    ).scalar_one()
    consumers = db.execute(
        select(func.count(func.distinct(ShareGrant.consumer_department_id))).where(ShareGrant.kind == "data")
    ).scalar_one()
    return SharingFigures(
        applications=by_status,
        active_grants=active,
        grants_used_30d=used,
        used_grants=used,
        utilisation_ratio=round(used / active, 4) if active else 0.0,
        calls_30d=int(calls),
        rows_30d=int(rows),
        provider_replies_overdue=overdue,
        consumer_departments=consumers,
    )


def grant_usage(db: Session) -> list[GrantUse]:
    """Every active grant, oldest first, with its successful calls in the last 30 days."""
    now = utcnow()
    calls = (
        select(DataCall.grant_id, func.count().label("calls"))
        .where(_successful_calls_since(now - USE_WINDOW))
        .group_by(DataCall.grant_id)
        .subquery()
    )
    rows = db.execute(
        select(ShareGrant.id, ShareGrant.entry_code, ShareGrant.consumer_department_id, calls.c.calls)
        .outerjoin(calls, calls.c.grant_id == ShareGrant.id)
        .where(_active(now))
        .order_by(ShareGrant.id)
    ).all()
    departments = {d.id: d.code for d in org_service.list_departments(db, include_inactive=True)}
    return [
        GrantUse(
            grant_id=grant_id,
            entry_code=entry_code,
            consumer_department_code=departments.get(consumer),
            calls_30d=int(count or 0),
        )
        for grant_id, entry_code, consumer, count in rows
    ]

"""The read model other domains use: what is mounted on the catalog and how much of it is cleaned and
de-identified, as typed shapes (never resource or version rows).

Cleaned rows are kept in the clear and de-identified on every way out (open views, shared data) by
their items' masking rules, so a row counts as de-identified when every sensitive item (level 3–4)
of its resource has a rule.
"""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.catalog import service as catalog_service
from yiwang.catalog.schemas import EntryRead
from yiwang.governance.models import DataResource, DataVersion
from yiwang.governance.schemas import EntryMounting, GovernanceFigures, ResourceStatus

SENSITIVE = 3  # sensitivity levels 3 (敏感) and 4 (高度敏感)


def sensitive_in_clear(entry: EntryRead) -> list[str]:
    """Labels of the entry's sensitive items that have no masking rule."""
    return [i.label or i.name for i in entry.items if i.sensitivity >= SENSITIVE and i.masking == "none"]


def resource_status(db: Session, *, entry_codes: Sequence[str] | None = None) -> dict[str, ResourceStatus]:
    """Current version, rows, last data update and validity share of mounted resources, by entry code."""
    stmt = select(DataResource, DataVersion).join(DataVersion, DataVersion.id == DataResource.current_version_id)
    if entry_codes is not None:
        stmt = stmt.where(DataResource.entry_code.in_(list(entry_codes)))
    found = {}
    for resource, version in db.execute(stmt).all():
        quality = version.rows_out / version.rows_in if version.rows_in else 1.0
        found[resource.entry_code] = ResourceStatus(
            entry_code=resource.entry_code,
            version=version.version,
            rows=version.rows_out,
            data_updated_at=resource.data_updated_at,
            quality=round(quality, 4),
        )
    return found


def governance_figures(db: Session) -> GovernanceFigures:
    """Indicator 4 (mounted resources / published catalog) and 14 (de-identified share of the clean rows held)."""
    published = catalog_service.published_codes(db)
    status = {code: s for code, s in resource_status(db).items() if code in published}
    entries = catalog_service.list_entries(db, codes=set(status)) if status else []
    protected = [e.code for e in entries if not sensitive_in_clear(e)]
    held = sum(s.rows for s in status.values())
    deidentified = sum(status[code].rows for code in protected)
    ingested, clean = db.execute(
        select(func.coalesce(func.sum(DataVersion.rows_in), 0), func.coalesce(func.sum(DataVersion.rows_out), 0))
    ).one()
    return GovernanceFigures(
        catalog_entries=len(published),
        mounted_resources=len(status),
        mount_ratio=round(len(status) / len(published), 4) if published else 0.0,
        deidentified_resources=len(protected),
        cleaned_deidentified_ratio=round(deidentified / held, 4) if held else 0.0,
        rows_ingested=int(ingested),
        rows_clean=int(clean),
        rows_held=held,
        rows_deidentified=deidentified,
    )


def catalog_mounting(db: Session) -> list[EntryMounting]:
    """Every published catalog entry with its current data, if mounted, and its sensitive items in the clear."""
    status = resource_status(db)
    return [
        EntryMounting(
            code=e.code,
            name=e.name,
            department_code=e.department_code,
            update_cycle=e.update_cycle,
            version=status[e.code].version if e.code in status else None,
            rows=status[e.code].rows if e.code in status else None,
            data_updated_at=status[e.code].data_updated_at if e.code in status else None,
            sensitive_in_clear=sensitive_in_clear(e),
        )
        for e in catalog_service.list_entries(db)
    ]

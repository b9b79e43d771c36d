"""JSON API of 城市智脑 (/api/brain): indicators, drill-down, signs, map, warnings, forecasts,
evaluation, cockpit, and the registries."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile
from fastapi.security import OAuth2PasswordBearer
from pydantic import ValidationError

from yiwang.brain import permissions as p
from yiwang.brain import registries
from yiwang.brain import service as svc
from yiwang.brain.schemas import DrillDown, HistoryPoint, ImportReport, IndicatorRead, RecomputeRequest
from yiwang.core.db import DbSession
from yiwang.core.errors import ValidationFailed
from yiwang.core.params import IdPath
from yiwang.core.security import Principal, require
from yiwang.web.forms import upload_bytes

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
router = APIRouter(prefix="/api/brain", tags=["城市智脑 brain"], dependencies=[Depends(oauth2_scheme)])

Reader = Annotated[Principal, Depends(require(p.BRAIN_READ))]
Runner = Annotated[Principal, Depends(require(p.BRAIN_RUN))]
Maintainer = Annotated[Principal, Depends(require(p.REGISTRY_WRITE))]
IndicatorNo = Annotated[int, Path(ge=1, le=20, description="指标序号 1–20")]
RegistryKey = Annotated[str, Path(pattern="^(systems|cards|enterprises|upstream)$", description="台账")]
RowCode = Annotated[str, Path(min_length=1, max_length=40, description="记录编号")]
Period = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="月份 YYYY-MM，默认本月")]


@router.get("/indicators", response_model=list[IndicatorRead])
def indicators(db: DbSession, user: Reader, period: Period = None, live: bool = False) -> list[IndicatorRead]:
    """All 20 indicators of the plan: value, target, unit, kind, status, source (computed | registry)."""
    return svc.list_indicators(db, period=svc.parse_period(period), live=live)


@router.post("/indicators/recompute", response_model=list[IndicatorRead])
def recompute(db: DbSession, user: Runner, body: RecomputeRequest | None = None) -> list[IndicatorRead]:
    """Compute all 20 now and store them as the month's snapshot."""
    return svc.recompute_indicators(db, actor=user, period=svc.parse_period(body.period if body else None))


@router.get("/indicators/{no}/history", response_model=list[HistoryPoint])
def history(db: DbSession, user: Reader, no: IndicatorNo) -> list[HistoryPoint]:
    return svc.indicator_history(db, no=no)


@router.get("/indicators/{no}/records", response_model=DrillDown)
def records(db: DbSession, user: Reader, no: IndicatorNo) -> DrillDown:
    """The records behind the figure (which count and which do not), within the caller's department scope."""
    return svc.drill_down(db, principal=user, no=no)


@router.get("/signs")
def city_signs(db: DbSession, user: Reader, live: bool = False) -> dict[str, Any]:
    """Air, water, events, services, data and devices; a section whose source is missing gives its reason.

    From the snapshot the diagnosis job takes every 10 minutes (when under 15 minutes old), or live."""
    return svc.city_signs(db, principal=user, live=live)


@router.get("/map")
def city_map(db: DbSession, user: Reader, live: bool = False) -> dict[str, Any]:
    """Division centroids, stations, sluices, active alarms and recent events with coordinates."""
    return svc.city_map(db, principal=user, live=live)


@router.get("/trends")
def trends(db: DbSession, user: Reader, days: Annotated[int, Query(ge=7, le=366)] = 30) -> dict[str, Any]:
    return svc.city_trends(db, days=days)


@router.get("/warnings")
def warnings(db: DbSession, user: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    """Detected anomalies, newest first, each with the value, expected band and reason."""
    return svc.warnings(db, principal=user, limit=limit)


@router.get("/warnings/{warning_id}")
def warning(db: DbSession, user: Reader, warning_id: IdPath) -> dict[str, Any]:
    """A warning with its series around the time and the expected band."""
    return svc.warning_detail(db, principal=user, warning_id=warning_id)


@router.post("/diagnosis/run")
def run_diagnosis(db: DbSession, user: Runner) -> dict[str, Any]:
    """Copy the latest signs into brain's series and detect anomalies now."""
    return svc.run_diagnosis(db, actor=user)


@router.get("/forecasts")
def forecasts(
    db: DbSession,
    user: Reader,
    kind: Annotated[str, Query(pattern="^(aqi|level|events)$")] = "aqi",
    backtest: bool = False,
) -> list[dict[str, Any]]:
    """Forecasts with 80%/95% intervals: AQI per station, level per sluice (72 h), events per category (3 days)."""
    return svc.forecasts(db, principal=user, kind=kind, backtest=backtest)


@router.get("/forecasts/series")
def forecast_series(
    db: DbSession, user: Reader, key: Annotated[str, Query(min_length=3, max_length=80)]
) -> dict[str, Any]:
    """One series' forecast and its backtest against seasonal-naive."""
    return svc.forecast_series(db, key=key)


@router.get("/evaluation")
def evaluation(
    db: DbSession,
    user: Reader,
    kind: Annotated[str, Query(pattern="^(department|division)$")] = "department",
    period: Period = None,
) -> dict[str, Any]:
    """Composite scores with their weights, ranking and month-on-month change."""
    return svc.ranking(db, principal=user, kind=kind, period=svc.parse_period(period))


@router.post("/evaluation/recompute")
def recompute_evaluation(db: DbSession, user: Runner, body: RecomputeRequest | None = None) -> dict[str, int]:
    return {"scopes": svc.recompute_evaluation(db, actor=user, period=svc.parse_period(body.period if body else None))}


@router.get("/cockpit")
def cockpit(db: DbSession, user: Reader) -> dict[str, Any]:
    """Everything the cockpit draws on its first render."""
    return svc.cockpit(db, principal=user)


@router.get("/registries/{key}")
def registry_rows(db: DbSession, user: Reader, key: RegistryKey) -> list[dict[str, Any]]:
    return svc.list_registry(db, principal=user, key=key)


@router.put("/registries/{key}/{code}")
def registry_save(
    db: DbSession, user: Maintainer, key: RegistryKey, code: RowCode, body: dict[str, Any]
) -> dict[str, Any]:
    """Create or update a registry row; the body is the row (its code must match the path)."""
    spec = registries.spec_for(key)
    if body.get("code", code) != code:
        raise ValidationFailed("请求体中的编号与路径不一致")
    try:
        data = spec.schema(**(body | {"code": code}))
    except ValidationError as exc:
        raise ValidationFailed(
            "台账记录不符合要求", details=exc.errors(include_url=False, include_context=False)
        ) from None
    return svc.save_registry_row(db, actor=user, key=key, data=data)


@router.delete("/registries/{key}/{code}", status_code=204)
def registry_delete(db: DbSession, user: Maintainer, key: RegistryKey, code: RowCode) -> Response:
    svc.delete_registry_row(db, actor=user, key=key, code=code)
    return Response(status_code=204)


@router.post("/registries/{key}/import", response_model=ImportReport)
def registry_import(db: DbSession, user: Maintainer, key: RegistryKey, file: UploadFile = File(...)) -> ImportReport:
    """Import an XLSX workbook: valid rows are saved, rejected rows come back with their reasons."""
    content = upload_bytes(file, limit=registries.MAX_IMPORT_BYTES)
    return svc.import_registry(db, actor=user, key=key, content=content, filename=file.filename or "")

"""Pages of 物联感知: device map and list, station page, AQI and water summaries, alarm console."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.core.db import DbSession
from yiwang.core.params import IdPath
from yiwang.core.security import Principal, require
from yiwang.geo import service as geo_service
from yiwang.org import service as org_service
from yiwang.sensing import permissions as p
from yiwang.sensing import service
from yiwang.sensing.page_forms import AlarmActionForm
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)
KIND_NAMES = {
    "air_station": "空气自动站",
    "grid_air": "网格化空气微站",
    "water_station": "地表水自动站",
    "sluice": "智慧水闸",
    "gas_monitor": "燃气监测点",
    "lamp_pole": "智慧灯杆",
    "device": "其他设备",
}


DEVICES_PAGE = 30


@router.get("/sensing", response_class=HTMLResponse)
def devices(
    request: Request,
    db: DbSession,
    user: Annotated[Principal, Depends(require(p.READ))],
    department: Annotated[str | None, Query(max_length=20)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=50)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> Response:
    """Devices on the map, and their list a page at a time, searchable by name."""
    departments = {d.id: d for d in org_service.list_departments(db)}
    chosen = next((d for d in departments.values() if d.code == department), None)
    things = service.list_things(db, department_id=chosen.id if chosen else None, kind=kind or None)
    listed = [t for t in things if q.strip() in t.name] if q and q.strip() else things
    pages = max(1, -(-len(listed) // DEVICES_PAGE))
    return render(
        request,
        "sensing/devices.html",
        {
            "things": things,
            "rows": listed[(page - 1) * DEVICES_PAGE : page * DEVICES_PAGE],
            "listed": len(listed),
            "q": q or "",
            "page": page,
            "pages": pages,
            "departments": departments,
            "kind_names": KIND_NAMES,
            "department": department or "",
            "kind": kind or "",
            "layers": geo_service.map_layers(user, ("divisions", "grid-cells", "things", "alarms")),
            "status": service.counts(db),
            "rejects": service.rejects_by_device(db, limit=10),
        },
    )


@router.get("/sensing/things/{thing_id}", response_class=HTMLResponse)
def station(
    request: Request, thing_id: IdPath, db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]
) -> Response:
    detail = service.get_thing(db, thing_id=thing_id)
    return render(request, "sensing/station.html", {"detail": detail, "kind_names": KIND_NAMES})


@router.get("/sensing/aqi", response_class=HTMLResponse)
def aqi_page(request: Request, db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]) -> Response:
    day = service.latest_aqi_day(db)
    return render(
        request,
        "sensing/aqi.html",
        {
            "day": day,
            "rows": service.aqi_days(db, day=day) if day else [],
            "water": service.water_summary(db),
        },
    )


@router.get("/sensing/alarms", response_class=HTMLResponse)
def alarm_console(request: Request, db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]) -> Response:
    alarms = service.list_alarms(db, limit=200)
    return render(
        request,
        "sensing/alarms.html",
        {
            "alarms": alarms,
            "rules": service.list_alarm_rules(db),
            "can_handle": service.may_handle_alarms(db, actor=user, alarms=alarms),
        },
    )


@router.post("/sensing/alarms/{alarm_id}")
def alarm_form(
    alarm_id: IdPath,
    db: DbSession,
    _csrf: CsrfChecked,
    user: Annotated[Principal, Depends(require(p.ALARM_HANDLE))],
    form: Annotated[Submission[AlarmActionForm], Depends(AlarmActionForm.submitted)],
) -> Response:
    data = form.data or form.refuse()
    service.act_on_alarm(db, actor=user, alarm_id=alarm_id, action=data.action)
    return RedirectResponse("/sensing/alarms?notice=saved", status_code=303)

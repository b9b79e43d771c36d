"""Every row id in a path is the one shared parameter type, so a route cannot forget its bounds."""

from annotated_types import Ge, Le

from tests.web.test_route_guard import _api_routes
from yiwang.core.params import MAX_ROW_ID


def _path_params(dependant) -> list:
    found = list(dependant.path_params)
    for sub in dependant.dependencies:
        found += _path_params(sub)
    return found


def _bounds(param) -> tuple[int | None, int | None]:
    ge = next((m.ge for m in param.field_info.metadata if isinstance(m, Ge)), None)
    le = next((m.le for m in param.field_info.metadata if isinstance(m, Le)), None)
    return ge, le


def _within_row_ids(ge: int | None, le: int | None) -> bool:
    return ge is not None and ge >= 1 and le is not None and le <= MAX_ROW_ID


def test_every_row_id_in_a_path_is_an_id_path(app):
    loose = [
        f"{route.path} {param.name}"
        for route in _api_routes(app)
        for param in _path_params(route.dependant)
        if param.name.endswith("_id") and (param.field_info.annotation is not int or _bounds(param) != (1, MAX_ROW_ID))
    ]
    assert loose == []


def test_every_integer_path_parameter_is_bounded(app):
    unbounded = [
        f"{route.path} {param.name}"
        for route in _api_routes(app)
        for param in _path_params(route.dependant)
        if param.field_info.annotation is int and not _within_row_ids(*_bounds(param))
    ]
    assert unbounded == []


def test_a_row_id_past_the_database_range_is_invalid_input(client, admin_headers):
    for path in ("/api/onestop/tasks/2147483648", "/api/sensing/things/0", "/api/governance/jobs/99999999999"):
        response = client.get(path, headers=admin_headers)
        assert response.status_code == 422, path
        assert response.json()["error"]["code"] == "validation_failed"

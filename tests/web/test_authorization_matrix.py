"""The authorization matrix: every route × every demo role, expected from the code's own definitions
and checked against the live answers.

Expected answers come from two declarations and nothing else:
- each route's gate, read from its dependency tree: `@public`; a login (`get_current_user` or a dependency
  marked `@authenticates`); or the
  permissions named by `require(...)` (its `__yiwang_permissions__`), all of which are needed;
- each demo account's permissions: its roles in the demo loader (`DEMO_ACCOUNTS`) and those roles'
  grants in the permission registry (`registry.default_grants`), which start-up syncs to the database.
A caller may pass a gate iff the gate is public, or the caller is logged in and holds every permission
the gate names. Besides the accounts and the anonymous caller, the matrix has a token narrowed with
`scope=` to one permission and an API key minted with that token: both hold at most that permission.

Every route is called live, once per caller, through the app (TestClient, one token per caller).
"Denied" means 401 or 403; "allowed" means any other answer. Path parameters are filled with ids
that do not exist (or the one valid value a parameter allows), so the matrix tests the gate and not
department scope or ownership of a record (tests/org/test_scope.py and each domain's tests do that):
a caller past the gate gets 404, and nothing is changed.

Reads are GETs. Writes send an empty JSON object (API prefixes) or a form holding only a valid CSRF
token (pages, double-submit cookie), so they fail validation after authorisation: FastAPI resolves a
route's dependencies — authentication, `require(...)`, the CSRF check — before it validates path,
query and body parameters, and collects those validation errors until the dependencies have run.
So a denied caller gets 401/403 and an allowed one 404 or 422 (or 400 from a handler that reads its
own body), and a 422 counts as allowed. A handful of writes have no required input; they run
harmlessly (listed in HARMLESS_WRITES).

Two routes' slow answers (a PDF, a workbook) are asked for with a query value that fails validation
after authorisation (QUERY_AFTER_AUTH), which keeps the whole matrix near a minute.

Some login-only routes have their handler check a permission before anything else; they are listed
in SERVICE_CHECKED with that permission, and with `bureau=True` where the handler also asks for the
big-data bureau (大数据局: a department of kind `platform`, or the cross-department scope), the rule of
`catalog.service.is_bureau`. A handler that loads the record first answers 404 to every caller with a
missing id and needs no entry. Known holes owned by other parts of the code base are
xfail(strict=True), each with a reason naming the hole.
"""

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.conftest import token_for
from tests.web.test_route_guard import _api_routes, _calls
from yiwang.catalog import permissions as catalog_perm
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS, registry
from yiwang.core.security import is_authenticating, is_public
from yiwang.demo.loader import DEMO_ACCOUNTS, department_rows
from yiwang.exchange import permissions as exchange_perm
from yiwang.org import permissions as org_perm
from yiwang.sensing import permissions as sensing_perm

ACCOUNTS = (
    "admin",
    "secadmin",
    "auditor",
    "leader",
    "dsj_steward",
    "hbj_steward",
    "ldz_dispatcher",
    "cgj_admin",
    "hbj_admin",
    "cgj_handler",
    "spj_handler",
    "zhangsan",
    "yushan_tech",
)
ANONYMOUS = "anonymous"
# The narrowed token of the security review: the system administrator, down to one permission.
NARROWED_ACCOUNT, NARROWED_SCOPE = "admin", "org.division.read"
NARROWED_TOKEN, NARROWED_KEY = "admin[scope]", "admin[scope]→api_key"
CALLERS = (*ACCOUNTS, ANONYMOUS, NARROWED_TOKEN, NARROWED_KEY)

CSRF = "matrix-csrf-token-0123456789"
MISSING_ID = "999999999"
# One value per path parameter name: nothing with these ids exists, or the only valid value.
PATH_VALUES = {
    "fmt": "json",
    "key": "systems",
    "action": "nonexistent_action",
    "path": "Things(999999999)",
    "version": "1",
    "no": "99",
}
MISSING_TEXT = "ZZ-NOPE-0"

# Writes that need no input and change nothing another test relies on: they run when allowed.
# Every other write must fail (4xx) for every caller; the matrix test checks it.
HARMLESS_WRITES = {
    ("POST", "/api/auth/api-keys"),  # mints a key for the caller's own account
    ("POST", "/account/api-keys"),
    ("POST", "/logout"),  # a bearer caller has no session cookie to revoke
    ("POST", "/oidc/logout"),  # the same, at the OpenID Connect end-session endpoint
    ("POST", "/account/reveal"),  # shows the caller their own personal data (audited)
    ("POST", "/admin/audit/verify"),
    ("POST", "/onestop/notifications/read"),  # marks the caller's own messages read
    ("POST", "/api/audit/verify"),
    # new recovery codes for the caller's own enrolled factor (the demo administrators'; no test uses them)
    ("POST", "/account/second-factor/recovery-codes"),
    ("POST", "/api/auth/second-factor/recovery-codes"),
    # starts an authenticator enrolment, not in force until confirmed (refused once one is enrolled)
    ("POST", "/account/second-factor/start"),
    ("POST", "/api/auth/second-factor/totp"),
    ("POST", "/login/second-factor"),  # without a pending login: back to the login page
    ("POST", "/api/brain/indicators/recompute"),
    ("POST", "/api/brain/diagnosis/run"),
    ("POST", "/api/brain/evaluation/recompute"),
}

# Slow answers asked for with a query value their route refuses after authorisation (422).
QUERY_AFTER_AUTH = {
    "/brain/report.pdf": {"period": "not-a-period"},
    "/api/onestop/items.xlsx": {"department": "D" * 21},
}


@dataclass(frozen=True)
class HandlerCheck:
    """A permission a login-only route's handler checks first; `bureau`: only the big-data bureau."""

    permissions: tuple[str, ...]
    bureau: bool = False


STA = "/sta/v1.1"
SERVICE_CHECKED: dict[tuple[str, str], HandlerCheck] = {
    # another account than the caller's own needs the account-read permission
    ("GET", "/api/org/users/{user_id}"): HandlerCheck((org_perm.USER_READ,)),
    # SensorThings checks per method in its handlers; POST resolves the path (and its 404) first
    ("GET", STA): HandlerCheck((sensing_perm.READ,)),
    ("GET", f"{STA}/"): HandlerCheck((sensing_perm.READ,)),
    ("GET", f"{STA}/{{path:path}}"): HandlerCheck((sensing_perm.READ,)),
    ("PATCH", f"{STA}/{{path:path}}"): HandlerCheck((sensing_perm.WRITE,)),
    ("PUT", f"{STA}/{{path:path}}"): HandlerCheck((sensing_perm.WRITE,)),
    ("DELETE", f"{STA}/{{path:path}}"): HandlerCheck((sensing_perm.WRITE,)),
    ("POST", f"{STA}/CreateObservations"): HandlerCheck((sensing_perm.INGEST,)),
    # the data API logs a refused call, so it checks the data-read permission in its handler
    ("GET", "/api/exchange/data/{grant_id}"): HandlerCheck((exchange_perm.DATA_READ,)),
    # the bureau's decisions
    ("POST", "/exchange/applications/{application_id}/decide"): HandlerCheck((catalog_perm.ENTRY_REVIEW,), bureau=True),
    ("POST", "/catalog/{code}/review"): HandlerCheck((catalog_perm.ENTRY_REVIEW,), bureau=True),
}

# Public routes that check credentials of their own kind — an OpenID Connect client's, or an access
# token the provider issued — which no caller of the matrix holds: every caller is refused with 401.
OWN_CREDENTIALS = {
    ("POST", "/api/oidc/introspect"),
    ("POST", "/api/oidc/revoke"),
    ("GET", "/api/oidc/userinfo"),
    ("POST", "/api/oidc/userinfo"),
}

# Callers whose whole column is wrong because of a known hole fixed elsewhere: xfail(strict=True)
# until the fix lands, then the mark must go.
KNOWN_HOLE_CALLERS: dict[str, str] = {}


@dataclass(frozen=True)
class Gate:
    """What a route asks of its caller, read from its dependency tree."""

    public: bool
    permissions: frozenset[str]
    bureau: bool = False


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    gate: Gate


def _gate(route, method: str) -> Gate:
    if is_public(route.endpoint):
        return Gate(public=True, permissions=frozenset())
    calls = _calls(route.dependant)
    assert any(is_authenticating(call) for call in calls), f"{route.path} is neither public nor behind a login"
    declared = {name for call in calls for name in getattr(call, "__yiwang_permissions__", ())}
    handler = SERVICE_CHECKED.get((method, route.path), HandlerCheck(()))
    return Gate(public=False, permissions=frozenset(declared | set(handler.permissions)), bureau=handler.bureau)


def _cases(app) -> list[Case]:
    return [
        Case(method, route.path, _gate(route, method)) for route in _api_routes(app) for method in sorted(route.methods)
    ]


@dataclass(frozen=True)
class Caller:
    """What a caller is by definition: None permissions for the anonymous caller."""

    permissions: frozenset[str] | None
    department: str | None = None


def _account(username: str) -> Caller:
    account = next(a for a in DEMO_ACCOUNTS if a.username == username)
    granted = frozenset(name for role in account.roles for name in registry.default_grants.get(role, ()))
    return Caller(granted, account.department)


def defined(caller: str) -> Caller:
    if caller == ANONYMOUS:
        return Caller(None)
    if caller in (NARROWED_TOKEN, NARROWED_KEY):
        account = _account(NARROWED_ACCOUNT)
        return Caller(account.permissions & {NARROWED_SCOPE}, account.department)
    return _account(caller)


BUREAU_DEPARTMENTS = frozenset(d.code for d in department_rows() if d.kind == "platform")


def expected_allowed(gate: Gate, caller: Caller) -> bool:
    if gate.public:
        return True
    held = caller.permissions
    if held is None or not gate.permissions <= held:
        return False
    return not gate.bureau or SCOPE_ALL_DEPARTMENTS in held or caller.department in BUREAU_DEPARTMENTS


_PARAM = re.compile(r"\{(\w+)(?::path)?\}")


def _url(path: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name in PATH_VALUES:
            return PATH_VALUES[name]
        return MISSING_ID if name.endswith("id") else MISSING_TEXT

    return _PARAM.sub(value, path)


def _call(client: TestClient, case: Case, headers: dict[str, str]) -> int:
    client.cookies.clear()
    url = _url(case.path)
    if case.method == "GET":
        return client.get(url, params=QUERY_AFTER_AUTH.get(case.path), headers=headers).status_code
    client.cookies.set("yiwang_csrf", CSRF)
    if case.path.startswith(("/api/", "/sta/")):
        response = client.request(case.method, url, json={}, headers=headers)
    else:
        response = client.request(case.method, url, data={"csrf_token": CSRF}, headers=headers)
    return response.status_code


@pytest.fixture(scope="module")
def matrix_client(app):
    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture(scope="module")
def credentials(matrix_client) -> dict[str, dict[str, str]]:
    """One credential per caller, made once."""
    headers = {name: {"Authorization": f"Bearer {token_for(matrix_client, name)}"} for name in ACCOUNTS}
    headers[ANONYMOUS] = {}
    narrowed = token_for(matrix_client, NARROWED_ACCOUNT, scope=NARROWED_SCOPE)
    headers[NARROWED_TOKEN] = {"Authorization": f"Bearer {narrowed}"}
    minted = matrix_client.post("/api/auth/api-keys", headers=headers[NARROWED_TOKEN])
    assert minted.status_code == 201, minted.text
    headers[NARROWED_KEY] = {"X-API-Key": minted.json()["api_key"]}
    return headers


def _run_column(app, client, caller: str, headers: dict[str, str]) -> tuple[list[tuple[str, str, bool, int]], set]:
    """Every route called as one caller: the answers that differ from the matrix, and the writes that ran."""
    definition = defined(caller)
    mismatches, writes_run = [], set()
    for case in _cases(app):
        own = (case.method, case.path) in OWN_CREDENTIALS
        expected = False if own else expected_allowed(case.gate, definition)
        status = _call(client, case, headers)
        if expected == (status in (401, 403)) or status >= 500:
            mismatches.append((f"{case.method} {case.path}", caller, expected, status))
        if case.method != "GET" and status < 400:
            writes_run.add((case.method, case.path))
    return mismatches, writes_run


def _summary(mismatches: list[tuple[str, str, bool, int]]) -> str:
    lines = [f"{len(mismatches)} answers differ from the matrix (route, caller, expected, got):"]
    lines += [f"  {route}  {caller}  {'allow' if exp else 'deny'}  {got}" for route, caller, exp, got in mismatches]
    return "\n".join(lines)


def _caller_param(caller: str):
    if caller in KNOWN_HOLE_CALLERS:
        return pytest.param(caller, marks=pytest.mark.xfail(strict=True, reason=KNOWN_HOLE_CALLERS[caller]))
    return caller


@pytest.mark.parametrize("caller", [_caller_param(c) for c in CALLERS])
def test_callers_hold_what_the_definitions_say(matrix_client, credentials, caller):
    """The matrix's expectations rest on the same permissions the running platform gives each caller."""
    me = matrix_client.get("/api/auth/me", headers=credentials[caller])
    if caller == ANONYMOUS:
        assert me.status_code == 401
        return
    assert me.status_code == 200, me.text
    assert frozenset(me.json()["permissions"]) == defined(caller).permissions


@pytest.mark.parametrize("caller", [_caller_param(c) for c in CALLERS])
def test_live_answers_match_the_matrix(app, matrix_client, credentials, caller):
    mismatches, writes_run = _run_column(app, matrix_client, caller, credentials[caller])
    assert not mismatches, _summary(mismatches)
    assert writes_run <= HARMLESS_WRITES, f"writes that changed something: {sorted(writes_run - HARMLESS_WRITES)}"

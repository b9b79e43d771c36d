"""Deny by default: every route either requires an authenticated caller or is explicitly public."""

from fastapi.routing import APIRoute

from yiwang.core.security import MACHINE_APIS, get_current_user, is_authenticating, is_public
from yiwang.web.csrf import verify_csrf


def _calls(dependant) -> set:
    found = {dependant.call} if dependant.call else set()
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


class _Route:
    def __init__(self, path: str, route: APIRoute) -> None:
        self.path, self.methods, self.endpoint, self.dependant = path, route.methods, route.endpoint, route.dependant


def _api_routes(app) -> list[_Route]:
    """Every API route as the app serves it, with its full path.

    FastAPI ≥ 0.160 keeps included routers nested in app.routes; iter_route_contexts flattens them.
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return [_Route(r.path, r) for r in app.routes if isinstance(r, APIRoute)]
    return [
        _Route(ctx.path, ctx.original_route)
        for ctx in iter_route_contexts(app.routes)
        if isinstance(ctx.original_route, APIRoute)
    ]


def test_the_route_walk_sees_every_router(app):
    paths = {r.path for r in _api_routes(app)}
    assert {"/api/org/users", "/api/auth/token", "/admin/audit", "/login", "/healthz"} <= paths
    assert len(paths) > 30


def test_every_route_needs_a_login_or_is_marked_public(app):
    unguarded = [
        f"{sorted(route.methods)} {route.path}"
        for route in _api_routes(app)
        if not is_public(route.endpoint) and not any(is_authenticating(call) for call in _calls(route.dependant))
    ]
    assert unguarded == []


def test_the_guard_test_would_notice_an_unguarded_route(app):
    from fastapi import FastAPI

    probe = FastAPI()

    @probe.get("/leak")
    def leak() -> dict:
        return {}

    route = next(r for r in probe.routes if isinstance(r, APIRoute))
    assert not is_public(route.endpoint) and not any(is_authenticating(call) for call in _calls(route.dependant))
    assert is_authenticating(get_current_user)


# Every deliberately public route, reviewed: adding one means adding it here.
EXPECTED_PUBLIC = {
    # portal, login and health
    "/",
    "/login",
    "/login/second-factor",
    "/healthz",
    "/readyz",
    "/api/auth/token",
    # self-registration and password reset by SMS code (org/registration_api.py, registration_pages.py)
    "/register",
    "/register/citizen",
    "/register/enterprise",
    "/register/sent",
    "/password-reset",
    "/api/register/code",
    "/api/register/citizen",
    "/api/register/enterprise",
    "/api/password-reset/code",
    "/api/password-reset",
    # OpenID Connect: the provider's endpoints authenticate their callers the OAuth way
    "/.well-known/openid-configuration",
    "/api/oidc/jwks",
    "/api/oidc/token",
    "/api/oidc/userinfo",
    "/api/oidc/introspect",
    "/api/oidc/revoke",
    "/oidc/authorize",
    "/oidc/logout",
    # open data: portal pages, CKAN Action API, DCAT
    "/opendata",
    "/opendata/datasets/{code}",
    "/opendata/datasets/{code}/chart.json",
    "/opendata/datasets/{code}/download.{fmt}",
    "/api/3/action/{action}",
    "/api/action/{action}",
    "/catalog.jsonld",
    "/catalog.ttl",
    "/dataset/{code}.jsonld",
    # e-certificate verification and the transparency log
    "/api/certs/keys",
    "/api/certs/{identifier}/verify",
    "/certs/log",
    "/certs/verify",
    "/certs/verify/{identifier}",
    "/api/transparency/checkpoint",
    "/api/transparency/logs",
    "/api/transparency/entries",
    "/api/transparency/proof/consistency",
    "/api/transparency/proof/inclusion",
    # the platform's message-signing keys, so providers can verify mediated requests
    "/api/exchange/message-keys",
    # the public service catalogue
    "/onestop",
    "/onestop/items/{code}",
    "/onestop/find",
    "/favicon.ico",
    "/onestop/bundles/{code}",
    "/api/onestop/items",
    "/api/onestop/items/{code}",
    "/api/onestop/bundles",
    "/api/onestop/bundles/{code}",
    # calculators, device ingest (checks its own device token) and Open311 (POST checks api_key)
    "/api/sensing/aqi",
    "/api/sensing/water-class",
    "/api/sensing/ingest",
    "/open311/v2/discovery.{fmt}",
    "/open311/v2/requests.{fmt}",
    "/open311/v2/requests/{number}.{fmt}",
    "/open311/v2/services.{fmt}",
    "/open311/v2/services/{code}.{fmt}",
    "/open311/v2/tokens/{token}.{fmt}",
    # peers: an installation's identity and public key; peer messages (authenticated by their signature)
    "/api/federation/identity",
    "/api/federation/messages",
}


def test_public_routes_are_exactly_the_reviewed_ones(app):
    public = {route.path for route in _api_routes(app) if is_public(route.endpoint)}
    assert public == EXPECTED_PUBLIC


def test_every_page_form_post_checks_csrf(app):
    missing = [
        route.path
        for route in _api_routes(app)
        if "POST" in route.methods
        and not route.path.startswith(MACHINE_APIS)
        and verify_csrf not in _calls(route.dependant)
    ]
    assert missing == []


def test_anonymous_api_calls_get_401_in_the_error_shape(client):
    for path in ("/api/org/users", "/api/audit/entries", "/api/auth/me", "/api/org/departments", "/x/any-service/v1/x"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "not_authenticated"


def test_anonymous_page_visits_are_sent_to_login(client):
    response = client.get("/admin/users", headers={"accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/users"

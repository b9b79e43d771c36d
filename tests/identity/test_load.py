"""The provider under concurrent load together with the platform's other routes: sign-ins (authorize
and code exchange), userinfo, refresh rotation and introspection from several threads at once, mixed
with health checks, open-data pages and CKAN reads. No request may fail, answer 5xx or take over 5 s,
and no refresh chain may break (a rotation race would look like reuse and revoke the family)."""

import threading
import time
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import page_login
from tests.identity.conftest import authorize_params, code_from, get_code, pkce_pair, register

THREADS = 6
SECONDS = 15
SLOW_SECONDS = 5.0


@dataclass(frozen=True)
class Outcome:
    kind: str
    status: int
    seconds: float
    error: str = ""


def _worker(live_url, cookies, created, resource, until: float, out: list, offset: int) -> None:
    auth = (created.client.client_id, created.client_secret)
    rs_auth = (resource.client.client_id, resource.client_secret)
    limits = httpx.Limits(keepalive_expiry=1.0)
    with httpx.Client(base_url=live_url, timeout=SLOW_SECONDS * 3, limits=limits, cookies=cookies) as http:
        state: dict[str, str] = {}

        def sign_in() -> httpx.Response:
            verifier, challenge = pkce_pair()
            answer = http.get("/oidc/authorize", params=authorize_params(created, challenge))
            if answer.status_code != 302:
                return answer
            exchanged = http.post(
                "/api/oidc/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code_from(answer.headers["location"])["code"],
                    "redirect_uri": created.client.redirect_uris[0],
                    "code_verifier": verifier,
                },
                auth=auth,
            )
            if exchanged.status_code == 200:
                state.update(exchanged.json())
            return exchanged

        def refresh() -> httpx.Response:
            response = http.post(
                "/api/oidc/token",
                data={"grant_type": "refresh_token", "refresh_token": state["refresh_token"]},
                auth=auth,
            )
            if response.status_code == 200:
                state.update(response.json())
            return response

        calls = [
            ("sign-in", sign_in),
            (
                "userinfo",
                lambda: http.get("/api/oidc/userinfo", headers={"Authorization": f"Bearer {state['access_token']}"}),
            ),
            ("refresh", refresh),
            (
                "introspect",
                lambda: http.post("/api/oidc/introspect", data={"token": state["access_token"]}, auth=rs_auth),
            ),
            ("healthz", lambda: http.get("/healthz")),
            ("page /opendata", lambda: http.get("/opendata", headers={"accept": "text/html"})),
            ("ckan package_search", lambda: http.get("/api/3/action/package_search", params={"rows": "5"})),
            ("jwks", lambda: http.get("/api/oidc/jwks")),
        ]
        out.append(Outcome("sign-in", sign_in().status_code, 0.0))
        step = offset
        while time.monotonic() < until:
            name, call = calls[step % len(calls)]
            step += 1
            started = time.perf_counter()
            try:
                out.append(Outcome(name, call().status_code, time.perf_counter() - started))
            except httpx.HTTPError as exc:
                out.append(Outcome(name, 0, time.perf_counter() - started, repr(exc)))


@pytest.mark.slow
@pytest.mark.serial
def test_token_and_userinfo_under_concurrent_load_with_other_routes(live_url, client, runtime):
    created = register(runtime, name="并发测试应用", redirect_uris=[f"{live_url}/nowhere"])
    resource = register(runtime, name="并发测试资源服务", may_introspect=True)
    page_login(client, "zhangsan")
    get_code(client, authorize_params(created, pkce_pair()[1]))  # consent given once, before the load
    with httpx.Client(base_url=live_url, timeout=30) as login_client:
        page_login(login_client, "zhangsan")
        cookies = login_client.cookies

    outcomes: list[Outcome] = []
    until = time.monotonic() + SECONDS
    threads = [
        threading.Thread(target=_worker, args=(live_url, cookies, created, resource, until, outcomes, n))
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)

    ms = sorted(o.seconds * 1000 for o in outcomes)
    print(
        f"\nOIDC mixed load: {len(outcomes)} requests in {SECONDS} s from {THREADS} threads; "
        f"p50 {ms[len(ms) // 2]:.0f} ms, p99 {ms[int(len(ms) * 0.99)]:.0f} ms, max {ms[-1]:.0f} ms"
    )
    bad = [o for o in outcomes if o.status != 200 or o.seconds > SLOW_SECONDS]
    assert not bad, f"{len(bad)} of {len(outcomes)} failed or were slow, e.g. {bad[:5]}"
    kinds = {o.kind for o in outcomes}
    assert {"sign-in", "userinfo", "refresh", "introspect", "healthz"} <= kinds
    assert len(outcomes) > 40, "too few requests completed to call it load"

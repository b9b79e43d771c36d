"""Mediated service calls: p50/p99 of GET /x/{service}/persons/{id} through the platform against direct
calls to the same provider, both at a fixed rate, in the same run (target: added p99 ≤ 10 ms).

The platform and the provider each run in their own process; the load comes from this one. Every
mediated call is admitted (grant, rate and quota counters), signed both ways (RFC 9421, Ed25519),
forwarded, and appended to the message log before it is answered.

.venv/bin/python bench/mediation.py [--seconds 20] [--rate 200] [--database-url ...]
"""

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from open311 import pct, run_at_rate
from sensing_common import machine, reset_postgres
from server_process import ServerProcess

from yiwang.demo.loader import DEMO_PASSWORD, DEMO_TOTP_SECRET
from yiwang.org import totp


def serve_provider(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def person(request):
        return JSONResponse({"id": request.path_params["person_id"], "name": "王**", "status": "在册"})

    app = Starlette(routes=[Route("/v1/persons/{person_id}", person)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _token(url: str, username: str) -> dict[str, str]:
    """A password-grant token; an administrator adds a code of the demo's published TOTP secret."""
    data = {"grant_type": "password", "username": username, "password": DEMO_PASSWORD}
    response = httpx.post(f"{url}/api/auth/token", data=data)
    if response.status_code == 401 and response.json()["error"]["code"] == "mfa_required":
        now = datetime.now(UTC)
        response = httpx.post(f"{url}/api/auth/token", data=data | {"otp": totp.code_at(DEMO_TOTP_SECRET, now)})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _setup(url: str, provider_url: str) -> tuple[str, dict[str, str]]:
    """A service of 环保局, granted to 城管局 with a rate far above the offered one; the consumer's token."""
    provider, consumer, bureau = _token(url, "hbj_steward"), _token(url, "cgj_admin"), _token(url, "admin")
    operations = [{"id": "getPerson", "method": "GET", "path": "/persons/{person_id}"}]
    service = {"code": "bench-persons", "name": "人员核验（基准）", "base_url": f"{provider_url}/v1"}
    service["operations"] = operations
    httpx.post(f"{url}/api/exchange/services", json=service, headers=provider).raise_for_status()
    application = httpx.post(
        f"{url}/api/exchange/service-applications",
        json={
            "service_code": "bench-persons",
            "operations": ["getPerson"],
            "purpose": "基准测试",
            "period_end": time.strftime("%Y-12-31", time.localtime(time.time() + 86400 * 40)),
            "rate_per_second": 10000,
            "daily_quota": None,
        },
        headers=consumer,
    )
    application.raise_for_status()
    app_id = application.json()["id"]
    decision = {"approve": True}
    httpx.post(f"{url}/api/exchange/applications/{app_id}/provider-decision", json=decision, headers=provider)
    httpx.post(f"{url}/api/exchange/applications/{app_id}/bureau-decision", json=decision, headers=bureau)
    return "bench-persons", consumer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--serve-provider", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_provider:
        serve_provider(args.serve_provider)
        return
    if args.database_url:
        reset_postgres(args.database_url)
    port = _free_port()
    provider = subprocess.Popen([sys.executable, __file__, "--serve-provider", str(port)])
    provider_url = f"http://127.0.0.1:{port}"
    data_dir = tempfile.TemporaryDirectory(prefix="yiwang-bench-")
    server = ServerProcess(data_dir.name, database_url=args.database_url)
    try:
        for _ in range(100):
            try:
                httpx.get(f"{provider_url}/v1/persons/1", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        code, consumer = _setup(server.url, provider_url)

        # One pooled client per side, its connections kept alive across the phases (the warm-up opens
        # them), as a consumer's HTTP client does: the figures are the steady state on both sides.
        shared = {
            base: httpx.Client(base_url=base, timeout=10, limits=httpx.Limits(max_connections=16))
            for base in (provider_url, server.url)
        }

        def client_for(local, base: str) -> httpx.Client:
            return shared[base]

        def direct(i: int, local) -> bool:
            return client_for(local, provider_url).get(f"/v1/persons/P{i % 1000:04d}").status_code == 200

        def mediated(i: int, local) -> bool:
            response = client_for(local, server.url).get(f"/x/{code}/persons/P{i % 1000:04d}", headers=consumer)
            return response.status_code == 200 and "signature" in response.headers

        def me(i: int, local) -> bool:
            return client_for(local, server.url).get("/api/auth/me", headers=consumer).status_code == 200

        run_at_rate(mediated, args.rate, 2)  # warm: connections, the key, the counters' rows
        run_at_rate(direct, args.rate, 1)
        base_lat, base_fail = run_at_rate(direct, args.rate, args.seconds)
        # For scale: the server CPU of the platform's lightest authenticated route at the same rate.
        cpu_before = server.cpu_seconds()
        me_lat, _ = run_at_rate(me, args.rate, min(args.seconds, 5))
        me_cpu_ms = (server.cpu_seconds() - cpu_before) / max(len(me_lat), 1) * 1000
        cpu_before = server.cpu_seconds()
        lat, fail = run_at_rate(mediated, args.rate, args.seconds)
        cpu_per_call_ms = (server.cpu_seconds() - cpu_before) / max(len(lat), 1) * 1000
        added_p99 = round(pct(lat, 0.99) - pct(base_lat, 0.99), 2)
        print(
            json.dumps(
                {
                    "benchmark": "mediation",
                    "database": "postgresql" if args.database_url else "sqlite",
                    "rate_per_s": args.rate,
                    "seconds": args.seconds,
                    "calls": len(lat),
                    "failures": fail,
                    "mediated_ms": {
                        "p50": pct(lat, 0.5),
                        "p95": pct(lat, 0.95),
                        "p99": pct(lat, 0.99),
                        "max": round(max(lat), 2),
                        "mean": round(statistics.mean(lat), 2),
                    },
                    "direct_ms": {
                        "p50": pct(base_lat, 0.5),
                        "p99": pct(base_lat, 0.99),
                        "failures": base_fail,
                    },
                    "added_ms": {"p50": round(pct(lat, 0.5) - pct(base_lat, 0.5), 2), "p99": added_p99},
                    "ratio_p99": round(pct(lat, 0.99) / max(pct(base_lat, 0.99), 0.01), 2),
                    "server_cpu_ms_per_call": round(cpu_per_call_ms, 2),
                    "auth_me_cpu_ms_per_call": round(me_cpu_ms, 2),
                    "auth_me_ms": {"p50": pct(me_lat, 0.5), "p99": pct(me_lat, 0.99)},
                    "targets": {"added_p99_ms": 10},
                    "machine": machine(),
                },
                ensure_ascii=False,
            )
        )
    finally:
        server.close()
        provider.terminate()
        provider.wait(timeout=30)
        data_dir.cleanup()


if __name__ == "__main__":
    main()

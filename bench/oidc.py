"""OpenID Connect provider latency at a fixed rate: the token endpoint (authorization code exchange with
PKCE, confidential client, RS256 ID token) and userinfo, p50/p95/p99, against GET /healthz at the same
rate in the same run. Target: p99 ≤ 50 ms at 100 requests/s.

The platform runs in its own process (as deployed, one uvicorn worker); the load comes from this one.
Codes are obtained before the measured phase (a signed-in citizen who consented once), so the token
phase measures exactly the code exchange. Each phase follows a one-second warm-up at the same rate, and
the requests go through one pooled client whose connections stay open, as a relying party's do: the
figures are the steady state, not the first connections and first-use caches.

.venv/bin/python bench/oidc.py [--seconds 15] [--rate 100] [--database-url ...]
"""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from open311 import pct, run_at_rate
from sensing_common import machine, reset_postgres
from server_process import ServerProcess

REDIRECT = "https://bench.example/cb"
WARM_SECONDS = 1.0
DEMO_PASSWORD = "changshu2026"  # the published demo password (demo mode only)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def signed_in_citizen(url: str) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=30)
    page = http.get("/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = http.post("/login", data={"username": "zhangsan", "password": DEMO_PASSWORD, "csrf_token": csrf})
    assert response.status_code == 303, response.text
    return http


def mint_codes(http: httpx.Client, client_id: str, count: int) -> list[tuple[str, str]]:
    """(code, verifier) pairs, the consent given on the first."""
    codes = []
    for _ in range(count):
        verifier, challenge = pkce()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid profile",
            "state": "s",
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        answer = http.get("/oidc/authorize", params=params)
        if answer.status_code == 200:  # the consent page, once
            fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', answer.text))
            answer = http.post("/oidc/authorize", data=fields | {"decision": "allow"})
            location = re.search(r'url=([^"]+)"', answer.text).group(1).replace("&amp;", "&")
        else:
            location = answer.headers["location"]
        codes.append((parse_qs(urlsplit(location).query)["code"][0], verifier))
    return codes


def summary(latencies: list[float], failures: int) -> dict:
    return {
        "p50": pct(latencies, 0.5),
        "p95": pct(latencies, 0.95),
        "p99": pct(latencies, 0.99),
        "max": round(max(latencies), 2),
        "mean": round(statistics.mean(latencies), 2),
        "requests": len(latencies),
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    if args.database_url:
        reset_postgres(args.database_url)
    os.environ["YIWANG_OIDC_CODE_SECONDS"] = "600"  # codes are minted before the measured phase
    data_dir = tempfile.TemporaryDirectory(prefix="yiwang-bench-")
    server = ServerProcess(
        data_dir.name,
        packages=("yiwang.org", "yiwang.identity"),
        database_url=args.database_url,
        api_key_for="admin",
    )
    shared: httpx.Client | None = None
    try:
        url = server.url
        registered = httpx.post(
            f"{url}/api/identity/clients",
            json={"name": "压测应用", "redirect_uris": [REDIRECT], "scopes": ["openid", "profile"]},
            headers={"X-API-Key": server.info["api_key"]},
            timeout=30,
        ).json()
        client_id, secret = registered["client"]["client_id"], registered["client_secret"]
        total = int(args.rate * args.seconds)
        warm = int(args.rate * WARM_SECONDS)
        citizen = signed_in_citizen(url)
        codes = mint_codes(citizen, client_id, warm + total)
        citizen.close()
        # One pooled client, its connections kept alive across the phases, as a relying party's is.
        shared = httpx.Client(base_url=url, timeout=10, limits=httpx.Limits(max_connections=16))

        def client_for(local) -> httpx.Client:
            assert shared is not None
            return shared

        tokens: list[str] = []

        offset = {"codes": 0}

        def exchange(i: int, local) -> bool:
            code, verifier = codes[offset["codes"] + i]
            response = client_for(local).post(
                "/api/oidc/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "code_verifier": verifier,
                },
                auth=(client_id, secret),
            )
            if response.status_code == 200:
                tokens.append(response.json()["access_token"])
            return response.status_code == 200 and "id_token" in response.json()

        def userinfo(i: int, local) -> bool:
            token = tokens[i % len(tokens)]
            response = client_for(local).get("/api/oidc/userinfo", headers={"Authorization": f"Bearer {token}"})
            return response.status_code == 200

        def health(i: int, local) -> bool:
            return client_for(local).get("/healthz").status_code == 200

        # Each phase after a short warm-up at the same rate: connections open, first-use caches filled.
        run_at_rate(health, args.rate, WARM_SECONDS)
        base_lat, base_fail = run_at_rate(health, args.rate, args.seconds)
        run_at_rate(exchange, args.rate, WARM_SECONDS)
        offset["codes"] = warm
        cpu_before = server.cpu_seconds()
        token_lat, token_fail = run_at_rate(exchange, args.rate, args.seconds)
        cpu_per_exchange = (server.cpu_seconds() - cpu_before) / max(len(token_lat), 1) * 1000
        run_at_rate(userinfo, args.rate, WARM_SECONDS)
        info_lat, info_fail = run_at_rate(userinfo, args.rate, args.seconds)
        baseline = summary(base_lat, base_fail)
        token_ms, userinfo_ms = summary(token_lat, token_fail), summary(info_lat, info_fail)
        print(
            json.dumps(
                {
                    "benchmark": "oidc",
                    "database": "postgresql" if args.database_url else "sqlite",
                    "rate_per_s": args.rate,
                    "seconds": args.seconds,
                    "token_exchange_ms": token_ms,
                    "userinfo_ms": userinfo_ms,
                    "baseline_healthz_ms": baseline,
                    "server_cpu_ms_per_exchange": round(cpu_per_exchange, 2),
                    "ratio_p99_token": round(token_ms["p99"] / max(baseline["p99"], 0.01), 2),
                    "ratio_p99_userinfo": round(userinfo_ms["p99"] / max(baseline["p99"], 0.01), 2),
                    "targets": {"p99_ms": 50},
                    "machine": machine(),
                },
                ensure_ascii=False,
            )
        )
    finally:
        if shared is not None:
            shared.close()
        server.close()
        data_dir.cleanup()


if __name__ == "__main__":
    main()

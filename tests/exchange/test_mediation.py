"""Mediated live services against a real provider on a free port and the live platform: signed
requests the provider verifies with an independent library, signed answers, the message log and its
evidence, refusals (no grant, over rate or quota, expired, revoked), provider failures and the circuit
breaker, a tampered log entry named by verify, and calls among other routes at once."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import http_message_signatures as hms
import httpx
import pytest
from http_message_signatures.structures import CaseInsensitiveDict

from tests.conftest import bearer, free_port, run_cli, token_for
from tests.exchange import signature_profile
from tests.exchange.mediation_helpers import (
    CONSUMER_USER,
    PROVIDER_USER,
    check_evidence,
    grant,
    published_keys,
    register,
)
from tests.exchange.provider import Provider


@pytest.fixture(scope="module")
def provider(live_url):
    running = Provider().start()
    running.load_keys(live_url)
    yield running
    running.stop()


@pytest.fixture
def consumer(client):
    return bearer(client, CONSUMER_USER)


def _verify_answer(response: httpx.Response, keys: dict[str, str]) -> dict[str, str]:
    """The consumer's check of a signed answer, with the library and the published key."""

    class Keys(hms.HTTPSignatureKeyResolver):
        def resolve_public_key(self, key_id):
            return keys[key_id].encode()

    class Message:
        status_code = response.status_code
        headers = CaseInsensitiveDict(dict(response.headers))

        class request:
            method = response.request.method
            url = str(response.request.url)
            headers = CaseInsensitiveDict(dict(response.request.headers))

    verifier = signature_profile.verifier(Keys())
    result = verifier.verify(
        Message,
        expect_tag="yiwang-response",
        require_components=("@status", '"@target-uri";req'),
        body=response.content,
    )
    return result[0].covered_components


def test_a_consumer_calls_through_the_platform_and_both_sides_can_prove_the_call(client, live_url, provider, consumer):
    code = register(client, f"{provider.url}/v1")
    grant_id = grant(client, code)
    keys = published_keys(live_url)
    with httpx.Client(base_url=live_url, timeout=30) as http:
        answer = http.get(f"/x/{code}/persons/P001", params={"fields": "name"}, headers=consumer)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"id": "P001", "name": "王**", "query": "fields=name"}
        seen = provider.seen[-1]
        assert seen.verified, seen.verify_error
        assert seen.url == f"{provider.url}/v1/persons/P001?fields=name"
        assert seen.headers["x-yiwang-consumer"] == "CGJ" and seen.headers["x-yiwang-grant"] == str(grant_id)
        assert "authorization" not in seen.headers  # the consumer's token stays with the platform
        assert seen.covered['"@method"'] == "GET"
        covered = _verify_answer(answer, keys)
        assert (
            covered['"@status"'] == "200"
            and covered['"@target-uri";req'] == f"{live_url}/x/{code}/persons/P001?fields=name"
        )

        encoded = http.get(f"/x/{code}/persons/%E7%8E%8B%20P", headers=consumer)
        assert encoded.status_code == 200 and encoded.json()["id"] == "王 P"
        assert provider.seen[-1].url == f"{provider.url}/v1/persons/%E7%8E%8B%20P" and provider.seen[-1].verified

        body = json.dumps({"案件": "城管-2026-001", "内容": "核验"}, ensure_ascii=False).encode()
        echoed = http.post(f"/x/{code}/echo", content=body, headers=consumer | {"Content-Type": "application/json"})
        assert echoed.status_code == 200 and echoed.content == body[::-1] and echoed.headers["x-provider"] == "echo"
        assert provider.seen[-1].verified and provider.seen[-1].body_size == len(body)
        assert provider.seen[-1].covered['"content-type"'] == "application/json"
        _verify_answer(echoed, keys)
        call_id = echoed.headers["x-yiwang-call"]

        evidence = http.get(f"/api/exchange/messages/{call_id}/evidence", headers=consumer)
        assert evidence.status_code == 200 and "attachment" in evidence.headers["content-disposition"]
        document = evidence.json()
        assert document["message"]["operation_id"] == "echo" and document["message"]["status_code"] == 200
        assert "bodies" not in document  # the service does not keep bodies: digests only
        assert check_evidence(document, keys, request_body=body, response_body=echoed.content) == []
        forged = json.loads(evidence.content) | {}
        forged["message"]["status_code"] = 500
        assert "document signature" in check_evidence(forged, keys, request_body=body, response_body=echoed.content)

        as_provider = http.get(f"/api/exchange/messages/{call_id}/evidence", headers=bearer(client, PROVIDER_USER))
        assert as_provider.status_code == 200
        outsider = http.get(f"/api/exchange/messages/{call_id}/evidence", headers=bearer(client, "dsj_steward"))
        assert outsider.status_code == 404

    listed = client.get("/api/exchange/messages", params={"service": code}, headers=consumer).json()
    assert [m["operation_id"] for m in listed["items"]] == ["echo", "getPerson", "getPerson"] and listed["total"] == 3
    provided = client.get(
        "/api/exchange/messages", params={"side": "provider", "service": code}, headers=bearer(client, PROVIDER_USER)
    ).json()
    assert provided["total"] == 3
    assert (
        client.get("/api/exchange/messages", params={"service": code}, headers=bearer(client, "dsj_steward")).json()[
            "total"
        ]
        == 0
    )


def test_a_service_that_keeps_bodies_puts_them_in_the_evidence(client, live_url, provider, consumer):
    code = register(client, f"{provider.url}/v1", keep_bodies=True)
    grant(client, code)
    keys = published_keys(live_url)
    with httpx.Client(base_url=live_url, timeout=30) as http:
        echoed = http.post(f"/x/{code}/echo", content=b"abc", headers=consumer)
        document = http.get(
            f"/api/exchange/messages/{echoed.headers['x-yiwang-call']}/evidence", headers=consumer
        ).json()
    assert document["bodies"] == {"request": "YWJj", "response": "Y2Jh"}
    assert check_evidence(document, keys, request_body=b"abc", response_body=b"cba") == []


def test_calls_without_a_grant_over_rate_or_quota_expired_or_revoked_are_refused_and_logged(
    client, live_url, provider, consumer, runtime
):
    from yiwang.core.timeutil import utcnow
    from yiwang.exchange.models import ShareGrant

    code = register(client, f"{provider.url}/v1")
    before = len(provider.seen)
    with httpx.Client(base_url=live_url, timeout=30) as http:
        refused = http.get(f"/x/{code}/persons/1", headers=consumer)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "no_grant"
        grant_id = grant(client, code, operations=("getPerson",), rate_per_second=1, daily_quota=None)
        unknown = http.get(f"/x/{code}/nowhere", headers=consumer)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "no_such_operation"
        not_granted = http.post(f"/x/{code}/echo", content=b"x", headers=consumer)
        assert not_granted.status_code == 403 and not_granted.json()["error"]["code"] == "operation_not_granted"
        burst = [http.get(f"/x/{code}/persons/1", headers=consumer) for _ in range(3)]
        assert 429 in [r.status_code for r in burst] and 200 in [r.status_code for r in burst]
        limited = next(r for r in burst if r.status_code == 429)
        assert limited.json()["error"]["code"] == "rate_limited" and limited.headers["retry-after"] == "1"
        narrowed = {"Authorization": f"Bearer {token_for(client, CONSUMER_USER, scope='exchange.usage.read')}"}
        no_scope = http.get(f"/x/{code}/persons/1", headers=narrowed)
        assert no_scope.status_code == 403 and no_scope.json()["error"]["details"]["missing"] == [
            "exchange.service.call"
        ]

        with runtime.db.unit_of_work() as db:
            db.get(ShareGrant, grant_id).expires_at = utcnow() - timedelta(seconds=1)
        expired = http.get(f"/x/{code}/persons/1", headers=consumer)
        assert expired.status_code == 403 and expired.json()["error"]["code"] == "grant_inactive"
        assert "到期" in expired.json()["error"]["message"]

        quota_code = register(client, f"{provider.url}/v1")
        quota_grant = grant(client, quota_code, operations=("getPerson",), rate_per_second=1000, daily_quota=2)
        answers = [http.get(f"/x/{quota_code}/persons/1", headers=consumer) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].json()["error"]["code"] == "quota_exhausted" and int(answers[2].headers["retry-after"]) > 0
        revoked = client.post(
            f"/api/exchange/grants/{quota_grant}/revoke",
            json={"reason": "项目结束"},
            headers=bearer(client, "hbj_admin"),
        )
        assert revoked.status_code == 200
        after_revoke = http.get(f"/x/{quota_code}/persons/1", headers=consumer)
        assert after_revoke.status_code == 403 and "撤销：项目结束" in after_revoke.json()["error"]["message"]
    outcomes = client.get("/api/exchange/messages", params={"service": code, "size": 50}, headers=consumer).json()
    codes = [m["error_code"] for m in outcomes["items"] if m["outcome"] == "refused"]
    for expected in ("no_grant", "no_such_operation", "operation_not_granted", "rate_limited", "grant_inactive"):
        assert expected in codes
    reached = [s for s in provider.seen[before:] if s.url.startswith(f"{provider.url}/v1/persons/1")]
    admitted = sum(r.status_code == 200 for r in burst) + 2
    assert len(reached) == admitted  # one per admitted call, none for a refused one


def test_provider_down_or_slow_is_a_502_or_504_in_the_error_shape(client, live_url, provider, consumer):
    down = register(client, f"http://127.0.0.1:{free_port()}/v1", connect_timeout_s=1)
    grant(client, down, operations=("getPerson",))
    slow = register(client, f"{provider.url}/v1", read_timeout_s=0.3)
    grant(client, slow, operations=("slow",))
    with httpx.Client(base_url=live_url, timeout=30) as http:
        unreachable = http.get(f"/x/{down}/persons/1", headers=consumer)
        assert unreachable.status_code == 502 and unreachable.json()["error"]["code"] == "provider_unreachable"
        timed_out = http.get(f"/x/{slow}/slow", params={"seconds": "2"}, headers=consumer)
        assert timed_out.status_code == 504 and timed_out.json()["error"]["code"] == "provider_timeout"
    failed = client.get("/api/exchange/messages", params={"service": down}, headers=consumer).json()["items"]
    assert failed[0]["outcome"] == "failed" and failed[0]["status_code"] == 502 and failed[0]["request_digest"]


def test_the_circuit_opens_after_consecutive_failures_and_a_probe_closes_it(client, live_url, provider, consumer):
    code = register(client, f"{provider.url}/v1", breaker_failures=2, breaker_reset_s=0.5)
    grant(client, code, operations=("getPerson",))
    provider.failing = True
    try:
        with httpx.Client(base_url=live_url, timeout=30) as http:
            first = [http.get(f"/x/{code}/persons/1", headers=consumer).status_code for _ in range(2)]
            assert first == [503, 503]  # the provider's own answers, passed through
            reached = len(provider.seen)
            opened = http.get(f"/x/{code}/persons/1", headers=consumer)
            assert opened.status_code == 503 and opened.json()["error"]["code"] == "circuit_open"
            assert int(opened.headers["retry-after"]) >= 1 and len(provider.seen) == reached
            time.sleep(0.6)
            probe = http.get(f"/x/{code}/persons/1", headers=consumer)
            assert probe.status_code == 503 and len(provider.seen) == reached + 1  # half-open: one probe went
            assert http.get(f"/x/{code}/persons/1", headers=consumer).json()["error"]["code"] == "circuit_open"
            provider.failing = False
            time.sleep(0.6)
            assert http.get(f"/x/{code}/persons/1", headers=consumer).status_code == 200
            assert [http.get(f"/x/{code}/persons/1", headers=consumer).status_code for _ in range(3)] == [200] * 3
    finally:
        provider.failing = False


def test_a_tampered_message_log_entry_is_named_by_verify(client, live_url, provider, consumer, runtime):
    from sqlalchemy import select, update

    from yiwang.exchange.models import MessageRecord

    code = register(client, f"{provider.url}/v1")
    grant(client, code)
    with httpx.Client(base_url=live_url, timeout=30) as http:
        call_id = http.get(f"/x/{code}/persons/9", headers=consumer).headers["x-yiwang-call"]
    assert run_cli(runtime, "exchange", "verify-messages").exit_code == 0
    with runtime.db.unit_of_work() as db:
        seq, status = db.execute(
            select(MessageRecord.seq, MessageRecord.status_code).where(MessageRecord.call_id == call_id)
        ).one()
        db.execute(update(MessageRecord).where(MessageRecord.seq == seq).values(status_code=404))
    try:
        result = run_cli(runtime, "exchange", "verify-messages")
        assert result.exit_code == 1 and f"first_broken_seq={seq}" in result.output, result.output
    finally:
        with runtime.db.unit_of_work() as db:
            db.execute(update(MessageRecord).where(MessageRecord.seq == seq).values(status_code=status))
    assert run_cli(runtime, "exchange", "verify-messages").exit_code == 0


def test_mediated_calls_run_beside_other_routes_at_once(client, live_url, provider, consumer):
    code = register(client, f"{provider.url}/v1")
    grant(client, code)
    reader = bearer(client, PROVIDER_USER)

    def mediated(n: int) -> int:
        with httpx.Client(base_url=live_url, timeout=60) as http:
            return http.post(f"/x/{code}/echo", content=f"call-{n}".encode(), headers=consumer).status_code

    def other(n: int) -> int:
        with httpx.Client(base_url=live_url, timeout=60) as http:
            path = ("/api/exchange/grants", "/api/catalog/entries", "/api/exchange/services", "/healthz")[n % 4]
            return http.get(path, headers=reader).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        calls = list(pool.map(mediated, range(24)))
        others = list(pool.map(other, range(24)))
    assert calls == [200] * 24 and set(others) == {200}
    assert client.get("/api/exchange/messages", params={"service": code}, headers=consumer).json()["total"] == 24

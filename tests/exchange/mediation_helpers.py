"""Helpers of the mediation tests: a registered service, a granted application, and an evidence checker
written from the documentation alone (hashlib and the published key, none of the platform's code)."""

import base64
import json

import httpx

from tests.conftest import bearer, unique
from tests.exchange import signature_profile
from tests.exchange.conftest import END
from tests.exchange.provider import OPERATIONS
from yiwang.core.crypto import load_verifying_pem

PROVIDER_USER = "hbj_steward"  # 环保局 runs the service
CONSUMER_USER = "cgj_admin"  # 城管局 calls it
BUREAU_USER = "admin"


def register(client, base_url: str, **extra) -> str:
    code = unique("svc").lower().replace("_", "-")
    body = {"code": code, "name": "人员信息核验", "base_url": base_url, "operations": OPERATIONS} | extra
    response = client.post("/api/exchange/services", json=body, headers=bearer(client, PROVIDER_USER))
    assert response.status_code == 201, response.text
    return code


def grant(client, code: str, operations=("getPerson", "echo"), **extra) -> int:
    """Apply as the consumer, answer as the provider, grant as the bureau; the grant's id."""
    body = {
        "service_code": code,
        "operations": list(operations),
        "purpose": "执法核验当事人信息",
        "period_end": END,
        "rate_per_second": 1000,
        "daily_quota": None,
    } | extra
    applied = client.post("/api/exchange/service-applications", json=body, headers=bearer(client, CONSUMER_USER))
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "pending_provider" and applied.json()["kind"] == "service"
    app_id = applied.json()["id"]
    answered = client.post(
        f"/api/exchange/applications/{app_id}/provider-decision",
        json={"approve": True},
        headers=bearer(client, PROVIDER_USER),
    )
    assert answered.json()["status"] == "pending_bureau", answered.text
    granted = client.post(
        f"/api/exchange/applications/{app_id}/bureau-decision",
        json={"approve": True},
        headers=bearer(client, BUREAU_USER),
    )
    assert granted.json()["status"] == "granted", granted.text
    return granted.json()["grant_id"]


def _body_digest(body: bytes) -> str:
    return signature_profile.content_digest(body)


def _canonical(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _h(text: str) -> str:
    return signature_profile.hexdigest(text.encode())


def check_evidence(document: dict, keys: dict[str, str], *, request_body: bytes, response_body: bytes) -> list[str]:
    """Every problem an outside verifier finds in an evidence document (empty: it holds)."""
    problems = []
    signature = document.pop("signature")
    key = load_verifying_pem(keys[signature["key_id"]].encode())
    if not key.verify(base64.b64decode(signature["value"]), _canonical(document)):
        problems.append("document signature")
    message, chain = document["message"], document["chain"]
    content = _h(_canonical([message[name] for name in chain["covered_fields"]]).decode())
    if content != message["content_hash"]:
        problems.append("content hash")
    if _h(message["prev_hash"] + content) != message["entry_hash"]:
        problems.append("entry hash")
    current = message["entry_hash"]
    for later_content, hash_name in chain["later"]:
        assert hash_name == signature_profile.CHAIN_HASH_NAME
        current = _h(current + later_content)
    checkpoint = chain["checkpoint"]
    if current != checkpoint["entry_hash"]:
        problems.append("chain to checkpoint")
    signed = f"yiwang-exchange-messages:{checkpoint['seq']}:{checkpoint['entry_hash']}:{checkpoint['signed_at']}"
    if signed != checkpoint["message"] or not load_verifying_pem(keys[checkpoint["key_id"]].encode()).verify(
        base64.b64decode(checkpoint["signature"]), signed.encode()
    ):
        problems.append("checkpoint signature")
    if message["request_digest"] != _body_digest(request_body):
        problems.append("request digest")
    if message["response_digest"] != _body_digest(response_body):
        problems.append("response digest")
    for side in ("request", "response"):
        base = message[f"{side}_signature_base"]
        if f'"content-digest": {message[f"{side}_digest"]}' not in base.split("\n"):
            problems.append(f"{side} base lacks its digest")
        raw = message[f"{side}_signature"].removeprefix("yiwang=:").removesuffix(":")
        if not load_verifying_pem(keys[message["key_id"]].encode()).verify(base64.b64decode(raw), base.encode()):
            problems.append(f"{side} signature")
    return problems


def published_keys(url: str) -> dict[str, str]:
    return {k["key_id"]: k["pem"] for k in httpx.get(f"{url}/api/exchange/message-keys").json()}

"""Messages a live installation must refuse — replayed, forged, unsigned, stale, from a removed peer —
and the receiving route under concurrent load beside other routes."""

import base64
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from tests.federation.conftest import ensure_peered, federation_key, wait_for
from yiwang.core.crypto import INTL
from yiwang.federation import protocol

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("federation")]


def _peered(city, suzhou) -> None:
    ensure_peered(city, suzhou)


def _signed(city, suzhou, *, kind="report:security", payload=None, signed_at=None, message_id=None):
    """A message from the city to the upper level, signed with the city's own key file."""
    key = federation_key(city)
    with suzhou.http() as client:
        recipient = client.get("/api/federation/identity").json()["key_id"]
    message_id = message_id or uuid.uuid4().hex
    body = protocol.envelope(
        message_id=message_id,
        kind=kind,
        sender=key.key_id,
        recipient=recipient,
        created=datetime.now(UTC),
        payload=payload if payload is not None else {"topic": "security", "content": {"events": 3}},
    ).encode()
    headers = protocol.sign(
        body=body, key=key.signer, keyid=key.key_id, message_id=message_id, signed_at=signed_at or int(time.time())
    )
    return body, headers


def _post(installation, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with installation.http() as client:
        for _ in range(50):  # back-pressure (503) is retried, as the outbox does
            response = client.post(protocol.PATH, content=body, headers=headers)
            if response.status_code != 503:
                return response
            time.sleep(0.2)
    return response


def _code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def test_replayed_forged_unsigned_and_stale_messages_are_refused(pair):
    city, suzhou = pair
    _peered(city, suzhou)
    body, headers = _signed(city, suzhou)
    accepted = _post(suzhou, body, headers)
    assert accepted.status_code == 200, accepted.text
    replayed = _post(suzhou, body, headers)
    assert replayed.status_code == 409 and _code(replayed) == "replayed"

    other_body, other_headers = _signed(city, suzhou)
    tampered = other_body.replace(b'"events":3', b'"events":9')
    forged = _post(suzhou, tampered, other_headers)
    assert forged.status_code == 401 and _code(forged) == "digest_mismatch"
    rehashed = other_headers | {"Content-Digest": f"sha-256=:{base64.b64encode(INTL.digest(tampered)).decode()}:"}
    forged_digest = _post(suzhou, tampered, rehashed)
    assert forged_digest.status_code == 401 and _code(forged_digest) == "bad_signature"
    impostor = INTL.new_signing_key()  # a key nobody pinned, claiming to be the city
    key_id = federation_key(city).key_id
    message_id = json.loads(other_body)["id"]
    signed_by_impostor = protocol.sign(
        body=other_body, key=impostor, keyid=key_id, message_id=message_id, signed_at=int(time.time())
    )
    assert _code(_post(suzhou, other_body, signed_by_impostor)) == "bad_signature"
    unknown = protocol.sign(
        body=other_body, key=impostor, keyid="AB" * 20, message_id=message_id, signed_at=int(time.time())
    )
    assert _code(_post(suzhou, other_body, unknown)) == "unknown_key"
    unsigned = _post(suzhou, other_body, {"Content-Type": "application/json"})
    assert unsigned.status_code == 401 and _code(unsigned) == "unsigned"
    stale_body, stale_headers = _signed(city, suzhou, signed_at=int(time.time()) - 3600)
    stale = _post(suzhou, stale_body, stale_headers)
    assert stale.status_code == 401 and _code(stale) == "stale_signature"
    bad_kind = _post(suzhou, *_signed(city, suzhou, kind="catalog.entry", payload={"code": "X"}))
    assert bad_kind.status_code == 422 and _code(bad_kind) == "bad_payload"
    # The honest message that was refused for tampering is still accepted as signed, exactly once.
    assert _post(suzhou, other_body, other_headers).status_code == 200
    with suzhou.http() as client:
        received = client.get("/api/federation/messages", headers=suzhou.as_user("admin")).json()
    ids = [m["message_id"] for m in received if m["direction"] == "received"]
    assert ids.count(json.loads(body)["id"]) == 1 and ids.count(message_id) == 1
    assert json.loads(stale_body)["id"] not in ids


def test_the_receiving_route_under_concurrent_load_with_other_routes(pair):
    city, suzhou = pair
    _peered(city, suzhou)
    messages = [_signed(city, suzhou) for _ in range(40)]
    duplicate = messages[0]
    reader = suzhou.as_user("admin")

    paths = [
        "/api/federation/peers",
        "/api/catalog/entries",
        "/api/federation/catalog",
        "/api/exchange/grants",
        "/api/federation/messages",
        "/api/federation/sync",
        "/api/federation/applications",
        "/api/federation/objections",
        "/api/federation/identity",
        "/api/brain/indicators",
    ]

    def other(n: int) -> int:
        path = paths[n % len(paths)]
        with suzhou.http() as client:
            for _ in range(50):
                status = client.get(path, headers=reader).status_code
                if status != 503:
                    return status
                time.sleep(0.2)
        return status

    with ThreadPoolExecutor(max_workers=12) as pool:
        sent = [pool.submit(_post, suzhou, body, headers) for body, headers in messages]
        racing = [pool.submit(_post, suzhou, *duplicate) for _ in range(6)]
        reads = [pool.submit(other, n) for n in range(60)]
        statuses = [f.result().status_code for f in sent]
        raced = [f.result().status_code for f in racing]
        read_statuses = [f.result() for f in reads]
    answers = statuses + raced  # the first message went 7 times: once accepted, 6 times a replay
    assert answers.count(200) == len(messages) and answers.count(409) == len(raced), answers
    assert set(read_statuses) == {200}
    with suzhou.http() as client:
        received = client.get("/api/federation/messages", headers=reader).json()
    ids = [m["message_id"] for m in received if m["direction"] == "received"]
    assert all(ids.count(json.loads(body)["id"]) == 1 for body, _ in messages)


def test_a_removed_peer_is_refused_and_what_waited_for_it_is_cancelled(pair):
    city, suzhou = pair
    _peered(city, suzhou)
    with suzhou.http() as client:
        peers = client.get("/api/federation/peers", headers=suzhou.as_user("admin")).json()
    city_peer = next(p["id"] for p in peers if p["url"] == city.url and p["status"] == "active")
    removed = suzhou.cli("peer", "remove", str(city_peer))
    assert removed.returncode == 0, removed.stdout + removed.stderr
    refused = _post(suzhou, *_signed(city, suzhou))
    assert refused.status_code == 403 and _code(refused) == "peer_removed"
    with city.http() as client:
        peers = client.get("/api/federation/peers", headers=city.as_user("admin")).json()
        upper = next(p for p in peers if p["url"] == suzhou.url)
        report = client.post(
            f"/api/federation/peers/{upper['id']}/reports",
            json={"topic": "security", "content": {"events": 1}},
            headers=city.as_user("admin"),
        )
        assert report.status_code == 202, report.text
    waiting = wait_for(
        lambda: "peer_removed" in (p := _peer_state(city, upper["id"]))["last_error"] and p, what="refusal seen"
    )
    assert waiting["backlog"] >= 1  # kept: the city keeps it until the upper level trusts it again
    status = suzhou.cli("peer", "status", str(city_peer))
    assert status.returncode == 0 and "removed" in status.stdout


def _peer_state(installation, peer_id: int) -> dict:
    with installation.http() as client:
        return client.get(f"/api/federation/peers/{peer_id}", headers=installation.as_user("admin")).json()


def test_a_rotated_key_reaches_the_peer_under_the_old_one_and_signs_from_then_on(pair):
    city, suzhou = pair
    _peered(city, suzhou)
    before = federation_key(city)
    rotated = city.cli("keys", "rotate", "federation")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    after = wait_for(lambda: (k := federation_key(city)).key_id != before.key_id and k, what="the new key shown")
    assert after.version == before.version + 1 and after.algorithm == before.algorithm
    with city.http() as client:
        peers = client.get("/api/federation/peers", headers=city.as_user("admin")).json()
        upper = next(p for p in peers if p["url"] == suzhou.url and p["status"] == "active")
        report = client.post(
            f"/api/federation/peers/{upper['id']}/reports",
            json={"topic": "security", "content": {"after_rotation": 1}},
            headers=city.as_user("admin"),
        )
    assert report.status_code == 202, report.text
    message_id = report.json()["message_id"]

    def seen_at_suzhou() -> list[dict]:
        with suzhou.http() as client:
            found = client.get("/api/federation/messages", headers=suzhou.as_user("admin")).json()
        return [m for m in found if m["direction"] == "received" and m["message_id"] == message_id]

    assert len(wait_for(seen_at_suzhou, what="the report under the new key")) == 1
    with suzhou.http() as client:
        pinned = client.get("/api/federation/peers", headers=suzhou.as_user("admin")).json()
    city_peer = next(p for p in pinned if p["url"] == city.url and p["status"] == "active")
    assert city_peer["fingerprint"] == after.fingerprint  # the rollover replaced the pinned key
    with suzhou.http() as client:
        recipient = client.get("/api/federation/identity").json()["key_id"]
    old_id = uuid.uuid4().hex
    old_body = protocol.envelope(
        message_id=old_id,
        kind="report:security",
        sender=before.key_id,
        recipient=recipient,
        created=datetime.now(UTC),
        payload={"topic": "security", "content": {"old_key": 1}},
    ).encode()
    old_headers = protocol.sign(
        body=old_body, key=before.signer, keyid=before.key_id, message_id=old_id, signed_at=int(time.time())
    )
    assert _code(_post(suzhou, old_body, old_headers)) == "unknown_key"  # the old key is no longer trusted
    assert _post(suzhou, *_signed(city, suzhou)).status_code == 200  # the new one is

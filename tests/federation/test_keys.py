"""The federation key is the keyring's `federation` purpose: in the profile's algorithm, rotatable, and
a peer's rotation taken only when the old pinned key announces it and the new key proves itself."""

import base64
import json
import time
import uuid
from datetime import UTC, datetime

import httpx

from tests.conftest import bearer
from tests.federation.conftest import send_signed
from yiwang.core import keyadmin
from yiwang.core.crypto import suite
from yiwang.core.permissions import registry
from yiwang.core.security import Principal
from yiwang.federation import outbox, protocol, rollover
from yiwang.federation.keys import FEDERATION, InstallationKey
from yiwang.federation.models import Peer
from yiwang.federation.schemas import Identity
from yiwang.federation.transport import own_key, own_keys


def _actor() -> Principal:
    return Principal(None, "test", "测试", "system", permissions=frozenset(registry.permissions))


def test_the_key_is_the_keyrings_in_the_profiles_algorithm_and_rotates(client, runtime):
    before = own_key(runtime)
    assert before.algorithm == suite(runtime.keyring.profile).signature_name  # SM2 under gm, Ed25519 under intl
    assert (runtime.settings.key_dir / "ring" / f"{FEDERATION}.v{before.version}.pem").exists()
    shown = client.get("/api/federation/identity").json()
    assert shown["key_id"] == before.key_id and shown["fingerprint"] == before.fingerprint
    with runtime.db.unit_of_work() as db:
        version = keyadmin.rotate(db, keyring=runtime.keyring, actor=_actor(), purpose=FEDERATION)
    after = own_keys(runtime)
    assert version == before.version + 1 and after.current.version == version
    assert after.current.key_id != before.key_id and before.key_id in after.key_ids  # still ours for what was sent
    assert client.get("/api/federation/identity").json()["fingerprint"] == after.current.fingerprint


def _rollover_body(identity: Identity, old, new, recipient: str, *, proof_by=None) -> tuple[bytes, dict[str, str]]:
    old_key = InstallationKey(1, old, old.algorithm, old.public_key().raw())
    new_key = InstallationKey(2, new, new.algorithm, new.public_key().raw())
    payload = rollover.payload(old_key, new_key).model_dump()
    if proof_by is not None:
        payload["proof"] = base64.b64encode(proof_by.sign(b"something else")).decode()
    message_id = uuid.uuid4().hex
    body = protocol.envelope(
        message_id=message_id,
        kind=rollover.KIND,
        sender=identity.key_id,
        recipient=recipient,
        created=datetime.now(UTC),
        payload=payload,
    ).encode()
    headers = protocol.sign(
        body=body, key=old, keyid=identity.key_id, message_id=message_id, signed_at=int(time.time())
    )
    return body, headers


def test_a_peers_new_key_is_pinned_from_a_message_under_its_old_one(client, runtime, upper):
    old, identity, peer = upper
    profile = suite(runtime.keyring.profile)
    new = profile.new_signing_key()
    recipient = own_key(runtime).key_id
    body, headers = _rollover_body(identity, old, new, recipient, proof_by=new)
    refused = client.post(protocol.PATH, content=body, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "bad_key_proof"
    body, headers = _rollover_body(identity, old, new, recipient)
    assert client.post(protocol.PATH, content=body, headers=headers).status_code == 200
    new_raw = new.public_key().raw()
    shown = client.get(f"/api/federation/peers/{peer.id}", headers=bearer(client, "admin")).json()
    assert shown["fingerprint"] == protocol.fingerprint(new.algorithm, new_raw)
    renamed = identity.model_copy(update={"key_id": protocol.key_id(new.algorithm, new_raw)})
    report = {"topic": "security", "content": {"events": 1}}
    assert send_signed(client, runtime, new, renamed, "report:security", report)[0].status_code == 200
    stale, _ = send_signed(client, runtime, old, identity, "report:security", report)
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "unknown_key"


def test_the_outbox_rolls_our_key_over_before_anything_else(runtime, upper):
    _, identity, peer = upper
    keys = own_keys(runtime)
    with runtime.db.unit_of_work() as db:
        row = db.get(Peer, peer.id)
        assert row is not None
        row.own_key_version = keys.current.version  # as added; then we rotate
        keyadmin.rotate(db, keyring=runtime.keyring, actor=_actor(), purpose=FEDERATION)
    rotated = own_keys(runtime)
    sent: list[tuple[dict, dict[str, str]]] = []  # what went to this peer (other tests' peers share the address)

    def down_then_up(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        envelope = json.loads(body)
        if envelope["recipient"] == identity.key_id:
            sent.append((envelope, headers))
        status = 503 if len(sent) == 1 else 200
        return httpx.Response(status, json={"status": "accepted"}, request=httpx.Request("POST", url))

    policy = outbox.RetryPolicy(base_seconds=0.01, max_seconds=0.01)
    outbox.deliver_due(runtime.db.engine, keys=rotated, policy=policy, send=down_then_up)
    with runtime.db.unit_of_work() as db:
        assert db.get(Peer, peer.id).own_key_version == keys.current.version  # the peer was down: not yet
    outbox.deliver_due(runtime.db.engine, keys=rotated, policy=policy, send=down_then_up)
    with runtime.db.unit_of_work() as db:
        assert db.get(Peer, peer.id).own_key_version == rotated.current.version
    rollovers = [(e, h) for e, h in sent if e["kind"] == rollover.KIND]
    assert len(rollovers) == 2 and rollovers[0][0]["id"] == rollovers[1][0]["id"]  # one message, tried twice
    envelope, headers = rollovers[-1]
    claims = protocol.parse({k.lower(): v for k, v in headers.items()})
    assert claims.keyid == envelope["sender"] == keys.current.key_id  # signed with the key the peer pinned
    assert envelope["payload"]["public_key"] == rotated.current.public_b64
    after = [e for e, _ in sent[sent.index(rollovers[-1]) + 1 :]]
    assert all(e["sender"] == rotated.current.key_id for e in after)  # and then the new key

"""Key rollover between peers (密钥轮换): telling a peer our new federation key, and taking a peer's.

After `yiwang keys rotate federation` each peer still pins the version it was given. Before anything
else goes to that peer, the outbox sends a `peer.key` message signed with that pinned version and
carrying the new public key, with the new key's signature of the statement "old key → new key" as
proof of possession. Once the peer has accepted it (or says it already had it), the peer's messages
are signed with the new version. The message id is derived from the two keys, so a resend after a
lost answer is a replay the receiver reports, never a second rollover.
"""

import base64
import binascii
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.crypto import load_verifying_key
from yiwang.core.errors import Conflict, ValidationFailed
from yiwang.core.security import Principal
from yiwang.federation import protocol
from yiwang.federation.inbox import route
from yiwang.federation.keys import InstallationKey
from yiwang.federation.models import Peer
from yiwang.federation.schemas import KeyRolloverPayload

KIND = "peer.key"
_NAMESPACE = uuid.UUID("6f1d3c1e-6a55-4c1b-9a3e-0c7f5d2b9e41")


def statement(old_key_id: str, new_key_id: str) -> bytes:
    return f"yiwang-federation-key-rollover:{old_key_id}->{new_key_id}".encode()


def message_id(old: InstallationKey, new: InstallationKey, recipient: str) -> str:
    return uuid.uuid5(_NAMESPACE, f"{old.key_id}:{new.key_id}:{recipient}").hex


def payload(old: InstallationKey, new: InstallationKey) -> KeyRolloverPayload:
    proof = new.signer.sign(statement(old.key_id, new.key_id))
    return KeyRolloverPayload(
        algorithm=new.algorithm,
        public_key=new.public_b64,
        version=new.version,
        proof=base64.b64encode(proof).decode(),
    )


@route(KIND, KeyRolloverPayload)
def take_new_key(db: Session, peer: Peer, data: KeyRolloverPayload) -> str:
    """Pin the peer's new key in place of the one that signed this message."""
    try:
        raw = base64.b64decode(data.public_key, validate=True)
        key = load_verifying_key(data.algorithm, raw)
        proof = base64.b64decode(data.proof, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ValidationFailed("对方提供的新公钥无效", code="bad_peer_key") from exc
    new_key_id = protocol.key_id(data.algorithm, raw)
    if not key.verify(proof, statement(peer.key_id, new_key_id)):
        raise ValidationFailed("新公钥的持有证明无效", code="bad_key_proof")
    taken = db.execute(select(Peer.id).where(Peer.key_id == new_key_id, Peer.id != peer.id)).scalar()
    if taken is not None:
        raise Conflict("该公钥已属于另一对接节点", code="peer_exists")
    old_fingerprint = protocol.fingerprint(peer.algorithm, base64.b64decode(peer.public_key))
    peer.algorithm, peer.public_key, peer.key_id = data.algorithm, data.public_key, new_key_id
    new_fingerprint = protocol.fingerprint(data.algorithm, raw)
    audit.record(
        db,
        actor=Principal(user_id=None, username=f"peer:{peer.name}"[:100], display_name=peer.name, kind="system"),
        action="federation.peer.key_rotated",
        target_type="federation_peer",
        target_id=peer.id,
        details={"from": old_fingerprint, "to": new_fingerprint, "version": data.version},
    )
    return f"对方密钥轮换为 v{data.version}（{new_fingerprint}）"

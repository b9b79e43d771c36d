"""Independent verification of the transparency logs of both profiles: RFC 9162 proofs (§2.1.3.2
inclusion, §2.1.4.2 consistency) over SHA-256 (intl logs) or SM3 (gm logs), and checkpoints signed
as C2SP signed notes with Ed25519 or SM2.

Written from the RFC and C2SP texts alone and deliberately sharing no code with the log or with the
platform's crypto service (merkle.py, translog.py, notes.py, yiwang.core): it calls OpenSSL through
hashlib, `cryptography` and Tongsuo's binding directly, so anyone checking the log can use this module,
and the tests use it to check the log. `python -m yiwang.certs.verify_log URL` drives it over HTTP.
"""

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from tongsuopy.crypto import exceptions as tongsuo_exceptions
from tongsuopy.crypto import hashes as tongsuo_hashes
from tongsuopy.crypto.asymciphers import ec

SHA_256 = "SHA-256"
SM3 = "SM3"
# C2SP signed-note signature types: 0x01 Ed25519 (assigned); SM2 has no assigned byte, so it is 0xff
# (reserved for unassigned types) followed by the ASCII OID of SM2-with-SM3, 1.2.156.10197.1.501.
ED25519_NOTE_TYPE = b"\x01"
SM2_NOTE_TYPE = b"\xff1.2.156.10197.1.501"


class ProofError(ValueError):
    """A proof or signature that does not verify; the message says why (Chinese)."""


def _sm3(data: bytes) -> bytes:
    if "sm3" in hashlib.algorithms_available:
        return hashlib.new("sm3", data).digest()
    hasher = hashes.Hash(hashes.SM3())
    hasher.update(data)
    return hasher.finalize()


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _hash(hash_name: str) -> Callable[[bytes], bytes]:
    if hash_name == SHA_256:
        return _sha256
    if hash_name == SM3:
        return _sm3
    raise ProofError(f"不支持的哈希算法 {hash_name}")


def _hash_leaf(entry: bytes, hash_name: str = SHA_256) -> bytes:
    return _hash(hash_name)(bytes([0]) + entry)


def _hash_children(left: bytes, right: bytes, hash_name: str = SHA_256) -> bytes:
    return _hash(hash_name)(bytes([1]) + left + right)


def root_of(entries: list[bytes], hash_name: str = SHA_256) -> bytes:
    """MTH(D[n]) straight from the definition (RFC 9162 §2.1.1); for audits of small logs."""
    if not entries:
        return _hash(hash_name)(b"")
    if len(entries) == 1:
        return _hash_leaf(entries[0], hash_name)
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return _hash_children(root_of(entries[:k], hash_name), root_of(entries[k:], hash_name), hash_name)


def verify_inclusion(
    *, leaf: bytes, index: int, tree_size: int, path: list[bytes], root: bytes, hash_name: str = SHA_256
) -> None:
    """Raise ProofError unless `leaf` (the entry itself) is at `index` of the tree with head `root`."""
    if index >= tree_size or index < 0:
        raise ProofError("叶子序号超出树的大小")
    fn, sn = index, tree_size - 1
    r = _hash_leaf(leaf, hash_name)
    for p in path:
        if sn == 0:
            raise ProofError("审计路径过长")
        if fn & 1 or fn == sn:
            r = _hash_children(p, r, hash_name)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = _hash_children(r, p, hash_name)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("审计路径过短")
    if r != root:
        raise ProofError("由审计路径算得的根哈希与树头不一致")


def verify_consistency(
    *, first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes], hash_name: str = SHA_256
) -> None:
    """Raise ProofError unless the tree of size `second` extends the tree of size `first`."""
    if first > second or first < 0:
        raise ProofError("第一棵树不能大于第二棵树")
    if first == second:
        if proof:
            raise ProofError("同一大小的树的一致性证明应为空")
        if first_root != second_root:
            raise ProofError("同一大小的两个树头不同")
        return
    if first == 0:
        if proof:
            raise ProofError("空树的一致性证明应为空")
        return
    if not proof:
        raise ProofError("一致性证明为空")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("一致性证明过长")
        if fn & 1 or fn == sn:
            fr = _hash_children(c, fr, hash_name)
            sr = _hash_children(c, sr, hash_name)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _hash_children(sr, c, hash_name)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("一致性证明过短")
    if fr != first_root:
        raise ProofError("一致性证明与第一个树头不符")
    if sr != second_root:
        raise ProofError("一致性证明与第二个树头不符")


# ---- checkpoints: C2SP signed notes with Ed25519 or SM2 ------------------------------------------


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    algorithm: str  # Ed25519 | SM2
    public_key: bytes


@dataclass(frozen=True)
class VerifiedCheckpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...]

    def extension(self, keyword: str) -> str | None:
        """The value of the first extension line "keyword value", if any."""
        for line in self.extensions:
            word, _, value = line.partition(" ")
            if word == keyword:
                return value
        return None


def parse_verifier_key(vkey: str) -> VerifierKey:
    """name+hex(key ID)+base64(signature type ‖ public key); the key ID is checked against the rest."""
    try:
        name, key_hex, blob_b64 = vkey.split("+", 2)  # base64 may itself contain "+"
        key_id, blob = bytes.fromhex(key_hex), base64.b64decode(blob_b64, validate=True)
    except ValueError as exc:
        raise ProofError("验证密钥格式错误") from exc
    if blob.startswith(ED25519_NOTE_TYPE) and len(blob) == 33:
        algorithm, note_type = "Ed25519", ED25519_NOTE_TYPE
    elif blob.startswith(SM2_NOTE_TYPE) and len(blob) == len(SM2_NOTE_TYPE) + 65:
        algorithm, note_type = "SM2", SM2_NOTE_TYPE
    else:
        raise ProofError("验证密钥的签名类型不受支持")
    public = blob[len(note_type) :]
    if len(key_id) != 4 or _sha256(name.encode() + b"\n" + note_type + public)[:4] != key_id:
        raise ProofError("验证密钥的密钥 ID 与公钥不符")
    return VerifierKey(name, key_id, algorithm, public)


def _signature_valid(key: VerifierKey, signature: bytes, text: bytes) -> bool:
    if key.algorithm == "Ed25519":
        try:
            Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True
    # SM2 with SM3 over Z ‖ text, default identifier 1234567812345678 (GM/T 0009), DER (r, s)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SM2(), key.public_key)
    try:
        public.verify(signature, text, ec.ECDSA(tongsuo_hashes.SM3()))
    except (tongsuo_exceptions.InvalidSignature, ValueError):
        return False
    return True


def verify_checkpoint(note: str, vkey: str) -> VerifiedCheckpoint:
    """Check a checkpoint note's signature by the key `vkey` and return its body; ProofError otherwise.

    As the signed-note spec requires, signature lines of other keys are ignored, a failing signature
    of the known key rejects the note, and a note without one is rejected."""
    key = parse_verifier_key(vkey)
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise ProofError("签名笔记格式错误")
    text += "\n"
    verified = False
    for line in signatures[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise ProofError("签名行格式错误")
        signer, _, encoded = line[2:].partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise ProofError("签名不是合法的 base64") from exc
        if signer != key.name or blob[:4] != key.key_id:
            continue
        if not _signature_valid(key, blob[4:], text.encode()):
            raise ProofError(f"检查点的 {key.algorithm} 签名无效")
        verified = True
    if not verified:
        raise ProofError("检查点没有该验证密钥的签名")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or lines[0] != key.name or not lines[1].isdigit():
        raise ProofError("检查点格式错误")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError as exc:
        raise ProofError("检查点根哈希不是合法的 base64") from exc
    if len(root) != 32:
        raise ProofError("检查点根哈希长度错误")
    return VerifiedCheckpoint(lines[0], int(lines[1]), root, tuple(lines[3:]))

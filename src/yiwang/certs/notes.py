"""C2SP signed notes (c2sp.org/signed-note) and tlog checkpoints (c2sp.org/tlog-checkpoint), Ed25519."""

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519_TYPE = b"\x01"
SIG_PREFIX = "\u2014 "  # em dash, space


class NoteError(ValueError):
    """A malformed or unverifiable note (message in Chinese)."""


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte Ed25519 public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The usual text form of a note verifier key: name+hex(key id)+base64(0x01 ‖ public key)."""
    return f"{name}+{key_id(name, public_key).hex()}+{base64.b64encode(ED25519_TYPE + public_key).decode()}"


def sign_note(text: str, *, name: str, key: Ed25519PrivateKey) -> str:
    """The signed note: text (ending in a newline), a blank line, one signature line."""
    if not text.endswith("\n"):
        raise NoteError("签名文本必须以换行结束")
    if not name or " " in name or "+" in name:
        raise NoteError("密钥名称不能为空且不能含空格或加号")
    signature = key.sign(text.encode())
    blob = key_id(name, raw_public_key(key.public_key())) + signature
    return f"{text}\n{SIG_PREFIX}{name} {base64.b64encode(blob).decode()}\n"


def open_note(note: str, *, name: str, public_key: bytes) -> str:
    """Verify a note signed by the known key and return its text; NoteError otherwise."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise NoteError("签名笔记格式错误：缺少签名段")
    text += "\n"
    expected_id = key_id(name, public_key)
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    verified = False
    for line in signatures.splitlines():
        if not line.startswith(SIG_PREFIX):
            raise NoteError("签名行格式错误")
        signer, _, encoded = line[len(SIG_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise NoteError("签名不是合法的 base64") from exc
        if len(blob) < 5 or signer != name or blob[:4] != expected_id:
            continue  # unknown key: ignored, as the spec requires
        try:
            verifier.verify(blob[4:], text.encode())
        except InvalidSignature as exc:
            raise NoteError("签名无效") from exc
        verified = True
    if not verified:
        raise NoteError("没有可信密钥的有效签名")
    return text


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.tree_size), base64.b64encode(self.root_hash).decode(), *self.extensions]
        return "\n".join(lines) + "\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint body (already verified) as origin, size, root hash and extension lines."""
    lines = text.rstrip("\n").split("\n")
    if len(lines) < 3:
        raise NoteError("检查点至少应有三行")
    origin, size, root = lines[:3]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError("检查点的树大小格式错误")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except ValueError as exc:
        raise NoteError("检查点的根哈希不是合法的 base64") from exc
    if len(root_hash) != 32:
        raise NoteError("检查点的根哈希长度错误")
    return Checkpoint(origin, int(size), root_hash, tuple(lines[3:]))


def uint32(value: bytes) -> int:
    return struct.unpack(">I", value)[0]

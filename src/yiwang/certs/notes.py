"""C2SP signed notes (c2sp.org/signed-note) and tlog checkpoints (c2sp.org/tlog-checkpoint), signed
with Ed25519 (intl logs) or SM2 (gm logs).

The signed-note spec assigns signature type 0x01 to Ed25519 and none to SM2; it reserves 0xff for
types without an assigned byte, followed by a longer identifier unlikely to collide. An SM2 note
signature is therefore typed 0xff ‖ "1.2.156.10197.1.501" (ASCII: the OID of SM2-with-SM3, GM/T 0006):
the signature is SM2 over the note text with SM3 and the default identifier 1234567812345678
(GM/T 0009), DER-encoded, exactly what `openssl pkeyutl -sign -rawin -digest sm3` makes. The key ID
follows the spec's recommendation with that type: SHA-256(name ‖ 0x0A ‖ type ‖ 65-byte public key)[:4];
it identifies a key and protects nothing, so it stays SHA-256 in both profiles, as tools expect.
"""

import base64
import struct
from dataclasses import dataclass

from yiwang.core.crypto import ED25519, INTL, SM2, SigningKey, load_verifying_key

ED25519_TYPE = b"\x01"
SM2_TYPE = b"\xff" + b"1.2.156.10197.1.501"
NOTE_TYPES = {ED25519: ED25519_TYPE, SM2: SM2_TYPE}
SIG_PREFIX = "\u2014 "  # em dash, space


class NoteError(ValueError):
    """A malformed or unverifiable note (message in Chinese)."""


def note_type(algorithm: str) -> bytes:
    try:
        return NOTE_TYPES[algorithm]
    except KeyError:
        raise NoteError(f"签名笔记不支持 {algorithm} 签名") from None


def key_id(name: str, public_key: bytes, algorithm: str = ED25519) -> bytes:
    """SHA-256(key name ‖ 0x0A ‖ signature type ‖ public key)[:4]."""
    return INTL.digest(name.encode() + b"\n" + note_type(algorithm) + public_key)[:4]


def verifier_key(name: str, public_key: bytes, algorithm: str = ED25519) -> str:
    """The text form of a note verifier key: name+hex(key id)+base64(signature type ‖ public key)."""
    blob = base64.b64encode(note_type(algorithm) + public_key).decode()
    return f"{name}+{key_id(name, public_key, algorithm).hex()}+{blob}"


def sign_note(text: str, *, name: str, key: SigningKey) -> str:
    """The signed note: text (ending in a newline), a blank line, one signature line."""
    if not text.endswith("\n"):
        raise NoteError("签名文本必须以换行结束")
    if not name or " " in name or "+" in name:
        raise NoteError("密钥名称不能为空且不能含空格或加号")
    signature = key.sign(text.encode())
    blob = key_id(name, key.public_key().raw(), key.algorithm) + signature
    return f"{text}\n{SIG_PREFIX}{name} {base64.b64encode(blob).decode()}\n"


def open_note(note: str, *, name: str, public_key: bytes, algorithm: str = ED25519) -> str:
    """Verify a note signed by the known key and return its text; NoteError otherwise."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise NoteError("签名笔记格式错误：缺少签名段")
    text += "\n"
    expected_id = key_id(name, public_key, algorithm)
    verifier = load_verifying_key(algorithm, public_key)
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
        if not verifier.verify(blob[4:], text.encode()):
            raise NoteError("签名无效")
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
    if len(root_hash) != 32:  # SHA-256 and SM3 alike
        raise NoteError("检查点的根哈希长度错误")
    return Checkpoint(origin, int(size), root_hash, tuple(lines[3:]))


def uint32(value: bytes) -> int:
    return struct.unpack(">I", value)[0]

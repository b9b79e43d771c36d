"""The master key (主密钥): from an environment variable, a command that prints it, or a 0600 file.

Every data key of the keyrings is wrapped under it, so it never enters the database and is never
logged. A command (`YIWANG_MASTER_KEY_COMMAND`) lets a KMS or an HSM's client tool hand it over at
start without it ever resting on the platform's disk.
"""

import base64
import binascii
import contextlib
import os
import secrets
import shlex
import stat
import subprocess
import tempfile
from pathlib import Path

MASTER_KEY_FILE = "field.key"
MASTER_KEY_BYTES = 32
COMMAND_TIMEOUT_SECONDS = 30


class MasterKeyError(RuntimeError):
    """The master key cannot be had safely; the message says why and never contains the key."""


class KeyFileExposed(MasterKeyError):
    """A secret key file others than the platform's user may read or write."""


def write_new_secret(path: Path, data: bytes) -> None:
    """Create a 0600 file holding data, all or nothing; FileExistsError if it exists already.

    Written under a temporary name, synced, then hard-linked to its name: a process killed half-way
    leaves no empty or partial key behind, and one starting at the same moment never reads one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    finally:
        os.unlink(temporary)


def check_private(path: Path) -> None:
    """Refuse a key file that its group or the world may read or write (the platform never loosens it)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileExposed(
            f"密钥文件 {path} 的权限为 {mode:o}，同组或其他用户可以读写；请确认密钥未泄露后执行 chmod 600 {path}"
        )


def read_secret_file(path: Path) -> bytes:
    check_private(path)
    return path.read_bytes()


def _decode(text: str | bytes, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"{source} 不是 base64 编码的主密钥") from None
    if len(key) != MASTER_KEY_BYTES:
        raise MasterKeyError(f"{source} 应为 {MASTER_KEY_BYTES} 字节的主密钥（base64 编码）")
    return key


def _from_command(command: str) -> bytes:
    try:
        done = subprocess.run(  # noqa: S603  (the operator's own configured command, not user input)
            shlex.split(command), capture_output=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MasterKeyError(f"无法运行主密钥命令（YIWANG_MASTER_KEY_COMMAND）：{type(exc).__name__}") from None
    if done.returncode != 0:
        # stderr may help the operator; stdout may hold (part of) the key, so it is never shown
        hint = done.stderr.decode(errors="replace").strip()[:200]
        raise MasterKeyError(f"主密钥命令（YIWANG_MASTER_KEY_COMMAND）退出码 {done.returncode}：{hint}")
    return _decode(done.stdout, "主密钥命令（YIWANG_MASTER_KEY_COMMAND）的输出")


def load_master_key(key_dir: Path, *, configured: str | None = None, command: str | None = None) -> bytes:
    """The 32-byte master key: YIWANG_FIELD_KEY if set, else YIWANG_MASTER_KEY_COMMAND's output,
    else key_dir/field.key (created once, 0600; refused when group- or world-accessible)."""
    if configured and command:
        raise MasterKeyError("YIWANG_FIELD_KEY 与 YIWANG_MASTER_KEY_COMMAND 只能设置一个")
    if configured:
        return _decode(configured, "YIWANG_FIELD_KEY")
    if command:
        return _from_command(command)
    path = key_dir / MASTER_KEY_FILE
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process created it first
            write_new_secret(path, base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)))
    return _decode(read_secret_file(path), str(path))

"""A mediated body on its way through (转发正文): hashed as it arrives, because its Content-Digest (RFC
9530) goes in the signed header before the body; held in memory up to `mediation_spool_memory_bytes`,
beyond that in a temporary file written and read in worker threads — never whole in memory."""

import tempfile
from collections.abc import AsyncIterator
from typing import IO

import anyio.to_thread

from yiwang.core.crypto import Hasher
from yiwang.core.httpsig import content_digest

CHUNK = 64 * 1024


class Spool:
    """A body on its way through: hashed as it comes, in memory while small, else in a temporary file."""

    def __init__(self, hasher: Hasher, memory_bytes: int) -> None:
        self.hasher = hasher
        self.memory_bytes = memory_bytes
        self._buffer = bytearray()
        self._file: IO[bytes] | None = None
        self.digest = b""

    @property
    def size(self) -> int:
        return self.hasher.size

    async def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.hasher.update(chunk)
        if self._file is None and len(self._buffer) + len(chunk) <= self.memory_bytes:
            self._buffer += chunk
            return
        if self._file is None:
            self._file = await anyio.to_thread.run_sync(tempfile.TemporaryFile)
            pending, self._buffer = bytes(self._buffer) + chunk, bytearray()
        else:
            pending = chunk
        await anyio.to_thread.run_sync(self._file.write, pending)

    def finish(self) -> str:
        self.digest = self.hasher.digest()
        return content_digest(self.hasher.name, self.digest)

    def in_memory(self) -> bytes | None:
        return bytes(self._buffer) if self._file is None else None

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._file is None:
            if self._buffer:
                yield bytes(self._buffer)
            return
        file = self._file
        await anyio.to_thread.run_sync(file.seek, 0)
        while chunk := await anyio.to_thread.run_sync(file.read, CHUNK):
            yield chunk

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # a temporary file: closing it removes it
            self._file = None

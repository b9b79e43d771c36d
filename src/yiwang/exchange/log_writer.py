"""Group commit of the message log (消息日志的组提交): no call is answered before its record is committed,
and calls that finish together share one transaction.

A finished call puts its entry in the queue and waits. When no write is under way, one starts: it
takes every queued entry, appends them to the chain under one head lock, adds the admitted calls to
the rate and quota counters, and commits — in the writer's own thread, the event loop never waits on the
database. Entries queued meanwhile go in the next write, so under load a write carries many calls and
a call waits at most about two writes. Each waiting call is released only when the transaction that
holds its record has committed (or with the write's error): whatever was answered survives the
process being killed. The queue belongs to one event loop; each loop of a process has its own.
"""

import asyncio
import weakref
from collections.abc import Callable
from concurrent.futures import Executor

from yiwang.exchange.message_log import Entry

Write = Callable[[list[Entry]], None]


class _LoopQueue:
    def __init__(self) -> None:
        self.pending: list[tuple[Entry, asyncio.Future[None]]] = []
        self.writing = False
        self.task: asyncio.Task[None] | None = None  # the write under way, held so it is not collected


class LogWriter:
    def __init__(self, write: Write, thread: Executor) -> None:
        self._write = write  # appends and commits, in the writer's thread
        self._thread = thread
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue] = weakref.WeakKeyDictionary()

    async def commit(self, entry: Entry) -> None:
        """Return once the entry is committed; raise the write's error if it could not be."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _LoopQueue()
        done: asyncio.Future[None] = loop.create_future()
        queue.pending.append((entry, done))
        if not queue.writing:
            queue.writing = True
            queue.task = loop.create_task(self._drain(queue))
        # Shielded: a caller that goes away still has its record written; it only stops waiting.
        await asyncio.shield(done)

    async def _drain(self, queue: _LoopQueue) -> None:
        try:
            while queue.pending:
                batch, queue.pending = queue.pending, []
                try:
                    entries = [entry for entry, _ in batch]
                    await asyncio.get_running_loop().run_in_executor(self._thread, self._write, entries)
                except BaseException as failure:  # every waiting call learns that its record was not kept
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(failure if isinstance(failure, Exception) else RuntimeError())
                    if not isinstance(failure, Exception):
                        raise
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            queue.writing = False

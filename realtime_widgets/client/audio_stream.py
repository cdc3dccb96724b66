"""AudioStream: audio queued from any thread, sent in order by one task on the I/O loop.

``session.stream_audio(chunk)`` (a live microphone, a file played in real time) must not wait
for a round trip per chunk. Chunks go into a deque (``append`` is atomic, so any thread may
queue); one wake-up at a time is scheduled on the I/O loop for them, and one owned sender task
sends them in order. A commit first takes the sender's lock and sends what is still queued
(:meth:`AudioStream.drained`), so the audio of a turn goes before its commit. A chunk that
cannot be sent is reported (the session turns it into a ``client.stream_error`` event).

The stream owns this state and logic; the session gives it four narrow seams (how to send one
chunk, how to report a failure, how to get onto the loop, how to start an owned task).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import numpy.typing as npt
from websockets.exceptions import ConnectionClosed

from realtime_widgets.errors import RealtimeWidgetsError

__all__ = ["AudioStream"]

Chunk = tuple[npt.ArrayLike | bytes, int]  # samples (or PCM16 bytes) and their rate


class AudioStream:
    """Streamed audio of one session (see the module docstring)."""

    def __init__(
        self,
        *,
        send: Callable[[npt.ArrayLike | bytes, int], Awaitable[None]],
        failed: Callable[[Exception], None],
        call_soon: Callable[[Callable[[], None]], None],
        spawn: Callable[[Coroutine[Any, Any, None]], Any],
    ) -> None:
        self._send = send  # encode one chunk in the input format and send it
        self._failed = failed  # a chunk could not be sent (the session reports it)
        self._call_soon = call_soon  # run on the I/O loop, from any thread
        self._spawn = spawn  # an owned task on the I/O loop
        self._queue: collections.deque[Chunk] = collections.deque()
        self._scheduled = False  # a wake-up is on its way to the loop
        self._wake: asyncio.Future[None] | None = None  # the idle sender waits on it
        self._lock: asyncio.Lock | None = None  # held while chunks are sent (I/O loop)

    def put(self, samples: npt.ArrayLike | bytes, rate: int) -> None:
        """Queue one chunk (from any thread); the sender sends it without being waited for."""
        self._queue.append((samples, rate))
        if not self._scheduled:
            self._scheduled = True
            self._call_soon(self._wake_sender)

    def _wake_sender(self) -> None:
        self._scheduled = False  # chunks put from now on schedule a new wake-up
        if self._lock is None:
            self._lock = asyncio.Lock()
            self._spawn(self._sender(self._lock))
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def _sender(self, lock: asyncio.Lock) -> None:
        loop = asyncio.get_running_loop()
        while True:
            async with lock:
                await self.send_queued()
            self._wake = loop.create_future()
            if not self._queue:  # else: put while we sent, and its wake-up found us busy
                await self._wake
            self._wake = None

    async def send_queued(self) -> None:
        """Send every chunk queued (the caller holds the sender's lock, or there is none)."""
        while self._queue:
            samples, rate = self._queue.popleft()
            try:
                await self._send(samples, rate)
            except (RealtimeWidgetsError, ConnectionClosed, TimeoutError) as exc:
                self._failed(exc)

    @contextlib.asynccontextmanager
    async def drained(self, timeout: float) -> AsyncIterator[None]:
        """Hold the sender (a chunk being sent goes first) with the queue sent: what runs
        inside (a commit) follows every chunk put before it."""
        lock = self._lock
        if lock is not None:
            await asyncio.wait_for(lock.acquire(), timeout)
        try:
            await self.send_queued()
            yield
        finally:
            if lock is not None:
                lock.release()

    def reset(self) -> None:
        """Forget the queue and the sender (the session closed; its tasks are cancelled)."""
        self._queue.clear()
        self._scheduled = False
        self._lock = self._wake = None

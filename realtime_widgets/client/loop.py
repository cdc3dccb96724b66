"""The one background thread with its own asyncio loop, where all network I/O runs.

ipykernel does not reliably run asyncio tasks between cells, and widget messages arrive on the
kernel's main thread, so sessions run their sockets here. The thread starts on first use, is a
daemon, and stops (joined) when the last user releases it.

Also here: how a session's methods get there. ``@on_loop`` makes a coroutine method run on its
host's loop, awaited from whatever loop calls it; ``blocking`` generates its blocking twin (as
websockets' sync layer sits over its asyncio one); ``copy_outcome`` / ``log_failure`` are the
done-callbacks of the tasks a host owns.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

__all__ = ["BackgroundLoop", "blocking", "copy_outcome", "log_failure", "on_loop"]

log = logging.getLogger("realtime_widgets.client")
T = TypeVar("T")
P = ParamSpec("P")


class BackgroundLoop:
    """A shared event loop on a daemon thread, reference-counted by its users."""

    _lock = threading.Lock()
    _shared: BackgroundLoop | None = None

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._users = 0
        self._thread = threading.Thread(target=self._run, name="realtime-widgets-io", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        # Stopped: finish what is left, then close.
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    @classmethod
    def acquire(cls) -> BackgroundLoop:
        """The shared loop (started if needed), counted as used until :meth:`release`."""
        with cls._lock:
            if cls._shared is None or not cls._shared._thread.is_alive():
                cls._shared = BackgroundLoop()
            cls._shared._users += 1
            return cls._shared

    def release(self, timeout: float = 10.0) -> None:
        """One user fewer; the last one stops the loop and joins the thread."""
        with BackgroundLoop._lock:
            self._users -= 1
            if self._users > 0:
                return
            if BackgroundLoop._shared is self:
                BackgroundLoop._shared = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule a coroutine on the loop from any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run a coroutine on the loop and wait for it (from a thread other than the loop's)."""
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("blocking call from the I/O thread itself; use the async method")
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            if future.done():
                raise  # the coroutine's own TimeoutError, with its own message
            future.cancel()
            raise TimeoutError(f"no answer within {timeout} s") from None

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a coroutine that runs on the background loop, from another loop."""
        if self.in_loop_thread():
            return await coro
        return await asyncio.wrap_future(self.submit(coro))


class _Hosted(Protocol):
    """What ``@on_loop`` needs of its host: the loop it runs on."""

    def _loop(self) -> BackgroundLoop: ...


class _Blocks(Protocol):
    """What a blocking twin needs of its host: running a coroutine on the I/O loop."""

    def _block(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T: ...


H = TypeVar("H", bound=_Hosted)
B = TypeVar("B", bound=_Blocks)


def on_loop(
    fn: Callable[Concatenate[H, P], Awaitable[T]],
) -> Callable[Concatenate[H, P], Coroutine[Any, Any, T]]:
    """The coroutine runs on the host's I/O loop, awaited from whatever loop calls it."""

    @functools.wraps(fn)
    async def hop(self: H, /, *args: P.args, **kwargs: P.kwargs) -> T:
        async def body() -> T:
            return await fn(self, *args, **kwargs)

        return await self._loop().run_async(body())

    return hop


def blocking(
    fn: Callable[Concatenate[B, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[B, P], T]:
    """The blocking twin of an ``a*`` coroutine: runs it on the I/O loop and waits (with the
    host's timeout)."""

    def method(self: B, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._block(fn(self, *args, **kwargs))

    method.__doc__ = fn.__doc__
    method.__name__ = fn.__name__.removeprefix("a")
    method.__qualname__ = fn.__qualname__.replace(fn.__name__, method.__name__)
    return method


def copy_outcome(task: asyncio.Task[Any], future: concurrent.futures.Future[Any]) -> None:
    """A task's outcome into a thread-safe future. As ``asyncio.run_coroutine_threadsafe``
    does: the future stays pending (cancellable from any thread) until the task is done."""
    if future.done():
        return
    if task.cancelled():
        future.cancel()
        return
    if not future.set_running_or_notify_cancel():
        return
    if task.exception() is not None:
        future.set_exception(task.exception())
    else:
        future.set_result(task.result())


def log_failure(task: asyncio.Task[Any]) -> None:
    """An owned task that failed is logged (its owner cancels and awaits it on close)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("session task failed: %r", task.exception())
